"""The store side of the warehouse (Shopify): staged orders, refunds, line items, the shop, and the
daily orders fact.

Same conventions as the ad fact: days in the shop's own time zone with a `time_zone` column, money
in integer micros in the shop's currency and again in the workspace's reporting currency with the
day's ECB rate (`fx_rate`, `fx_rate_date`, `fx_fallback`, `fx_source`), a natural composite key.
"""

# ruff: noqa: DJ001 - written by SQL models, where NULL ("the store did not say") differs from ""
from __future__ import annotations

from django.db import models

from warehouse.models.staging import _Lineage


class StgShopifyShop(_Lineage):
    account_id = models.CharField(max_length=255, primary_key=True)  # <name>.myshopify.com
    name = models.CharField(max_length=300, null=True, blank=True)
    currency = models.CharField(max_length=8, null=True, blank=True)
    time_zone = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        db_table = "stg_shopify__shop"


class StgShopifyOrder(_Lineage):
    """One order: its day in the shop's zone, money in the shop's currency, who bought and from where."""

    record_key = models.CharField(max_length=400, primary_key=True)
    account_id = models.CharField(max_length=255)
    order_id = models.CharField(max_length=32)
    name = models.CharField(max_length=64, null=True, blank=True)
    date = models.DateField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    currency = models.CharField(max_length=8, null=True, blank=True)
    presentment_currency = models.CharField(max_length=8, null=True, blank=True)
    #: line items at their original prices (subtotal + discounts)
    gross_micros = models.BigIntegerField()
    discounts_micros = models.BigIntegerField()
    shipping_micros = models.BigIntegerField()
    tax_micros = models.BigIntegerField()
    total_micros = models.BigIntegerField()
    refunded_micros = models.BigIntegerField()
    items = models.BigIntegerField()
    customer_id = models.CharField(max_length=64, null=True, blank=True)
    customer_order_index = models.IntegerField(null=True, blank=True)
    is_new_customer = models.BooleanField()
    source_name = models.CharField(max_length=64, null=True, blank=True)
    utm_source = models.CharField(max_length=300, null=True, blank=True)
    utm_medium = models.CharField(max_length=300, null=True, blank=True)
    utm_campaign = models.CharField(max_length=500, null=True, blank=True)
    landing_page = models.TextField(null=True, blank=True)
    referrer = models.TextField(null=True, blank=True)
    is_test = models.BooleanField()
    is_cancelled = models.BooleanField()

    class Meta:
        db_table = "stg_shopify__order"
        indexes = [
            models.Index(fields=["account_id", "date"], name="stg_shop_order_acct_date"),
            models.Index(fields=["utm_campaign", "date"], name="stg_shop_order_utm"),
        ]


class StgShopifyRefund(_Lineage):
    """One refund, on the day it was made (in the shop's zone), with its order's day."""

    refund_key = models.CharField(max_length=450, primary_key=True)
    account_id = models.CharField(max_length=255)
    order_id = models.CharField(max_length=32)
    order_date = models.DateField()
    refund_date = models.DateField()
    amount_micros = models.BigIntegerField()
    currency = models.CharField(max_length=8, null=True, blank=True)

    class Meta:
        db_table = "stg_shopify__refund"
        indexes = [
            models.Index(fields=["account_id", "refund_date"], name="stg_shop_refund_day"),
            models.Index(fields=["account_id", "order_date"], name="stg_shop_refund_order_day"),
        ]


class StgShopifyLineItem(_Lineage):
    line_key = models.CharField(max_length=450, primary_key=True)
    account_id = models.CharField(max_length=255)
    order_id = models.CharField(max_length=32)
    order_date = models.DateField()
    product_id = models.CharField(max_length=64, null=True, blank=True)
    title = models.CharField(max_length=500, null=True, blank=True)
    sku = models.CharField(max_length=200, null=True, blank=True)
    quantity = models.BigIntegerField()
    amount_micros = models.BigIntegerField()
    currency = models.CharField(max_length=8, null=True, blank=True)

    class Meta:
        db_table = "stg_shopify__line_item"
        indexes = [models.Index(fields=["account_id", "order_date"], name="stg_shop_line_day")]


class OrdersDaily(models.Model):
    """A shop's day: orders placed that day (by order date) and refunds made that day (by refund date)."""

    pk = models.CompositePrimaryKey("account_id", "date_day")
    account_id = models.CharField(max_length=255)
    date_day = models.DateField()
    orders = models.BigIntegerField()
    new_customers = models.BigIntegerField()
    returning_customers = models.BigIntegerField()
    items = models.BigIntegerField()
    gross_sales_micros = models.BigIntegerField()
    discounts_micros = models.BigIntegerField()
    #: refunds made this day, whatever day their orders were placed
    refunds_micros = models.BigIntegerField()
    #: refunds (made on any day so far) of the orders placed this day
    refunds_by_order_date_micros = models.BigIntegerField()
    #: gross − discounts − refunds made this day (Shopify's "net sales")
    net_revenue_micros = models.BigIntegerField()
    #: gross − discounts of first orders (a customer's first purchase)
    new_customer_revenue_micros = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    time_zone = models.CharField(max_length=64)
    reporting_currency = models.CharField(max_length=3)
    gross_sales_reporting_micros = models.BigIntegerField()
    discounts_reporting_micros = models.BigIntegerField()
    refunds_reporting_micros = models.BigIntegerField()
    refunds_by_order_date_reporting_micros = models.BigIntegerField()
    net_revenue_reporting_micros = models.BigIntegerField()
    new_customer_revenue_reporting_micros = models.BigIntegerField()
    fx_rate = models.DecimalField(max_digits=30, decimal_places=14)
    fx_rate_date = models.DateField()
    fx_fallback = models.BooleanField()
    fx_source = models.CharField(max_length=16)
    #: refunds can still arrive for these days (inside the store's refund window)
    is_settling = models.BooleanField()
    run_id = models.BigIntegerField()

    class Meta:
        db_table = "fct_orders_daily"
        indexes = [models.Index(fields=["date_day"], name="fct_orders_day")]

    def __str__(self) -> str:
        return f"{self.date_day} {self.account_id}"
