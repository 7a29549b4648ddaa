"""Input and output serializers of the warehouse API (campaigns, metrics, exports).

Inputs validate query strings (see `bosco.api.params`); outputs describe and render responses.
Money and fractional counts are decimal strings (exact; `"1234.560000"`), whole counts are
integers, ratios are JSON numbers; every money amount is in the response's `currency`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.db import connection
from rest_framework import serializers

from billing.entitlements import for_workspace
from bosco.api.params import CommaListField
from warehouse import metrics as m
from warehouse.queries import COMPARES, MAX_RANGE_DAYS, MetricsQuery, QueryError

#: the dates the warehouse can hold; outside them a question is a mistake, not a query
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
MAX_ROWS = 5000
METRIC_NAMES = tuple(sorted(m.METRICS)) + tuple(sorted(m.ALIASES))
ENTITY_DIMENSIONS = ("platform", "account", "campaign", "ad_group")
GRANULARITIES = ("total", "day", "week", "month")
CAMPAIGN_STATUSES = ("active", "paused", "removed", "unknown")
CAMPAIGN_SORTS = ("name", "platform", "status", "first_day", "last_day", "spend", "impressions", "clicks")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class IsoDateField(serializers.DateField):
    """Exactly YYYY-MM-DD between 2000-01-01 and 2099-12-31 (no week dates, no `2026-8-1`)."""

    def to_internal_value(self, value: Any) -> date:
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            raise serializers.ValidationError("must be a date written YYYY-MM-DD")
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise serializers.ValidationError("is not a calendar date") from None
        if not EARLIEST <= parsed <= LATEST:
            raise serializers.ValidationError(f"must be between {EARLIEST} and {LATEST}")
        return parsed


class DateRangeParams(serializers.Serializer):
    date_from = IsoDateField(help_text="First day, inclusive (YYYY-MM-DD).")
    date_to = IsoDateField(help_text="Last day, inclusive (YYYY-MM-DD).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_from": "is after date_to"})
        if (attrs["date_to"] - attrs["date_from"]).days > MAX_RANGE_DAYS:
            raise serializers.ValidationError({"date_to": f"the range is longer than {MAX_RANGE_DAYS} days"})
        _within_plan_history(attrs["date_from"])
        return attrs


def _within_plan_history(date_from: Any) -> None:
    """The workspace's plan decides how far back the API answers (billing's history depth)."""

    schema = getattr(connection, "schema_name", "")
    if not schema or schema == "public":
        return
    plan = for_workspace(schema)
    earliest = plan.history_start()
    if date_from < earliest:
        raise serializers.ValidationError(
            {
                "date_from": f"is before {earliest.isoformat()}: the {plan.plan_label} plan keeps"
                f" {plan.history_months} months of history"
            }
        )


# --------------------------------------------------------------------------- metrics


class MetricsParams(DateRangeParams):
    metrics = CommaListField(choices=METRIC_NAMES, max_items=20)
    dimensions = CommaListField(choices=ENTITY_DIMENSIONS, required=False)
    granularity = serializers.ChoiceField(choices=GRANULARITIES, required=False, default="total")
    compare = serializers.ChoiceField(choices=COMPARES, required=False)
    platform = CommaListField(required=False)
    account = CommaListField(required=False)
    campaign = CommaListField(required=False)
    sort = CommaListField(pattern=r"^-?[a-z_]{1,40}$", required=False, max_items=5)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_ROWS, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        granularity = attrs.get("granularity", "total")
        dimensions = tuple(attrs.get("dimensions") or ())
        if granularity != "total":
            dimensions = (granularity, *dimensions)
        filters = {name: tuple(attrs[name]) for name in ("platform", "account", "campaign") if attrs.get(name)}
        limit = attrs.get("limit")
        row_cap = None if limit is not None else MAX_ROWS
        if not dimensions:
            # Totals are one row; and the metrics layer cannot LIMIT a question without groups.
            limit = row_cap = None
        elif limit is None:
            # One row more than allowed tells an over-large answer from one that just fits.
            limit = MAX_ROWS + 1
        try:
            query = MetricsQuery(
                metrics=tuple(attrs["metrics"]),
                date_from=attrs["date_from"],
                date_to=attrs["date_to"],
                dimensions=dimensions,
                filters=filters,
                compare=attrs.get("compare"),
                order_by=tuple(attrs.get("sort") or ()),
                limit=limit,
            )
        except QueryError as exc:
            raise serializers.ValidationError({"query": str(exc)}) from exc
        return {**attrs, "query": query, "granularity": granularity, "row_cap": row_cap}


class MetricColumnOut(serializers.Serializer):
    name = serializers.CharField(help_text="As requested (aliases such as `revenue` keep their name).")
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    unit = serializers.ChoiceField(choices=["count", "money", "ratio", "percent"])
    type = serializers.ChoiceField(
        choices=["integer", "decimal", "number"],
        help_text="How values are written: integer, decimal string (exact), or JSON number.",
    )


class CompareOut(serializers.Serializer):
    period = serializers.ChoiceField(choices=COMPARES)
    date_from = serializers.DateField()
    date_to = serializers.DateField()


class MetricsOut(serializers.Serializer):
    currency = serializers.CharField(help_text="ISO 4217 code of every money value (the reporting currency).")
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    granularity = serializers.ChoiceField(choices=GRANULARITIES)
    dimensions = serializers.ListField(child=serializers.ChoiceField(choices=ENTITY_DIMENSIONS))
    metrics = MetricColumnOut(many=True)
    compare = CompareOut(allow_null=True)
    row_count = serializers.IntegerField()
    rows = serializers.ListField(
        child=serializers.DictField(child=serializers.JSONField(allow_null=True)),
        help_text=(
            "One object per combination of the time bucket (`day`/`week`/`month`, YYYY-MM-DD of its first day)"
            " and the dimensions: `platform`; `account` (`platform:account_id`) and `account_name`; `campaign`"
            " (`platform:account_id:campaign_id`, the campaign's API id) and `campaign_name`; `ad_group` and"
            " `ad_group_name` — then one key per metric and, with `compare`, `<metric>_previous` and"
            " `<metric>_change` (relative, null when the previous value is 0 or missing)."
        ),
    )


# --------------------------------------------------------------------------- campaigns


class CampaignListParams(serializers.Serializer):
    platform = CommaListField(required=False, help_text="Platform codes, e.g. `google_ads,meta`.")
    account = CommaListField(required=False, help_text="Accounts as `platform:account_id`.")
    status = CommaListField(choices=CAMPAIGN_STATUSES, required=False)
    search = serializers.CharField(required=False, max_length=100, help_text="Part of the campaign name.")
    sort = serializers.ChoiceField(
        choices=[*CAMPAIGN_SORTS, *(f"-{s}" for s in CAMPAIGN_SORTS)],
        required=False,
        default="name",
        help_text="One field; `-` for descending. Lifetime totals sort with campaigns without data last.",
    )


class LifetimeOut(serializers.Serializer):
    """All-time totals from the campaign's first to its last day with data (reporting currency)."""

    first_day = serializers.DateField()
    last_day = serializers.DateField()
    spend = serializers.DecimalField(max_digits=24, decimal_places=6)
    impressions = serializers.IntegerField()
    clicks = serializers.IntegerField()
    conversions = serializers.DecimalField(max_digits=24, decimal_places=6)
    conversion_value = serializers.DecimalField(max_digits=24, decimal_places=6)


class CampaignOut(serializers.Serializer):
    id = serializers.CharField(help_text="`platform:account_id:campaign_id` — the `campaign` of the metrics endpoint.")
    platform = serializers.CharField()
    account = serializers.CharField(help_text="`platform:account_id`.")
    account_name = serializers.CharField(allow_null=True)
    campaign_id = serializers.CharField(help_text="The platform's own id.")
    name = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=CAMPAIGN_STATUSES)
    platform_status = serializers.CharField(allow_null=True, help_text="The status as the platform says it.")
    objective = serializers.CharField(allow_null=True)
    currency = serializers.CharField(help_text="The currency of `lifetime` money.")
    lifetime = LifetimeOut(allow_null=True, help_text="Null for a campaign without any reported day.")
    updated_at = serializers.DateTimeField()


class AdGroupOut(serializers.Serializer):
    id = serializers.CharField(help_text="`platform:account_id:campaign_id:ad_group_id`, as in metrics rows.")
    ad_group_id = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    status = serializers.CharField()


class CampaignDetailOut(CampaignOut):
    ad_groups = AdGroupOut(many=True, help_text="Google Ads ad groups / Meta ad sets.")


# --------------------------------------------------------------------------- exports


class ExportParams(DateRangeParams):
    platform = CommaListField(required=False, help_text="Only these platforms (default: all).")
