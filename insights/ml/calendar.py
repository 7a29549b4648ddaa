"""Calendar effects for daily series: country holidays and workspace events.

Holidays come from the maintained ``holidays`` package (country codes such as "US", "DE",
"FR", optionally "US-CA" for a subdivision); events are the workspace's own dates (sales,
launches, Black Friday), given as a name and the days it covers. Both become named sets
of days; ``insights.ml.yearly`` turns each name into one regressor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from insights.ml.errors import InputError


@dataclass(frozen=True)
class Event:
    """A workspace event (a sale, a launch): ``name`` on every day from ``start`` to ``end``."""

    name: str
    start: dt.date
    end: dt.date

    def days(self) -> list[dt.date]:
        count = (self.end - self.start).days + 1
        return [self.start + dt.timedelta(days=k) for k in range(count)]


def country_holidays(country: str, years: Iterable[int]) -> dict[str, set[dt.date]]:
    """Public holidays of ``country`` ("US", "DE", "GB", "US-CA" ...) as name -> days.

    The same holiday in different years shares one name, so its effect is learned from
    every year it was seen. "(observed)" days count as the holiday itself.
    """
    import holidays  # function-level: only daily forecasts with a country need the calendar tables

    code, _, subdivision = country.strip().upper().partition("-")
    if code not in holidays.list_supported_countries():
        raise InputError(f"unknown holiday country {country!r} (use a two-letter code such as US, DE, FR)")
    try:
        calendar = holidays.country_holidays(code, subdiv=subdivision or None, years=sorted(set(years)))
    except NotImplementedError as exc:
        raise InputError(f"unknown subdivision {subdivision!r} for holiday country {code}") from exc
    out: dict[str, set[dt.date]] = {}
    for day, names in calendar.items():
        for name in str(names).split("; "):
            key = name.replace(" (observed)", "").replace(" (Observed)", "").strip()
            out.setdefault(f"holiday: {key}", set()).add(day)
    return out


def event_days(events: Sequence[Event]) -> dict[str, set[dt.date]]:
    """Workspace events as name -> days (events of the same name pool their days)."""
    out: dict[str, set[dt.date]] = {}
    for event in events:
        if event.end < event.start:
            raise InputError(f"event {event.name!r} ends before it starts")
        if (event.end - event.start).days > 92:
            raise InputError(f"event {event.name!r} is longer than 92 days; use shorter events")
        out.setdefault(f"event: {event.name}", set()).update(event.days())
    return out


def calendar_days(
    index: pd.DatetimeIndex, *, country: str | None = None, events: Sequence[Event] = ()
) -> dict[str, set[dt.date]]:
    """All named special days relevant to ``index`` (history plus forecast dates)."""
    out: dict[str, set[dt.date]] = {}
    if country:
        out.update(country_holidays(country, range(index.min().year, index.max().year + 1)))
    out.update(event_days(events))
    return out


def read_events(table: pd.DataFrame, source: str) -> list[Event]:
    """Events from a table with ``name,start[,end]`` columns (dates as YYYY-MM-DD)."""
    missing = [c for c in ("name", "start") if c not in table.columns]
    if missing:
        raise InputError(f"{source}: missing column(s): {', '.join(missing)}")
    events = []
    for row, record in enumerate(table.to_dict("records"), start=1):
        name = str(record["name"]).strip()
        if not name:
            raise InputError(f"{source}: data row {row} has an empty name")
        start = _date(record["start"], source, row)
        end_raw = str(record.get("end") or "").strip()
        end = _date(end_raw, source, row) if end_raw else start
        events.append(Event(name, start, end))
    return events


def _date(raw: object, source: str, row: int) -> dt.date:
    try:
        return dt.date.fromisoformat(str(raw).strip()[:10])
    except ValueError as exc:
        raise InputError(f"{source}: data row {row} has an invalid date: {str(raw).strip()!r}") from exc


def as_events(items: Iterable[Mapping[str, object] | Event]) -> list[Event]:
    """Events from dicts with name/start/end (date or ISO string), or Event objects."""
    out = []
    for item in items:
        if isinstance(item, Event):
            out.append(item)
            continue
        start = item["start"]
        end = item.get("end") or start
        start_d = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start)[:10])
        end_d = end if isinstance(end, dt.date) else dt.date.fromisoformat(str(end)[:10])
        out.append(Event(str(item["name"]), start_d, end_d))
    return out
