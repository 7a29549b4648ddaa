"""Workspace events (sales, launches) that the nightly forecasts learn and apply."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from insights.models import WorkspaceEvent
from insights.services.common import InsightsError

MAX_EVENT_DAYS = 92


@transaction.atomic
def workspace_event_add(*, name: str, start: date, end: date | None = None) -> WorkspaceEvent:
    """Record an event; the same name in several years shares one learned effect."""
    name = (name or "").strip()
    end = end or start
    if not name:
        raise InsightsError("An event needs a name.")
    if len(name) > 100:
        raise InsightsError("An event name has at most 100 characters.")
    if end < start:
        raise InsightsError("An event cannot end before it starts.")
    if (end - start).days + 1 > MAX_EVENT_DAYS:
        raise InsightsError(f"An event lasts at most {MAX_EVENT_DAYS} days.")
    return WorkspaceEvent.objects.create(name=name, start=start, end=end)


@transaction.atomic
def workspace_event_delete(*, event_id: int) -> bool:
    """Delete one event; False if it did not exist."""
    deleted, _ = WorkspaceEvent.objects.filter(pk=event_id).delete()
    return bool(deleted)
