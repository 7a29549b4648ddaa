"""Connections to ad platforms, their ad accounts, sync runs and per-stream cursors (tenant schema).

- A `Connection` is one OAuth grant on one platform. Its tokens are encrypted at rest
  (`EncryptedTextField`, MultiFernet) and never leave this app in plain text.
- A `SyncRun` is one execution of the sync engine over a window; at most one is active per
  connection (a partial unique index, not just application logic).
- A `StreamCursor` is where one stream of one account stands. The sync engine saves it in the
  same transaction as the rows it covers, so a crash resumes without gaps or duplicates.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from bosco.crypto import EncryptedTextField


class Platform(models.TextChoices):
    GOOGLE_ADS = "google_ads", "Google Ads"
    META = "meta", "Meta Ads"
    TIKTOK = "tiktok", "TikTok Ads"
    GA4 = "ga4", "Google Analytics 4"
    AIRBYTE = "airbyte", "Airbyte source"
    SHOPIFY = "shopify", "Shopify"


class Connection(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        NEEDS_REAUTH = "needs_reauth", "Needs re-authorisation"
        ERROR = "error", "Error"
        DISCONNECTED = "disconnected", "Disconnected"

    platform = models.CharField(max_length=20, choices=Platform.choices)
    label = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    # What the user should know about the status (why it needs re-authorisation, the last error).
    status_message = models.TextField(blank=True)

    # Nullable: EncryptedTextField reads an empty value back as None.
    access_token = EncryptedTextField(blank=True, null=True, default="")
    refresh_token = EncryptedTextField(blank=True, null=True, default="")
    token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.TextField(blank=True)
    # Bumped on every token change, so a refresh can tell whether someone else refreshed first.
    token_version = models.PositiveIntegerField(default=0)

    lookback_days = models.PositiveSmallIntegerField()
    backfill_days = models.PositiveIntegerField()
    sync_interval_hours = models.PositiveSmallIntegerField(default=6)
    next_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # Last known share of the platform's rate budget Bosco used (Meta usage headers), 0-100.
    quota_used_pct = models.FloatField(null=True, blank=True)

    created_by_id = models.BigIntegerField(null=True, blank=True)  # accounts.User lives in public
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} #{self.pk}"

    @property
    def is_live(self) -> bool:
        """Scheduled syncs run for these (an error may clear by itself; re-auth needs a person)."""
        return self.status in (self.Status.ACTIVE, self.Status.ERROR)

    @property
    def has_credentials(self) -> bool:
        return bool(self.access_token)


class ConnectionAccount(models.Model):
    """An ad account the grant can read; only `selected` ones are synced."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="accounts")
    external_id = models.CharField(max_length=64)  # Google customer id (digits), Meta "act_<digits>"
    name = models.CharField(max_length=300, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    selected = models.BooleanField(default=False)
    accessible = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "external_id"]
        constraints = [models.UniqueConstraint(fields=["connection", "external_id"], name="connector_account_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.display_id})"

    @property
    def display_id(self) -> str:
        """Ids the way each platform's UI shows them (Google: 123-456-7890)."""
        raw = self.external_id
        if raw.isdigit() and len(raw) == 10:
            return f"{raw[:3]}-{raw[3:6]}-{raw[6:]}"
        return raw


class SyncRun(models.Model):
    class Kind(models.TextChoices):
        BACKFILL = "backfill", "Backfill"
        SCHEDULED = "scheduled", "Scheduled"
        MANUAL = "manual", "Manual"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Seconds spent working (summed over task attempts; waits for the platform included).
    duration_seconds = models.FloatField(default=0.0)

    pages = models.PositiveIntegerField(default=0)
    rows = models.PositiveBigIntegerField(default=0)
    rows_inserted = models.PositiveBigIntegerField(default=0)
    rows_updated = models.PositiveBigIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(default=0)
    token_refreshes = models.PositiveSmallIntegerField(default=0)
    splits = models.PositiveIntegerField(default=0)
    # Progress in "units": one per day of each daily stream, one per entity stream.
    units_total = models.PositiveIntegerField(default=0)
    units_done = models.PositiveIntegerField(default=0)
    # Task executions that picked this run up (a killed worker's redelivery counts), and waits
    # handed back to the queue; both are capped so a poison run ends as failed, not in a loop.
    attempts = models.PositiveSmallIntegerField(default=0)
    deferrals = models.PositiveSmallIntegerField(default=0)
    # Dates whose rows this run landed (the window handed to the warehouse).
    landed_from = models.DateField(null=True, blank=True)
    landed_to = models.DateField(null=True, blank=True)
    handed_off_at = models.DateTimeField(null=True, blank=True)
    # A deferred run (long Retry-After, exhausted quota) does not touch the platform before this.
    resume_after = models.DateTimeField(null=True, blank=True)

    note = models.CharField(max_length=300, blank=True)  # e.g. "Waiting for Meta's rate limit until 14:05"
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    requested_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Written with OR rather than IN: the predicate then deparses identically after the
            # workspace-template clone (accounts.schema_clone), which compares index definitions.
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(status="queued") | Q(status="running"),
                name="connector_one_active_run",
            )
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="connector_run_status_hb")]

    def __str__(self) -> str:
        return f"SyncRun #{self.pk} ({self.kind}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def progress_percent(self) -> float:
        if self.status == self.Status.SUCCEEDED:
            return 100.0
        if not self.units_total:
            return 0.0
        return min(100.0, 100.0 * self.units_done / self.units_total)

    @property
    def seconds_left(self) -> float | None:
        """Linear estimate from the pace so far; None until there is a pace to go by."""
        if not self.is_active or not self.units_done or not self.units_total or self.duration_seconds <= 0:
            return None
        rate = self.units_done / self.duration_seconds
        return max(0.0, (self.units_total - self.units_done) / rate)

    @property
    def time_left(self) -> timedelta | None:
        seconds = self.seconds_left
        return None if seconds is None else timedelta(seconds=round(seconds))


class StreamCursor(models.Model):
    """Where one stream of one ad account stands, saved with the rows it covers.

    Daily streams walk the date ranges of `plan` (`{"ranges": [[from, to], ...], "base": [from, to]}`,
    newest first) for `run`: every day after `position` is done, the chunk `chunk_from..chunk_to`
    is in progress at `page_token` (and, on Meta, in async report `report_run_id`).
    `covered_from..covered_to` is the newest contiguous span ever synced, which decides the next
    run's window; `plan.base` is that span as it was when the run was planned. Entity streams
    (campaigns, ad groups) only use `page_token` and `done`.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="cursors")
    account_id = models.CharField(max_length=64)
    stream = models.CharField(max_length=100)

    run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    plan = models.JSONField(default=dict, blank=True)
    position = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=False)
    chunk_from = models.DateField(null=True, blank=True)
    chunk_to = models.DateField(null=True, blank=True)
    chunk_days = models.PositiveSmallIntegerField(default=0)  # 0: the platform default; halved on splits
    page_token = models.TextField(blank=True)
    report_run_id = models.CharField(max_length=64, blank=True)
    pages_in_chunk = models.PositiveIntegerField(default=0)

    covered_from = models.DateField(null=True, blank=True)
    covered_to = models.DateField(null=True, blank=True)
    rows_landed = models.PositiveBigIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Airbyte sources: the stream's last STATE (stream "" holds a GLOBAL state's shared part or
    # a legacy blob), saved in the transaction that lands the records it covers.
    airbyte_state = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "account_id", "stream"], name="connector_cursor_unique")
        ]

    def __str__(self) -> str:
        return f"{self.stream}@{self.account_id}"


class OAuthState(models.Model):
    """One authorisation attempt: the `state` we sent (hashed), the PKCE verifier, single use."""

    state_hash = models.CharField(max_length=64, unique=True)
    platform = models.CharField(max_length=20, choices=Platform.choices)
    # Set when re-authorising an existing connection; empty for a new one.
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    code_verifier = EncryptedTextField(blank=True, null=True, default="")
    redirect_uri = models.CharField(max_length=500)
    # Shopify: the shop the install was started for (`<name>.myshopify.com`); the callback must name it.
    shop = models.CharField(max_length=255, blank=True, default="")
    user_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"OAuth {self.platform} attempt #{self.pk}"


class AirbyteSource(models.Model):
    """The Airbyte side of a connection whose platform is `airbyte` (connectors/airbyte/).

    `config` is the source's configuration without its secrets; the `airbyte_secret` fields are
    in `secrets` (JSON, encrypted like OAuth tokens) and merged in only for the subprocess.
    `catalog` is the last `discover` answer, `streams` the ones chosen, `schema_changes` what
    changed between two discoveries (shown on the connection's page until acknowledged).
    """

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="airbyte")
    source_key = models.CharField(max_length=50)
    package = models.CharField(max_length=100)
    version = models.CharField(max_length=40)
    config = models.JSONField(default=dict, blank=True)
    secrets = EncryptedTextField(blank=True, null=True, default="")
    spec = models.JSONField(default=dict, blank=True)
    catalog = models.JSONField(default=dict, blank=True)
    streams = models.JSONField(default=list, blank=True)
    schema_changes = models.JSONField(default=list, blank=True)
    check_ok = models.BooleanField(null=True, blank=True)
    check_message = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    discovered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.package}=={self.version} for connection #{self.connection_id}"

    def stream_schema(self, name: str) -> dict[str, object] | None:
        for stream in self.catalog.get("streams", []):
            if stream.get("name") == name:
                return stream
        return None
