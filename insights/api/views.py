"""Insights endpoints: anomalies, forecasts, attribution (reads) and the budget planner (a POST
that computes a plan and stores nothing but, at most, today's fitted response curves).

Views parse and validate (input serializers), ask `insights.selectors.api` or the planner
service, and shape the answer (output serializers). Workspace scoping, authentication,
permissions and throttling come from the base classes in `bosco.api.viewsets`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import Permission
from bosco.api.exceptions import Conflict
from bosco.api.params import PAGINATION_PARAMS, list_parameter, query_params_validate
from bosco.api.viewsets import WorkspaceAPIView
from insights.api import serializers as s
from insights.selectors import api as reads
from insights.services import FORECAST_METRICS, InsightsError
from insights.services.budget_requests import BudgetRequestError, plan_budget_request

_SCOPE = OpenApiParameter(
    "scope", str, enum=list(s.SCOPES), description="`workspace`, `platform` or `campaign` series only."
)


class _PagedView(WorkspaceAPIView):
    """A collection answered a page at a time, like every other collection of the API, and
    cached per workspace until new results are stored or new data lands (`reads.cached_answer`)."""

    endpoint = ""

    def cached(self, params: dict[str, Any], answer: Callable[[], Response]) -> Response:
        question = {
            **params,
            "_page": self.request.query_params.get("page"),
            "_page_size": self.request.query_params.get("page_size"),
            "_base": self.request.build_absolute_uri(self.request.path),  # the page links' host
        }
        return Response(reads.cached_answer(self.endpoint, question, lambda: answer().data))

    def page_of(self, rows: Any) -> list[Any]:
        page = self.paginator.paginate_queryset(rows, self.request, view=self)
        assert page is not None  # the base always paginates
        return page

    @property
    def paginator(self) -> Any:
        if not hasattr(self, "_paginator"):
            self._paginator = self.pagination_class()  # type: ignore[misc]
        return self._paginator


class AnomaliesView(_PagedView):
    endpoint = "anomalies"

    @extend_schema(
        operation_id="insights_anomalies_list",
        summary="Anomalies",
        description=(
            "Unusual days the nightly scoring found, newest first, each with the value, the expected range,"
            " its severity and the model version that scored it. Without dates, every stored finding"
            " (the last 90 days are rescored each night). Answers are cached per workspace until new results"
            " are stored."
        ),
        parameters=[
            OpenApiParameter("date_from", OpenApiTypes.DATE, description="First day, inclusive."),
            OpenApiParameter("date_to", OpenApiTypes.DATE, description="Last day, inclusive."),
            list_parameter("severity", "Only these severities.", enum=s.SEVERITY_ORDER),
            list_parameter("platform", "Only findings of these platforms (at any scope)."),
            list_parameter("metric", "Only these metrics.", enum=s.ANOMALY_METRICS),
            list_parameter("campaign", "Only these campaigns' series, as `platform:account_id:campaign_id`."),
            _SCOPE,
            OpenApiParameter("direction", str, enum=list(s.DIRECTIONS), description="Only rises or only falls."),
        ],
        responses=s.AnomalyOut(many=True),
    )
    def get(self, request: Request) -> Response:
        params = query_params_validate(request, s.AnomalyParams, extra=PAGINATION_PARAMS)
        return self.cached(params, lambda: self._answer(params))

    def _answer(self, params: dict[str, Any]) -> Response:
        findings = reads.anomalies_filtered(
            date_from=params.get("date_from"),
            date_to=params.get("date_to"),
            severities=params.get("severity"),
            platforms=params.get("platform"),
            metrics=params.get("metric"),
            campaigns=params.get("campaign"),
            scope=params.get("scope"),
            direction=params.get("direction"),
        )
        page = self.page_of(findings)
        return self.paginator.get_paginated_response(s.AnomalyOut(page, many=True).data)


class ForecastsView(_PagedView):
    endpoint = "forecasts"

    @extend_schema(
        operation_id="insights_forecasts_list",
        summary="Forecasts",
        description=(
            "The stored forecast of each series (per metric and scope: the workspace, each platform, each"
            " active campaign) for the next days, with 80% and 95% bands and the model version that made it."
            " Answers are cached per workspace until the next scoring run stores new forecasts."
        ),
        parameters=[
            list_parameter("metric", "Only these metrics.", enum=FORECAST_METRICS),
            _SCOPE,
            list_parameter("key", "Only these series: platform codes or campaign ids."),
        ],
        responses=s.ForecastSeriesOut(many=True),
    )
    def get(self, request: Request) -> Response:
        params = query_params_validate(request, s.ForecastParams, extra=PAGINATION_PARAMS)
        return self.cached(params, lambda: self._answer(params))

    def _answer(self, params: dict[str, Any]) -> Response:
        series = reads.forecast_series(
            metrics=params.get("metric") or FORECAST_METRICS, scope=params.get("scope"), keys=params.get("key")
        )
        page = self.page_of(series)
        return self.paginator.get_paginated_response(s.ForecastSeriesOut(page, many=True).data)


class AttributionView(_PagedView):
    endpoint = "attribution"

    @extend_schema(
        operation_id="insights_attribution_list",
        summary="Attribution",
        description=(
            "Conversion paths, newest first — uploaded CSV imports and the nightly builds from first-party"
            " journeys (source `journeys`, with top paths, time and touches to convert, and what each ad platform"
            " claimed for the same days) — each attributed by every model: first touch, last touch,"
            " linear, position based, time decay (when the paths carry touch times), Markov chains of order 1–3"
            " and Shapley values. Per model,"
            " each channel's conversions, conversion value and share. Answers are cached per workspace until"
            " paths are imported, deleted or built."
        ),
        parameters=[
            list_parameter("model", "Only these models.", enum=s.ATTRIBUTION_MODELS),
            list_parameter("import", "Only these imports (their ids).", pattern=s.IMPORT_ID_PATTERN),
            OpenApiParameter(
                "source", str, enum=list(s.ATTRIBUTION_SOURCES), description="Only CSV imports or only journeys."
            ),
        ],
        responses=s.AttributionOut(many=True),
    )
    def get(self, request: Request) -> Response:
        params = query_params_validate(request, s.AttributionParams, extra=PAGINATION_PARAMS)
        return self.cached(params, lambda: self._answer(params))

    def _answer(self, params: dict[str, Any]) -> Response:
        ids = [int(i) for i in params.get("import") or []]
        page = self.page_of(reads.attribution_imports_filtered(ids=ids, source=params.get("source")))
        answers = reads.attribution_answers(page, models=params.get("model"))
        rows = [s.attribution_as_dict(a) for a in answers]
        return self.paginator.get_paginated_response(s.AttributionOut(rows, many=True).data)


class BudgetPlanView(WorkspaceAPIView):
    # Planning changes nothing people see, so every member may plan (as on the planner page);
    # API keys follow the base's scopes: a POST needs a read-write key.
    write_permission = Permission.VIEW_DATA

    @extend_schema(
        operation_id="insights_budget_plan",
        summary="Plan a budget",
        description=(
            "Split a budget per period across platforms (or the top campaigns) on the response curves fitted"
            " to the workspace's history: the allocation per channel, the expected outcome with its 80% band,"
            " and the gain over the historical split. Bounds limit channels; a budget the bounds cannot hold"
            " is a 400. A budget beyond the largest spend seen is planned with a `warning`: the curves are"
            " extrapolated there. 409 when the history cannot support a plan yet (too few days or channels)."
        ),
        request=s.BudgetPlanIn,
        responses=s.BudgetPlanOut,
        examples=[
            OpenApiExample(
                "A monthly budget with a floor for Meta",
                request_only=True,
                value={"budget": 30000, "period": "month", "bounds": {"meta": {"min": 5000}}},
            )
        ],
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": "the body must be a JSON object"})
        body = s.BudgetPlanIn(data=request.data)
        body.is_valid(raise_exception=True)
        params = body.validated_data
        bounds = {c: (b.get("min"), b.get("max")) for c, b in (params.get("bounds") or {}).items()}
        try:
            answer = plan_budget_request(
                scope=params["scope"],
                target=params.get("target"),
                period=params["period"],
                budget=params.get("budget"),
                bounds=bounds,
            )
        except BudgetRequestError as exc:
            raise exceptions.ValidationError({exc.field: str(exc)}) from exc
        except InsightsError as exc:
            raise Conflict(str(exc), code="insufficient-history") from exc
        return Response(s.BudgetPlanOut(s.budget_plan_as_dict(answer)).data)
