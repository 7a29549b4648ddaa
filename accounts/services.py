"""Writes to shared account data: workspaces, memberships, invitations, host handoffs.

Each service validates its input, raises `AccountsError` with a message a user can act on,
and changes state atomically — a workspace creation that fails half-way leaves no schema,
no domain and no membership behind.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import zoneinfo
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.text import slugify
from django_tenants.utils import get_public_schema_name, schema_exists

from accounts import signals
from accounts.models import ApiKey, Domain, Invitation, LoginHandoff, Membership, OAuthRoute, User, Workspace
from accounts.roles import ASSIGNABLE_ROLES, Permission, Role
from accounts.selectors import seats_taken
from accounts.signals import seat_requested, workspace_created
from billing.plans import Plan
from bosco.db import connection
from bosco.formatting import DEFAULT_NUMBER_FORMAT, NUMBER_FORMATS
from bosco.money import REPORTING_CURRENCIES
from bosco.redirects import is_local_path

logger = logging.getLogger(__name__)

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")
RESERVED_SLUGS = frozenset(
    {
        "www",
        "api",
        "admin",
        "public",
        "static",
        "media",
        "assets",
        "cdn",
        "app",
        "apps",
        "mail",
        "email",
        "smtp",
        "help",
        "support",
        "status",
        "docs",
        "blog",
        "billing",
        "auth",
        "login",
        "logout",
        "signup",
        "account",
        "accounts",
        "dashboard",
        "bosco",
        "template",
        "tenant",
        "internal",
        "staff",
        "root",
        "system",
        "metrics",
        "health",
        "healthz",
        "readyz",
        "ftp",
        "ns1",
        "ns2",
        "test",
        "localhost",
    }
)
INVITATION_LIFETIME = timedelta(days=7)
HANDOFF_LIFETIME = timedelta(seconds=60)


class AccountsError(Exception):
    """A request the accounts app refuses, with a message fit to show the user."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def slug_from_name(name: str) -> str:
    """A host-safe suggestion from a workspace name ("Acme & Co." → "acme-co")."""
    slug = slugify(name)[:40].strip("-")
    return re.sub(r"-{2,}", "-", slug)


def schema_name_for(slug: str) -> str:
    # The prefix keeps tenant schemas apart from PostgreSQL's own (pg_*, information_schema)
    # and from ours (public, tenant_template).
    return "ws_" + slug.replace("-", "_")


def validate_slug(slug: str) -> None:
    if not SLUG_PATTERN.fullmatch(slug or ""):
        raise AccountsError(
            "Use 3–40 lowercase letters, digits or hyphens, starting and ending with a letter or digit.",
            field="slug",
        )
    if "--" in slug:
        raise AccountsError("The address cannot contain two hyphens in a row.", field="slug")
    if slug in RESERVED_SLUGS:
        raise AccountsError(f"“{slug}” is reserved. Please choose another address.", field="slug")
    if Workspace.objects.filter(slug=slug).exists() or schema_exists(schema_name_for(slug)):
        raise AccountsError(f"“{slug}” is already taken. Please choose another address.", field="slug")


def _validate_workspace_fields(*, name: str, reporting_currency: str, time_zone: str) -> None:
    if not name or not name.strip():
        raise AccountsError("Give the workspace a name.", field="name")
    if len(name) > 100:
        raise AccountsError("The name can be at most 100 characters.", field="name")
    if reporting_currency not in REPORTING_CURRENCIES:
        raise AccountsError(
            f"“{reporting_currency}” is not a supported reporting currency.", field="reporting_currency"
        )
    if time_zone not in zoneinfo.available_timezones():
        raise AccountsError(f"“{time_zone}” is not a known time zone.", field="time_zone")


def public_workspace_ensure() -> Workspace:
    """The public tenant (the bare domain's site: landing, sign-up, admin) and its domain, created once.

    `manage.py bootstrap` calls this on every deploy; it changes nothing when both exist.
    """
    public, _ = Workspace.objects.get_or_create(
        schema_name=get_public_schema_name(),
        defaults={"name": "Bosco", "slug": "public"},
    )
    Domain.objects.get_or_create(domain=settings.BOSCO_DOMAIN, defaults={"tenant": public, "is_primary": True})
    return public


@transaction.atomic
def workspace_create(
    *,
    owner: User,
    name: str,
    slug: str,
    reporting_currency: str = "EUR",
    time_zone: str = "UTC",
    plan: str = Plan.TRIAL,
    number_format: str | None = None,
) -> Workspace:
    """Create a workspace by cloning the migrated template schema, with `owner` as its owner.

    Everything runs in one transaction; PostgreSQL DDL is transactional, so a failure at any
    step (clone, domain, membership) rolls the new schema back with the rows.
    """
    slug = (slug or "").strip().lower()
    name = (name or "").strip()
    _validate_workspace_fields(name=name, reporting_currency=reporting_currency, time_zone=time_zone)
    number_format = _number_format(number_format)
    validate_slug(slug)
    if not schema_exists(settings.TENANT_BASE_SCHEMA):
        raise AccountsError("Workspaces cannot be created right now (the template is missing); support has been told.")
    previous_tenant = getattr(connection, "tenant", None)
    connection.set_schema_to_public()  # workspaces are rows of the public schema
    try:
        workspace = Workspace(
            name=name,
            slug=slug,
            schema_name=schema_name_for(slug),
            reporting_currency=reporting_currency,
            time_zone=time_zone,
            number_format=number_format,
            plan=plan,
        )
        workspace.save(verbosity=0)
        Domain.objects.create(domain=f"{slug}.{settings.BOSCO_DOMAIN}", tenant=workspace, is_primary=True)
        Membership.objects.create(user=owner, workspace=workspace, role=Role.OWNER)
        workspace_created.send(sender=Workspace, workspace=workspace)
    except IntegrityError as exc:
        # Two people racing for one address: the unique constraints decide.
        raise AccountsError(f"“{slug}” is already taken. Please choose another address.", field="slug") from exc
    finally:
        if previous_tenant is not None and previous_tenant.schema_name != connection.schema_name:
            connection.set_tenant(previous_tenant)
    logger.info("workspace created", extra={"workspace": slug, "owner_id": owner.pk})
    return workspace


def _number_format(code: str | None) -> str:
    """A known number format code (empty: the default), or a clear error."""
    if not code:
        return DEFAULT_NUMBER_FORMAT
    if code not in NUMBER_FORMATS:
        raise AccountsError(f"“{code}” is not a number format Bosco knows.", field="number_format")
    return code


@transaction.atomic
def workspace_update(
    *,
    workspace: Workspace,
    actor_membership: Membership,
    name: str,
    reporting_currency: str,
    time_zone: str,
    number_format: str | None = None,
) -> Workspace:
    if not actor_membership.can(Permission.MANAGE_WORKSPACE):
        raise AccountsError("Only owners and admins can change workspace settings.")
    name = (name or "").strip()
    _validate_workspace_fields(name=name, reporting_currency=reporting_currency, time_zone=time_zone)
    chosen = _number_format(number_format) if number_format else None
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    currency_changed = workspace.reporting_currency != reporting_currency
    workspace.name = name
    workspace.reporting_currency = reporting_currency
    workspace.time_zone = time_zone
    workspace.number_format = chosen or workspace.number_format
    workspace.save(update_fields=["name", "reporting_currency", "time_zone", "number_format"])
    if currency_changed:
        _reporting_currency_changed(workspace)
    return workspace


def _reporting_currency_changed(workspace: Workspace) -> None:
    """Every stored amount must be converted again: the warehouse (subscribed to this signal)
    queues that for after commit.

    Sent inside the saving transaction, so a rolled-back save queues nothing.
    """
    signals.reporting_currency_changed.send(sender=Workspace, workspace=workspace)


_HOLIDAY_COUNTRY = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,4})?$")


@transaction.atomic
def workspace_holiday_country_set(*, workspace: Workspace, actor_membership: Membership, country: str) -> Workspace:
    """Set whose public holidays the workspace's forecasts know ("" for none).

    Only the shape of the code is checked here; whether the holiday tables know it is the
    caller's (insights') business, since accounts has no calendar.
    """
    if not actor_membership.can(Permission.EDIT_INSIGHTS):
        raise AccountsError("Only owners, admins and analysts can change the holiday country.")
    country = (country or "").strip().upper()
    if country and not _HOLIDAY_COUNTRY.match(country):
        raise AccountsError(f"“{country}” is not a country code such as US, DE or US-CA.", field="holiday_country")
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    if workspace.holiday_country != country:
        workspace.holiday_country = country
        workspace.save(update_fields=["holiday_country"])
    return workspace


@transaction.atomic
def workspace_status_set(*, workspace: Workspace, status: str) -> Workspace:
    """Suspend or reactivate a workspace (support). Suspended: beat fan-outs skip it and billing's
    entitlements make it read-only; nothing is deleted."""
    if status not in Workspace.Status.values:
        raise AccountsError(f"“{status}” is not a workspace status.")
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    if workspace.status != status:
        workspace.status = status
        workspace.save(update_fields=["status"])
    return workspace


@transaction.atomic
def workspace_complete_through_refresh(*, schema_name: str, newest: Callable[[str], date | None]) -> date | None:
    """Store the workspace's newest complete day, as `newest(time_zone)` tells it (the warehouse's).

    The row is locked first, so of two refreshes racing (a sync's read and a transform finishing)
    the one that looks later also writes later: an older view never overwrites a newer one.
    """
    workspace = Workspace.objects.select_for_update().only("pk", "time_zone", "complete_through")
    row = workspace.get(schema_name=schema_name)
    day = newest(row.time_zone)
    if row.complete_through != day:
        Workspace.objects.filter(pk=row.pk).update(complete_through=day)
    return day


def workspace_scoring_claim(*, workspace_id: int, day: date) -> bool:
    """Claim `day` for the nightly scoring of the workspace; False if it (or a later day) was claimed.

    One conditional UPDATE: two fan-outs that race both try, only one gets the row.
    """
    claimed = Workspace.objects.filter(pk=workspace_id).filter(
        models.Q(scored_through__isnull=True) | models.Q(scored_through__lt=day)
    )
    return claimed.update(scored_through=day) == 1


def workspace_drop(*, workspace: Workspace) -> None:
    """Delete a workspace and its schema (support tooling and tests)."""
    with transaction.atomic():
        workspace.delete(force_drop=True)


def _ensure_can_assign(actor: Membership, role: str) -> None:
    if not actor.can(Permission.MANAGE_MEMBERS):
        raise AccountsError("Only owners and admins can manage members.")
    if role not in Role.values:
        raise AccountsError(f"“{role}” is not a role.", field="role")
    if role not in ASSIGNABLE_ROLES.get(actor.role, ()):
        raise AccountsError(f"An {actor.role} cannot give the {role} role.", field="role")


@transaction.atomic
def invitation_create(
    *, workspace: Workspace, invited_by: Membership, email: str, role: str, accept_url_for: object = None
) -> tuple[Invitation, str]:
    """Invite `email`; returns the invitation and the raw token (shown only in the e-mail)."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise AccountsError("Enter a valid e-mail address.", field="email") from exc
    _ensure_can_assign(invited_by, role)
    if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
        raise AccountsError(f"{email} is already a member of this workspace.", field="email")
    # A re-invitation replaces its open invitation, so it takes no new seat.
    replacing = Invitation.objects.filter(
        workspace=workspace,
        email=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).exists()
    if not replacing:
        _ensure_seat(workspace)
    # Re-inviting replaces the open invitation (a fresh token, a fresh expiry).
    Invitation.objects.filter(
        workspace=workspace, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        token_hash=_hash_token(token),
        invited_by=invited_by.user,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    if callable(accept_url_for):
        accept_url = accept_url_for(token)
        transaction.on_commit(
            lambda: send_mail(
                subject=f"[Bosco] {invited_by.user.get_full_name()} invited you to {workspace.name}",
                message=(
                    f"You have been invited to join the workspace “{workspace.name}” on Bosco as {role}.\n\n"
                    f"Accept the invitation: {accept_url}\n\n"
                    f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC."
                ),
                from_email=None,
                recipient_list=[email],
            )
        )
    return invitation, token


def invitation_lookup(*, token: str) -> Invitation:
    """The invitation for a raw token, or AccountsError saying why it cannot be used."""
    invitation = Invitation.objects.select_related("workspace").filter(token_hash=_hash_token(token or "")).first()
    if invitation is None:
        raise AccountsError("This invitation link is not valid. Ask for a new invitation.")
    if invitation.accepted_at is not None:
        raise AccountsError("This invitation has already been used.")
    if invitation.revoked_at is not None:
        raise AccountsError("This invitation was withdrawn. Ask for a new invitation.")
    if invitation.expires_at <= timezone.now():
        raise AccountsError("This invitation has expired. Ask for a new invitation.")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    invitation = invitation_lookup(token=token)
    # Lock the row: two tabs accepting at once must not both succeed.
    invitation = Invitation.objects.select_for_update().select_related("workspace").get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise AccountsError("This invitation has already been used.")
    if invitation.email.lower() != user.email.lower():
        raise AccountsError(
            f"This invitation was sent to {invitation.email}, but you are signed in as {user.email}. "
            "Sign in with the invited address to accept it."
        )
    membership, _ = Membership.objects.get_or_create(
        user=user, workspace=invitation.workspace, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


@transaction.atomic
def invitation_revoke(*, invitation_id: int, workspace: Workspace, actor: Membership) -> None:
    if not actor.can(Permission.MANAGE_MEMBERS):
        raise AccountsError("Only owners and admins can withdraw invitations.")
    updated = Invitation.objects.filter(
        pk=invitation_id, workspace=workspace, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if not updated:
        raise AccountsError("That invitation is no longer open.")


def invitations_expire() -> int:
    """Mark expired invitations revoked so they stop counting as open (beat, every 6 h)."""
    return Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__lte=timezone.now()
    ).update(revoked_at=timezone.now())


@transaction.atomic
def membership_change_role(*, membership_id: int, workspace: Workspace, actor: Membership, role: str) -> Membership:
    _ensure_can_assign(actor, role)
    _lock_team(workspace)
    membership = Membership.objects.select_for_update().filter(pk=membership_id, workspace=workspace).first()
    if membership is None:
        raise AccountsError("That member is not in this workspace.")
    if membership.role == Role.OWNER and actor.role != Role.OWNER:
        raise AccountsError("Only an owner can change another owner's role.")
    if membership.role == Role.OWNER and role != Role.OWNER:
        _ensure_another_owner(workspace=workspace, leaving=membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership_id: int, workspace: Workspace, actor: Membership) -> None:
    _lock_team(workspace)
    membership = Membership.objects.select_for_update().filter(pk=membership_id, workspace=workspace).first()
    if membership is None:
        raise AccountsError("That member is not in this workspace.")
    if membership.pk != actor.pk and not actor.can(Permission.MANAGE_MEMBERS):
        raise AccountsError("Only owners and admins can remove members.")
    if membership.role == Role.OWNER and actor.role != Role.OWNER:
        raise AccountsError("Only an owner can remove an owner.")
    if membership.role == Role.OWNER:
        _ensure_another_owner(workspace=workspace, leaving=membership)
    membership.delete()


def _lock_team(workspace: Workspace) -> None:
    """Serialise the workspace's membership changes on its row, taken before any membership row.

    Two owners leaving (or demoting each other) at once each locked their own row first and
    then waited for the other's: PostgreSQL broke the deadlock by failing one with a 500. One
    lock taken first makes the second wait, then see that it is the last owner. NO KEY UPDATE
    does not block rows being inserted that point at the workspace.
    """
    Workspace.objects.select_for_update(no_key=True).filter(pk=workspace.pk).values_list("pk", flat=True).first()


def _ensure_seat(workspace: Workspace) -> None:
    """Ask the layers above (billing's member limit) whether one more member fits."""
    # Lock the workspace row so two invitations at once cannot both take the last seat.
    _lock_team(workspace)
    for _, refusal in seat_requested.send(
        sender=Workspace, workspace=workspace, seats=seats_taken(workspace=workspace)
    ):
        if refusal:
            raise AccountsError(str(refusal))


def _ensure_another_owner(*, workspace: Workspace, leaving: Membership) -> None:
    owners = Membership.objects.select_for_update().filter(workspace=workspace, role=Role.OWNER).exclude(pk=leaving.pk)
    if not owners.exists():
        raise AccountsError("A workspace needs at least one owner. Make someone else owner first.")


def handoff_create(*, user: User, workspace: Workspace, next_path: str = "/") -> str:
    """Mint a 60-second, single-use ticket that signs `user` in on `workspace`'s host."""
    if not Membership.objects.filter(user=user, workspace=workspace).exists():
        raise AccountsError("You are not a member of that workspace.")
    if not is_local_path(next_path):
        next_path = "/"
    token = secrets.token_urlsafe(32)
    LoginHandoff.objects.create(
        token_hash=_hash_token(token),
        user=user,
        workspace=workspace,
        next_path=next_path[:500],
        expires_at=timezone.now() + HANDOFF_LIFETIME,
    )
    return token


def handoff_consume(*, token: str, workspace: Workspace) -> LoginHandoff:
    """Use a ticket exactly once, on the host it was made for."""
    now = timezone.now()
    token_hash = _hash_token(token or "")
    with transaction.atomic():
        updated = LoginHandoff.objects.filter(
            token_hash=token_hash, workspace=workspace, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if updated != 1:
            raise AccountsError("This sign-in link has expired or was already used. Please sign in again.")
        handoff = LoginHandoff.objects.select_related("user").get(token_hash=token_hash)
    if not Membership.objects.filter(user=handoff.user, workspace=workspace).exists():
        raise AccountsError("You are not a member of this workspace.")
    LoginHandoff.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    return handoff


def oauth_route_create(*, workspace: Workspace, state_hash: str, expires_at: datetime) -> OAuthRoute:
    """Remember which workspace the OAuth attempt with this state hash belongs to (expired routes pruned).

    The shared callback on the public site reads it to send the platform's answer to the
    workspace's own callback, which does every check on the state.
    """
    OAuthRoute.objects.filter(expires_at__lt=timezone.now()).delete()
    return OAuthRoute.objects.create(state_hash=state_hash, workspace=workspace, expires_at=expires_at)


def oauth_routes_delete(*, state_hashes: Iterable[str]) -> None:
    """Forget routes whose state the workspace spent or dropped (a replay then stops on the public site)."""
    OAuthRoute.objects.filter(state_hash__in=list(state_hashes)).delete()


API_KEY_PREFIX = "bsk_"


def api_key_create(*, workspace: Workspace, actor: Membership, name: str, scope: str) -> tuple[ApiKey, str]:
    """Create a key; returns it and the full secret, which is shown once and never stored."""
    if not actor.can(Permission.MANAGE_API_KEYS):
        raise AccountsError("Only owners and admins can create API keys.")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise AccountsError("Give the key a name of at most 100 characters.", field="name")
    if "\x00" in name:
        raise AccountsError("The key name cannot contain a NUL character.", field="name")
    if scope not in ApiKey.Scope.values:
        raise AccountsError(f"“{scope}” is not a key scope.", field="scope")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    raw = f"{API_KEY_PREFIX}{prefix}_{secret}"
    key = ApiKey.objects.create(
        workspace=workspace, name=name, prefix=prefix, key_hash=_hash_token(raw), scope=scope, created_by=actor.user
    )
    return key, raw


def api_key_revoke(*, key_id: int, workspace: Workspace, actor: Membership) -> None:
    if not actor.can(Permission.MANAGE_API_KEYS):
        raise AccountsError("Only owners and admins can revoke API keys.")
    updated = ApiKey.objects.filter(pk=key_id, workspace=workspace, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if not updated:
        raise AccountsError("That key is already revoked or does not exist.")


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, or None. Constant-time comparison of the hash."""
    if not raw_key.startswith(API_KEY_PREFIX) or raw_key.count("_") < 2:
        return None
    prefix = raw_key[len(API_KEY_PREFIX) :].split("_", 1)[0]
    key = ApiKey.objects.select_related("workspace").filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.key_hash, _hash_token(raw_key)):
        return None
    return key


def api_key_touch(*, key: ApiKey) -> None:
    """Record use, at most once a minute per key (a write per request would be wasteful)."""
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
