"""Billing listens to the accounts layer below it (accounts announces; billing never gets imported there)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.signals import seat_requested, workspace_created
from billing.entitlements import EntitlementError, check
from billing.services import trial_start


@receiver(workspace_created, dispatch_uid="billing.trial_start")
def _start_trial(sender: Any, workspace: Any, **_: Any) -> None:
    trial_start(workspace=workspace)


@receiver(seat_requested, dispatch_uid="billing.member_limit")
def _member_limit(sender: Any, workspace: Any, seats: int, **_: Any) -> str | None:
    try:
        check(workspace.schema_name, "members", current=seats)
    except EntitlementError as exc:
        return exc.message
    return None
