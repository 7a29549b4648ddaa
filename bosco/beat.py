"""The whole periodic schedule, in one place (django-celery-beat stores and runs it).

Entries are crontab-only fan-outs that run in the public schema and enqueue one task per
workspace; each entry expires so a backlog after downtime does not replay stale runs.
Later issues add their entries here, never elsewhere.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "accounts.expire-invitations": {
        "task": "accounts.tasks.expire_invitations",
        "schedule": crontab(minute=17, hour="*/6"),
        "options": {"expires": 3600},
    },
    # --- Connectors: every 15 minutes each workspace starts the syncs that are due (each
    # connection every `sync_interval_hours`, default 6) and re-queues runs whose worker died.
    "connectors.schedule-syncs": {
        "task": "connectors.tasks.schedule_syncs",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 600},
    },
    # --- end Connectors
    # --- Warehouse: nightly checks per workspace (freshness and data lag even when no sync
    # arrives, days leaving the restatement window stop "settling", old restatement log pruned),
    # and the ECB reference rates after their ~16:00 CET publication (workspaces whose rates
    # changed recompute the affected days).
    "warehouse.nightly-checks": {
        "task": "warehouse.tasks.nightly_checks_all",
        "schedule": crontab(minute=40, hour=2),
        "options": {"expires": 3 * 3600},
    },
    "warehouse.fx-rates": {
        "task": "warehouse.tasks.refresh_fx_rates_all",
        "schedule": crontab(minute=20, hour=16, day_of_week="mon-fri"),
        "options": {"expires": 3 * 3600},
    },
    # --- end Warehouse
    # --- Insights: every hour, the workspaces whose yesterday is due are scored (anomalies,
    # forecasts, budget response curves) in their own schema: from 04:xx local, once the day is
    # complete in every ad account's zone (insights.tasks.scoring_day_due). Once per workspace and day.
    "insights.score-nightly": {
        "task": "insights.tasks.score_due_workspaces",
        "schedule": crontab(minute=25),
        "options": {"expires": 1800},
    },
    # Journeys: the same hourly fan-out, for workspaces whose local time is 03:xx: conversion
    # paths from the tracked first-party events and store orders, attributed with every model.
    "insights.journeys-nightly": {
        "task": "insights.tasks.attribute_journeys_due",
        "schedule": crontab(minute=35),
        "options": {"expires": 1800},
    },
    # --- end Insights
    # --- Billing: owners hear 7 and 1 days before their trial ends (idempotent per workspace and
    # milestone); webhook events whose handling crashed past all retries are queued again.
    "billing.trial-notices": {
        "task": "billing.tasks.send_trial_notices",
        "schedule": crontab(minute=5),
        "options": {"expires": 1800},
    },
    "billing.requeue-stuck-events": {
        "task": "billing.tasks.requeue_stuck_events",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 600},
    },
    # --- end Billing
    # --- Alerts: every hour each workspace evaluates its rules (data-health rules must fire even
    # when no sync arrives; metric rules are also evaluated after every warehouse run).
    "alerts.evaluate-hourly": {
        "task": "alerts.tasks.evaluate_all",
        "schedule": crontab(minute=45),
        "options": {"expires": 1800},
    },
    # --- end Alerts
    # --- Digests: every 15 minutes the digests whose local hour (each member's own time zone)
    # has come are claimed, one send record per member and period, and sent on the notifications queue.
    "digests.send-due": {
        "task": "digests.tasks.send_due_digests",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 600},
    },
    # --- end Digests
    # --- Tracking: a backstop for landing buffered beacons (each accepted beacon also queues a
    # landing within seconds), which also reclaims entries a killed worker held; and the nightly
    # retention of events.
    "tracking.land-pending": {
        "task": "tracking.tasks.land_all_pending",
        "schedule": crontab(minute="*"),
        "options": {"expires": 50},
    },
    "tracking.retention": {
        "task": "tracking.tasks.apply_retention_all",
        "schedule": crontab(minute=35, hour=3),
        "options": {"expires": 3 * 3600},
    },
    # --- end Tracking
    # --- Support: each workspace's health summary for the console (also refreshed after every
    # warehouse run), and exports past their retention removed.
    "support.refresh-health": {
        "task": "support.tasks.refresh_health_all",
        "schedule": crontab(minute="7-59/15"),
        "options": {"expires": 600},
    },
    "support.expire-exports": {
        "task": "support.tasks.expire_exports",
        "schedule": crontab(minute=50, hour=3),
        "options": {"expires": 3600},
    },
    # --- end Support
}
