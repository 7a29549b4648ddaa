"""Celery entry points of the insights: the nightly scoring and journey fan-outs and their
per-workspace runs.

Beat runs `score_due_workspaces` every hour (bosco/beat.py); it enqueues `score_workspace` for
each active workspace whose local time is in the scoring hour (04:xx by default), so every
workspace is scored once a night in its own night, after its platforms have reported the day.
The per-workspace task runs inside the workspace's schema (`tenant_task`) and is idempotent, so
a redelivery or a manual "Run now" next to the nightly run changes nothing twice.

`attribute_journeys_due` does the same an hour earlier (03:xx) for the first-party journeys:
`attribute_journeys` builds the conversion paths of the last 90 days from the tracked events and
the store's orders and attributes them (an unchanged build stores nothing new).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from accounts.selectors import active_workspaces
from billing.entitlements import for_workspace
from bosco.db import connection
from bosco.tasks import public_task, tenant_task
from insights.services import score_workspace_nightly
from insights.services.journeys import journeys_attribute

logger = logging.getLogger(__name__)

SCORING_LOCAL_HOUR = 4
#: journeys are attributed an hour before scoring, once the day's last beacons have landed
JOURNEYS_LOCAL_HOUR = 3


@tenant_task()
def score_workspace(as_of: str | None = None) -> dict[str, Any]:
    """Score anomalies, forecasts and budget curves of this workspace (see services)."""
    plan = for_workspace(connection.schema_name)
    if plan.read_only:
        logger.info("scoring skipped in %s: %s", connection.schema_name, plan.read_only_reason)
        return {"skipped": plan.read_only_reason}
    day = date.fromisoformat(as_of) if as_of else None
    return score_workspace_nightly(as_of=day).as_dict()


def _local_hour(time_zone: str, now: datetime) -> int:
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).hour


@public_task()
def score_due_workspaces(all_workspaces: bool = False, as_of: str | None = None) -> list[str]:
    """Beat fan-out: enqueue scoring for workspaces in their scoring hour (or all of them).

    Returns the task ids, so a caller (a test, an operator) can wait for them.
    """
    hour = getattr(settings, "INSIGHTS_SCORING_LOCAL_HOUR", SCORING_LOCAL_HOUR)
    now = datetime.now(tz=ZoneInfo("UTC"))
    ids = []
    for schema_name, time_zone in active_workspaces().values_list("schema_name", "time_zone"):
        if all_workspaces or _local_hour(time_zone, now) == hour:
            ids.append(score_workspace.delay(schema_name, as_of=as_of).id)
    return ids


@tenant_task()
def attribute_journeys(as_of: str | None = None) -> dict[str, Any]:
    """Build this workspace's conversion paths from its tracked journeys and attribute them."""
    plan = for_workspace(connection.schema_name)
    if plan.read_only:
        logger.info("journeys skipped in %s: %s", connection.schema_name, plan.read_only_reason)
        return {"skipped": plan.read_only_reason}
    day = date.fromisoformat(as_of) if as_of else None
    return journeys_attribute(as_of=day).as_dict()


@public_task()
def attribute_journeys_due(all_workspaces: bool = False, as_of: str | None = None) -> list[str]:
    """Beat fan-out: enqueue the journey build for workspaces in their journeys hour (or all)."""
    hour = getattr(settings, "INSIGHTS_JOURNEYS_LOCAL_HOUR", JOURNEYS_LOCAL_HOUR)
    now = datetime.now(tz=ZoneInfo("UTC"))
    ids = []
    for schema_name, time_zone in active_workspaces().values_list("schema_name", "time_zone"):
        if all_workspaces or _local_hour(time_zone, now) == hour:
            ids.append(attribute_journeys.delay(schema_name, as_of=as_of).id)
    return ids
