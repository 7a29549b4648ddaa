"""Celery entry points of the insights: the nightly scoring and journey fan-outs and their
per-workspace runs.

Beat runs `score_due_workspaces` every hour (bosco/beat.py); it enqueues `score_workspace` for
each active workspace whose newest day is due (`scoring_day_due`): from the scoring hour (04:xx
local by default) on, yesterday is scored once it is complete in every ad account's zone — a
Berlin workspace with a Los Angeles account at the first run after LA's midnight and a sync. The
fan-out decides from the workspace's public row alone (its zone, `complete_through` kept by the
warehouse, `scored_through` claimed here), so it costs one query for all workspaces plus one
claim per workspace queued, and each day is queued once.
The per-workspace task runs inside the workspace's schema (`tenant_task`) and is idempotent, so
a redelivery or a manual "Run now" next to the nightly run changes nothing twice.

`attribute_journeys_due` does the same an hour earlier (03:xx) for the first-party journeys:
`attribute_journeys` builds the conversion paths of the last 90 days from the tracked events and
the store's orders and attributes them (an unchanged build stores nothing new).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction

from accounts.selectors import active_workspaces
from accounts.services import workspace_scoring_claim
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


def _zone(time_zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local_hour(time_zone: str, now: datetime) -> int:
    return now.astimezone(_zone(time_zone)).hour


def scoring_day_due(
    *, time_zone: str, complete_through: date | None, scored_through: date | None, now: datetime, hour: int
) -> date | None:
    """The day the nightly scoring should score now, or None when nothing is due.

    The day is the workspace's newest complete day: yesterday in its zone, or earlier while an ad
    account's zone (or its sync) has not finished a day (`complete_through`; None: nothing holds
    it back). It is due once the workspace's local time has reached the scoring hour, and only if
    it is newer than the day last queued (`scored_through`). So a workspace whose accounts share
    its zone is scored at 04:xx as ever; one with an account further west waits for the first run
    after that account's day ended and a sync read it; a day is never queued twice. Local hours
    before the scoring hour never queue (a day completed after midnight waits for 04:xx).
    """
    local = now.astimezone(_zone(time_zone))
    if local.hour < hour:
        return None
    day = local.date() - timedelta(days=1)
    if complete_through is not None:
        day = min(day, complete_through)
    if scored_through is not None and day <= scored_through:
        return None
    return day


@public_task()
def score_due_workspaces(all_workspaces: bool = False, as_of: str | None = None, now: str | None = None) -> list[str]:
    """Beat fan-out: enqueue scoring for the workspaces whose newest day is due (or all of them).

    `now` (ISO 8601 with an offset) replaces the present for operators and tests. Returns the task
    ids, so a caller (a test, an operator) can wait for them.
    """
    hour = getattr(settings, "INSIGHTS_SCORING_LOCAL_HOUR", SCORING_LOCAL_HOUR)
    moment = datetime.fromisoformat(now) if now else datetime.now(tz=UTC)
    ids = []
    rows = active_workspaces().values_list("pk", "schema_name", "time_zone", "complete_through", "scored_through")
    for pk, schema_name, time_zone, complete_through, scored_through in rows:
        if all_workspaces:
            ids.append(score_workspace.delay(schema_name, as_of=as_of).id)
            continue
        day = scoring_day_due(
            time_zone=time_zone,
            complete_through=complete_through,
            scored_through=scored_through,
            now=moment,
            hour=hour,
        )
        if day is None:
            continue
        # Claim and queue together: a broker that refuses the message leaves the day unclaimed.
        with transaction.atomic():
            if workspace_scoring_claim(workspace_id=pk, day=day):
                ids.append(score_workspace.delay(schema_name, as_of=as_of or day.isoformat()).id)
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
