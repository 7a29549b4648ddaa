"""Strict checks of what a platform sends, with messages that name the field and what was wrong.

Checks are about the fields Bosco relies on (keys, dates, metrics) and their wire types as each
platform documents them: Google sends int64 as JSON strings and doubles as numbers, Meta sends
every metric as a string. Fields Bosco does not use are neither checked nor dropped: the raw
payload keeps them for later.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from connectors.errors import BadResponse
from warehouse.services.landing import RawRow

_INT = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class FieldError(Exception):
    """One bad field in one row; turned into a BadResponse for the whole page."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path} {problem}")
        self.path = path
        self.problem = problem


def describe(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({type(value).__name__})"


def obj(parent: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise FieldError(
            f"{path}{key}",
            "is missing" if value is None and key not in parent else f"should be an object, got {describe(value)}",
        )
    return value


def _present(parent: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in parent:
        raise FieldError(f"{path}{key}", "is missing")
    return parent[key]


def digits(value: object) -> bool:
    """A non-empty string of ASCII digits (str.isdigit alone accepts "²")."""
    return type(value) is str and value.isascii() and value.isdigit()


def plain_decimal(value: object) -> bool:
    """The common shape of a decimal string ("14.35", "0"), cheaply; others take the full check."""
    return type(value) is str and value.isascii() and value.replace(".", "", 1).isdigit()


def day_lookup(date_from: date | None, date_to: date | None) -> dict[str, date]:
    """ISO text → date for every day of a chunk: one dict lookup checks format, reality and range."""
    if date_from is None or date_to is None:
        return {}
    out: dict[str, date] = {}
    day = date_from
    while day <= date_to:
        out[day.isoformat()] = day
        day = date.fromordinal(day.toordinal() + 1)
    return out


def id_string(parent: Mapping[str, Any], key: str, path: str = "") -> str:
    """An id or int64 sent as a JSON string of digits."""
    value = _present(parent, key, path)
    if not digits(value):
        raise FieldError(f"{path}{key}", f"should be a string of digits, got {describe(value)}")
    return value


def int_string(parent: Mapping[str, Any], key: str, path: str = "") -> str:
    value = _present(parent, key, path)
    if not isinstance(value, str) or not value.isascii() or not _INT.fullmatch(value):
        raise FieldError(f"{path}{key}", f"should be an integer sent as a string, got {describe(value)}")
    return value


def decimal_string(parent: Mapping[str, Any], key: str, path: str = "", *, optional: bool = False) -> str | None:
    if optional and key not in parent:
        return None
    value = _present(parent, key, path)
    if not isinstance(value, str) or not value.isascii() or not _DECIMAL.fullmatch(value):
        raise FieldError(f"{path}{key}", f"should be a decimal number sent as a string, got {describe(value)}")
    return value


def number(parent: Mapping[str, Any], key: str, path: str = "", *, optional: bool = False) -> float | None:
    if optional and key not in parent:
        return None
    value = _present(parent, key, path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(f"{path}{key}", f"should be a JSON number, got {describe(value)}")
    return float(value)


def string(parent: Mapping[str, Any], key: str, path: str = "", *, optional: bool = False) -> str | None:
    if optional and key not in parent:
        return None
    value = _present(parent, key, path)
    if not isinstance(value, str):
        raise FieldError(f"{path}{key}", f"should be a string, got {describe(value)}")
    return value


def iso_date(parent: Mapping[str, Any], key: str, path: str = "") -> date:
    value = _present(parent, key, path)
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise FieldError(f"{path}{key}", f"should be a date YYYY-MM-DD, got {describe(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise FieldError(f"{path}{key}", f"is not a real date: {value!r}") from exc


def within(day: date, date_from: date | None, date_to: date | None, path: str) -> None:
    if date_from is not None and date_to is not None and not date_from <= day <= date_to:
        raise FieldError(
            path, f"is {day.isoformat()}, outside the requested {date_from.isoformat()}…{date_to.isoformat()}"
        )


def no_finer_fields(row: Mapping[str, Any], finer: frozenset[str], level: str, path: str = "") -> None:
    """Reject a row at a finer level (an ad, a breakdown) than the `level` that was requested."""
    for key in sorted(finer & row.keys()):
        raise FieldError(f"{path}{key}", f"is present: the row is finer than the {level} level Bosco asked for")


RowParser = Callable[[Any], RawRow]


def rows_of(items: list[Any], parse: RowParser, *, where: str, platform_label: str) -> list[RawRow]:
    """Parse every item or none: the first bad one rejects the whole page with a clear reason.

    Two rows with one key are rejected too: landing keeps one row per key, so the other's
    spend would silently vanish (a page split by ad or breakdown looks exactly like this).
    """
    out: list[RawRow] = []
    first_of_key: dict[str, int] = {}
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise FieldError("row", f"should be an object, got {describe(item)}")
            row = parse(item)
            earlier = first_of_key.setdefault(row.record_key, index)
            if earlier != index:
                raise FieldError(
                    "row", f"repeats the key of row {earlier + 1} ({row.record_key}); one of them would be lost"
                )
            out.append(row)
        except FieldError as exc:
            raise BadResponse(
                f"{where}: row {index}: {exc.path} {exc.problem}",
                user_message=(
                    f"{platform_label} sent data Bosco could not accept ({where}, row {index + 1}: "
                    f"{exc.path} {exc.problem}). Nothing from that page was saved and nothing already "
                    "synced was lost; Bosco tries again at the next sync. If this keeps happening, "
                    "contact support with this message."
                ),
            ) from exc
    return out


def envelope_error(where: str, platform_label: str, problem: str) -> BadResponse:
    return BadResponse(
        f"{where}: {problem}",
        user_message=(
            f"{platform_label} sent a response Bosco could not accept ({where}: {problem}). Nothing from "
            "it was saved; Bosco tries again at the next sync."
        ),
    )
