"""The dashboards' pages that draw insights over the numbers: the Overview and one campaign.

Each page selector returns a typed page object (its fields are the template context) with its
figures built: a metric per day stacked by platform, ROAS by platform against the compare
period, one campaign's spend and revenue — with the insight overlays (anomalies of the range and
the stored forecast that continues it) and the days platforms may still restate shaded. The
views keep what is about the request: filters, URLs, fragments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from bosco.platforms import TOTAL_COLOR, platform_color, platform_label
from insights import charts
from insights.models import ForecastPoint
from insights.selectors import dashboards as dash
from insights.selectors import results as insight_selectors
from insights.selectors.dashboard_state import DashboardState
from insights.selectors.dashboard_tables import platform_rows
from insights.selectors.dashboards import TABLE_METRICS, Cell, Column, Daily, Kpi, Slice, cells_for
from insights.selectors.pages import Page
from warehouse import metrics as wm
from warehouse.metrics import metric_label
from warehouse.queries import MetricsQuery
from warehouse.selectors import campaigns as campaign_reads
from warehouse.selectors import store as store_reads

# --------------------------------------------------------------------------- insight overlays


@dataclass(frozen=True)
class InsightScope:
    scope: str
    key: str


def insight_scope(slice_: Slice) -> InsightScope | None:
    """The insight series that matches what a chart shows (None when none does)."""
    if slice_.narrowed_below_platform:
        return None
    platforms = slice_.platforms
    if not platforms:
        return InsightScope("workspace", "")
    if len(platforms) == 1:
        return InsightScope("platform", platforms[0])
    return None


def overlays(
    state: DashboardState, scope: InsightScope | None, metrics: Sequence[str]
) -> dict[str, tuple[list[Any], list[dict[str, Any]]]]:
    """Per metric: anomaly findings (medium and high) in the range and the stored forecast
    points of one series — the forecast only when the range reaches yesterday, so it continues
    it. Two queries for all metrics.

    Read without their model version rows: a chart needs dates and values, and a version's
    parameters (every response curve of a budget fit) would make this the page's slowest query.
    """
    names = [wm.ALIASES.get(m, m) for m in metrics]
    out: dict[str, tuple[list[Any], list[dict[str, Any]]]] = {m: ([], []) for m in names}
    if scope is None:
        return out
    findings = (
        insight_selectors.anomalies_for(
            date_from=state.date_from,
            date_to=state.date_to,
            scope=scope.scope,
            keys=[scope.key],
            metrics=names,
            min_severity="medium",
        )
        .select_related(None)
        .only("date", "value", "severity", "explanation", "metric", "scope", "key", "label", "platform")[:200]
    )
    for finding in findings:
        out[finding.metric][0].append(finding)
    if state.ends_recently:
        points = (
            ForecastPoint.objects.filter(metric__in=names, scope=scope.scope, key=scope.key, date__gt=state.date_to)
            .order_by("metric", "date")
            .values("metric", "date", "yhat", "lower_80", "upper_80", "lower_95", "upper_95")
        )
        for point in points:
            out[point["metric"]][1].append(dict(point))
    return out


# --------------------------------------------------------------------------- one campaign

#: the campaign page lists at most this many incidents of its range (the Anomalies page has them all)
CAMPAIGN_INCIDENTS = 10


@dataclass
class CampaignInfo:
    id: str
    name: str
    platform: str
    account: str
    account_name: str
    status: str
    platform_status: str
    objective: str
    first_day: date | None
    last_day: date | None
    ad_groups: list[dict[str, Any]]


def campaign_info(campaign_id: str) -> CampaignInfo | None:
    """The campaign's dimension row, account name, lifetime span and ad groups (warehouse reads)."""
    campaign = campaign_reads.campaign_get(campaign_id)
    if campaign is None:
        return None
    attrs = campaign_reads.campaigns_attrs([campaign])[campaign.pk]
    lifetime = attrs.lifetime or {}
    return CampaignInfo(
        id=campaign_id,
        name=campaign.name or campaign.campaign_id,
        platform=campaign.platform,
        account=f"{campaign.platform}:{campaign.account_id}",
        account_name=attrs.account_name or campaign.account_id,
        status=campaign.status,
        platform_status=campaign.platform_status or "",
        objective=(campaign.objective or "").replace("_", " ").title(),
        first_day=lifetime.get("first_day"),
        last_day=lifetime.get("last_day"),
        ad_groups=campaign_reads.ad_groups_of(campaign),
    )


@dataclass
class DayRow:
    day: date
    settling: bool
    cells: list[Cell]

    @property
    def iso(self) -> str:
        return self.day.isoformat()

    @property
    def label(self) -> str:
        return f"{self.day:%a, %b} {self.day.day}"


def campaign_days(series: Daily, currency: str, settling: tuple[date, date] | None) -> list[DayRow]:
    """The campaign's daily metrics, newest first, ratios from each day's sums."""
    values = {m: series.values(m) for m in TABLE_METRICS}
    out = []
    for i, day in enumerate(series.days):
        row = {m: values[m][i] for m in TABLE_METRICS}
        out.append(
            DayRow(
                day=day,
                settling=bool(settling and settling[0] <= day <= settling[1]),
                cells=cells_for(row, currency, False),
            )
        )
    return out[::-1]


# --------------------------------------------------------------------------- figures


def shade_settling(figure: charts.Figure, state: DashboardState, settling: tuple[date, date] | None) -> None:
    """Shade the part of the range platforms may still restate."""
    if settling:
        start, end = max(settling[0], state.date_from), min(settling[1], state.date_to)
        if start <= end:
            charts.add_settling_shading(figure, start, end)


def stacked_chart(
    state: DashboardState,
    slice_: Slice,
    series: Daily,
    metric: str,
    currency: str,
    settling: tuple[date, date] | None,
    overlaid: dict[str, Any],
) -> charts.Figure:
    """A metric per day stacked by platform, with the total's anomalies and forecast band."""
    keys = sorted(series.by_key, key=platform_label)
    lines = [charts.line(platform_label(k), series.days, series.values(metric, k), platform=k) for k in keys]
    if not lines:
        lines = [charts.line(metric_label(metric), series.days, [0.0] * len(series.days), color=TOTAL_COLOR)]
    figure = charts.stacked_area_figure(lines, metric=metric, currency=currency, height=300)
    scope = insight_scope(slice_)
    findings, band = overlaid[metric]
    color = platform_color(scope.key) if scope and scope.scope == "platform" else TOTAL_COLOR
    if band:
        figure["data"] += charts.forecast_band_traces(band, color=color, metric=metric, currency=currency)
    figure["data"] += charts.anomaly_marker_traces(findings)
    shade_settling(figure, state, settling)
    return figure


# --------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class OverviewPage(Page):
    slice: Slice
    kpis: list[Kpi]
    spend_chart: charts.Figure
    revenue_chart: charts.Figure
    roas_chart: charts.Figure
    platform_summary: list[dict[str, Any]]
    has_overlays: bool
    #: the store's numbers first when a store is connected: store revenue, MER, blended CAC, and
    #: the platforms' own ROAS beside them, labelled as what the platforms report
    store_kpis: list[Kpi] = field(default_factory=list)


#: the overview's lead when a store is connected (blended: the store's orders over all ad spend)
STORE_KPI_METRICS = ("store_revenue", "mer", "blended_cac", "platform_over_reporting")
STORE_DAILY_SUMS = ("store_revenue", "spend", "new_customers", "conversion_value")


def store_lead(state: DashboardState, slice_: Slice, currency: str, ad_kpis: list[Kpi]) -> list[Kpi]:
    """Store revenue, MER and blended CAC with their deltas, then the platforms' ROAS (empty without a store).

    Blended metrics cover the whole workspace by day; a platform filter narrows the ad spend only,
    and an account or campaign filter has no store counterpart, so the lead is left out then.
    """
    if slice_.narrowed_below_platform or not store_reads.store_connected():
        return []
    total = dash.answer(
        MetricsQuery(
            metrics=STORE_KPI_METRICS,
            date_from=state.date_from,
            date_to=state.date_to,
            filters=slice_.filters,
            compare=state.compare,
        )
    )
    series = dash.daily(state, slice_, by="", sums=STORE_DAILY_SUMS)
    tiles = dash.kpi_tiles(state, total, series, currency, metrics=STORE_KPI_METRICS)
    roas = next((k for k in ad_kpis if k.metric == "roas"), None)
    if roas is not None:
        tiles.append(replace(roas, label=f"{roas.label} · platform-reported"))
    return tiles


def overview_page(
    *, state: DashboardState, slice_: Slice, currency: str, settling: tuple[date, date] | None
) -> OverviewPage:
    """KPI tiles with deltas, spend and revenue by platform over time, ROAS by platform."""
    total = dash.totals(state, slice_)
    series = dash.daily(state, slice_, by="platform")
    by_platform = platform_rows(state, slice_)
    compare_name = "Previous year" if state.compare == "previous_year" else "Previous period"
    overlaid = overlays(state, insight_scope(slice_), ("spend", "conversion_value"))
    kpis = dash.kpi_tiles(state, total, series, currency)
    return OverviewPage(
        slice=slice_,
        kpis=kpis,
        store_kpis=store_lead(state, slice_, currency, kpis),
        spend_chart=stacked_chart(state, slice_, series, "spend", currency, settling, overlaid),
        revenue_chart=stacked_chart(state, slice_, series, "conversion_value", currency, settling, overlaid),
        roas_chart=charts.compare_bars_figure(
            [
                {
                    "platform": r["platform"],
                    "label": platform_label(r["platform"]),
                    "value": r["roas"],
                    "previous": r.get("roas_previous"),
                }
                for r in by_platform
            ],
            metric="roas",
            currency=currency,
            compare_name=compare_name if state.compare else None,
        ),
        platform_summary=by_platform,
        has_overlays=insight_scope(slice_) is not None,
    )


@dataclass(frozen=True)
class CampaignPage(Page):
    campaign: CampaignInfo
    delivered: bool
    kpis: list[Kpi]
    chart: charts.Figure
    days: list[DayRow]
    day_totals: list[Cell]
    day_columns: list[Column]
    findings: list[Any]
    #: the campaign's medium and high incidents in the range, newest first, with their metric lines
    incidents: list[Any]
    campaign_settling: tuple[date, date] | None
    #: the store's orders whose UTM campaign is this campaign's name (None without a store)
    utm_orders: store_reads.UtmOrders | None = None


def campaign_page(
    *, state: DashboardState, campaign_id: str, currency: str, status: dash.DataStatus
) -> CampaignPage | None:
    """One campaign: its KPIs against the compare period, daily chart and daily metrics (None if unknown)."""
    info = campaign_info(campaign_id)
    if info is None:
        return None
    slice_ = Slice({"campaign": (campaign_id,)})
    total = dash.totals(state, slice_)
    series = dash.daily(state, slice_, by="")
    settling = status.settling_span([info.platform])
    color = platform_color(info.platform)
    figure = charts.lines_figure(
        [
            charts.line(metric_label("spend"), series.days, series.values("spend"), color=charts.SPEND_COLOR),
            charts.line(metric_label("conversion_value"), series.days, series.values("conversion_value"), color=color),
        ],
        metric="spend",
        currency=currency,
        height=320,
    )
    overlaid = overlays(state, InsightScope("campaign", campaign_id), ("conversion_value", "spend"))
    findings: list[Any] = []
    for metric, band_color in (("conversion_value", color), ("spend", charts.SPEND_COLOR)):
        metric_findings, band = overlaid[metric]
        findings += metric_findings
        if band:
            figure["data"] += charts.forecast_band_traces(
                band, color=band_color, metric=metric, currency=currency, name=f"{metric_label(metric)} forecast"
            )
    figure["data"] += charts.anomaly_marker_traces(findings)
    findings.sort(key=lambda f: (f.date, f.metric), reverse=True)
    shade_settling(figure, state, settling)
    return CampaignPage(
        campaign=info,
        delivered=any(series.values("impressions")) or any(series.values("spend")),
        kpis=dash.kpi_tiles(state, total, series, currency, metrics=dash.KPI_METRICS),
        chart=figure,
        days=campaign_days(series, currency, settling),
        day_totals=cells_for(total.rows[0] if total.rows else {}, currency, False),
        day_columns=dash.columns(),
        findings=findings,
        incidents=insight_selectors.incident_lines(
            insight_selectors.incidents_top(
                date_from=state.date_from,
                date_to=state.date_to,
                scope="campaign",
                keys=[campaign_id],
                min_severity="medium",
                limit=CAMPAIGN_INCIDENTS,
            ),
            currency=currency,
        ),
        campaign_settling=settling,
        utm_orders=store_reads.orders_by_utm_campaign(
            campaign_name=info.name, date_from=state.date_from, date_to=state.date_to
        )
        if store_reads.store_connected()
        else None,
    )
