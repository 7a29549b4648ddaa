"""Dimensions of the unified ad model: platforms, ad accounts, campaigns, ad groups / ad sets.

Accounts and ad groups keep their natural keys. Campaigns also get a compact integer
`campaign_key` (identity) that the rollups use instead of three text columns: it makes the
dashboard's per-campaign scans and joins several times cheaper and never changes once given,
because dimension rows are only ever upserted, never deleted.
"""

# ruff: noqa: DJ001 - written by SQL models, where NULL ("the platform did not say") differs from ""
from __future__ import annotations

from django.db import models


class Platform(models.Model):
    """An ad platform Bosco reports on, with its restatement window ("settling" days)."""

    code = models.CharField(max_length=32, primary_key=True)
    name = models.CharField(max_length=64)
    #: days a platform keeps changing reported numbers; facts younger than this are "settling"
    restatement_days = models.PositiveSmallIntegerField()

    class Meta:
        db_table = "dim_platform"
        ordering = ("code",)

    def __str__(self) -> str:
        return self.name


class AdAccount(models.Model):
    """An ad account: its money is in `currency`, its report days are in `time_zone`."""

    pk = models.CompositePrimaryKey("platform", "account_id")
    platform = models.CharField(max_length=32)
    account_id = models.CharField(max_length=64)
    name = models.CharField(max_length=300, null=True, blank=True)
    currency = models.CharField(max_length=3, null=True, blank=True)
    time_zone = models.CharField(max_length=64, null=True, blank=True)
    #: True when the account is known only from report rows, not from the account stream
    is_inferred = models.BooleanField(default=False)
    run_id = models.BigIntegerField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "dim_ad_account"

    def __str__(self) -> str:
        return f"{self.platform}:{self.account_id}"


class Campaign(models.Model):
    """A campaign; `id` is the compact `campaign_key` the rollups carry."""

    platform = models.CharField(max_length=32)
    account_id = models.CharField(max_length=64)
    campaign_id = models.CharField(max_length=64)
    name = models.CharField(max_length=500, null=True, blank=True)
    #: normalised: active, paused, removed, unknown (the platform's own value is kept next to it)
    status = models.CharField(max_length=16)
    platform_status = models.CharField(max_length=64, null=True, blank=True)
    #: Meta objective or Google Ads advertising channel type
    objective = models.CharField(max_length=64, null=True, blank=True)
    is_inferred = models.BooleanField(default=False)
    run_id = models.BigIntegerField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "dim_campaign"
        constraints = [
            models.UniqueConstraint(fields=("platform", "account_id", "campaign_id"), name="dim_campaign_natural_key")
        ]

    def __str__(self) -> str:
        return self.name or f"{self.platform}:{self.campaign_id}"


class AdGroup(models.Model):
    """A Google Ads ad group or a Meta ad set."""

    pk = models.CompositePrimaryKey("platform", "account_id", "ad_group_id")
    platform = models.CharField(max_length=32)
    account_id = models.CharField(max_length=64)
    ad_group_id = models.CharField(max_length=64)
    campaign_id = models.CharField(max_length=64)
    name = models.CharField(max_length=500, null=True, blank=True)
    status = models.CharField(max_length=16)
    platform_status = models.CharField(max_length=64, null=True, blank=True)
    is_inferred = models.BooleanField(default=False)
    run_id = models.BigIntegerField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "dim_ad_group"

    def __str__(self) -> str:
        return self.name or f"{self.platform}:{self.ad_group_id}"
