"""Reads of the alerts app: rules, incidents, deliveries, and the numbers a rule looks at.

Numbers come from the warehouse's one metrics layer (`warehouse.selectors.metrics_query`), so a
ratio over a window is the ratio of its sums; anomalies from the insights' incidents (one per
entity and day, the findings that moved together); the health of connections from the
connectors' selectors. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from alerts.models import AlertIncident, AlertRule, CompareTo, Delivery, RuleKind, ScopeKind
from connectors.selectors import connection_health
from insights.selectors.incidents import IncidentFilters, incidents_for
from warehouse import metrics as m
from warehouse.selectors import (
    MetricsQuery,
    data_test_failures_since,
    metrics_query,
    quarantine_summary,
    warehouse_status,
)
from warehouse.selectors.campaigns import ad_accounts, campaign_ids_matching

#: a campaign-name scope follows at most this many campaigns (more is a filter too loose to mean much)
MAX_SCOPE_CAMPAIGNS = 500


def rules_all() -> QuerySet[AlertRule]:
    return AlertRule.objects.all()


def rules_enabled() -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(enabled=True)


def rule_get(*, pk: int) -> AlertRule:
    return get_object_or_404(AlertRule, pk=pk)


def incidents_recent(*, limit: int = 50) -> QuerySet[AlertIncident]:
    return AlertIncident.objects.select_related("rule").order_by("-opened_at", "-id")[:limit]


def incident_get(*, pk: int) -> AlertIncident:
    return get_object_or_404(AlertIncident.objects.select_related("rule"), pk=pk)


def incidents_open_for(*, rule: AlertRule) -> dict[str, AlertIncident]:
    return {i.dedup_key: i for i in AlertIncident.objects.filter(rule=rule, state=AlertIncident.State.OPEN)}


def deliveries_recent(*, limit: int = 50) -> QuerySet[Delivery]:
    return (
        Delivery.objects.select_related("incident__rule")
        .prefetch_related("attempt_log")
        .order_by("-created_at", "-id")[:limit]
    )


def delivery_failures_since(*, since: datetime) -> int:
    """Deliveries that failed for good (or are still retrying after a failure) since a moment."""
    return Delivery.objects.filter(
        created_at__gte=since, outcome__in=(Delivery.Outcome.FAILED, Delivery.Outcome.RETRYING)
    ).count()


def delivery_get(*, pk: int) -> Delivery | None:
    return Delivery.objects.select_related("incident__rule").filter(pk=pk).first()


# --------------------------------------------------------------------------- the numbers


def scope_filters(*, scope_kind: str, scope_value: str) -> dict[str, tuple[str, ...]] | None:
    """The metrics-layer filters of a rule's scope; None when the scope matches nothing."""
    if scope_kind == ScopeKind.WORKSPACE:
        return {}
    if scope_kind == ScopeKind.PLATFORM:
        return {"platform": (scope_value,)}
    if scope_kind == ScopeKind.ACCOUNT:
        return {"account": (scope_value,)}
    ids = campaign_ids_matching(search=scope_value, limit=MAX_SCOPE_CAMPAIGNS)
    return {"campaign": tuple(ids)} if ids else None


@dataclass(frozen=True)
class WindowNumbers:
    """A rule's metric over its window, the previous window, and the volume behind it."""

    date_from: date
    date_to: date
    value: float | None
    previous: float | None
    change: float | None  # relative, 0.25 = +25 %
    spend: float
    conversions: float


def _number(row: dict[str, Any], key: str) -> float | None:
    value = row.get(key)
    return None if value is None else float(value)


def window_numbers(*, rule: AlertRule, filters: dict[str, tuple[str, ...]], last_day: date) -> WindowNumbers:
    """The window's value; the compared value is the previous period of the same length, or (a
    change rule comparing weekdays) the same days one week earlier, so a Monday meets a Monday."""
    date_from = last_day - timedelta(days=rule.window_days - 1)
    metrics = tuple(dict.fromkeys((rule.metric, "spend", "conversions")))
    weekdays = rule.kind == RuleKind.CHANGE and rule.compare_to == CompareTo.SAME_WEEKDAY
    result = metrics_query(
        MetricsQuery(
            metrics=metrics,
            date_from=date_from,
            date_to=last_day,
            filters=filters,
            compare=None if weekdays else "previous_period",
        )
    )
    row: dict[str, Any] = result.rows[0] if result.rows else {}
    value = _number(row, rule.metric)
    if weekdays:
        week_ago = metrics_query(
            MetricsQuery(
                metrics=(rule.metric,),
                date_from=date_from - timedelta(days=7),
                date_to=last_day - timedelta(days=7),
                filters=filters,
            )
        )
        previous = _number(week_ago.rows[0], rule.metric) if week_ago.rows else None
        change = m.relative_change(value, previous)
    else:
        previous, change = _number(row, f"{rule.metric}_previous"), _number(row, f"{rule.metric}_change")
    return WindowNumbers(
        date_from=date_from,
        date_to=last_day,
        value=value,
        previous=previous,
        change=change,
        spend=_number(row, "spend") or 0.0,
        conversions=_number(row, "conversions") or 0.0,
    )


@dataclass(frozen=True)
class PacingNumbers:
    """Month-to-date spend and where it heads by the month's end at the pace so far."""

    month_start: date
    date_to: date
    days_elapsed: int
    days_in_month: int
    spend: float
    conversions: float

    @property
    def projected(self) -> float:
        return self.spend / self.days_elapsed * self.days_in_month


def pacing_numbers(*, filters: dict[str, tuple[str, ...]], last_day: date) -> PacingNumbers:
    """Spend of the month of `last_day` up to it (whole days only), projected linearly."""
    month_start = last_day.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    result = metrics_query(
        MetricsQuery(metrics=("spend", "conversions"), date_from=month_start, date_to=last_day, filters=filters)
    )
    row: dict[str, Any] = result.rows[0] if result.rows else {}
    return PacingNumbers(
        month_start=month_start,
        date_to=last_day,
        days_elapsed=last_day.day,
        days_in_month=(next_month - month_start).days,
        spend=_number(row, "spend") or 0.0,
        conversions=_number(row, "conversions") or 0.0,
    )


def daily_window_series(
    *, rule: AlertRule, filters: dict[str, tuple[str, ...]], last_day: date, days: int = 28
) -> list[tuple[date, float | None]]:
    """For the incident chart: each day's value of the rule's metric over the rule's window ending
    that day (a 3-day rule's point on the 9th covers the 7th to the 9th), so the threshold line
    applies to every point. A ratio is the ratio of its parts' rolling sums; one query."""
    metric = m.resolve(rule.metric)
    parts = (metric.numerator, metric.denominator) if isinstance(metric, m.RatioMetric) else (metric.name,)
    window = rule.window_days
    first = last_day - timedelta(days=days - 1)
    result = metrics_query(
        MetricsQuery(
            metrics=parts,
            date_from=first - timedelta(days=window - 1),
            date_to=last_day,
            dimensions=("day",),
            filters=filters,
        )
    )
    by_day = {row["day"]: row for row in result.rows}
    series: list[tuple[date, float | None]] = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        covered = [by_day.get(day - timedelta(days=back)) for back in range(window)]
        sums = {p: sum(float(r[p] or 0) for r in covered if r) for p in parts}
        if not any(covered):
            series.append((day, None))
        elif isinstance(metric, m.RatioMetric):
            series.append((day, metric.value(sums)))
        else:
            series.append((day, sums[metric.name]))
    return series


@dataclass(frozen=True)
class AnomalyHit:
    key: str
    subject: str
    date: date
    value: float | None
    expected: float | None
    severity: str
    summary: str
    metric: str


def _in_scope(rule: AlertRule, incident: Any) -> bool:
    if rule.scope_kind == ScopeKind.ACCOUNT:
        return incident.scope == "campaign" and incident.key.startswith(f"{rule.scope_value}:")
    if rule.scope_kind == ScopeKind.CAMPAIGN:
        return incident.scope == "campaign" and rule.scope_value.lower() in (incident.label or "").lower()
    return True


def anomaly_hits(*, rule: AlertRule, last_day: date) -> list[AnomalyHit]:
    """The insights' incidents (one per entity and day: the findings that moved together) in the
    rule's window and scope, at or above its severity, that involve its metric (any metric when
    the rule names none)."""
    filters = IncidentFilters(
        date_from=last_day - timedelta(days=rule.window_days - 1),
        date_to=last_day,
        severity=rule.min_severity,
        platform=rule.scope_value if rule.scope_kind == ScopeKind.PLATFORM else "",
        metric=rule.metric,
    )
    hits = []
    for incident in incidents_for(filters)[:200]:
        if not _in_scope(rule, incident):
            continue
        lines = [line for line in incident.metrics or [] if not rule.metric or line.get("metric") == rule.metric]
        line = lines[0] if lines else {}
        subject = incident.label or incident.key or "the whole workspace"
        if not rule.metric and line.get("metric"):
            subject = f"{subject}, {m.metric_label(str(line['metric']))}"  # which metric moved
        hits.append(
            AnomalyHit(
                key=f"{incident.scope}:{incident.key}:{incident.date.isoformat()}",
                subject=f"{subject} on {incident.date.isoformat()}",
                date=incident.date,
                value=line.get("value"),
                expected=line.get("expected"),
                severity=incident.severity,
                summary=incident.summary,
                metric=str(line.get("metric") or rule.metric),
            )
        )
    return hits


@dataclass(frozen=True)
class HealthProblem:
    key: str
    subject: str
    value: float | None = None


def health_problems(*, check: str, hours: float | None, now: datetime) -> list[HealthProblem]:
    """What is wrong for one data-health check (empty when all is well)."""
    connections = connection_health()
    if check == "needs_reauth":
        return [
            HealthProblem(f"connection:{c.pk}", f"{c.label} needs re-authorisation")
            for c in connections
            if c.needs_reauth
        ]
    if check == "sync_failed":
        return [
            HealthProblem(f"connection:{c.pk}:run:{c.last_run_id}", f"the last sync of {c.label} failed")
            for c in connections
            if c.last_run_failed
        ]
    if check == "stale_data":
        if not connections:
            return []  # nothing connected: no data is expected
        as_of = warehouse_status()["data_as_of"]
        age = None if as_of is None else (now - as_of).total_seconds() / 3600
        if age is None or age > (hours or 36):
            label = "no data yet" if age is None else f"data is {age:.0f} hours old"
            return [HealthProblem("stale", label, age)]
        return []
    if check == "data_tests":
        failed = {
            (r.model, r.test): r
            for r in data_test_failures_since(since=now - timedelta(days=1))
            if r.status == "fail"  # warnings show on the Data sources page; only failures alert
        }
        problems = [
            HealthProblem(f"test:{m}:{t}", f"data test {t} of {m} failed ({r.failing_rows} rows)", r.failing_rows)
            for (m, t), r in sorted(failed.items())
        ]
        problems += [
            HealthProblem(f"quarantine:{g.model}", f"{g.rows} rows of {g.model} quarantined", g.rows)
            for g in quarantine_summary()
        ]
        return problems
    raise ValueError(f"unknown data-health check {check!r}")


def scope_matches(*, scope_kind: str, scope_value: str) -> bool:
    """Whether a rule's scope names anything this workspace has (a platform, an account, campaigns)."""
    if scope_kind == ScopeKind.WORKSPACE:
        return True
    if scope_kind == ScopeKind.CAMPAIGN:
        return scope_filters(scope_kind=scope_kind, scope_value=scope_value) is not None
    accounts = ad_accounts()
    if scope_kind == ScopeKind.PLATFORM:
        return any(platform == scope_value for platform, _, _ in accounts)
    return any(f"{platform}:{account}" == scope_value for platform, account, _ in accounts)


def incidents_filtered(*, state: str | None = None, rule_id: int | None = None) -> QuerySet[AlertIncident]:
    incidents = AlertIncident.objects.select_related("rule").order_by("-opened_at", "-id")
    if state:
        incidents = incidents.filter(state=state)
    if rule_id is not None:
        incidents = incidents.filter(rule_id=rule_id)
    return incidents


def settling_platforms(*, date_from: date, date_to: date) -> list[str]:
    """Platforms whose days in the window are still settling (the platform may still revise them)."""
    settling = warehouse_status()["settling"]
    return sorted(p for p, days in settling.items() if days["from"] <= date_to and days["to"] >= date_from)


def custom_rule_count() -> int:
    """Rules the workspace made itself (the built-in data-health rules are not counted)."""
    return AlertRule.objects.filter(builtin=False).count()


#: days of history an incident's chart shows
CHART_DAYS = 28


@dataclass(frozen=True)
class IncidentSeries:
    """What an incident's chart draws: the rule's metric day by day (each point the rule's window
    ending that day), or for pacing the month's cumulative spend."""

    metric: str
    points: list[tuple[date, float | None]]
    cumulative: bool = False


def incident_series(*, incident: AlertIncident) -> IncidentSeries | None:
    """The series behind an incident's numbers; None for rules without one (data health)."""
    rule = incident.rule
    last_day = incident.window_to
    if last_day is None or not rule.metric:
        return None
    filters = scope_filters(scope_kind=rule.scope_kind, scope_value=rule.scope_value)
    if filters is None:
        return None
    if rule.kind == RuleKind.PACING:
        month_start = last_day.replace(day=1)
        result = metrics_query(
            MetricsQuery(
                metrics=("spend",), date_from=month_start, date_to=last_day, dimensions=("day",), filters=filters
            )
        )
        by_day = {row["day"]: float(row["spend"] or 0) for row in result.rows}
        total, points = 0.0, []
        for offset in range((last_day - month_start).days + 1):
            day = month_start + timedelta(days=offset)
            total += by_day.get(day, 0.0)
            points.append((day, total))
        return IncidentSeries(metric="spend", points=points, cumulative=True)
    if rule.kind == RuleKind.ANOMALY:
        # an incident of the detector is about one day: its metric's daily values around it
        daily = AlertRule(metric=rule.metric, window_days=1)
        return IncidentSeries(
            metric=rule.metric, points=daily_window_series(rule=daily, filters=filters, last_day=last_day)
        )
    return IncidentSeries(
        metric=rule.metric,
        points=daily_window_series(rule=rule, filters=filters, last_day=last_day, days=CHART_DAYS),
    )
