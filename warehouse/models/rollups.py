"""Rollups of the fact for the dashboards, kept current for each synced window.

All money here is in the workspace's reporting currency (micros): amounts in different account
currencies are never added. Ratios (CTR, CPC, ROAS, ...) are never stored; the metrics layer
divides sums at query time.

- day × platform, day × account: totals and daily series (a few thousand rows per workspace);
- day × campaign, week × campaign, month × campaign: campaign series;
- campaign cumulative + campaign span: prefix sums per campaign, so the total of any date range
  for every campaign is two rows per campaign (cum(end) − cum(start − 1)) instead of one row per
  day — this is what makes "top campaigns over 90 days" cheaper than scanning the fact.
"""

from __future__ import annotations

from django.db import models


class _Measures(models.Model):
    impressions = models.BigIntegerField()
    clicks = models.BigIntegerField()
    spend_micros = models.BigIntegerField()  # reporting currency
    conversions_micros = models.BigIntegerField()
    conversions_value_micros = models.BigIntegerField()  # reporting currency

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__}({self.pk})"


class DayPlatform(_Measures):
    pk = models.CompositePrimaryKey("date_day", "platform")
    date_day = models.DateField()
    platform = models.CharField(max_length=32)
    fact_rows = models.IntegerField()
    is_settling = models.BooleanField()

    class Meta:
        db_table = "rollup_day_platform"


class DayAccount(_Measures):
    pk = models.CompositePrimaryKey("date_day", "platform", "account_id")
    date_day = models.DateField()
    platform = models.CharField(max_length=32)
    account_id = models.CharField(max_length=64)
    #: the same money in the account's own currency (one currency per account, so summable)
    currency = models.CharField(max_length=3)
    spend_native_micros = models.BigIntegerField()
    conversions_value_native_micros = models.BigIntegerField()
    fact_rows = models.IntegerField()
    is_settling = models.BooleanField()

    class Meta:
        db_table = "rollup_day_account"


class _CampaignPeriod(_Measures):
    campaign_key = models.BigIntegerField()
    platform = models.CharField(max_length=32)
    account_id = models.CharField(max_length=64)

    class Meta:
        abstract = True


class DayCampaign(_CampaignPeriod):
    pk = models.CompositePrimaryKey("date_day", "campaign_key")
    date_day = models.DateField()

    class Meta:
        db_table = "rollup_day_campaign"
        indexes = [models.Index(fields=["campaign_key", "date_day"], name="rollup_day_campaign_by_key")]


class WeekCampaign(_CampaignPeriod):
    """ISO weeks (Monday first)."""

    pk = models.CompositePrimaryKey("week_start", "campaign_key")
    week_start = models.DateField()

    class Meta:
        db_table = "rollup_week_campaign"


class MonthCampaign(_CampaignPeriod):
    pk = models.CompositePrimaryKey("month_start", "campaign_key")
    month_start = models.DateField()

    class Meta:
        db_table = "rollup_month_campaign"


class CampaignCumulative(_Measures):
    """Running totals per campaign, one row for every day from its first to its last day."""

    pk = models.CompositePrimaryKey("date_day", "campaign_key")
    date_day = models.DateField()
    campaign_key = models.BigIntegerField()

    class Meta:
        db_table = "rollup_campaign_cumulative"


class CampaignSpan(_Measures):
    """Each campaign's first and last day with data and its lifetime totals."""

    campaign_key = models.BigIntegerField(primary_key=True)
    platform = models.CharField(max_length=32)
    account_id = models.CharField(max_length=64)
    first_day = models.DateField()
    last_day = models.DateField()

    class Meta:
        db_table = "rollup_campaign_span"
