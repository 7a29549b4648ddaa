"""Reads of the digests app: a member's settings, due subscriptions, sends, and the last digest a
workspace sent (for the support console)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet

from accounts.models import Membership, User, Workspace
from accounts.selectors import active_workspaces
from billing.entitlements import for_workspace
from bosco.db import connection
from digests.models import DigestBranding, DigestProfile, DigestSend, DigestSubscription, Frequency

DEFAULT_PRIMARY = "#2357d9"
DEFAULT_ACCENT = "#1f2933"
DEFAULT_SENDER = "Bosco"


def profile_for(*, user: User) -> DigestProfile:
    """The member's profile, or an unsaved default (UTC, one e-mail per workspace)."""
    profile = DigestProfile.objects.filter(user=user).first()
    return profile or DigestProfile(user=user)


def subscription_for(*, user: User, workspace: Workspace) -> DigestSubscription:
    """The member's subscription to the workspace, or an unsaved "off" one."""
    subscription = DigestSubscription.objects.filter(user=user, workspace=workspace).first()
    return subscription or DigestSubscription(user=user, workspace=workspace, frequency=Frequency.OFF)


def subscriptions_active() -> QuerySet[DigestSubscription]:
    """Subscriptions that send something, of members of active workspaces (what beat looks at)."""
    return (
        DigestSubscription.objects.exclude(frequency=Frequency.OFF)
        .filter(workspace__in=active_workspaces())
        .select_related("user", "workspace")
        .order_by("user_id", "workspace__name")
    )


def profiles_by_user(*, user_ids: list[int]) -> dict[int, DigestProfile]:
    return {p.user_id: p for p in DigestProfile.objects.filter(user_id__in=user_ids)}


def member_user_ids(*, pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Of (user id, workspace id) pairs, those that are still memberships."""
    users = {u for u, _ in pairs}
    return set(Membership.objects.filter(user_id__in=users).values_list("user_id", "workspace_id"))


def is_member(*, user: User, workspace: Workspace) -> bool:
    return Membership.objects.filter(user=user, workspace=workspace).exists()


def send_get(*, pk: int) -> DigestSend | None:
    return DigestSend.objects.select_related("user").filter(pk=pk).first()


def sends_for(*, user: User, workspace: Workspace, limit: int = 10) -> list[DigestSend]:
    """The member's recent digests that covered the workspace (alone or combined)."""
    sends = DigestSend.objects.filter(user=user).order_by("-created_at", "-id")[:100]
    return [s for s in sends if workspace.schema_name in s.schemas][:limit]


def sends_stale_sending(*, older_than: datetime) -> QuerySet[DigestSend]:
    return DigestSend.objects.filter(state=DigestSend.State.SENDING, claimed_at__lt=older_than)


def sends_pending_overdue(*, now: datetime, grace: timedelta) -> QuerySet[DigestSend]:
    """Pending sends whose task should have run by now (lost on the way): queued again by the sweep."""
    return DigestSend.objects.filter(state=DigestSend.State.PENDING, created_at__lt=now - grace).exclude(
        next_attempt_at__gt=now
    )


def recent_manual_send(*, user: User, scope: str, since: datetime) -> DigestSend | None:
    return (
        DigestSend.objects.filter(user=user, scope=scope, kind=DigestSend.Kind.MANUAL, created_at__gte=since)
        .exclude(state=DigestSend.State.FAILED)
        .first()
    )


def last_digest_sent_here() -> datetime | None:
    """When a digest covering the workspace whose schema is active last went out (the support
    console's "Last digest" column, through `bosco.workspace_facts`)."""
    send = (
        DigestSend.objects.filter(state=DigestSend.State.SENT, schemas__contains=[connection.schema_name])
        .exclude(sent_at=None)
        .order_by("-sent_at")
        .first()
    )
    return send.sent_at if send else None


@dataclass(frozen=True)
class LastDigest:
    """The newest digest that went out for a workspace (for support and the Digests tab)."""

    sent_at: datetime
    to_email: str
    frequency: str
    period_start: Any
    period_end: Any


def last_digest_sent(*, workspace: Workspace) -> LastDigest | None:
    """The last digest sent (state `sent`) that covered `workspace`, alone or in a combined e-mail."""
    send = (
        DigestSend.objects.filter(state=DigestSend.State.SENT, schemas__contains=[workspace.schema_name])
        .order_by("-sent_at", "-id")
        .first()
    )
    if send is None or send.sent_at is None:
        return None
    return LastDigest(send.sent_at, send.to_email, send.frequency, send.period_start, send.period_end)


@dataclass(frozen=True)
class Brand:
    sender_name: str
    logo_url: str
    primary_color: str
    accent_color: str
    white_label: bool


def brand_for(*, workspace: Workspace) -> Brand:
    """The look of the workspace's digests: its own on a plan with white-label, Bosco's otherwise."""
    branding = DigestBranding.objects.filter(workspace=workspace).first()
    if branding is None or not for_workspace(workspace.schema_name).white_label:
        return Brand(DEFAULT_SENDER, "", DEFAULT_PRIMARY, DEFAULT_ACCENT, white_label=False)
    return Brand(
        branding.sender_name or DEFAULT_SENDER,
        branding.logo_url,
        branding.primary_color or DEFAULT_PRIMARY,
        branding.accent_color or DEFAULT_ACCENT,
        white_label=True,
    )


def branding_for(*, workspace: Workspace) -> DigestBranding:
    return DigestBranding.objects.filter(workspace=workspace).first() or DigestBranding(
        workspace=workspace, primary_color=DEFAULT_PRIMARY, accent_color=DEFAULT_ACCENT
    )


def workspaces_by_schema(*, schemas: list[str]) -> list[Workspace]:
    found = {w.schema_name: w for w in Workspace.objects.filter(schema_name__in=schemas)}
    return [found[s] for s in schemas if s in found]
