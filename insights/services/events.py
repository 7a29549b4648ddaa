"""Workspace events (sales, launches) and the holiday country that the nightly forecasts learn and apply."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from accounts.models import Membership, Workspace
from accounts.services import AccountsError, workspace_holiday_country_set
from insights.ml.calendar import country_holidays
from insights.ml.errors import InputError
from insights.models import WorkspaceEvent
from insights.services.common import InsightsError

MAX_EVENT_DAYS = 92


def _checked(name: str, start: date, end: date | None) -> tuple[str, date, date]:
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
    return name, start, end


@transaction.atomic
def workspace_event_add(*, name: str, start: date, end: date | None = None) -> WorkspaceEvent:
    """Record an event; the same name in several years shares one learned effect."""
    name, start, end = _checked(name, start, end)
    return WorkspaceEvent.objects.create(name=name, start=start, end=end)


@transaction.atomic
def workspace_event_update(*, event_id: int, name: str, start: date, end: date | None = None) -> WorkspaceEvent:
    """Change an event's name or dates (checked like a new one)."""
    name, start, end = _checked(name, start, end)
    event = WorkspaceEvent.objects.select_for_update().filter(pk=event_id).first()
    if event is None:
        raise InsightsError("That event no longer exists.")
    event.name, event.start, event.end = name, start, end
    event.save(update_fields=["name", "start", "end"])
    return event


@transaction.atomic
def workspace_event_delete(*, event_id: int) -> bool:
    """Delete one event; False if it did not exist."""
    deleted, _ = WorkspaceEvent.objects.filter(pk=event_id).delete()
    return bool(deleted)


def holiday_country_set(*, workspace: Workspace, actor_membership: Membership, country: str) -> Workspace:
    """Set the workspace's holiday country after checking the holiday tables know it ("" clears it)."""
    code = (country or "").strip().upper()
    if code:
        try:
            country_holidays(code, [2024])
        except InputError as exc:
            raise InsightsError(
                f"“{code}” is not a country Bosco knows the holidays of (use a code such as US, DE or FR)."
            ) from exc
    try:
        return workspace_holiday_country_set(workspace=workspace, actor_membership=actor_membership, country=code)
    except AccountsError as exc:
        raise InsightsError(str(exc)) from exc
