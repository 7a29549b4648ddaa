"""The billing banner on every workspace page: trial ending, payment failed, read-only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from billing.entitlements import UPGRADE_HINT, for_workspace

#: the trial banner shows from this many days before the end (the first e-mail goes out then too)
TRIAL_BANNER_DAYS = 7


def billing_banner(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name() or getattr(request, "membership", None) is None:
        return {}

    plan = for_workspace(tenant.schema_name)
    if plan.read_only:
        return {"billing_banner": {"level": "error", "text": f"{plan.read_only_reason} {UPGRADE_HINT}"}}
    now = timezone.now()
    if plan.status == "past_due":
        until = datetime.fromisoformat(plan.grace_until) if plan.grace_until else None
        when = f" by {until:%-d %B %Y}" if until else ""
        text = f"A payment failed. Update the payment method under “Manage billing”{when}, or the workspace becomes read-only."
        return {"billing_banner": {"level": "warning", "text": text}}
    if plan.status == "trialing" and plan.trial_end:
        ends = datetime.fromisoformat(plan.trial_end)
        if ends - now <= timedelta(days=TRIAL_BANNER_DAYS):
            days = max(0, (ends - now).days)
            left = "less than a day" if days == 0 else f"{days} day{'s' if days != 1 else ''}"
            text = f"Your free trial ends in {left} ({ends:%-d %B %Y}). Choose a plan to keep syncing."
            return {"billing_banner": {"level": "warning", "text": text}}
    return {}
