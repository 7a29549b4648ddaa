"""Warehouse endpoints: campaigns, metrics and fact exports (all reads).

Views parse and validate (input serializers), ask the warehouse (selectors / metrics layer),
and shape the answer (output serializers). Workspace scoping, authentication, permissions and
throttling come from the base classes in `bosco.api.viewsets`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import Permission
from bosco.api.params import PAGINATION_PARAMS, NoQueryParams, list_parameter, query_params_validate
from bosco.api.viewsets import WorkspaceAPIView, WorkspaceViewSet
from warehouse import metrics as m
from warehouse.api.serializers import (
    CAMPAIGN_SORTS,
    CAMPAIGN_STATUSES,
    ENTITY_DIMENSIONS,
    GRANULARITIES,
    MAX_ROWS,
    METRIC_NAMES,
    CampaignDetailOut,
    CampaignListParams,
    CampaignOut,
    ExportParams,
    MetricsOut,
    MetricsParams,
)
from warehouse.models import Campaign
from warehouse.queries import COMPARES, MetricsResult, data_currency
from warehouse.selectors import campaigns as reads
from warehouse.selectors import metrics_query_cached
from warehouse.services.exports import facts_export_csv, facts_export_parquet

_DATE_PARAMS = [
    OpenApiParameter(
        "date_from", OpenApiTypes.DATE, required=True, description="First day, inclusive (2000-01-01 … 2099-12-31)."
    ),
    OpenApiParameter(
        "date_to",
        OpenApiTypes.DATE,
        required=True,
        description="Last day, inclusive; at most about three years after date_from.",
    ),
]
_PLATFORM = list_parameter("platform", "Only these platforms (codes such as `google_ads`, `meta`).")
_ACCOUNT = list_parameter("account", "Only these ad accounts, as `platform:account_id`.")


def _currency(workspace: Any) -> str:
    return data_currency() or str(workspace.reporting_currency)


# --------------------------------------------------------------------------- campaigns


class CampaignViewSet(WorkspaceViewSet):
    """Campaigns of the workspace's ad accounts (the warehouse's campaign dimension)."""

    lookup_url_kwarg = "campaign_id"

    def workspace_queryset(self) -> Any:
        return Campaign.objects.all()

    @extend_schema(
        operation_id="campaigns_list",
        summary="Campaigns",
        description="Every campaign of every connected ad account, with its lifetime totals.",
        parameters=[
            _PLATFORM,
            _ACCOUNT,
            list_parameter("status", "Only campaigns in these normalised states.", enum=CAMPAIGN_STATUSES),
            OpenApiParameter(
                "search", str, description="Part of the campaign name (case-insensitive), up to 100 characters."
            ),
            OpenApiParameter(
                "sort",
                str,
                enum=[*CAMPAIGN_SORTS, *(f"-{s}" for s in CAMPAIGN_SORTS)],
                description="One field, `-` for descending (default `name`).",
            ),
        ],
        responses=CampaignOut(many=True),
    )
    def list(self, request: Request) -> Response:
        params = query_params_validate(request, CampaignListParams, extra=PAGINATION_PARAMS)
        campaigns = reads.campaigns_filter(
            self.get_queryset(),
            platforms=params.get("platform"),
            accounts=params.get("account"),
            statuses=params.get("status"),
            search=params.get("search"),
        )
        page = self.paginate_queryset(reads.campaigns_sort(campaigns, params["sort"]))
        assert page is not None  # the base always paginates
        attrs = reads.campaigns_attrs(page)
        currency = _currency(self.workspace)
        rows = [reads.campaign_as_dict(c, attrs[c.pk], currency) for c in page]
        return self.get_paginated_response(CampaignOut(rows, many=True).data)

    @extend_schema(
        operation_id="campaigns_retrieve",
        summary="One campaign",
        description="A campaign with its ad groups (ad sets) and lifetime totals.",
        parameters=[
            OpenApiParameter(
                "campaign_id",
                str,
                OpenApiParameter.PATH,
                description="`platform:account_id:campaign_id`, e.g. `google_ads:1234567890:201`.",
            )
        ],
        responses=CampaignDetailOut,
    )
    def retrieve(self, request: Request, campaign_id: str) -> Response:
        query_params_validate(request, NoQueryParams)
        campaign = reads.campaign_get(campaign_id)
        if campaign is None:
            raise exceptions.NotFound("No such resource in this workspace.")
        attrs = reads.campaigns_attrs([campaign])
        body = reads.campaign_as_dict(campaign, attrs[campaign.pk], _currency(self.workspace))
        body["ad_groups"] = reads.ad_groups_of(campaign)
        return Response(CampaignDetailOut(body).data)


# --------------------------------------------------------------------------- metrics


def _json_value(value: Any) -> Any:
    """Exact JSON: Decimal → decimal string, date → ISO date; numbers and null as they are."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _column(name: str) -> dict[str, str]:
    metric = m.resolve(name)
    if isinstance(metric, m.SumMetric):
        kind = "integer" if metric.scale == 1 else "decimal"
    else:
        kind = "number"
    return {"name": name, "label": metric.label, "unit": metric.unit, "type": kind}


def metrics_answer(result: MetricsResult, *, granularity: str, currency: str | None = None) -> dict[str, Any]:
    q = result.query
    compare = None
    if result.compare_range is not None:
        compare = {
            "period": q.compare,
            "date_from": result.compare_range[0].isoformat(),
            "date_to": result.compare_range[1].isoformat(),
        }
    rows = [{key: _json_value(value) for key, value in row.items()} for row in result.rows]
    return {
        "currency": result.currency or currency or "",
        "date_from": q.date_from.isoformat(),
        "date_to": q.date_to.isoformat(),
        "granularity": granularity,
        "dimensions": [d for d in q.dimensions if d in ENTITY_DIMENSIONS],
        "metrics": [_column(name) for name in q.metrics],
        "compare": compare,
        "row_count": len(rows),
        "rows": rows,
    }


class MetricsView(WorkspaceAPIView):
    @extend_schema(
        operation_id="metrics_retrieve",
        summary="Metrics",
        description=(
            "Unified ad metrics over a date range, optionally by time bucket and dimensions, filtered, compared"
            " with the previous period or year, sorted and limited. Ratios (CTR, CPC, CPM, CPA, ROAS) are"
            " computed from sums, never averaged. Money is in the workspace's reporting currency (`currency`)."
            f" An answer holds at most {MAX_ROWS:,} rows: a larger one is refused (400) unless `limit` is given."
            " Answers are cached per workspace until new data lands."
        ),
        parameters=[
            list_parameter("metrics", "Metrics to compute.", enum=METRIC_NAMES, required=True, max_items=20),
            *_DATE_PARAMS,
            list_parameter("dimensions", "Break down by these.", enum=ENTITY_DIMENSIONS),
            OpenApiParameter(
                "granularity", str, enum=list(GRANULARITIES), description="Time buckets (default `total`: none)."
            ),
            OpenApiParameter(
                "compare", str, enum=list(COMPARES), description="Add `<metric>_previous` and `<metric>_change`."
            ),
            _PLATFORM,
            _ACCOUNT,
            list_parameter("campaign", "Only these campaigns, as `platform:account_id:campaign_id`."),
            list_parameter(
                "sort",
                "Requested metrics or dimensions (or the granularity), `-` for descending.",
                pattern=r"^-?[a-z_]{1,40}$",
                max_items=5,
            ),
            OpenApiParameter("limit", int, description=f"The first N rows in `sort` order (1 … {MAX_ROWS:,})."),
        ],
        responses=MetricsOut,
        examples=[
            OpenApiExample(
                "Spend and ROAS by platform",
                response_only=True,
                value={
                    "currency": "EUR",
                    "date_from": "2026-10-01",
                    "date_to": "2026-10-31",
                    "granularity": "total",
                    "dimensions": ["platform"],
                    "metrics": [
                        {"name": "spend", "label": "Spend", "unit": "money", "type": "decimal"},
                        {"name": "roas", "label": "ROAS", "unit": "ratio", "type": "number"},
                    ],
                    "compare": None,
                    "row_count": 1,
                    "rows": [{"platform": "meta", "spend": "1234.560000", "roas": 3.12}],
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        params = query_params_validate(request, MetricsParams)
        result = metrics_query_cached(params["query"])
        cap = params["row_cap"]
        if cap is not None and len(result.rows) > cap:
            raise exceptions.ValidationError(
                {
                    "limit": f"the answer has more than {cap:,} rows: narrow the dates or filters, use a coarser"
                    " granularity, or ask for the top rows with sort and limit"
                }
            )
        # The answer carries the currency of the facts; a workspace without facts yet has none.
        fallback = None if result.currency else str(self.workspace.reporting_currency)
        return Response(metrics_answer(result, granularity=params["granularity"], currency=fallback))


# --------------------------------------------------------------------------- exports


class _FactsExportView(WorkspaceAPIView):
    """The unified daily fact as a download, streamed (memory stays flat whatever the range)."""

    read_permission = Permission.EXPORT_DATA
    extension = ""
    media_type = ""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[Any, str]:
        # The body is a file, not a rendered object; JSON renders only the problem documents.
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    def stream(self, params: dict[str, Any]) -> Any:
        raise NotImplementedError

    def get(self, request: Request) -> StreamingHttpResponse:
        params = query_params_validate(request, ExportParams)
        response = StreamingHttpResponse(self.stream(params), content_type=self.media_type)
        name = f"{self.workspace.slug}-facts-{params['date_from']}-{params['date_to']}.{self.extension}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response


_EXPORT_DESCRIPTION = (
    "One row per day, platform, account, campaign and ad group: ids and names, impressions, clicks, spend,"
    " conversions and their value in the account's currency, the same money in the reporting currency with"
    " the FX rate and its date, the account's time zone and whether the day may still be restated."
    " Needs the export permission (owners, admins, analysts) or any API key."
)


class FactsCsvView(_FactsExportView):
    extension = "csv"
    media_type = "text/csv; charset=utf-8"

    @extend_schema(
        operation_id="exports_facts_csv",
        summary="Export facts as CSV",
        description=_EXPORT_DESCRIPTION + " Money is written as exact decimals.",
        parameters=[*_DATE_PARAMS, _PLATFORM],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="A CSV file with a header row.")
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)

    def stream(self, params: dict[str, Any]) -> Any:
        return facts_export_csv(
            date_from=params["date_from"], date_to=params["date_to"], platforms=params.get("platform")
        )


class FactsParquetView(_FactsExportView):
    extension = "parquet"
    media_type = "application/vnd.apache.parquet"

    @extend_schema(
        operation_id="exports_facts_parquet",
        summary="Export facts as Parquet",
        description=_EXPORT_DESCRIPTION + " Money is decimal128(18, 6); one row group per 100,000 rows.",
        parameters=[*_DATE_PARAMS, _PLATFORM],
        responses={
            (200, "application/vnd.apache.parquet"): OpenApiResponse(OpenApiTypes.BINARY, description="A Parquet file.")
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)

    def stream(self, params: dict[str, Any]) -> Any:
        return facts_export_parquet(
            date_from=params["date_from"], date_to=params["date_to"], platforms=params.get("platform")
        )
