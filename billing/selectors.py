"""Reads of billing state. Apps ask `billing.entitlements`; these serve it, the pages and the admin."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from billing.models import BillingAccount, Status, StripeEvent

ENDED_STATUSES = (Status.CANCELED, Status.UNPAID, Status.INCOMPLETE_EXPIRED, Status.PAUSED, Status.INCOMPLETE)


def account_for_schema(schema: str) -> BillingAccount | None:
    return BillingAccount.objects.select_related("workspace").filter(workspace__schema_name=schema).first()


def account_for_customer(customer_id: str) -> BillingAccount | None:
    if not customer_id:
        return None
    return BillingAccount.objects.select_related("workspace").filter(stripe_customer_id=customer_id).first()


def _day(moment: datetime) -> str:
    return f"{moment:%-d %B %Y}"


def read_only_reason(account: BillingAccount, *, now: datetime | None = None) -> tuple[str, datetime | None]:
    """Why the workspace is read-only now ("" if it is not), and when that answer changes by itself."""
    now = now or timezone.now()
    if account.status == Status.TRIALING:
        if account.trial_end is None or account.trial_end > now:
            return "", account.trial_end
        return f"The free trial ended on {_day(account.trial_end)}, so this workspace is read-only.", None
    if account.status == Status.COMPED:
        if account.comped_until is None or account.comped_until > now:
            return "", account.comped_until
        return f"The plan granted by support ended on {_day(account.comped_until)}; this workspace is read-only.", None
    if account.status == Status.PAST_DUE:
        if account.grace_until is None or account.grace_until > now:
            return "", account.grace_until
        return (
            f"A payment failed and was not settled by {_day(account.grace_until)}, so this workspace is read-only.",
            None,
        )
    if account.status in ENDED_STATUSES:
        return "The subscription has ended, so this workspace is read-only.", None
    return "", None


def trial_accounts_ending_between(start: datetime, end: datetime) -> QuerySet[BillingAccount]:
    return BillingAccount.objects.select_related("workspace").filter(
        status=Status.TRIALING, trial_end__gt=start, trial_end__lte=end, workspace__status="active"
    )


def recent_events(account: BillingAccount, limit: int = 20) -> QuerySet[StripeEvent]:
    return StripeEvent.objects.filter(account=account).order_by("-received_at")[:limit]


def unprocessed_events(older_than: datetime) -> QuerySet[StripeEvent]:
    return StripeEvent.objects.filter(processed_at__isnull=True, received_at__lt=older_than)
