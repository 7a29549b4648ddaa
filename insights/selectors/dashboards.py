"""Reads behind the workspace dashboards (Overview, Channels, Campaigns, a campaign).

Every number comes from the warehouse's metrics layer (`metrics_query`: one SQL statement per
question over the smallest rollup that answers it), cached per workspace until the next warehouse
run under `metrics_query_cached`'s keys, so the pages show exactly what the API and the insight
models see. This module turns a `DashboardState` into those questions and shapes the answers
for templates: KPI tiles with deltas coloured by whether the change is good, table rows with
formatted cells, daily series for charts. Anomalies and forecasts come from `insights.selectors`; the "data as
of" stamp and settling days from `warehouse.selectors.warehouse_status`.

Each function documents the rollup that answers it; `bench/pages.py` times the pages built on
them against the same questions asked of the metrics layer directly. The tables and movers are
in `dashboard_tables`, the insight overlays, one campaign's reads and the page objects of the
Overview and a campaign in `dashboard_pages`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import wraps
from typing import Any

from django.core.cache import cache
from django.db import connection

from bosco.formatting import format_compact, format_percent
from bosco.platforms import platform_label
from insights.charts import sparkline_points
from insights.selectors.dashboard_state import DashboardState
from warehouse import metrics as wm
from warehouse import selectors as warehouse_selectors
from warehouse.metrics import format_metric, metric_label
from warehouse.queries import MetricsQuery, MetricsResult, data_currency, data_version, metrics_query
from warehouse.selectors import campaigns as campaign_reads

#: the KPI tiles of the overview, in reading order
KPI_METRICS: tuple[str, ...] = ("spend", "conversion_value", "roas", "conversions", "cpa", "ctr", "cpc")
#: the columns of the channel, account and campaign tables
TABLE_METRICS: tuple[str, ...] = (
    "spend",
    "conversion_value",
    "roas",
    "conversions",
    "cpa",
    "clicks",
    "ctr",
    "cpc",
    "impressions",
)
#: columns that show their change against the compare period under the value
DELTA_COLUMNS: frozenset[str] = frozenset({"spend", "conversion_value", "roas", "conversions", "cpa"})
#: stored sums a daily series carries; ratios are computed per day from them
DAILY_SUMS: tuple[str, ...] = ("spend", "conversion_value", "conversions", "clicks", "impressions")
TABLE_SORTS: tuple[str, ...] = TABLE_METRICS
DEFAULT_SORT = "-spend"
PAGE_SIZE = 25
#: a campaign search matching more than this is cut (the metrics layer filters by id list)
SEARCH_LIMIT = 500
#: campaigns considered for "biggest movers" (the top ones by spend in the period)
MOVER_POOL = 200
#: a change smaller than this (relative) is shown as flat, not good or bad
FLAT_CHANGE = 0.005
#: beyond this many days, inline sparklines use weekly points (a year of daily points is noise)
SPARK_WEEKLY_AFTER = 120


# --------------------------------------------------------------------------- answers


_VERSION: ContextVar[tuple[str, int] | None] = ContextVar("dashboard_data_version", default=None)


def one_data_version(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a view: its metric questions share one data version (one query, not one per
    question) — and so one consistent snapshot of the cache, even if a run finishes mid-page."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        token = _VERSION.set(None)
        try:
            return view(*args, **kwargs)
        finally:
            _VERSION.reset(token)

    return wrapped


def current_data_version() -> int:
    """The warehouse's data version, read once per decorated view (per schema)."""
    schema = str(getattr(connection, "schema_name", ""))
    memo = _VERSION.get()
    if memo is None or memo[0] != schema:
        memo = (schema, data_version())
        _VERSION.set(memo)
    return memo[1]


def answer(query: MetricsQuery) -> MetricsResult:
    """`metrics_query_cached`'s answer (same cache keys, shared with the API), with the data
    version read once per decorated view."""
    key = f"{query.cache_key()}:v{current_data_version()}"
    hit = cache.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    result = metrics_query(query)
    cache.set(key, result, 300)
    return result


# --------------------------------------------------------------------------- deltas


@dataclass(frozen=True)
class Delta:
    """A period-over-period change and how to colour it."""

    change: float | None
    #: "good" | "bad" | "neutral" (a change that is neither, e.g. spend) | "flat" | "none"
    tone: str
    text: str

    @property
    def arrow(self) -> str:
        if self.change is None or self.tone == "flat":
            return ""
        return "▲" if self.change > 0 else "▼"

    @property
    def description(self) -> str:
        """For screen readers: words, not colour."""
        if self.change is None:
            return "no comparison"
        direction = "up" if self.change > 0 else "down" if self.change < 0 else "unchanged"
        verdict = {"good": ", good", "bad": ", bad"}.get(self.tone, "")
        return f"{direction} {format_percent(abs(self.change))}{verdict}"


def delta_for(metric: str, change: float | None) -> Delta:
    if change is None:
        return Delta(None, "none", "—")
    text = format_percent(change, signed=True, decimals=1 if abs(change) < 0.1 else 0)
    if abs(change) < FLAT_CHANGE:
        return Delta(change, "flat", text)
    better = wm.higher_is_better(metric)  # spend rising is neither good nor bad
    if better is None:
        return Delta(change, "neutral", text)
    return Delta(change, "good" if (change > 0) == better else "bad", text)


# --------------------------------------------------------------------------- slices and status


@dataclass(frozen=True)
class Slice:
    """The metrics-layer filters a state asks for, and what the campaign search matched."""

    filters: dict[str, tuple[str, ...]]
    search: str = ""
    matched: int = 0
    truncated: bool = False

    @property
    def nothing_matches(self) -> bool:
        return bool(self.search) and self.matched == 0

    @property
    def platforms(self) -> tuple[str, ...]:
        return self.filters.get("platform", ())

    @property
    def narrowed_below_platform(self) -> bool:
        """Filtered by account or campaign: workspace/platform insight series do not apply."""
        return "account" in self.filters or "campaign" in self.filters


def slice_for(state: DashboardState) -> Slice:
    """Filters for the metrics layer; a campaign search becomes a list of campaign ids.

    The search reads the warehouse's campaign dimension through its campaign reads (the same
    the API's `?search=` uses), restricted to the chosen platforms and accounts.
    """
    filters: dict[str, tuple[str, ...]] = {}
    if state.platforms:
        filters["platform"] = state.platforms
    if state.accounts:
        filters["account"] = state.accounts
    if not state.search:
        return Slice(filters)
    ids = campaign_reads.campaign_ids_matching(
        search=state.search,
        platforms=list(state.platforms) or None,
        accounts=list(state.accounts) or None,
        limit=SEARCH_LIMIT + 1,
    )
    truncated = len(ids) > SEARCH_LIMIT
    ids = ids[:SEARCH_LIMIT]
    filters["campaign"] = tuple(ids) if ids else ("-:-:-",)  # matches nothing: no campaign has that id
    return Slice(filters, search=state.search, matched=len(ids), truncated=truncated)


@dataclass(frozen=True)
class DataStatus:
    """The page header's "data as of" stamp, settling days and the currency of the stored facts."""

    as_of: datetime | None
    newest_day: date | None
    #: the first day with data (a compare period before it has nothing to compare with)
    oldest_day: date | None
    #: platform -> (first, last) day still settling (platforms restate recent days)
    settling: dict[str, tuple[date, date]]
    quarantined_rows: int
    currency: str

    @property
    def has_data(self) -> bool:
        return self.newest_day is not None

    def settling_span(self, platforms: Iterable[str] = ()) -> tuple[date, date] | None:
        """The days any of `platforms` (all when empty) is still settling."""
        wanted = set(platforms)
        spans = [span for p, span in self.settling.items() if not wanted or p in wanted]
        if not spans:
            return None
        return min(s[0] for s in spans), max(s[1] for s in spans)


#: bump when DataStatus changes shape: pickles of the old shape in the cache are then never read
STATUS_FORMAT = 2


def data_status() -> DataStatus:
    """`warehouse_status()` plus the data currency, cached until the next warehouse run."""
    key = f"dash:status:{STATUS_FORMAT}:v{current_data_version()}"
    hit = cache.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    raw = warehouse_selectors.warehouse_status()
    status = DataStatus(
        as_of=raw["data_as_of"],
        newest_day=raw["newest_day"],
        oldest_day=warehouse_selectors.oldest_data_day(),
        settling={p: (span["from"], span["to"]) for p, span in raw["settling"].items()},
        quarantined_rows=int(raw["quarantined_rows"] or 0),
        currency=data_currency() or "",
    )
    cache.set(key, status, 600)
    return status


@dataclass(frozen=True)
class AccountOption:
    id: str
    name: str
    platform: str


@dataclass(frozen=True)
class FilterOptions:
    platforms: list[tuple[str, str]]
    accounts: list[AccountOption]

    def account_name(self, account_id: str) -> str:
        return next((a.name for a in self.accounts if a.id == account_id), account_id)


def filter_options(*, today: date | None = None) -> FilterOptions:
    """The workspace's platforms and ad accounts, from the warehouse's account dimension.

    Every account the warehouse knows is offered, spending or not (one small table; asking the
    metrics layer which accounts spent in the last three years cost ~12 ms at 11M fact rows).
    """
    rows = campaign_reads.ad_accounts()
    accounts = sorted(
        (AccountOption(f"{p}:{a}", name or a, p) for p, a, name in rows),
        key=lambda a: (platform_label(a.platform), a.name.lower()),
    )
    platforms = sorted({a.platform for a in accounts}, key=platform_label)
    return FilterOptions([(p, platform_label(p)) for p in platforms], accounts)


# --------------------------------------------------------------------------- daily series


@dataclass
class Daily:
    """Daily sums per key (platform, account, campaign or "" for the total), zero-filled."""

    days: list[date]
    by_key: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def values(self, metric: str, key: str | None = None) -> list[float | None]:
        """A metric per day for one key (None: summed over keys); ratios from the day's sums."""
        metric = wm.ALIASES.get(metric, metric)
        definition = wm.resolve(metric)
        if isinstance(definition, wm.RatioMetric):
            num, den = self.values(definition.numerator, key), self.values(definition.denominator, key)
            return [
                (float(n) / float(d) * definition.multiplier) if n is not None and d else None
                for n, d in zip(num, den, strict=True)
            ]
        if key is not None:
            return list(self.by_key.get(key, {}).get(metric, [0.0] * len(self.days)))
        totals = [0.0] * len(self.days)
        for series in self.by_key.values():
            for i, v in enumerate(series.get(metric, ())):
                totals[i] += v
        return list(totals)


def daily(
    state: DashboardState,
    slice_: Slice,
    *,
    by: str = "platform",
    sums: Sequence[str] = DAILY_SUMS,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Daily:
    """Day × `by` sums over the state's range (rollup_day_platform / _account / _campaign).

    `by` is "platform", "account", "campaign" or "" (one total series).
    """
    d1, d2 = date_from or state.date_from, date_to or state.date_to
    dims = ("day", by) if by else ("day",)
    result = answer(
        MetricsQuery(metrics=tuple(sums), dimensions=dims, date_from=d1, date_to=d2, filters=slice_.filters)
    )
    return _daily_from_rows(result.rows, d1, d2, by, sums)


def _daily_from_rows(rows: list[dict[str, Any]], d1: date, d2: date, by: str, sums: Sequence[str]) -> Daily:
    days = [d1 + timedelta(days=i) for i in range((d2 - d1).days + 1)]
    index = {d: i for i, d in enumerate(days)}
    out = Daily(days)
    for row in rows:
        key = str(row.get(by, "")) if by else ""
        series = out.by_key.get(key)
        if series is None:
            series = out.by_key[key] = {m: [0.0] * len(days) for m in sums}
            out.labels[key] = _label_of(row, by)
        i = index.get(row["day"])
        if i is None:
            continue
        for m in sums:
            value = row.get(m)
            series[m][i] = float(value) if value is not None else 0.0
    return out


def _label_of(row: dict[str, Any], by: str) -> str:
    if by == "platform":
        return platform_label(str(row["platform"]))
    if by == "account":
        return str(row.get("account_name") or row["account"])
    if by == "campaign":
        return str(row.get("campaign_name") or row["campaign"])
    return "All channels"


def weekly(values: Sequence[float | None], days: Sequence[date]) -> list[float]:
    """Sums per ISO week (sparklines of long ranges)."""
    out: list[float] = []
    current: date | None = None
    for day, value in zip(days, values, strict=True):
        week = day - timedelta(days=day.weekday())
        if week != current:
            out.append(0.0)
            current = week
        out[-1] += float(value or 0.0)
    return out


def spark_lines(state: DashboardState, filters: dict[str, tuple[str, ...]], *, by: str) -> dict[str, str]:
    """Spend sparkline points per key (platform, account or campaign) over the state's range.

    Daily up to SPARK_WEEKLY_AFTER days, weekly beyond — asked of the metrics layer at that
    grain, so a year of twenty accounts is ~1,000 rows, not 7,300.
    """
    grain = "week" if state.days > SPARK_WEEKLY_AFTER else "day"
    result = answer(
        MetricsQuery(
            metrics=("spend",),
            dimensions=(grain, by),
            date_from=state.date_from,
            date_to=state.date_to,
            filters=filters,
        )
    )
    step = 7 if grain == "week" else 1
    first = state.date_from - timedelta(days=state.date_from.weekday()) if grain == "week" else state.date_from
    buckets = [first + timedelta(days=i) for i in range(0, (state.date_to - first).days + 1, step)]
    index = {b: i for i, b in enumerate(buckets)}
    # Weeks cut by the range's ends hold fewer days: compare spend per day, not per bucket.
    days_in = [(min(b + timedelta(days=step - 1), state.date_to) - max(b, state.date_from)).days + 1 for b in buckets]
    series: dict[str, list[float]] = {}
    for row in result.rows:
        values = series.setdefault(str(row[by]), [0.0] * len(buckets))
        i = index.get(row[grain])
        if i is not None:
            values[i] = float(row["spend"] or 0) / days_in[i]
    return {key: sparkline_points(values) for key, values in series.items()}


def spark_for(values: Sequence[float | None], days: Sequence[date]) -> str:
    """SVG polyline points of a table sparkline (weekly beyond SPARK_WEEKLY_AFTER days)."""
    series: Sequence[float | None] = weekly(values, days) if len(days) > SPARK_WEEKLY_AFTER else values
    return sparkline_points(series)


# --------------------------------------------------------------------------- KPI tiles


@dataclass(frozen=True)
class Kpi:
    metric: str
    label: str
    value: Any
    previous: Any
    text: str
    previous_text: str
    delta: Delta
    spark: str
    #: the exact value (a tile shows large amounts compactly, e.g. €728.3k)
    full_text: str = ""


#: from this size on a tile shows a value compactly (€728.3k); the exact value is its tooltip
COMPACT_FROM = 100_000


def tile_text(metric: str, value: float | None, currency: str) -> str:
    """A KPI tile's value: compact when large, else the metric's usual format."""
    unit = wm.resolve(metric).unit
    if value is not None and unit in ("money", "count") and abs(value) >= COMPACT_FROM:
        return format_compact(value, currency if unit == "money" else None)
    return format_metric(metric, value, currency)


def totals(state: DashboardState, slice_: Slice, metrics: Sequence[str] = TABLE_METRICS) -> MetricsResult:
    """One row of totals with the compare period (rollup_day_platform, _account with an account
    filter, rollup_campaign_cumulative with a campaign search)."""
    return answer(
        MetricsQuery(
            metrics=tuple(metrics),
            date_from=state.date_from,
            date_to=state.date_to,
            filters=slice_.filters,
            compare=state.compare,
        )
    )


def kpi_tiles(
    state: DashboardState, result: MetricsResult, series: Daily, currency: str, metrics: Sequence[str] = KPI_METRICS
) -> list[Kpi]:
    row = result.rows[0] if result.rows else {}
    tiles = []
    for metric in metrics:
        value, previous = row.get(metric), row.get(f"{metric}_previous")
        tiles.append(
            Kpi(
                metric=metric,
                label=metric_label(metric),
                value=value,
                previous=previous,
                text=tile_text(metric, number_or_none(value), currency),
                previous_text=tile_text(metric, number_or_none(previous), currency) if state.compare else "",
                delta=delta_for(metric, row.get(f"{metric}_change")) if state.compare else Delta(None, "none", ""),
                spark=spark_for(series.values(metric), series.days),
                full_text=format_metric(metric, number_or_none(value), currency),
            )
        )
    return tiles


def number_or_none(value: Any) -> float | None:
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal | int | float) else None


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Cell:
    metric: str
    value: Any
    text: str
    delta: Delta | None


@dataclass
class TableRow:
    key: str
    label: str
    sublabel: str = ""
    platform: str = ""
    url: str = ""
    cells: list[Cell] = field(default_factory=list)
    spark: str = ""


@dataclass(frozen=True)
class Column:
    metric: str
    label: str
    numeric: bool = True


def columns(metrics: Sequence[str] = TABLE_METRICS) -> list[Column]:
    return [Column(m, metric_label(m)) for m in metrics]


def cells_for(row: dict[str, Any], currency: str, compare: bool, metrics: Sequence[str] = TABLE_METRICS) -> list[Cell]:
    return [
        Cell(
            metric=m,
            value=row.get(m),
            text=format_metric(m, number_or_none(row.get(m)), currency),
            delta=delta_for(m, row.get(f"{m}_change")) if compare and m in DELTA_COLUMNS else None,
        )
        for m in metrics
    ]


def sort_rows(rows: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """Sort answer rows by a metric in Python (tables with few rows); None values last."""
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    present = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]
    present.sort(key=lambda r: float(r[key]), reverse=descending)
    return present + missing


@dataclass
class Table:
    columns: list[Column]
    rows: list[TableRow]
    total: list[Cell]
    page: int = 1
    has_next: bool = False
    first: int = 0
    last: int = 0
    count: int | None = None
