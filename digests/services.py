"""Writes of the digests app: members' settings, white-label branding, unsubscribes, and the sends.

Exactly once, in practice "at most once, retried until it surely failed":

1. The beat fan-out (`sends_claim_due`) creates one `DigestSend` per member, scope (a workspace,
   or "combined") and period. A partial unique constraint makes a second beat, or a second
   fan-out running at the same time, find the row instead of making another; the send task is
   queued on commit.
2. The task (`send_deliver`) builds the e-mail while the row is `pending` (a crash here loses
   nothing: the redelivered task builds it again), opens the SMTP connection, then commits
   `sending` under a row lock. Only the task that moved the row from pending to sending talks
   SMTP; a redelivered or doubled task finds `sending`/`sent` and stops.
3. After the server accepted the message, `sent` is committed.
4. An SMTP error reply or a connection failure puts the row back to `pending` and the task retries
   with backoff (up to `MAX_ATTEMPTS`, then `failed`); a refused recipient fails at once.

The cost of "at most once": if a worker dies after the server accepted the message but before
`sent` was committed (or while the DATA was in flight), the row stays `sending`. The sweep turns a
`sending` older than `STALE_SENDING` into `failed` ("interrupted") — it is never sent again, so in
that narrow window a member may miss one digest; they never get two.
"""

from __future__ import annotations

import logging
import smtplib
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User, Workspace
from billing.entitlements import EntitlementError, for_workspace
from bosco.tasks import TransientError, enqueue
from digests import message, schedule, selectors, tokens
from digests.models import DigestBranding, DigestProfile, DigestSend, DigestSubscription, Frequency

logger = logging.getLogger("bosco.digests")

MAX_ATTEMPTS = 5
#: a `sending` row older than this belongs to a worker that died mid-send (SMTP timeout is far shorter)
STALE_SENDING = timedelta(minutes=15)
#: a `pending` row this old without a task is queued again by the sweep
PENDING_GRACE = timedelta(minutes=30)
#: "send me one now" at most once per this interval per member and scope
MANUAL_INTERVAL = timedelta(minutes=2)
COMBINED = "combined"


# --------------------------------------------------------------------------- settings


def preferences_save(
    *, user: User, workspace: Workspace, frequency: str, weekday: int, hour: int, time_zone: str, delivery: str
) -> DigestSubscription:
    """A member's digest of one workspace, and their own time zone and grouping (all workspaces)."""
    if time_zone not in zoneinfo.available_timezones():
        raise ValidationError({"time_zone": f"“{time_zone}” is not a time zone."})
    with transaction.atomic():
        profile, _ = DigestProfile.objects.get_or_create(user=user)
        profile.time_zone, profile.delivery = time_zone, delivery
        profile.full_clean()
        profile.save()
        subscription = DigestSubscription.objects.filter(user=user, workspace=workspace).first() or DigestSubscription(
            user=user, workspace=workspace
        )
        subscription.frequency, subscription.weekday, subscription.hour = frequency, weekday, hour
        subscription.full_clean()
        subscription.save()
    return subscription


def branding_save(
    *, workspace: Workspace, sender_name: str, logo_url: str, primary_color: str, accent_color: str
) -> DigestBranding:
    """White-label digests: only a plan with the `white_label` entitlement (Agency) may set them."""
    if not for_workspace(workspace.schema_name).white_label:
        raise EntitlementError(
            "White-label digests are part of the Agency plan. Upgrade to use your own logo, colours and sender name.",
            limit="white_label",
        )
    with transaction.atomic():
        branding = DigestBranding.objects.filter(workspace=workspace).first() or DigestBranding(workspace=workspace)
        branding.sender_name, branding.logo_url = sender_name, logo_url
        branding.primary_color, branding.accent_color = primary_color, accent_color
        branding.full_clean()
        branding.save()
    return branding


@transaction.atomic
def unsubscribe(*, user_id: int, scope: str) -> int:
    """Stop digests: of one workspace (scope = its schema) or all of them ("all"). Idempotent."""
    subscriptions = DigestSubscription.objects.filter(user_id=user_id).exclude(frequency=Frequency.OFF)
    if scope != tokens.ALL:
        subscriptions = subscriptions.filter(workspace__schema_name=scope)
    return subscriptions.update(frequency=Frequency.OFF, updated_at=timezone.now())


# --------------------------------------------------------------------------- scheduling


@dataclass(frozen=True)
class DueDigest:
    user: User
    scope: str
    schemas: tuple[str, ...]
    period: schedule.Period


def digests_due(*, now: datetime) -> list[DueDigest]:
    """Every digest whose local hour has come at `now`, grouped into combined e-mails where asked.

    A combined e-mail holds the member's workspaces that are due with the same frequency and
    period at that moment (give them the same schedule to get one e-mail).
    """
    subscriptions = list(selectors.subscriptions_active())
    members = selectors.member_user_ids(pairs=[(s.user_id, s.workspace_id) for s in subscriptions])
    profiles = selectors.profiles_by_user(user_ids=list({s.user_id for s in subscriptions}))
    groups: dict[tuple[int, str, str, Any], list[DigestSubscription]] = {}
    for sub in subscriptions:
        if (sub.user_id, sub.workspace_id) not in members:
            continue  # left the workspace: their subscription no longer sends
        profile = profiles.get(sub.user_id) or DigestProfile(user_id=sub.user_id)
        period = schedule.due_period(
            frequency=sub.frequency, weekday=sub.weekday, hour=sub.hour, time_zone=profile.time_zone, now=now
        )
        if period is None:
            continue
        scope = COMBINED if profile.delivery == "combined" else sub.workspace.schema_name
        groups.setdefault((sub.user_id, scope, sub.frequency, period), []).append(sub)
    return [
        DueDigest(user=subs[0].user, scope=scope, schemas=tuple(s.workspace.schema_name for s in subs), period=period)
        for (_, scope, _, period), subs in groups.items()
    ]


def send_claim(*, due: DueDigest) -> DigestSend | None:
    """The one send record of a due digest; None when it exists already (another beat made it)."""
    try:
        with transaction.atomic():
            send, created = DigestSend.objects.get_or_create(
                user=due.user,
                scope=due.scope,
                frequency=due.period.frequency,
                period_start=due.period.start,
                kind=DigestSend.Kind.SCHEDULED,
                defaults={"period_end": due.period.end, "schemas": list(due.schemas), "to_email": due.user.email},
            )
            if created:
                enqueue("digests.tasks.send_digest", send.pk, on_commit=True)
    except IntegrityError:
        return None  # a concurrent fan-out inserted it between our look and our insert
    return send if created else None


def sends_claim_due(*, now: datetime | None = None) -> list[int]:
    """The beat fan-out: claim every due digest (each in its own committed transaction)."""
    now = now or timezone.now()
    claimed = []
    for due in digests_due(now=now):
        send = send_claim(due=due)
        if send is not None:
            claimed.append(send.pk)
    sends_recover(now=now)
    return claimed


def sends_recover(*, now: datetime | None = None) -> dict[str, int]:
    """Resolve what dead workers left: a stale `sending` fails (never re-sent), a lost `pending` is queued again."""
    now = now or timezone.now()
    interrupted = 0
    for send in selectors.sends_stale_sending(older_than=now - STALE_SENDING):
        with transaction.atomic():
            locked = DigestSend.objects.select_for_update().get(pk=send.pk)
            if locked.state != DigestSend.State.SENDING:
                continue
            locked.state = DigestSend.State.FAILED
            locked.error = (
                "interrupted: the worker stopped during the SMTP conversation, so the message may or may "
                "not have been delivered; not sent again (at most once)"
            )
            locked.save(update_fields=["state", "error"])
            interrupted += 1
    requeued = 0
    for send in selectors.sends_pending_overdue(now=now, grace=PENDING_GRACE):
        enqueue("digests.tasks.send_digest", send.pk, on_commit=True)
        requeued += 1
    return {"interrupted": interrupted, "requeued": requeued}


def send_now(*, user: User, workspace: Workspace, now: datetime | None = None) -> DigestSend:
    """ "Send me one now": the member's digest of this workspace for its latest period, right away."""
    now = now or timezone.now()
    if selectors.recent_manual_send(user=user, scope=workspace.schema_name, since=now - MANUAL_INTERVAL):
        raise ValidationError("A digest is already on its way; try again in a couple of minutes.")
    subscription = selectors.subscription_for(user=user, workspace=workspace)
    profile = selectors.profile_for(user=user)
    frequency = subscription.frequency if subscription.frequency != Frequency.OFF else Frequency.WEEKLY
    today = now.astimezone(schedule.zone(profile.time_zone)).date()
    period = schedule.period_for_delivery_day(frequency, today)
    with transaction.atomic():
        send = DigestSend.objects.create(
            user=user,
            scope=workspace.schema_name,
            schemas=[workspace.schema_name],
            frequency=frequency,
            kind=DigestSend.Kind.MANUAL,
            period_start=period.start,
            period_end=period.end,
            to_email=user.email,
        )
        enqueue("digests.tasks.send_digest", send.pk, on_commit=True)
    return send


# --------------------------------------------------------------------------- sending


def _build(send: DigestSend) -> message.BuiltDigest | None:
    workspaces = selectors.workspaces_by_schema(schemas=list(send.schemas))
    if not workspaces:
        return None
    profile = selectors.profile_for(user=send.user)
    subscription = selectors.subscription_for(user=send.user, workspace=workspaces[0])
    period = schedule.Period(send.frequency, send.period_start, send.period_end)
    return message.digest_build(
        user=send.user,
        workspaces=workspaces,
        period=period,
        time_zone=profile.time_zone,
        hour=subscription.hour,
        scope=send.scope,
        send_id=send.pk,
    )


def _finish(send_id: int, state: str, error: str = "", **fields: Any) -> str:
    with transaction.atomic():
        send = DigestSend.objects.select_for_update().get(pk=send_id)
        send.state, send.error = state, error[:2000]
        for name, value in fields.items():
            setattr(send, name, value)
        send.save()
    if state == DigestSend.State.FAILED:
        logger.warning("digest %s failed: %s", send_id, error)
    return state


def _claim_sending(send_id: int, now: datetime) -> DigestSend | None:
    """pending → sending, committed, under a row lock; None when another task has it or it is done."""
    with transaction.atomic():
        send = DigestSend.objects.select_for_update().filter(pk=send_id).first()
        if send is None or send.state != DigestSend.State.PENDING:
            return None
        send.state, send.attempts, send.claimed_at = DigestSend.State.SENDING, send.attempts + 1, now
        send.save(update_fields=["state", "attempts", "claimed_at"])
        return send


def send_deliver(*, send_id: int, now: datetime | None = None) -> str:
    """Send one digest at most once; a transient failure is recorded and raised (the task retries)."""
    send = selectors.send_get(pk=send_id)
    if send is None:
        return "missing"
    if send.state != DigestSend.State.PENDING:
        return send.state  # sent, failed, or being sent by another task: never twice
    built = _build(send)
    if built is None:
        return _finish(send_id, DigestSend.State.FAILED, "the workspaces of this digest no longer exist")
    backend = get_connection()
    try:
        _open_and_greet(backend)  # before the claim: a failure (or a crash) here is plainly "not sent"
    except (smtplib.SMTPException, OSError) as exc:
        return _retry_or_fail(send.pk, send.attempts + 1, exc)
    try:
        claimed = _claim_sending(send_id, now or timezone.now())
        if claimed is None:
            return selectors.send_get(pk=send_id).state  # type: ignore[union-attr]
        try:
            backend.send_messages([built.message])
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            return _finish(send_id, DigestSend.State.FAILED, f"refused: {exc}")
        except (smtplib.SMTPException, OSError) as exc:
            return _retry_or_fail(send_id, claimed.attempts, exc)
    finally:
        backend.close()
    return _finish(
        send_id,
        DigestSend.State.SENT,
        claimed.error,  # an earlier attempt's error stays on record ("sent on attempt 2 after …")
        sent_at=timezone.now(),
        message_id=built.message.extra_headers.get("Message-ID", ""),
        size_bytes=built.size,
    )


def _open_and_greet(backend: Any) -> None:
    """Connect and say EHLO now, so the claimed part of a send is only the envelope and the DATA.

    Django's SMTP backend connects in `open()` but greets lazily inside `send_messages`; the
    greeting is done here on its smtplib connection (through Bosco's metered wrapper when present).
    """
    backend.open()
    smtp = getattr(getattr(backend, "inner", backend), "connection", None)
    if isinstance(smtp, smtplib.SMTP):
        smtp.ehlo_or_helo_if_needed()


def _retry_or_fail(send_id: int, attempts: int, exc: BaseException) -> str:
    error = f"{type(exc).__name__}: {exc}"
    if attempts >= MAX_ATTEMPTS:
        return _finish(send_id, DigestSend.State.FAILED, error, attempts=attempts)
    # The server answered with an error (or could not be reached): nothing was accepted, so the
    # next attempt may send it. Back to pending; the task retries with backoff.
    _finish(send_id, DigestSend.State.PENDING, error, attempts=attempts, next_attempt_at=timezone.now())
    raise TransientError(f"digest {send_id} not sent: {exc}") from exc


# --------------------------------------------------------------------------- preview


def digest_preview(*, user: User, workspace: Workspace, now: datetime | None = None) -> message.BuiltDigest:
    """The member's digest of this workspace as its latest delivery day would have sent it, with
    today's data (the coming one reports on days still in progress). Nothing is stored."""
    now = now or timezone.now()
    subscription = selectors.subscription_for(user=user, workspace=workspace)
    profile = selectors.profile_for(user=user)
    frequency = subscription.frequency if subscription.frequency != Frequency.OFF else Frequency.WEEKLY
    today = now.astimezone(schedule.zone(profile.time_zone)).date()
    day = schedule.latest_delivery_day(frequency, subscription.weekday, today)
    return message.digest_build(
        user=user,
        workspaces=[workspace],
        period=schedule.period_for_delivery_day(frequency, day),
        time_zone=profile.time_zone,
        hour=subscription.hour,
        scope=workspace.schema_name,
        send_id=None,
    )
