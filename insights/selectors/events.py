"""Reads of the workspace's events and holiday country for the forecasts."""

from __future__ import annotations

import logging

from django.conf import settings

from insights.ml.calendar import Event, country_holidays
from insights.ml.errors import InputError
from insights.models import WorkspaceEvent

logger = logging.getLogger("insights.selectors")


def forecast_events() -> list[Event]:
    """Every event of the current workspace, as the forecast model takes them."""
    return [Event(e.name, e.start, e.end) for e in WorkspaceEvent.objects.order_by("start", "pk")]


def holiday_country() -> str | None:
    """Whose public holidays the forecasts know: ``INSIGHTS_HOLIDAY_COUNTRY`` (e.g. "US", "DE").

    Workspaces have no country of their own yet, so one setting applies to all; an unknown
    code is logged once per run and ignored rather than failing every forecast.
    """
    code = (getattr(settings, "INSIGHTS_HOLIDAY_COUNTRY", "") or "").strip()
    if not code:
        return None
    try:
        country_holidays(code, [2024])
    except InputError as exc:
        logger.warning("INSIGHTS_HOLIDAY_COUNTRY ignored: %s", exc)
        return None
    return code
