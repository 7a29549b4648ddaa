"""The state of a dashboard page, read from (and written back to) its URL.

Every control of the dashboards — date preset or custom range, compare period, platform and
account filters, campaign search, sort and page — lives in the query string, so a link
reproduces the view. `DashboardState.parse` never raises: a bad parameter becomes a sentence in
`errors` and its default is used, because a mistyped link should show a sensible page with a
plain note, never an error page.

Pure Python (no Django): "today" is passed in (the workspace's local date), so parsing is
cheap to test for any day and time zone.

    state = DashboardState.parse(request.GET, today=date(2026, 11, 26))
    state.date_from, state.date_to          # 2026-10-27 … 2026-11-25 ("Last 30 days" ends yesterday)
    state.compare                            # "previous_period" | "previous_year" | None
    state.url(sort="-roas")                  # "?sort=-roas" — only what differs from the defaults
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Protocol
from urllib.parse import urlencode

#: preset key -> label, in the order the picker lists them
PRESETS: dict[str, str] = {
    "7d": "Last 7 days",
    "14d": "Last 14 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "mtd": "Month to date",
    "last_month": "Last month",
    "qtd": "Quarter to date",
    "last_quarter": "Last quarter",
    "ytd": "Year to date",
    "365d": "Last 365 days",
    "custom": "Custom range",
}
COMPARES: dict[str, str] = {
    "previous_period": "Previous period",
    "previous_year": "Previous year",
    "none": "No comparison",
}
DEFAULT_PRESET = "30d"
DEFAULT_COMPARE = "previous_period"
#: the metrics layer answers at most about three years in one question
MAX_RANGE_DAYS = 3 * 366
EARLIEST = date(2000, 1, 1)
MAX_SEARCH = 100
MAX_FILTER_VALUES = 50
MAX_PAGE = 400
_PLATFORM_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
_ACCOUNT_ID = re.compile(r"^[a-z][a-z0-9_]{1,31}:[A-Za-z0-9_.\-]{1,64}$")
_SORT = re.compile(r"^-?[a-z_]{1,32}$")


class QueryParams(Protocol):
    """What `parse` needs of Django's QueryDict (or a plain dict of lists in tests)."""

    def get(self, key: str, default: None = None) -> str | None: ...

    def getlist(self, key: str) -> list[str]: ...


@dataclass(frozen=True)
class DashboardState:
    """A dashboard question: which days, against which period, for which slice, in which order."""

    today: date
    preset: str = DEFAULT_PRESET
    date_from: date = date.min
    date_to: date = date.min
    compare: str | None = DEFAULT_COMPARE
    platforms: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    search: str = ""
    sort: str = ""
    page: int = 1
    #: one sentence per parameter that could not be used (shown above the page)
    errors: tuple[str, ...] = field(default=(), compare=False)

    # ------------------------------------------------------------------ reading a URL

    @classmethod
    def parse(
        cls,
        params: QueryParams,
        *,
        today: date,
        sorts: Sequence[str] = (),
        default_sort: str = "",
    ) -> DashboardState:
        """Read the state from query parameters; unusable values fall back with a message.

        `sorts` are the column names the page can sort by ("spend", "roas", …); "-" prefixes
        descending. `today` is the workspace's local date.
        """
        errors: list[str] = []
        preset = (params.get("period") or DEFAULT_PRESET).strip()
        if preset not in PRESETS:
            errors.append(f"“{_short(preset)}” is not a date range Bosco knows; showing the last 30 days.")
            preset = DEFAULT_PRESET
        if preset == "custom":
            custom = _custom_range(params.get("from"), params.get("to"), today, errors)
            if custom is None:
                preset = DEFAULT_PRESET
                date_from, date_to = preset_range(preset, today)
            else:
                date_from, date_to = custom
        else:
            date_from, date_to = preset_range(preset, today)

        raw_compare = (params.get("compare") or DEFAULT_COMPARE).strip()
        if raw_compare not in COMPARES:
            errors.append(f"“{_short(raw_compare)}” is not a comparison; comparing with the previous period.")
            raw_compare = DEFAULT_COMPARE
        compare = None if raw_compare == "none" else raw_compare

        platforms = _valid_values(params.getlist("platform"), _PLATFORM_CODE, "platform", errors)
        accounts = _valid_values(params.getlist("account"), _ACCOUNT_ID, "account", errors)
        search = " ".join((params.get("q") or "").split())
        if len(search) > MAX_SEARCH:
            errors.append(f"The campaign search was cut to its first {MAX_SEARCH} characters.")
            search = search[:MAX_SEARCH]

        sort = (params.get("sort") or default_sort).strip()
        if sort != default_sort and (not _SORT.match(sort) or sort.lstrip("-") not in sorts):
            errors.append(f"The table cannot be sorted by “{_short(sort)}”; sorted by {default_sort.lstrip('-')}.")
            sort = default_sort

        page = 1
        raw_page = (params.get("page") or "1").strip()
        try:
            page = int(raw_page)
        except ValueError:
            errors.append(f"“{_short(raw_page)}” is not a page number; showing the first page.")
        if not 1 <= page <= MAX_PAGE:
            if raw_page.lstrip("-").isdigit():
                errors.append(f"There is no page {_short(raw_page)}; showing the first page.")
            page = 1

        return cls(
            today=today,
            preset=preset,
            date_from=date_from,
            date_to=date_to,
            compare=compare,
            platforms=platforms,
            accounts=accounts,
            search=search,
            sort=sort,
            page=page,
            errors=tuple(errors),
        )

    # ------------------------------------------------------------------ derived values

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def label(self) -> str:
        return PRESETS[self.preset] if self.preset != "custom" else range_label(self.date_from, self.date_to)

    @property
    def range_label(self) -> str:
        return range_label(self.date_from, self.date_to)

    def compare_range(self) -> tuple[date, date] | None:
        """The days the compare period covers (the metrics layer's definition)."""
        if self.compare == "previous_period":
            prev_to = self.date_from - timedelta(days=1)
            return prev_to - (self.date_to - self.date_from), prev_to
        if self.compare == "previous_year":
            return self.date_from - timedelta(days=364), self.date_to - timedelta(days=364)
        return None

    @property
    def compare_label(self) -> str:
        span = self.compare_range()
        return range_label(*span) if span else ""

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def sort_descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def filter_count(self) -> int:
        return len(self.platforms) + len(self.accounts) + (1 if self.search else 0)

    @property
    def ends_recently(self) -> bool:
        """Whether the range reaches yesterday or today (forecast bands continue it)."""
        return self.date_to >= self.today - timedelta(days=1)

    # ------------------------------------------------------------------ writing a URL

    def params(self, *, default_sort: str = "", **overrides: object) -> list[tuple[str, str]]:
        """Query parameters that differ from the defaults, in a stable order.

        Overrides use the field names (`sort="-roas"`, `page=2`, `platforms=("meta",)`); a
        changed filter or sort resets the page unless a page is given.
        """
        state = replace(self, **overrides) if overrides else self  # type: ignore[arg-type]
        if overrides and "page" not in overrides:
            state = replace(state, page=1)
        out: list[tuple[str, str]] = []
        if state.preset != DEFAULT_PRESET:
            out.append(("period", state.preset))
        if state.preset == "custom":
            out += [("from", state.date_from.isoformat()), ("to", state.date_to.isoformat())]
        compare = state.compare or "none"
        if compare != DEFAULT_COMPARE:
            out.append(("compare", compare))
        out += [("platform", p) for p in state.platforms]
        out += [("account", a) for a in state.accounts]
        if state.search:
            out.append(("q", state.search))
        if state.sort and state.sort != default_sort:
            out.append(("sort", state.sort))
        if state.page != 1:
            out.append(("page", str(state.page)))
        return out

    def url(self, *, default_sort: str = "", **overrides: object) -> str:
        """ "?period=7d&platform=meta" (or "" for the defaults): append to a page's path."""
        pairs = self.params(default_sort=default_sort, **overrides)
        return f"?{urlencode(pairs)}" if pairs else ""

    def shared_url(self) -> str:
        """The part every dashboard page shares (range, compare, filters): for navigation links."""
        return self.url(sort="", page=1)


# --------------------------------------------------------------------------- ranges


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """The days a preset covers for a workspace whose local date is `today`.

    "Last N days" end yesterday (today is still partial, as in the ad platforms' own
    pickers); "… to date" ranges include today.
    """
    yesterday = today - timedelta(days=1)
    fixed = {"7d": 7, "14d": 14, "30d": 30, "90d": 90, "365d": 365}
    if preset in fixed:
        return yesterday - timedelta(days=fixed[preset] - 1), yesterday
    if preset == "mtd":
        return today.replace(day=1), today
    if preset == "last_month":
        last_day = today.replace(day=1) - timedelta(days=1)
        return last_day.replace(day=1), last_day
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if preset == "qtd":
        return quarter_start, today
    if preset == "last_quarter":
        last_day = quarter_start - timedelta(days=1)
        return date(last_day.year, 3 * ((last_day.month - 1) // 3) + 1, 1), last_day
    if preset == "ytd":
        return date(today.year, 1, 1), today
    raise ValueError(f"no fixed range for preset {preset!r}")


def _custom_range(raw_from: str | None, raw_to: str | None, today: date, errors: list[str]) -> tuple[date, date] | None:
    start = _date(raw_from, "from", errors)
    end = _date(raw_to, "to", errors)
    if start is None or end is None:
        errors.append("Showing the last 30 days instead of the custom range.")
        return None
    if start > end:
        start, end = end, start
        errors.append("The custom range ended before it started; the dates were swapped.")
    if end > today:
        errors.append(f"{end:%b %-d, %Y} is in the future; the range ends today.")
        end = today
        start = min(start, end)
    if start < EARLIEST:
        errors.append(f"Bosco keeps no data before {EARLIEST:%Y}; the range starts on {EARLIEST:%b %-d, %Y}.")
        start = EARLIEST
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        start = end - timedelta(days=MAX_RANGE_DAYS - 1)
        errors.append(f"A range can span at most three years; it now starts on {start:%b %-d, %Y}.")
    return start, end


def _date(raw: str | None, name: str, errors: list[str]) -> date | None:
    if not raw:
        errors.append(f"A custom range needs a “{name}” date.")
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        errors.append(f"“{_short(raw)}” is not a date (use YYYY-MM-DD) for “{name}”.")
        return None


def _valid_values(values: Iterable[str], pattern: re.Pattern[str], what: str, errors: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        if not pattern.match(value):
            errors.append(f"“{_short(value)}” is not a valid {what}; that filter was left out.")
        elif value not in out:
            out.append(value)
    if len(out) > MAX_FILTER_VALUES:
        errors.append(f"Only the first {MAX_FILTER_VALUES} {what} filters are used.")
        out = out[:MAX_FILTER_VALUES]
    return tuple(out)


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def range_label(start: date, end: date) -> str:
    """ "Oct 27 – Nov 25, 2026"; the year is shown once when both days share it."""
    if start == end:
        return f"{end:%b %-d, %Y}"
    if start.year == end.year:
        return f"{start:%b %-d} – {end:%b %-d, %Y}"
    return f"{start:%b %-d, %Y} – {end:%b %-d, %Y}"
