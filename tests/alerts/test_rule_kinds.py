"""The rule kinds added to the first slice, over real synthetic warehouse data: a change against the
same weekday last week, spend pacing against a monthly budget (projected month-end spend ± a
tolerance, never judged on a month's first two days, gated by the minimum volume), and the
incident chart's series (each point the rule's window ending that day, ratios of sums)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta

import pytest

from accounts.models import Workspace
from alerts import selectors, services
from alerts.models import AlertIncident, AlertRule
from tests.alerts.conftest import make_rule
from tests.insights.conftest import inject_spend_spike, yesterday_utc
from warehouse.selectors import MetricsQuery, metrics_query

pytestmark = pytest.mark.django_db


def total(metric: str, date_from: date, date_to: date) -> float:
    rows = metrics_query(MetricsQuery(metrics=(metric,), date_from=date_from, date_to=date_to)).rows
    return float(rows[0][metric] or 0) if rows else 0.0


def evaluate(rule: AlertRule, workspace: Workspace, *, last_day: date | None = None) -> services.EvaluationReport:
    """Evaluate as if it were noon the day after `last_day` (default: now)."""
    rule.refresh_from_db()
    now = datetime.combine(last_day + timedelta(days=1), time(12), tzinfo=UTC) if last_day else None
    return services.rule_evaluate(rule=rule, workspace=workspace, now=now)


def test_change_against_the_same_weekday_last_week(alert_workspace: Workspace) -> None:
    day = yesterday_utc()
    inject_spend_spike(day=day, factor=3.0)
    spend, week_ago, day_before = (
        total("spend", day, day),
        total("spend", day - timedelta(7), day - timedelta(7)),
        total("spend", day - timedelta(1), day - timedelta(1)),
    )
    weekdays = make_rule(name="vs last week", kind="change", threshold=50, compare_to="same_weekday")
    previous = make_rule(name="vs the day before", kind="change", threshold=50)
    assert evaluate(weekdays, alert_workspace).opened == 1
    assert evaluate(previous, alert_workspace).opened == 1

    by_weekday = AlertIncident.objects.get(rule=weekdays)
    assert by_weekday.baseline == pytest.approx(week_ago)
    assert by_weekday.value == pytest.approx((spend - week_ago) / week_ago * 100)
    assert (by_weekday.window_from, by_weekday.window_to) == (day, day)
    assert AlertIncident.objects.get(rule=previous).baseline == pytest.approx(day_before)


def test_a_falling_change_against_last_week_fires_below(alert_workspace: Workspace) -> None:
    day = yesterday_utc()
    inject_spend_spike(day=day, factor=0.2)  # Google Ads spend collapsed
    # scoped to the platform whose spend collapsed: on some days of the synthetic history Meta
    # spends so much more than Google Ads that the workspace total hardly moves
    rule = make_rule(
        kind="change",
        comparison="below",
        threshold=40,
        compare_to="same_weekday",
        scope_kind="platform",
        scope_value="google_ads",
    )
    assert evaluate(rule, alert_workspace).opened == 1
    incident = AlertIncident.objects.get()
    assert incident.value < -40 and incident.threshold == -40.0


def _judged_day() -> date:
    """A day with at least 3 days of its month behind it, inside the landed history."""
    day = yesterday_utc()
    return day if day.day >= services.PACING_FIRST_DAY else day - timedelta(days=day.day)


def test_pacing_projects_month_end_spend_against_the_budget(alert_workspace: Workspace) -> None:
    last = _judged_day()
    month_spend = total("spend", last.replace(day=1), last)
    projected = month_spend / last.day * calendar.monthrange(last.year, last.month)[1]

    over = make_rule(
        name="Overspend", kind="pacing", metric="spend", monthly_budget=round(projected / 1.5, 2), threshold=10
    )
    report = evaluate(over, alert_workspace, last_day=last)
    assert (report.opened, report.deliveries) == (1, 1)
    incident = AlertIncident.objects.get(rule=over)
    assert incident.value == pytest.approx(projected)
    assert incident.threshold == pytest.approx(round(projected / 1.5, 2))
    assert incident.baseline == pytest.approx(month_spend)
    assert (incident.window_from, incident.window_to) == (last.replace(day=1), last)
    assert incident.subject == f"the whole workspace, {last:%B %Y}"

    # within the tolerance: 5 % over a budget with 10 % tolerance is fine, the incident resolves
    over.monthly_budget = round(projected / 1.05, 2)
    over.save()
    assert evaluate(over, alert_workspace, last_day=last).resolved == 1

    under = make_rule(
        name="Underspend", kind="pacing", comparison="below", monthly_budget=round(projected * 2, 2), threshold=20
    )
    assert evaluate(under, alert_workspace, last_day=last).opened == 1


def test_pacing_waits_for_the_third_day_and_for_volume(alert_workspace: Workspace) -> None:
    last = _judged_day()
    rule = make_rule(kind="pacing", metric="spend", monthly_budget=1, threshold=0)
    assert evaluate(rule, alert_workspace, last_day=last).opened == 1
    # on the month's second day nothing is judged: the open incident is neither renewed nor resolved
    second = (last.replace(day=1) + timedelta(days=40)).replace(day=2)
    report = evaluate(rule, alert_workspace, last_day=second)
    assert (report.opened, report.resolved) == (0, 0)
    assert AlertIncident.objects.get().state == "open"

    thin = make_rule(name="thin", kind="pacing", monthly_budget=1, threshold=0, min_spend=10**9)
    report = evaluate(thin, alert_workspace, last_day=last)
    assert (report.opened, report.skipped_low_volume) == (0, 1)


def test_the_chart_series_uses_the_rules_window_and_ratios_of_sums(alert_workspace: Workspace) -> None:
    last = yesterday_utc()
    rule = make_rule(metric="cpc", window_days=3, threshold=1)
    incident = AlertIncident.objects.create(rule=rule, dedup_key="k", window_from=last - timedelta(2), window_to=last)
    series = selectors.incident_series(incident=incident)
    assert series is not None and series.metric == "cpc" and len(series.points) == selectors.CHART_DAYS
    day, value = series.points[-1]
    three_days = (last - timedelta(2), last)
    assert day == last
    assert value == pytest.approx(total("spend", *three_days) / total("clicks", *three_days))

    pacing = make_rule(name="pace", kind="pacing", monthly_budget=100, threshold=0)
    paced = AlertIncident.objects.create(rule=pacing, dedup_key="p", window_from=last.replace(day=1), window_to=last)
    cumulative = selectors.incident_series(incident=paced)
    assert cumulative is not None and cumulative.cumulative
    assert cumulative.points[-1][1] == pytest.approx(total("spend", last.replace(day=1), last))
