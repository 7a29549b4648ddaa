"""Staging: each platform stream's raw rows, typed and mapped to Bosco's units.

One table per platform stream, written by one SQL model each (warehouse/sql/staging/). Money
and fractional counts are exact integers of millionths ("micros"): Google's `cost_micros` as
sent, Meta's decimal strings × 10⁶. Rows that fail a hard data test never get here; they go to
the quarantine with the reason. `record_key` links every row back to its raw record.
"""

# ruff: noqa: DJ001 - written by SQL models, where NULL ("the platform did not say") differs from ""
from __future__ import annotations

from django.db import models


class _Lineage(models.Model):
    """Where a staged row came from and which run wrote it."""

    record_key = models.CharField(max_length=400)
    connection_id = models.BigIntegerField()
    sync_run_id = models.BigIntegerField()
    fetched_at = models.DateTimeField()
    run_id = models.BigIntegerField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__}:{self.record_key}"


class _DailyPerformance(_Lineage):
    record_key = models.CharField(max_length=400, primary_key=True)
    account_id = models.CharField(max_length=64)
    date = models.DateField()
    campaign_id = models.CharField(max_length=64)
    ad_group_id = models.CharField(max_length=64)
    impressions = models.BigIntegerField()
    clicks = models.BigIntegerField()
    spend_micros = models.BigIntegerField()
    conversions_micros = models.BigIntegerField()
    conversions_value_micros = models.BigIntegerField()
    #: the currency the row itself names (Meta `account_currency`), if any
    currency = models.CharField(max_length=8, null=True, blank=True)

    class Meta:
        abstract = True


class StgGoogleAdsAdGroupDaily(_DailyPerformance):
    class Meta:
        db_table = "stg_google_ads__ad_group_daily"
        indexes = [models.Index(fields=["account_id", "date"], name="stg_gads_daily_acct_date")]


class StgMetaAdsetDaily(_DailyPerformance):
    class Meta:
        db_table = "stg_meta__adset_daily"
        indexes = [models.Index(fields=["account_id", "date"], name="stg_meta_daily_acct_date")]


class StgTiktokAdgroupDaily(_DailyPerformance):
    class Meta:
        db_table = "stg_tiktok__adgroup_daily"
        indexes = [models.Index(fields=["account_id", "date"], name="stg_tiktok_daily_acct_date")]


class StgAirbyteAdPerformanceDaily(_DailyPerformance):
    """Airbyte sources' rows mapped to the unified shape (connectors/airbyte/mappings.py), per account × day × campaign."""

    campaign_name = models.CharField(max_length=500, null=True, blank=True)

    class Meta:
        db_table = "stg_airbyte__ad_performance_daily"
        indexes = [models.Index(fields=["account_id", "date"], name="stg_airbyte_daily_acct_date")]


class _Account(_Lineage):
    account_id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=300, null=True, blank=True)
    currency = models.CharField(max_length=8, null=True, blank=True)
    time_zone = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        abstract = True


class StgGoogleAdsCustomer(_Account):
    class Meta:
        db_table = "stg_google_ads__customer"


class StgMetaAdAccount(_Account):
    class Meta:
        db_table = "stg_meta__ad_account"


class StgTiktokAdvertiser(_Account):
    class Meta:
        db_table = "stg_tiktok__advertiser"


class StgAirbyteAccount(_Account):
    class Meta:
        db_table = "stg_airbyte__account"


class _Campaign(_Lineage):
    pk = models.CompositePrimaryKey("account_id", "campaign_id")
    account_id = models.CharField(max_length=64)
    campaign_id = models.CharField(max_length=64)
    name = models.CharField(max_length=500, null=True, blank=True)
    status = models.CharField(max_length=64, null=True, blank=True)
    objective = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        abstract = True


class StgGoogleAdsCampaign(_Campaign):
    class Meta:
        db_table = "stg_google_ads__campaign"


class StgMetaCampaign(_Campaign):
    class Meta:
        db_table = "stg_meta__campaign"


class StgTiktokCampaign(_Campaign):
    class Meta:
        db_table = "stg_tiktok__campaign"


class _AdGroup(_Lineage):
    pk = models.CompositePrimaryKey("account_id", "ad_group_id")
    account_id = models.CharField(max_length=64)
    ad_group_id = models.CharField(max_length=64)
    campaign_id = models.CharField(max_length=64)
    name = models.CharField(max_length=500, null=True, blank=True)
    status = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        abstract = True


class StgGoogleAdsAdGroup(_AdGroup):
    class Meta:
        db_table = "stg_google_ads__ad_group"


class StgMetaAdset(_AdGroup):
    class Meta:
        db_table = "stg_meta__adset"


class StgTiktokAdgroup(_AdGroup):
    class Meta:
        db_table = "stg_tiktok__adgroup"


class StgUploadAdDaily(_DailyPerformance):
    """Ad performance from uploaded files: `platform` is the upload source ("upload_linkedin")."""

    platform = models.CharField(max_length=32)
    campaign_name = models.CharField(max_length=500, null=True, blank=True)
    time_zone = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        db_table = "stg_upload__ad_daily"
        indexes = [models.Index(fields=["platform", "account_id", "date"], name="stg_upload_daily_plat_date")]


class StgUploadOfflineConversion(_Lineage):
    """Offline conversions from uploaded files, matched to a synced campaign when uploaded.

    `platform`, `account_id` and `campaign_id` are the matched campaign's; `source` the upload
    source's code. They are added to that campaign's day in the fact as an extra row.
    """

    record_key = models.CharField(max_length=400, primary_key=True)
    source = models.CharField(max_length=32)
    platform = models.CharField(max_length=32)
    account_id = models.CharField(max_length=64)
    date = models.DateField()
    campaign_id = models.CharField(max_length=64)
    conversions_micros = models.BigIntegerField()
    conversions_value_micros = models.BigIntegerField()
    currency = models.CharField(max_length=8, null=True, blank=True)

    class Meta:
        db_table = "stg_upload__offline_conversion"
        indexes = [models.Index(fields=["platform", "account_id", "date"], name="stg_upload_offline_plat_date")]
