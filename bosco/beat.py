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
}
