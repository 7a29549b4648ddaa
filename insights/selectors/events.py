"""Reads of the workspace's events and holiday country for the forecasts and the events page."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import connection

from accounts.selectors import workspace_for_schema
from insights.ml.calendar import Event, country_holidays
from insights.ml.errors import InputError
from insights.models import WorkspaceEvent

logger = logging.getLogger("insights.selectors")


def _current_schema() -> str:
    """The active workspace schema (django-tenants' connection carries it; Django's stubs do not)."""
    return str(getattr(connection, "schema_name", ""))


def forecast_events() -> list[Event]:
    """Every event of the current workspace, as the forecast model takes them."""
    return [Event(e.name, e.start, e.end) for e in WorkspaceEvent.objects.order_by("start", "pk")]


def _known(code: str, source: str) -> str | None:
    try:
        country_holidays(code, [2024])
    except InputError as exc:
        logger.warning("%s ignored: %s", source, exc)
        return None
    return code


def holiday_country() -> str | None:
    """Whose public holidays the current workspace's forecasts know.

    The workspace's own setting (chosen on the events page) wins; without one the
    deployment-wide ``INSIGHTS_HOLIDAY_COUNTRY`` applies (e.g. "US", "DE"). An unknown code is
    logged and ignored rather than failing every forecast.
    """
    workspace = workspace_for_schema(schema_name=_current_schema())
    own = (workspace.holiday_country if workspace is not None else "").strip()
    if own:
        return _known(own, f"holiday country of workspace {workspace.slug if workspace else '?'}")
    code = (getattr(settings, "INSIGHTS_HOLIDAY_COUNTRY", "") or "").strip()
    return _known(code, "INSIGHTS_HOLIDAY_COUNTRY") if code else None


@dataclass(frozen=True)
class EventRow:
    pk: int
    name: str
    start: date
    end: date
    days: int
    occurrences: int  # events of the same name, this one included (each year's sale)
    upcoming: bool


@dataclass(frozen=True)
class EventsPage:
    events: list[EventRow]
    own_country: str  # the workspace's setting ("" when it has none)
    country: str | None  # what the forecasts use (the setting, else the deployment default)
    default_country: str

    def context(self) -> dict[str, object]:
        return {
            "events": self.events,
            "upcoming": [e for e in self.events if e.upcoming],
            "past": [e for e in self.events if not e.upcoming],
            "own_country": self.own_country,
            "country": self.country,
            "default_country": self.default_country,
        }


def events_page(*, today: date) -> EventsPage:
    """The workspace's events, upcoming first (soonest first), then past ones (latest first)."""
    rows = list(WorkspaceEvent.objects.order_by("start", "pk"))
    counts: dict[str, int] = {}
    for e in rows:
        counts[e.name.casefold()] = counts.get(e.name.casefold(), 0) + 1
    events = [
        EventRow(
            pk=e.pk,
            name=e.name,
            start=e.start,
            end=e.end,
            days=(e.end - e.start).days + 1,
            occurrences=counts[e.name.casefold()],
            upcoming=e.end >= today,
        )
        for e in rows
    ]
    upcoming = [e for e in events if e.upcoming]
    past = sorted((e for e in events if not e.upcoming), key=lambda e: (e.start, e.pk), reverse=True)
    workspace = workspace_for_schema(schema_name=_current_schema())
    return EventsPage(
        events=upcoming + past,
        own_country=workspace.holiday_country if workspace is not None else "",
        country=holiday_country(),
        default_country=(getattr(settings, "INSIGHTS_HOLIDAY_COUNTRY", "") or "").strip(),
    )
