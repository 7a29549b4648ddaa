"""Celery queues: one per kind of work, so a long backfill never delays a webhook or an e-mail.

Queue names derive from the default queue (`BOSCO_CELERY_QUEUE`, "bosco"): "bosco" itself holds
whatever no group claims, and each group gets "bosco.<group>" ("bosco.syncs", "bosco.billing", ...).
Deriving them at routing time lets a test process with its own default queue get its own set.
Tasks are routed by name; the longest matching prefix wins.
"""

from __future__ import annotations

from typing import Any

from bosco.celery import app

SYNCS = "syncs"
WAREHOUSE = "warehouse"
SCORING = "scoring"
NOTIFICATIONS = "notifications"
BILLING = "billing"
GROUPS = (SYNCS, WAREHOUSE, SCORING, NOTIFICATIONS, BILLING)

# Task-name prefixes (module or full task name) → group. Anything else runs on the default queue.
ROUTES: dict[str, str] = {
    "connectors.tasks.": SYNCS,
    "warehouse.tasks.": WAREHOUSE,
    "insights.tasks.": SCORING,
    "billing.tasks.send_trial_notices": NOTIFICATIONS,
    "billing.tasks.process_stripe_event": BILLING,
    "billing.tasks.requeue_stuck_events": BILLING,
    # Alerts: evaluation reads the warehouse like scoring does; deliveries are e-mail.
    "alerts.tasks.evaluate_": SCORING,
    "alerts.tasks.send_delivery": NOTIFICATIONS,
    # Digests: the fan-out and the sends are e-mail work.
    "digests.tasks.": NOTIFICATIONS,
    # File uploads: checking and landing a file is ingestion, like a sync.
    "uploads.tasks.": SYNCS,
}


def default_queue() -> str:
    return str(app.conf.task_default_queue)


def queue_name(group: str | None) -> str:
    """The queue of `group` (None: the default queue)."""
    return f"{default_queue()}.{group}" if group else default_queue()


def group_for(task_name: str) -> str | None:
    matches = [prefix for prefix in ROUTES if task_name.startswith(prefix)]
    return ROUTES[max(matches, key=len)] if matches else None


def all_queue_names() -> list[str]:
    """Every queue Bosco sends to: what a worker consuming "everything" must listen on."""
    return [queue_name(None), *(queue_name(group) for group in GROUPS)]


def route_task(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **_: Any) -> dict[str, str]:
    """Celery router (CELERY_TASK_ROUTES): the queue for a task, by its name."""
    return {"queue": queue_name(group_for(name))}
