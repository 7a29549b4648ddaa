"""Reads of the alerts app: rules, incidents, deliveries, and the numbers a rule looks at.

Numbers come from the warehouse's one metrics layer (`warehouse.selectors.metrics_query`), so a
ratio over a window is the ratio of its sums; anomalies from the insights' stored findings; the
health of connections from the connectors' selectors. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from alerts.models import AlertIncident, AlertRule, Delivery, ScopeKind
from connectors.selectors import connection_health
from insights.selectors.results import anomalies_for
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


def incidents_open_for(*, rule: AlertRule) -> dict[str, AlertIncident]:
    return {i.dedup_key: i for i in AlertIncident.objects.filter(rule=rule, state=AlertIncident.State.OPEN)}


def deliveries_recent(*, limit: int = 50) -> QuerySet[Delivery]:
    return Delivery.objects.select_related("incident__rule").order_by("-created_at", "-id")[:limit]


def delivery_get(*, pk: int) -> Delivery | None:
    return Delivery.objects.select_related("incident__rule").filter(pk=pk).first()


# --------------------------------------------------------------------------- the numbers


def last_complete_day(time_zone: str, *, now: datetime | None = None) -> date:
    """Yesterday in the workspace's time zone: alerts look at whole days only."""
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return (now or datetime.now(tz=ZoneInfo("UTC"))).astimezone(zone).date() - timedelta(days=1)


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


def window_numbers(*, rule: AlertRule, filters: dict[str, tuple[str, ...]], last_day: date) -> WindowNumbers:
    date_from = last_day - timedelta(days=rule.window_days - 1)
    metrics = tuple(dict.fromkeys((rule.metric, "spend", "conversions")))
    result = metrics_query(
        MetricsQuery(metrics=metrics, date_from=date_from, date_to=last_day, filters=filters, compare="previous_period")
    )
    row: dict[str, Any] = result.rows[0] if result.rows else {}

    def number(key: str) -> float | None:
        value = row.get(key)
        return None if value is None else float(value)

    return WindowNumbers(
        date_from=date_from,
        date_to=last_day,
        value=number(rule.metric),
        previous=number(f"{rule.metric}_previous"),
        change=number(f"{rule.metric}_change"),
        spend=number("spend") or 0.0,
        conversions=number("conversions") or 0.0,
    )


@dataclass(frozen=True)
class AnomalyHit:
    key: str
    subject: str
    date: date
    value: float
    expected: float
    severity: str


def anomaly_hits(*, rule: AlertRule, last_day: date) -> list[AnomalyHit]:
    """The insights' anomaly findings of the rule's metric and scope, at or above its severity."""
    kwargs: dict[str, Any] = {}
    if rule.scope_kind == ScopeKind.PLATFORM:
        kwargs["platforms"] = [rule.scope_value]
    findings = anomalies_for(
        date_from=last_day - timedelta(days=rule.window_days - 1),
        date_to=last_day,
        metrics=[rule.metric],
        min_severity=rule.min_severity,
        **kwargs,
    )
    hits = []
    for finding in findings:
        if rule.scope_kind == ScopeKind.CAMPAIGN and rule.scope_value.lower() not in finding.label.lower():
            continue
        subject = finding.label or finding.key or "workspace"
        hits.append(
            AnomalyHit(
                key=f"{finding.scope}:{finding.key}:{finding.date.isoformat()}",
                subject=f"{subject} on {finding.date.isoformat()}",
                date=finding.date,
                value=finding.value,
                expected=finding.expected,
                severity=finding.severity,
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
