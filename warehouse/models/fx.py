"""FX reference rates and per-workspace transformation settings.

Rates are the ECB's daily euro reference rates: `rate` units of `currency` per 1 EUR, published
on TARGET business days only (weekends and holidays fall back to the last earlier rate, and the
fact says so). Each workspace schema holds its own copy, loaded by `manage.py load_fx_rates`,
because the warehouse is a tenant app and a workspace's numbers must not change when another
workspace's data is reloaded.
"""

from __future__ import annotations

from django.db import models


class FxRate(models.Model):
    pk = models.CompositePrimaryKey("currency", "date")
    currency = models.CharField(max_length=3)
    date = models.DateField()
    rate = models.DecimalField(max_digits=20, decimal_places=8)
    source = models.CharField(max_length=16, default="ECB")
    loaded_at = models.DateTimeField()

    class Meta:
        db_table = "wh_fx_rate"

    def __str__(self) -> str:
        return f"{self.date} EUR/{self.currency} {self.rate}"


class TransformSetting(models.Model):
    """A workspace override of a transformation default (see warehouse.services.config)."""

    key = models.CharField(max_length=100, primary_key=True)
    value = models.JSONField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "wh_setting"

    def __str__(self) -> str:
        return self.key
