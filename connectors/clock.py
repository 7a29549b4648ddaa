"""What day it is for an ad account: platforms report in the account's time zone.

Shared by the sync engine (planning a run's dates) and the selectors (how far behind an
account's data is); `CONNECTORS_FIXED_TODAY` pins it for tests and benchmarks.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings


def account_today(time_zone: str) -> date:
    """The account's current date: platforms report in the account's time zone."""
    if settings.CONNECTORS_FIXED_TODAY:
        return date.fromisoformat(settings.CONNECTORS_FIXED_TODAY)
    try:
        zone = ZoneInfo(time_zone) if time_zone else ZoneInfo("UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.now(zone).date()
