"""The unified daily ad performance fact (Fivetran dbt_ad_reporting's grain, plus what it lacks).

Grain: (date_day, platform, account, campaign, ad group). The natural composite key is the
primary key — a surrogate id plus a unique index cost ~40% of load speed — ordered platform,
account, day so a sync's window (one platform, its accounts, some days) is one index range and
never reads other platforms' rows (dashboards read the rollups, not this table). Money and fractional
conversions are exact integers of micros (10⁻⁶ units): integer sums aggregate 20–35% faster
than numeric here (docs/warehouse.md has the measurement) and never round.

Amounts exist twice: in the ad account's own currency (never added across currencies) and in
the workspace's reporting currency, converted with the ECB rate of that day — or the last
earlier one, flagged — with the rate and its date kept on the row.
"""

from __future__ import annotations

from django.db import models


class AdPerformanceDaily(models.Model):
    pk = models.CompositePrimaryKey("platform", "account_id", "date_day", "campaign_id", "ad_group_id")
    #: the report day in the ad account's own time zone (platforms cannot report in another)
    date_day = models.DateField()
    platform = models.CharField(max_length=32)
    account_id = models.CharField(max_length=64)
    campaign_id = models.CharField(max_length=64)
    #: "" for platforms that report at campaign level only
    ad_group_id = models.CharField(max_length=64)
    impressions = models.BigIntegerField()
    clicks = models.BigIntegerField()
    spend_micros = models.BigIntegerField()
    #: conversions × 10⁶ (Google Ads reports fractional conversions)
    conversions_micros = models.BigIntegerField()
    conversions_value_micros = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    time_zone = models.CharField(max_length=64)
    reporting_currency = models.CharField(max_length=3)
    spend_reporting_micros = models.BigIntegerField()
    conversions_value_reporting_micros = models.BigIntegerField()
    #: reporting-currency units per account-currency unit
    fx_rate = models.DecimalField(max_digits=30, decimal_places=14)
    fx_rate_date = models.DateField()
    #: True when no rate was published for the day and the last earlier one was used
    fx_fallback = models.BooleanField()
    fx_source = models.CharField(max_length=16)
    #: True while the day is inside the platform's restatement window (numbers may still change)
    is_settling = models.BooleanField()
    run_id = models.BigIntegerField()
    sync_run_id = models.BigIntegerField()

    class Meta:
        db_table = "fct_ad_performance_daily"
        indexes = [
            models.Index(
                fields=["platform", "date_day"],
                name="fct_adperf_settling",
                condition=models.Q(is_settling=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date_day} {self.platform}:{self.account_id}:{self.campaign_id}:{self.ad_group_id}"
