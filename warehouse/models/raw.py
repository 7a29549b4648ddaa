"""Warehouse tables in each workspace's schema.

The raw landing table is the hand-off from connectors: every record a platform sent, keyed by
its stream and natural key, upserted idempotently by `warehouse.services.landing`.
"""

from __future__ import annotations

from django.db import models


class RawRecord(models.Model):
    """One platform record as received (all fields kept), latest version per natural key.

    `stream` names platform and report ("google_ads.ad_group_daily", "meta.adset_daily",
    "google_ads.customer", ...); `record_key` is the stream's natural key joined with "|"
    (account first, then date and ids for daily streams). `sync_run_id` is the run that last
    changed the record, `fetched_at` when that run read it.
    """

    pk = models.CompositePrimaryKey("stream", "record_key")
    stream = models.CharField(max_length=100)
    record_key = models.CharField(max_length=400)
    connection_id = models.BigIntegerField()
    account_id = models.CharField(max_length=64)
    date = models.DateField(null=True, blank=True)
    payload = models.JSONField()
    sync_run_id = models.BigIntegerField()
    fetched_at = models.DateTimeField()

    class Meta:
        db_table = "raw_record"
        indexes = [models.Index(fields=["stream", "account_id", "date"], name="raw_stream_account_date")]

    def __str__(self) -> str:
        return f"{self.stream}:{self.record_key}"
