"""Shared (public-schema) models: users, workspaces (tenants) and who belongs to which."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import get_creation_fakes_migrations, schema_exists

from accounts.roles import Role, role_can
from accounts.schema_clone import UnsupportedTemplate, clone_schema
from billing.plans import Plan
from bosco.db import connection

logger = logging.getLogger(__name__)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("an e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person. Logs in with e-mail; belongs to workspaces through memberships."""

    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    objects = UserManager()  # type: ignore[assignment,misc]  # e-mail users need their own manager

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email.split("@")[0]


class Workspace(TenantMixin):
    """A customer's workspace: one PostgreSQL schema, served at <slug>.<BOSCO_DOMAIN>."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=40, unique=True)
    reporting_currency = models.CharField(max_length=3, default="EUR")
    time_zone = models.CharField(max_length=64, default="UTC")
    #: how pages write numbers and amounts: a key of bosco.formatting.NUMBER_FORMATS
    number_format = models.CharField(max_length=10, default="en-US")
    #: whose public holidays the forecasts know ("US", "DE", "US-CA"); empty: the
    #: INSIGHTS_HOLIDAY_COUNTRY setting, or none
    holiday_country = models.CharField(max_length=10, blank=True, default="")
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.TRIAL)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    #: the newest day whole for every active ad account (in each account's zone, read by a sync
    #: after it ended there) when the warehouse last looked, not capped at the workspace's
    #: yesterday; None: no synced account holds the workspace back. Kept here by the warehouse
    #: (`warehouse.services.freshness`) so the nightly-scoring fan-out needs no query per schema.
    complete_through = models.DateField(null=True, blank=True)
    #: the newest day the nightly scoring was queued for (`insights.tasks.score_due_workspaces`
    #: claims a day here before queueing it, so each day is scored once)
    scored_through = models.DateField(null=True, blank=True)

    auto_create_schema = True
    auto_drop_schema = False  # a schema is dropped only by an explicit service call

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def create_schema(self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1) -> bool:
        """Copy the template with Bosco's fast cloner; django-tenants' general clone is the fallback."""

        base = self.get_base_schema() if get_creation_fakes_migrations() else False
        if sync_schema and base and schema_exists(base):
            if check_if_exists and schema_exists(self.schema_name):
                return False
            try:
                clone_schema(str(base), self.schema_name)
            except UnsupportedTemplate as exc:
                logger.warning("fast clone not possible (%s); using django-tenants' clone", exc)
            else:
                connection.set_schema_to_public()
                return True
        return bool(super().create_schema(check_if_exists, sync_schema, verbosity))


class Domain(DomainMixin):
    """Host names that route to a workspace (django-tenants)."""


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("user", "workspace"), name="one_membership_per_workspace")]
        ordering = ("workspace__name", "user__email")

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    def can(self, permission: str) -> bool:
        return role_can(self.role, permission)


class Invitation(models.Model):
    """An e-mailed invitation to join a workspace. Only a hash of its token is stored."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            # One open invitation per address and workspace; reinviting replaces it.
            models.UniqueConstraint(
                fields=("workspace", "email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.workspace} ({self.role})"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class LoginHandoff(models.Model):
    """A single-use, short-lived ticket that signs a user in on a workspace host.

    Sessions are bound to one host (no shared cookie domain), so moving from the public site
    or one workspace to another goes through one of these.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    next_path = models.CharField(max_length=500, default="/")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"handoff for {self.user_id} to {self.workspace_id}"


class OAuthRoute(models.Model):
    """Which workspace an OAuth attempt belongs to, so the one shared callback can send it home.

    Google and Meta only accept redirect URIs registered exactly, so every workspace uses the
    public site's `/oauth/callback/`. The attempt itself (`connectors.OAuthState`: the state,
    PKCE verifier, user, session binding, single use) lives in the workspace's schema; this row
    only maps the same SHA-256 of the `state` to the workspace, until the workspace's callback
    spends the state or the attempt expires.
    """

    state_hash = models.CharField(max_length=64, unique=True)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"OAuth answer route to {self.workspace_id}"


class ApiKey(models.Model):
    """A workspace's key for the REST API. Shown once; only its SHA-256 is stored.

    Keys look like `bsk_<prefix>_<secret>`; the prefix is stored in clear so people can tell
    their keys apart and so a presented key is found by index before its hash is compared.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read"
        READ_WRITE = "read_write", "Read and write"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=20, choices=Scope.choices, default=Scope.READ)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.name} (bsk_{self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.READ_WRITE
