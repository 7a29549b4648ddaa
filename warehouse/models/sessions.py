"""GA4: the property, its daily traffic rows, and the sessions fact beside the ad fact.

Grain of `fct_sessions_daily`: (property, day in the property's time zone, traffic row), where a
traffic row is one (default channel group, session source, medium, campaign) and `traffic_key`
is the connector's digest of those four (campaign names contain any character, so they are not
joined into the key). Money is exact micros, in the property's currency and in the workspace's
reporting currency at that day's ECB cross rate, as in the ad fact.

GA4 can withhold or fold rows: a row whose dimensions are "(other)" (`is_other`), a report that
folded rows into "(other)" (`has_other_row`) or withheld rows below its privacy thresholds
(`is_thresholded`). The flags are stored and shown, never summed away.
"""

# ruff: noqa: DJ001 - written by SQL models, where NULL ("GA4 did not say") differs from ""
from __future__ import annotations

from django.db import models

from warehouse.models.staging import _Account, _Lineage


class StgGa4Property(_Account):
    class Meta:
        db_table = "stg_ga4__property"


class StgGa4TrafficDaily(_Lineage):
    record_key = models.CharField(max_length=400, primary_key=True)
    account_id = models.CharField(max_length=64)
    date = models.DateField()
    traffic_key = models.CharField(max_length=40)
    channel_group = models.CharField(max_length=200)
    source = models.CharField(max_length=500)
    medium = models.CharField(max_length=200)
    campaign = models.CharField(max_length=500)
    sessions = models.BigIntegerField()
    engaged_sessions = models.BigIntegerField()
    total_users = models.BigIntegerField()
    new_users = models.BigIntegerField()
    key_events = models.BigIntegerField()
    purchase_revenue_micros = models.BigIntegerField()
    currency = models.CharField(max_length=8, null=True, blank=True)
    time_zone = models.CharField(max_length=64, null=True, blank=True)
    is_other = models.BooleanField()
    has_other_row = models.BooleanField()
    is_thresholded = models.BooleanField()

    class Meta:
        db_table = "stg_ga4__traffic_daily"
        indexes = [models.Index(fields=["account_id", "date"], name="stg_ga4_daily_prop_date")]


class SessionsDaily(models.Model):
    pk = models.CompositePrimaryKey("property_id", "date_day", "traffic_key")
    property_id = models.CharField(max_length=64)
    #: the day in the property's time zone
    date_day = models.DateField()
    traffic_key = models.CharField(max_length=40)
    channel_group = models.CharField(max_length=200)
    source = models.CharField(max_length=500)
    medium = models.CharField(max_length=200)
    campaign = models.CharField(max_length=500)
    sessions = models.BigIntegerField()
    engaged_sessions = models.BigIntegerField()
    #: users are GA4's per-row counts: a person with sessions on two rows counts on both
    total_users = models.BigIntegerField()
    new_users = models.BigIntegerField()
    key_events = models.BigIntegerField()
    purchase_revenue_micros = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    time_zone = models.CharField(max_length=64)
    reporting_currency = models.CharField(max_length=3)
    purchase_revenue_reporting_micros = models.BigIntegerField()
    fx_rate = models.DecimalField(max_digits=30, decimal_places=14)
    fx_rate_date = models.DateField()
    fx_fallback = models.BooleanField()
    fx_source = models.CharField(max_length=16)
    is_other = models.BooleanField()
    has_other_row = models.BooleanField()
    is_thresholded = models.BooleanField()
    #: True while GA4 may still be processing the day (its numbers can still grow)
    is_settling = models.BooleanField()
    run_id = models.BigIntegerField()
    sync_run_id = models.BigIntegerField()

    class Meta:
        db_table = "fct_sessions_daily"
        indexes = [models.Index(fields=["date_day", "channel_group"], name="fct_sessions_day_channel")]

    def __str__(self) -> str:
        return f"{self.date_day} ga4:{self.property_id}:{self.channel_group}:{self.campaign}"
