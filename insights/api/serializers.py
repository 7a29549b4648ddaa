"""Input and output serializers of the insights API.

Inputs validate the query strings (see `bosco.api.params`) and the budget request's JSON body
strictly: a number given as a string, a budget of zero or an unknown key is refused with a
400 naming the field, never coerced. Outputs map stored rows to JSON one to one (a thin
mapping, so the anomalies can later be pointed at another record); a number the models could
not compute is `null`, never NaN.
"""

from __future__ import annotations

import math
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bosco.api.params import CommaListField
from insights.ml.attribution import DEFAULT_MODELS
from insights.ml.planning import PERIODS
from insights.models import Scope
from insights.selectors import SEVERITY_ORDER
from insights.services import ANOMALY_METRICS, BUDGET_TARGETS, FORECAST_METRICS
from warehouse.api.serializers import IsoDateField

SCOPES = tuple(Scope.values)
PLAN_SCOPES = (Scope.PLATFORM.value, Scope.CAMPAIGN.value)
PLAN_PERIODS = tuple(PERIODS)
DIRECTIONS = ("up", "down")
ATTRIBUTION_MODELS = tuple(DEFAULT_MODELS)
IMPORT_ID_PATTERN = r"^[1-9][0-9]{0,9}$"
#: larger amounts are typing mistakes, not budgets (and keep the arithmetic far from overflow)
MAX_AMOUNT = 1e12


# --------------------------------------------------------------------------- query strings


class AnomalyParams(serializers.Serializer):
    date_from = IsoDateField(required=False)
    date_to = IsoDateField(required=False)
    severity = CommaListField(choices=SEVERITY_ORDER, required=False)
    platform = CommaListField(required=False)
    metric = CommaListField(choices=ANOMALY_METRICS, required=False)
    campaign = CommaListField(required=False)
    scope = serializers.ChoiceField(choices=SCOPES, required=False)
    direction = serializers.ChoiceField(choices=DIRECTIONS, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "date_from" in attrs and "date_to" in attrs and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_from": "is after date_to"})
        return attrs


class ForecastParams(serializers.Serializer):
    metric = CommaListField(choices=FORECAST_METRICS, required=False)
    scope = serializers.ChoiceField(choices=SCOPES, required=False)
    key = CommaListField(required=False)


ATTRIBUTION_SOURCES = ("csv", "journeys")


class AttributionParams(serializers.Serializer):
    model = CommaListField(choices=ATTRIBUTION_MODELS, required=False)
    # DRF's metaclass moves declared fields out of the class, so this does not replace
    # `Field.source` (a str) as the stubs assume
    source = serializers.ChoiceField(choices=ATTRIBUTION_SOURCES, required=False)  # type: ignore[assignment]
    # "import" is a Python keyword: the field is declared under its query name below.

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["import"] = CommaListField(pattern=IMPORT_ID_PATTERN, required=False)
        return fields


# --------------------------------------------------------------------------- budget request body


@extend_schema_field({"type": "number", "minimum": 0, "maximum": MAX_AMOUNT})
class AmountField(serializers.Field):
    """A JSON number of money, 0 … 1e12: strings, booleans, NaN and infinities are refused."""

    default_error_messages = {
        "not_a_number": "must be a JSON number",
        "negative": "must be zero or more",
        "too_large": f"must be at most {MAX_AMOUNT:,.0f}",
    }

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)) or not math.isfinite(data):
            self.fail("not_a_number")
        if data < 0:
            self.fail("negative")
        if data > MAX_AMOUNT:
            self.fail("too_large")
        return float(data)

    def to_representation(self, value: float) -> float:
        return float(value)


@extend_schema_field({"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": MAX_AMOUNT})
class BudgetField(AmountField):
    default_error_messages = {"not_positive": "must be above zero"}

    def to_internal_value(self, data: Any) -> float:
        value = super().to_internal_value(data)
        if value <= 0:
            self.fail("not_positive")
        return value


class ChannelBoundsIn(serializers.Serializer):
    min = AmountField(required=False, help_text="The least this channel gets, per period (default 0).")
    max = AmountField(
        required=False,
        help_text="The most this channel gets, per period (default: its largest spend so far, or the whole"
        " budget when the budget is beyond the history).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "min" in attrs and "max" in attrs and attrs["max"] < attrs["min"]:
            raise serializers.ValidationError({"max": "is below min"})
        return attrs


class BudgetPlanIn(serializers.Serializer):
    scope = serializers.ChoiceField(
        choices=PLAN_SCOPES, default=Scope.PLATFORM.value, help_text="Plan across platforms or campaigns."
    )
    target = serializers.ChoiceField(
        choices=BUDGET_TARGETS,
        required=False,
        help_text="What to maximise (default: revenue when the workspace reports conversion value).",
    )
    period = serializers.ChoiceField(
        choices=PLAN_PERIODS, default="month", help_text="The period the budget and bounds are per."
    )
    budget = BudgetField(required=False, help_text="Total budget per period (default: the historical budget).")
    bounds = serializers.DictField(
        child=ChannelBoundsIn(),
        required=False,
        help_text="Per channel (platform code or campaign id): `min` and/or `max` per period.",
    )

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: f"unknown field; the body takes: {', '.join(self.fields)}" for name in unknown}
                )
        return super().to_internal_value(data)

    def validate_bounds(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > 200:
            raise serializers.ValidationError("takes at most 200 channels")
        return value


# --------------------------------------------------------------------------- outputs


class FiniteFloatField(serializers.FloatField):
    """A float, or null where the model produced no finite number."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)

    def to_representation(self, value: Any) -> float | None:  # type: ignore[override]  # null for NaN
        if value is None:
            return None
        number = float(value)
        return number if math.isfinite(number) else None


class ModelVersionOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    name = serializers.CharField()
    algorithm = serializers.CharField(help_text="The algorithm's own version string.")
    code_version = serializers.CharField()
    training_start = serializers.DateField(allow_null=True)
    training_end = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()


class AnomalyOut(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.DateField()
    metric = serializers.CharField()
    scope = serializers.ChoiceField(choices=SCOPES)
    key = serializers.CharField(help_text='"" for the workspace, a platform code or a campaign id.')
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    platform = serializers.CharField()
    severity = serializers.ChoiceField(choices=SEVERITY_ORDER)
    direction = serializers.ChoiceField(choices=DIRECTIONS)
    value = FiniteFloatField()
    expected = FiniteFloatField()
    lower = FiniteFloatField(help_text="The expected range's lower end.")
    upper = FiniteFloatField()
    score = FiniteFloatField()
    explanation = serializers.CharField()
    model_version = ModelVersionOut(source="version")


class ForecastPointOut(serializers.Serializer):
    date = serializers.DateField()
    yhat = FiniteFloatField(help_text="The forecast.")
    lower_80 = FiniteFloatField()
    upper_80 = FiniteFloatField()
    lower_95 = FiniteFloatField()
    upper_95 = FiniteFloatField()


class ForecastSeriesOut(serializers.Serializer):
    metric = serializers.CharField()
    scope = serializers.ChoiceField(choices=SCOPES)
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    platform = serializers.CharField()
    first_day = serializers.DateField()
    last_day = serializers.DateField()
    model_version = ModelVersionOut(source="version")
    points = ForecastPointOut(many=True)


class AttributedChannelOut(serializers.Serializer):
    channel = serializers.CharField()
    conversions = FiniteFloatField()
    conversion_value = FiniteFloatField()
    share = FiniteFloatField(help_text="The channel's share of the model's conversions (0 … 1).")


class AttributionModelOut(serializers.Serializer):
    model = serializers.ChoiceField(choices=ATTRIBUTION_MODELS)
    channels = AttributedChannelOut(many=True)


class JourneyPathOut(serializers.Serializer):
    path = serializers.CharField(help_text='Channels in order, " > " between.')
    conversions = serializers.IntegerField()
    value = FiniteFloatField(help_text="Their revenue, reporting currency.")
    nulls = serializers.IntegerField(help_text="Journeys on the same path that did not convert.")


class JourneyBucketOut(serializers.Serializer):
    bucket = serializers.CharField()
    conversions = serializers.IntegerField()


class PlatformClaimOut(serializers.Serializer):
    channel = serializers.CharField()
    platform = serializers.CharField()
    conversions = FiniteFloatField(help_text="Conversions the platform reported for the same days.")
    conversion_value = FiniteFloatField(help_text="Conversion value it reported, reporting currency.")


class JourneysOut(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    lookback_days = serializers.IntegerField()
    orders = serializers.IntegerField()
    unmatched_orders = serializers.IntegerField(help_text="Orders of the period that reached no tracked visit.")
    top_paths = JourneyPathOut(many=True)
    time_to_convert = JourneyBucketOut(many=True, help_text="Converting journeys by time from first touch.")
    touches_to_convert = JourneyBucketOut(many=True)
    platform_claims = PlatformClaimOut(many=True)


class AttributionOut(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a declared field, not Field.source (above)
        choices=ATTRIBUTION_SOURCES, help_text="csv: an uploaded paths file; journeys: the nightly first-party build."
    )
    name = serializers.CharField()
    filename = serializers.CharField()
    uploaded_at = serializers.DateTimeField()
    paths = serializers.IntegerField()
    channels = serializers.ListField(child=serializers.CharField())
    conversions = FiniteFloatField()
    conversion_value = FiniteFloatField()
    model_version = ModelVersionOut()
    models = AttributionModelOut(many=True)
    journeys = JourneysOut(allow_null=True, help_text="Only for source journeys.")


def _journeys_as_dict(record: Any) -> dict[str, Any] | None:
    if record.source != "journeys":
        return None
    details = record.details or {}
    return {
        "period_start": record.period_start,
        "period_end": record.period_end,
        "lookback_days": details.get("lookback_days", 0),
        "orders": details.get("orders", 0),
        "unmatched_orders": details.get("unmatched_orders", 0),
        "top_paths": details.get("top_paths", []),
        "time_to_convert": [{"bucket": b, "conversions": n} for b, n in details.get("time_to_convert", [])],
        "touches_to_convert": [{"bucket": b, "conversions": n} for b, n in details.get("touches_to_convert", [])],
        "platform_claims": [
            {"channel": channel, **{k: claim[k] for k in ("platform", "conversions", "conversion_value")}}
            for channel, claim in sorted(details.get("platform_claims", {}).items())
        ],
    }


def attribution_as_dict(answer: Any) -> dict[str, Any]:
    """One import and its results per model, each channel with its share of the conversions."""
    record = answer.record
    models = []
    for model, rows in answer.models.items():
        total = sum(r.conversions for r in rows)
        models.append(
            {
                "model": model,
                "channels": [
                    {
                        "channel": r.channel,
                        "conversions": r.conversions,
                        "conversion_value": r.conversion_value,
                        "share": r.conversions / total if total > 0 else None,
                    }
                    for r in rows
                ],
            }
        )
    return {
        "id": record.pk,
        "source": record.source,
        "name": record.name,
        "filename": record.filename,
        "uploaded_at": record.uploaded_at,
        "paths": record.paths,
        "channels": list(record.channels),
        "conversions": record.conversions,
        "conversion_value": record.conversion_value,
        "model_version": record.version,
        "models": models,
        "journeys": _journeys_as_dict(record),
    }


class PlannedChannelOut(serializers.Serializer):
    channel = serializers.CharField(help_text="Platform code or campaign id.")
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    spend = FiniteFloatField(help_text="The planned spend per period.")
    min = FiniteFloatField(help_text="The bound the plan respected.")
    max = FiniteFloatField()
    current_spend = FiniteFloatField(help_text="The historical split scaled to this budget.")
    expected = FiniteFloatField(help_text="Media outcome of the planned spend per period.")
    expected_low = FiniteFloatField(help_text="80% band, lower end.")
    expected_high = FiniteFloatField()
    marginal_return = FiniteFloatField(help_text="Outcome of the next unit of money on this channel.")


class PlanOutcomeOut(serializers.Serializer):
    expected = FiniteFloatField(help_text="Total outcome per period (baseline + media) under the plan.")
    low = FiniteFloatField(help_text="80% band, lower end.")
    high = FiniteFloatField()
    current = FiniteFloatField(help_text="Total outcome of the historical split at the same budget.")
    uplift = FiniteFloatField(help_text="Plan minus the historical split.")
    uplift_low = FiniteFloatField()
    uplift_high = FiniteFloatField()
    baseline = FiniteFloatField(help_text="The part that does not depend on media spend.")


class BudgetPlanOut(serializers.Serializer):
    scope = serializers.ChoiceField(choices=PLAN_SCOPES)
    target = serializers.ChoiceField(choices=BUDGET_TARGETS)
    period = serializers.ChoiceField(choices=PLAN_PERIODS)
    currency = serializers.CharField()
    budget = FiniteFloatField()
    historical_budget = FiniteFloatField(help_text="What the channels spent per period on average.")
    max_seen_budget = FiniteFloatField(help_text="The sum of every channel's largest spend, per period.")
    warning = serializers.CharField(
        allow_null=True, help_text="Set when the budget goes beyond the history and the curves are extrapolated."
    )
    model_version = ModelVersionOut()
    channels = PlannedChannelOut(many=True)
    outcome = PlanOutcomeOut()


def budget_plan_as_dict(answer: Any) -> dict[str, Any]:
    view, plan = answer.view, answer.view.plan
    return {
        "scope": view.inputs.scope,
        "target": view.target,
        "period": view.inputs.period,
        "currency": answer.currency,
        "budget": plan.budget,
        "historical_budget": plan.historical_budget,
        "max_seen_budget": answer.max_seen,
        "warning": answer.warning,
        "model_version": view.version,
        "channels": [
            {
                "channel": c.channel,
                "label": c.label,
                "spend": c.spend,
                "min": c.lower,
                "max": c.upper,
                "current_spend": c.current_spend,
                "expected": c.expected,
                "expected_low": c.expected_low,
                "expected_high": c.expected_high,
                "marginal_return": c.marginal_roas,
            }
            for c in plan.channels
        ],
        "outcome": {
            "expected": plan.total_outcome,
            "low": plan.total_outcome_band[0],
            "high": plan.total_outcome_band[1],
            "current": plan.current_total_outcome,
            "uplift": plan.uplift,
            "uplift_low": plan.uplift_band[0],
            "uplift_high": plan.uplift_band[1],
            "baseline": plan.baseline,
        },
    }
