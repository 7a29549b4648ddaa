"""What a digest says about one workspace: read from that workspace's schema, through the
selectors of the apps below (the warehouse's metrics layer, insights' stored anomalies and
forecasts, alerts' open incidents). Nothing here writes.

`workspace_digest` must run with the workspace's schema active and its number format in force
(`digests.services` does both); it returns plain data and PNG bytes for the e-mail templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from accounts.selectors import workspace_url
from alerts.selectors import incidents_filtered
from bosco.formatting import format_percent
from bosco.platforms import platform_color, platform_label
from digests.charts import line_chart_png
from digests.schedule import DAILY, Period
from insights.selectors.results import anomalies_for, forecasts_for
from warehouse import metrics as m
from warehouse.selectors import MetricsQuery, metrics_query, warehouse_status

#: the KPIs of a digest, in order; the first three get a chart each
KPIS = ("spend", "conversion_value", "roas", "conversions", "cpa")
CHARTED = ("spend", "conversion_value", "roas")
MAX_MOVERS = 5
MAX_ANOMALIES = 5
MAX_ALERTS = 5


@dataclass(frozen=True)
class Kpi:
    metric: str
    label: str
    value: str
    previous: str
    change: str  # "+12%", "—"
    arrow: str  # ▲ ▼ or ""
    #: "good", "bad" or "neutral": green, red or grey (spend rising is not "green")
    tone: str


@dataclass(frozen=True)
class PlatformRow:
    platform: str
    label: str
    color: str
    spend: str
    revenue: str
    roas: str
    spend_change: str


@dataclass(frozen=True)
class Mover:
    name: str
    platform: str
    metric_label: str
    value: str
    change: str
    arrow: str
    tone: str
    link: str


@dataclass(frozen=True)
class Item:
    """An anomaly, an open alert or a forecast line: text and the page it links to."""

    title: str
    detail: str
    link: str
    tone: str = "neutral"


@dataclass(frozen=True)
class Chart:
    metric: str
    label: str
    cid: str
    png: bytes
    total: str
    link: str


@dataclass
class WorkspaceDigest:
    name: str
    slug: str
    currency: str
    period: Period
    previous: Period
    has_data: bool
    kpis: list[Kpi] = field(default_factory=list)
    platforms: list[PlatformRow] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    movers: list[Mover] = field(default_factory=list)
    anomalies: list[Item] = field(default_factory=list)
    alerts: list[Item] = field(default_factory=list)
    forecast: list[Item] = field(default_factory=list)
    settling_note: str = ""
    links: dict[str, str] = field(default_factory=dict)


def _tone(metric: str, change: float | None) -> str:
    if change is None or abs(change) < 0.005:
        return "neutral"
    better = m.higher_is_better(metric)
    if better is None:
        return "neutral"
    return "good" if (change > 0) == better else "bad"


def _arrow(change: float | None) -> str:
    if change is None or abs(change) < 0.005:
        return ""
    return "▲" if change > 0 else "▼"


def _totals(period: Period, metrics: tuple[str, ...], **kwargs: Any) -> list[dict[str, Any]]:
    return metrics_query(MetricsQuery(metrics=metrics, date_from=period.start, date_to=period.end, **kwargs)).rows


def _kpis(period: Period, previous: Period, currency: str) -> list[Kpi]:
    now_rows, before_rows = _totals(period, KPIS), _totals(previous, KPIS)
    now, before = (now_rows[0] if now_rows else {}), (before_rows[0] if before_rows else {})
    kpis = []
    for metric in KPIS:
        change = m.relative_change(now.get(metric), before.get(metric))
        kpis.append(
            Kpi(
                metric=metric,
                label=m.metric_label(metric),
                value=m.format_metric(metric, now.get(metric), currency),
                previous=m.format_metric(metric, before.get(metric), currency),
                change=format_percent(change, signed=True),
                arrow=_arrow(change),
                tone=_tone(metric, change),
            )
        )
    return kpis


def _platforms(period: Period, previous: Period, currency: str) -> list[PlatformRow]:
    metrics = ("spend", "conversion_value", "roas")
    before = {r["platform"]: r for r in _totals(previous, metrics, dimensions=("platform",))}
    rows = sorted(_totals(period, metrics, dimensions=("platform",)), key=lambda r: -float(r.get("spend") or 0))
    return [
        PlatformRow(
            platform=r["platform"],
            label=platform_label(r["platform"]),
            color=platform_color(r["platform"]),
            spend=m.format_metric("spend", r.get("spend"), currency),
            revenue=m.format_metric("conversion_value", r.get("conversion_value"), currency),
            roas=m.format_metric("roas", r.get("roas"), currency),
            spend_change=format_percent(
                m.relative_change(r.get("spend"), before.get(r["platform"], {}).get("spend")), signed=True
            ),
        )
        for r in rows
    ]


def chart_window(period: Period) -> tuple[Period, Period]:
    """The days a chart draws (at least two weeks for a daily digest) and the days it compares with."""
    if period.frequency == DAILY:
        window = Period(period.frequency, period.end - timedelta(days=13), period.end)
    else:
        window = period
    return window, Period(
        window.frequency, window.start - timedelta(days=window.days), window.start - timedelta(days=1)
    )


def _series(window: Period, metrics: tuple[str, ...]) -> dict[str, list[float | None]]:
    """Daily values of `metrics` over the window (one query), None for days without data."""
    rows = metrics_query(
        MetricsQuery(metrics=metrics, date_from=window.start, date_to=window.end, dimensions=("day",))
    ).rows
    by_day = {r["day"]: r for r in rows}
    days = [window.start + timedelta(days=i) for i in range(window.days)]
    return {
        metric: [None if by_day.get(d, {}).get(metric) is None else float(by_day[d][metric]) for d in days]
        for metric in metrics
    }


def _charts(period: Period, currency: str, slug: str, color: str, link: str) -> list[Chart]:
    window, before = chart_window(period)
    now_series, before_series = _series(window, CHARTED), _series(before, CHARTED)
    totals = _totals(window, CHARTED)
    total = totals[0] if totals else {}
    return [
        Chart(
            metric=metric,
            label=f"{m.metric_label(metric)}, {window.label}",
            cid=f"{metric}.{slug}.{period.start.isoformat()}@digest.bosco",
            png=line_chart_png(now_series[metric], before_series[metric], color=color),
            total=m.format_metric(metric, total.get(metric), currency),
            link=link,
        )
        for metric in CHARTED
    ]


def _movers(period: Period, previous: Period, currency: str, workspace: Any) -> list[Mover]:
    """Campaigns whose revenue (or, without revenue, spend) moved most in amount."""
    metrics = ("spend", "conversion_value")
    now = _totals(period, metrics, dimensions=("campaign",), order_by=("-spend",), limit=300)
    before = {
        r["campaign"]: r
        for r in _totals(
            previous, metrics, dimensions=("campaign",), filters={"campaign": tuple(r["campaign"] for r in now)}
        )
    } if now else {}  # fmt: skip
    scored = []
    for row in now:
        old = before.get(row["campaign"], {})
        for metric in ("conversion_value", "spend"):
            value, was = row.get(metric), old.get(metric)
            if value is None and was is None:
                continue
            delta = float(value or 0) - float(was or 0)
            scored.append((abs(delta), metric, row, m.relative_change(value, was)))
            break
    scored.sort(key=lambda item: -item[0])
    movers = []
    for _, metric, row, change in scored[:MAX_MOVERS]:
        movers.append(
            Mover(
                name=row.get("campaign_name") or row["campaign"],
                platform=platform_label(row.get("platform", "")),
                metric_label=m.metric_label(metric),
                value=m.format_metric(metric, row.get(metric), currency),
                change=format_percent(change, signed=True) if change is not None else "new",
                arrow=_arrow(change),
                tone=_tone(metric, change),
                link=workspace_url(workspace=workspace, path=f"/campaigns/{row['campaign']}/"),
            )
        )
    return movers


def _anomalies(period: Period, currency: str, workspace: Any) -> list[Item]:
    findings = anomalies_for(date_from=period.start, date_to=period.end, min_severity="medium")[:MAX_ANOMALIES]
    return [
        Item(
            title=f"{m.metric_label(f.metric)} {'above' if f.direction == 'up' else 'below'} expected"
            f" — {f.label or 'whole workspace'}",
            detail=f"{f.date.strftime('%-d %b')}: {m.format_metric(f.metric, f.value, currency)} "
            f"(expected {m.format_metric(f.metric, f.expected, currency)}), {f.severity} severity",
            link=workspace_url(workspace=workspace, path=f"/insights/anomalies/{f.pk}/"),
            tone="bad" if f.severity == "high" else "neutral",
        )
        for f in findings
    ]


def _alerts(workspace: Any) -> list[Item]:
    incidents = incidents_filtered(state="open")[:MAX_ALERTS]
    return [
        Item(
            title=f"{i.rule.name} — {i.subject}",
            detail=(f"open since {i.opened_at.strftime('%-d %b')}" + (f"; {i.message}" if i.message else "")),
            link=workspace_url(workspace=workspace, path="/alerts/"),
            tone="bad",
        )
        for i in incidents
    ]


def _forecast(period: Period, currency: str, workspace: Any) -> list[Item]:
    coming = period.following()
    items = []
    for metric in ("spend", "conversion_value"):
        series = forecasts_for(metric=metric, date_from=coming.start, date_to=coming.end)
        if series is None:
            continue
        covered = len(series.points)
        low = sum(p.lower_80 for p in series.points)
        high = sum(p.upper_80 for p in series.points)
        items.append(
            Item(
                title=f"{m.metric_label(metric)}: {m.format_metric(metric, series.total(), currency)}",
                detail=f"{covered} of the next {coming.days} days ({coming.label}); 80% range "
                f"{m.format_metric(metric, low, currency)} – {m.format_metric(metric, high, currency)}",
                link=workspace_url(workspace=workspace, path="/insights/forecasts/"),
            )
        )
    return items


def _settling_note(period: Period, status: dict[str, Any]) -> str:
    platforms = sorted(
        p for p, days in status["settling"].items() if days["from"] <= period.end and days["to"] >= period.start
    )
    if not platforms:
        return ""
    names = ", ".join(platform_label(p) for p in platforms)
    return (
        f"Still settling: {names} may still revise the most recent days of this period "
        "(late conversions, corrected spend). These numbers can change a little."
    )


def workspace_digest(*, workspace: Any, period: Period, color: str = "#4f46e5") -> WorkspaceDigest:
    """Everything a digest says about the active workspace for `period` (schema must be active)."""
    currency = workspace.reporting_currency
    previous = period.previous()
    links = {
        "overview": workspace_url(
            workspace=workspace, path=f"/?period=custom&from={period.start.isoformat()}&to={period.end.isoformat()}"
        ),
        "channels": workspace_url(
            workspace=workspace,
            path=f"/channels/?period=custom&from={period.start.isoformat()}&to={period.end.isoformat()}",
        ),
        "anomalies": workspace_url(workspace=workspace, path="/insights/anomalies/"),
        "alerts": workspace_url(workspace=workspace, path="/alerts/"),
        "forecasts": workspace_url(workspace=workspace, path="/insights/forecasts/"),
        "settings": workspace_url(workspace=workspace, path="/settings/digests/"),
    }
    status = warehouse_status()
    digest = WorkspaceDigest(
        name=workspace.name,
        slug=workspace.slug,
        currency=currency,
        period=period,
        previous=previous,
        has_data=status["newest_day"] is not None,
        links=links,
    )
    if digest.has_data:
        digest.kpis = _kpis(period, previous, currency)
        digest.platforms = _platforms(period, previous, currency)
        digest.charts = _charts(period, currency, workspace.slug, color, links["overview"])
        digest.movers = _movers(period, previous, currency, workspace)
        digest.forecast = _forecast(period, currency, workspace)
        digest.settling_note = _settling_note(period, status)
    digest.anomalies = _anomalies(period, currency, workspace)
    digest.alerts = _alerts(workspace)
    return digest
