"""Writes to billing state: trials, Stripe subscriptions, webhook events, support grants.

Every change to an account goes through `_account_save`, which keeps the workspace's plan key
(read by the API throttle and the public pages) in step and drops the cached entitlements after
commit. Stripe is the source of truth for paid subscriptions: an event is only a hint that
something changed, so applying one re-reads the subscription from Stripe under the account's
row lock, and an older snapshot can never overwrite a newer one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from accounts.roles import Permission
from accounts.selectors import owner_emails
from billing import entitlements, signals, stripe_client
from billing.models import BillingAccount, BillingChange, Interval, Status, StripeEvent, TrialNotice
from billing.plans import PAID_PLANS, Plan
from billing.selectors import trial_accounts_ending_between

logger = logging.getLogger(__name__)

TRIAL_DAYS = 14
TRIAL_NOTICE_DAYS = (7, 1)
SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.trial_will_end",
        "customer.subscription.paused",
        "customer.subscription.resumed",
    }
)
INVOICE_EVENTS = frozenset({"invoice.paid", "invoice.payment_failed", "invoice.payment_succeeded"})
HANDLED_EVENTS = SUBSCRIPTION_EVENTS | INVOICE_EVENTS | {"checkout.session.completed", "customer.updated"}


class BillingError(Exception):
    """A billing request Bosco refuses, with a message fit to show the user."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def grace_days() -> int:
    return int(getattr(settings, "BILLING_GRACE_DAYS", 7))


def _account_save(account: BillingAccount, fields: list[str]) -> None:
    account.save(update_fields=[*fields, "updated_at"])
    # The workspace row keeps the catalogue key its limits come from (the trial has its own).
    key = Plan.TRIAL if account.status == Status.TRIALING else account.plan
    Workspace.objects.filter(pk=account.workspace_id).exclude(plan=key).update(plan=key)
    entitlements.invalidate(account.workspace.schema_name)


# --------------------------------------------------------------------------- trial


def trial_start(*, workspace: Any, now: datetime | None = None) -> BillingAccount:
    """A new workspace gets a 14-day trial of Growth, without a card (idempotent)."""
    now = now or timezone.now()
    account, created = BillingAccount.objects.get_or_create(
        workspace=workspace,
        defaults={"plan": Plan.GROWTH, "status": Status.TRIALING, "trial_end": now + timedelta(days=TRIAL_DAYS)},
    )
    if created:
        _account_save(account, ["plan"])
    return account


def trial_notices_send(*, now: datetime | None = None) -> int:
    """E-mail the owners of trials ending in 7 or 1 days, once per workspace, milestone and trial end.

    The notice row is inserted before the mail is queued (after commit), in one transaction per
    workspace: a second run, or two beat runs at once, find the row and send nothing.
    """
    now = now or timezone.now()
    sent = 0
    for days in TRIAL_NOTICE_DAYS:
        for account in trial_accounts_ending_between(now, now + timedelta(days=days)):
            if account.trial_end is None or (days == 7 and account.trial_end <= now + timedelta(days=1)):
                continue  # the 1-day notice covers it; never two mails for one moment
            sent += _trial_notice_send(account=account, days=days)
    return sent


def _trial_notice_send(*, account: BillingAccount, days: int) -> int:
    if account.trial_end is None:
        return 0
    with transaction.atomic():
        _, created = TrialNotice.objects.get_or_create(account=account, days_before=days, trial_end=account.trial_end)
        if not created:
            return 0
        recipients = owner_emails(workspace=account.workspace)
        workspace = account.workspace
        ends = account.trial_end
        transaction.on_commit(
            lambda: send_mail(
                subject=f"[Bosco] The trial of {workspace.name} ends in {days} day{'s' if days > 1 else ''}",
                message=(
                    f"The free trial of the workspace “{workspace.name}” ends on {ends:%-d %B %Y at %H:%M} UTC.\n\n"
                    "Choose a plan under Settings → Plan and billing to keep syncing. If you do not, the workspace"
                    " becomes read-only: your data stays and is shown, but syncs and scoring stop until you subscribe."
                ),
                from_email=None,
                recipient_list=recipients,
            )
        )
    return 1


# --------------------------------------------------------------------------- checkout and portal


def _ensure_owner(membership: Any) -> None:
    if membership is None or not membership.can(Permission.MANAGE_BILLING):
        raise BillingError("Only the workspace's owners can subscribe or manage billing.", status=403)


def _customer_for(account: BillingAccount, *, email: str) -> str:
    """The workspace's Stripe customer, created once (the client uses an idempotency key per workspace)."""
    customer_id = stripe_client.ensure_customer(
        workspace_schema=account.workspace.schema_name,
        workspace_name=account.workspace.name,
        email=email,
        existing_id=account.stripe_customer_id or None,
    )
    if customer_id != account.stripe_customer_id:
        with transaction.atomic():
            locked = BillingAccount.objects.select_for_update().get(pk=account.pk)
            locked.stripe_customer_id = customer_id
            _account_save(locked, ["stripe_customer_id"])
        account.stripe_customer_id = customer_id
    return customer_id


def checkout_start(
    *, workspace: Any, membership: Any, plan: str, interval: str, success_url: str, cancel_url: str
) -> str:
    """The URL of a Stripe Checkout page for this workspace (taken from the request, never the form)."""
    _ensure_owner(membership)
    if plan not in PAID_PLANS:
        raise BillingError(f"“{plan}” is not a plan you can subscribe to.")
    if interval not in Interval.values:
        raise BillingError(f"“{interval}” is not a billing interval (monthly or yearly).")
    if not stripe_client.is_configured():
        raise BillingError("Payments are not configured on this Bosco installation.", status=503)
    account = trial_start(workspace=workspace)
    if account.stripe_subscription_id and account.status in (Status.ACTIVE, Status.TRIALING, Status.PAST_DUE):
        raise BillingError("This workspace already has a subscription; change it with “Manage billing”.")
    customer_id = _customer_for(account, email=membership.user.email)
    return stripe_client.create_checkout_session(
        customer_id=customer_id,
        price_id=stripe_client.price_id_for(plan=plan, interval=interval),
        workspace_schema=workspace.schema_name,
        success_url=success_url,
        cancel_url=cancel_url,
    )


def portal_start(*, workspace: Any, membership: Any, return_url: str) -> str:
    _ensure_owner(membership)
    if not stripe_client.is_configured():
        raise BillingError("Payments are not configured on this Bosco installation.", status=503)
    account = trial_start(workspace=workspace)
    customer_id = _customer_for(account, email=membership.user.email)
    return stripe_client.create_portal_session(customer_id=customer_id, return_url=return_url)


# --------------------------------------------------------------------------- webhook events


def event_record(event: dict[str, Any]) -> tuple[StripeEvent, bool]:
    """Store a verified event once (the id is the primary key); returns it and whether it is new."""
    event_id = str(event.get("id") or "")
    if not event_id.startswith("evt_"):
        raise BillingError("The event has no id.")
    record, created = StripeEvent.objects.get_or_create(
        id=event_id,
        defaults={
            "type": str(event.get("type") or "")[:100],
            "created": int(event.get("created") or 0),
            "payload": event,
        },
    )
    return record, created


@dataclass(frozen=True)
class Outcome:
    applied: bool
    note: str


def event_process(*, event_id: str) -> Outcome:
    """Apply a stored event exactly once.

    The event row is locked for the whole transaction and `processed_at` is set in it, together
    with the effect: a redelivery, a second worker or a retry after a crash either waits for the
    lock and finds the event done, or finds it untouched (the crash rolled everything back).
    """
    with transaction.atomic():
        record = StripeEvent.objects.select_for_update().filter(id=event_id).first()
        if record is None:
            return Outcome(False, "unknown event id")
        if record.processed_at is not None:
            return Outcome(False, "already processed")
        record.attempts += 1
        outcome = _event_apply(record)
        record.processed_at = timezone.now()
        record.outcome = outcome.note[:300]
        record.error = ""
        record.save(update_fields=["processed_at", "outcome", "error", "attempts", "account"])
    return outcome


def event_failed(*, event_id: str, error: str) -> None:
    """Note why handling failed (the event stays unprocessed and is retried)."""
    StripeEvent.objects.filter(id=event_id, processed_at__isnull=True).update(error=error[:2000])


def _object_customer(obj: dict[str, Any]) -> str:
    customer = obj.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    if obj.get("object") == "customer":
        customer = obj.get("id")
    return str(customer or "")


def _invoice_subscription(invoice: dict[str, Any]) -> str:
    sub = invoice.get("subscription")
    if not sub:
        parent = invoice.get("parent") or {}
        sub = (parent.get("subscription_details") or {}).get("subscription")
    if isinstance(sub, dict):
        sub = sub.get("id")
    return str(sub or "")


def _event_apply(record: StripeEvent) -> Outcome:
    kind = record.type
    if kind not in HANDLED_EVENTS:
        return Outcome(False, f"ignored: Bosco does not handle {kind}")
    obj = (record.payload.get("data") or {}).get("object") or {}
    customer_id = _object_customer(obj)
    account = (
        BillingAccount.objects.select_for_update()
        .select_related("workspace")
        .filter(stripe_customer_id=customer_id or None)
        .first()
    )
    if account is None:
        logger.warning("stripe event %s (%s) for unknown customer %r ignored", record.id, kind, customer_id)
        return Outcome(False, f"ignored: no workspace has customer {customer_id or '(none)'}")
    record.account = account
    if kind == "customer.updated":
        return Outcome(False, "noted: customer details live in Stripe")
    if kind == "checkout.session.completed":
        reference = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("workspace_schema")
        if reference and reference != account.workspace.schema_name:
            logger.warning(
                "checkout %s names workspace %r but customer %s is %s",
                obj.get("id"),
                reference,
                customer_id,
                account.workspace.schema_name,
            )
            return Outcome(False, "ignored: the session names another workspace than its customer")
        subscription_id = str(obj.get("subscription") or "")
    elif kind in INVOICE_EVENTS:
        subscription_id = _invoice_subscription(obj)
    else:
        subscription_id = str(obj.get("id") or "")
    if not subscription_id:
        return Outcome(False, "ignored: no subscription")
    if kind == "invoice.payment_failed":
        _note_payment_failed(account)
    return _subscription_sync(account, subscription_id=subscription_id, event_created=record.created)


def _note_payment_failed(account: BillingAccount) -> None:
    """The grace period starts at the first failure and is not extended by later ones."""
    if account.grace_until is None:
        account.grace_until = timezone.now() + timedelta(days=grace_days())
        _account_save(account, ["grace_until"])


def _ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def plan_from_subscription(subscription: dict[str, Any]) -> tuple[str, str] | None:
    """(plan, interval) from the price's lookup key `bosco_<plan>_<monthly|yearly>`."""
    items = (subscription.get("items") or {}).get("data") or []
    price = (items[0].get("price") if items else None) or {}
    parts = str(price.get("lookup_key") or "").split("_")
    if len(parts) == 3 and parts[0] == "bosco" and parts[1] in PAID_PLANS and parts[2] in Interval.values:
        return parts[1], parts[2]
    return None


def _period_end(subscription: dict[str, Any]) -> datetime | None:
    items = (subscription.get("items") or {}).get("data") or []
    value = subscription.get("current_period_end") or (items[0].get("current_period_end") if items else None)
    return _ts(value)


def _subscription_sync(account: BillingAccount, *, subscription_id: str, event_created: int) -> Outcome:
    """Copy the subscription as Stripe has it NOW (not as the event's snapshot had it)."""
    current = stripe_client.retrieve_subscription(subscription_id)
    if _object_customer(current) != account.stripe_customer_id:
        logger.warning("subscription %s does not belong to customer %s", subscription_id, account.stripe_customer_id)
        return Outcome(False, "ignored: the subscription belongs to another customer")
    if (
        account.stripe_subscription_id
        and account.stripe_subscription_id != subscription_id
        and current.get("status") in ("canceled", "incomplete_expired")
    ):
        # An old subscription ending must not end the newer one the workspace has now.
        return Outcome(False, f"ignored: {subscription_id} is not the workspace's current subscription")
    return subscription_apply(account, subscription=current, event_created=event_created)


def subscription_apply(account: BillingAccount, *, subscription: dict[str, Any], event_created: int) -> Outcome:
    before = account.snapshot()
    status = str(subscription.get("status") or "")
    if status not in Status.values or status == Status.COMPED:
        return Outcome(False, f"ignored: unknown subscription status {status!r}")
    chosen = plan_from_subscription(subscription)
    if chosen is not None:
        account.plan, account.interval = chosen
    account.status = status
    account.stripe_subscription_id = str(subscription.get("id") or "")
    account.trial_end = _ts(subscription.get("trial_end")) if status == Status.TRIALING else account.trial_end
    account.current_period_end = _period_end(subscription)
    account.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    account.comped_until = None
    if status != Status.PAST_DUE:
        account.grace_until = None
    elif account.grace_until is None:
        account.grace_until = timezone.now() + timedelta(days=grace_days())
    account.last_event_created = max(account.last_event_created, event_created)
    _account_save(
        account,
        [
            "plan",
            "interval",
            "status",
            "stripe_subscription_id",
            "trial_end",
            "current_period_end",
            "cancel_at_period_end",
            "comped_until",
            "grace_until",
            "last_event_created",
        ],
    )
    after = account.snapshot()
    changed = {k: after[k] for k in after if after[k] != before[k]}
    return Outcome(bool(changed), f"applied: {changed}" if changed else "applied: no change")


# --------------------------------------------------------------------------- support actions


def _audit(account: BillingAccount, *, actor: Any, action: str, reason: str, before: dict[str, Any]) -> None:
    change = BillingChange.objects.create(
        account=account,
        workspace_slug=account.workspace.slug,
        actor=actor,
        actor_email=actor.email,
        action=action,
        reason=reason,
        before=before,
        after=account.snapshot(),
    )
    # The support console keeps the one audit log of every support action (support.receivers).
    signals.support_change_made.send(
        sender=BillingChange,
        workspace=account.workspace,
        actor=actor,
        action=action,
        reason=reason,
        before=before,
        after=change.after,
    )


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise BillingError("Say why (at least a few words): the change is recorded with your reason.")
    return reason


@transaction.atomic
def account_forget(*, workspace: Any) -> int:
    """Before a workspace is deleted: drop its Stripe events (their payloads name it). The account
    and its trial notices go with the workspace; support's change history (the audit) stays."""
    deleted, _ = StripeEvent.objects.filter(account__workspace=workspace).delete()
    entitlements.invalidate(workspace.schema_name)
    return deleted


@transaction.atomic
def trial_extend(*, account_id: int, actor: Any, until: datetime, reason: str) -> BillingAccount:
    reason = _reason(reason)
    account = BillingAccount.objects.select_for_update().select_related("workspace").get(pk=account_id)
    if account.status not in (Status.TRIALING,) and account.stripe_subscription_id:
        raise BillingError("This workspace has a Stripe subscription; its trial is managed in Stripe.")
    if until <= timezone.now():
        raise BillingError("The new trial end must be in the future.")
    before = account.snapshot()
    account.status = Status.TRIALING
    account.trial_end = until
    _account_save(account, ["status", "trial_end"])
    _audit(account, actor=actor, action="extend_trial", reason=reason, before=before)
    return account


@transaction.atomic
def plan_grant(*, account_id: int, actor: Any, plan: str, until: datetime | None, reason: str) -> BillingAccount:
    """Support gives a plan without Stripe (comped), until a date or until it is ended."""
    reason = _reason(reason)
    if plan not in PAID_PLANS:
        raise BillingError(f"“{plan}” is not a plan that can be granted.")
    if until is not None and until <= timezone.now():
        raise BillingError("The grant must end in the future (or leave the end empty).")
    account = BillingAccount.objects.select_for_update().select_related("workspace").get(pk=account_id)
    before = account.snapshot()
    account.plan = plan
    account.status = Status.COMPED
    account.comped_until = until
    account.grace_until = None
    _account_save(account, ["plan", "status", "comped_until", "grace_until"])
    _audit(account, actor=actor, action="grant_plan", reason=reason, before=before)
    return account
