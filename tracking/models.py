"""Tracking's tables: workspace settings and retired keys (public schema), events (workspace schema).

`TrackingSettings` and `RetiredCollectKey` live in the public schema because the collect endpoint
looks a public key up before it knows the workspace; `Event` lives in each workspace's schema.
`tracking.routers.TrackingSchemaRouter` keeps each table on its side.

Every text column of an event is '' when absent (a cookieless visit has anonymous_id ''); only
`revenue` is NULL when absent.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class TrackingSettings(models.Model):
    """One per workspace: the snippet's public key and how its beacons are accepted and kept."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="tracking")
    #: what the snippet sends; not a secret (it is in every page), only an address
    public_key = models.CharField(max_length=40, unique=True)
    #: exact origins ("https://shop.example") whose pages may send beacons; empty accepts nothing
    allowed_origins = models.JSONField(default=list, blank=True)
    #: visitor ids (cookie, localStorage) only after bosco('consent', true); cookieless before
    consent_mode = models.BooleanField(default=False)
    retention_months = models.PositiveSmallIntegerField(default=13)
    #: how far back before a conversion a touchpoint counts (journeys, conversion paths)
    lookback_days = models.PositiveSmallIntegerField(default=30)
    enabled = models.BooleanField(default=True)
    key_rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "tracking settings"

    def __str__(self) -> str:
        return f"tracking of {self.workspace_id}"


class RetiredCollectKey(models.Model):
    """A public key replaced by rotation: refused, and its beacons counted against its workspace."""

    public_key = models.CharField(max_length=40, unique=True)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    retired_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"retired key of {self.workspace_id}"


class Event(models.Model):
    """One accepted event, landed from the collect buffer; `event_id` (made by the snippet) dedupes."""

    class Kind(models.TextChoices):
        PAGE_VIEW = "page_view", "Page view"
        EVENT = "event", "Event"
        IDENTIFY = "identify", "Identify"
        ORDER = "order", "Order"

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True)
    received_at = models.DateTimeField()
    occurred_at = models.DateTimeField()
    kind = models.TextField(choices=Kind.choices)
    name = models.TextField(blank=True, default="")
    anonymous_id = models.TextField(blank=True, default="")
    session_hint = models.TextField(blank=True, default="")
    customer_id = models.TextField(blank=True, default="")
    email_sha256 = models.TextField(blank=True, default="")
    order_id = models.TextField(blank=True, default="")
    checkout_token = models.TextField(blank=True, default="")
    cart_token = models.TextField(blank=True, default="")
    revenue = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    url = models.TextField(blank=True, default="")
    path = models.TextField(blank=True, default="")
    referrer = models.TextField(blank=True, default="")
    referrer_host = models.TextField(blank=True, default="")
    utm_source = models.TextField(blank=True, default="")
    utm_medium = models.TextField(blank=True, default="")
    utm_campaign = models.TextField(blank=True, default="")
    utm_content = models.TextField(blank=True, default="")
    utm_term = models.TextField(blank=True, default="")
    click_id_type = models.TextField(blank=True, default="")
    click_id = models.TextField(blank=True, default="")
    ip_truncated = models.TextField(blank=True, default="")
    browser = models.TextField(blank=True, default="")
    os = models.TextField(blank=True, default="")
    device = models.TextField(blank=True, default="")
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "tracking_event"
        indexes = [
            models.Index(fields=["anonymous_id", "occurred_at"], name="tracking_ev_anon_occ"),
            models.Index(fields=["customer_id"], name="tracking_ev_customer"),
            models.Index(fields=["occurred_at"], name="tracking_ev_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"
