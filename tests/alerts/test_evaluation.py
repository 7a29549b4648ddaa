"""Rule evaluation over real warehouse data: fire once, re-notify only when worse, resolve,
snooze / mute, the low-volume gate, scopes, and the built-in data-health rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Workspace
from alerts import services
from alerts.models import AlertIncident, AlertRule, Delivery
from connectors.models import Connection
from tests.alerts.conftest import make_connection, make_rule, spend_of
from tests.insights.conftest import in_schema, inject_spend_spike, yesterday_utc

pytestmark = pytest.mark.django_db


def evaluate(rule: AlertRule, workspace: Workspace) -> services.EvaluationReport:
    rule.refresh_from_db()
    return services.rule_evaluate(rule=rule, workspace=workspace)


def deliveries(event: str | None = None) -> list[Delivery]:
    qs = Delivery.objects.all()
    return list(qs.filter(event=event) if event else qs)


def test_new_workspace_has_the_builtin_health_rules(make_workspace: Any) -> None:
    with in_schema(make_workspace("fresh")):
        checks = set(AlertRule.objects.filter(builtin=True, kind="data_health").values_list("health_check", flat=True))
    assert checks == {"needs_reauth", "sync_failed", "stale_data", "data_tests"}


def test_threshold_fires_once_per_incident_then_resolves(alert_workspace: Workspace) -> None:
    spend = spend_of(1)
    rule = make_rule(threshold=round(spend / 2, 2))

    first = evaluate(rule, alert_workspace)
    assert (first.opened, first.deliveries) == (1, 1)
    incident = AlertIncident.objects.get()
    assert incident.state == "open" and incident.value == pytest.approx(spend)
    assert incident.window_from == incident.window_to == yesterday_utc()
    # yesterday is inside the platforms' restatement window: the incident says its numbers may move
    assert incident.message == "Still settling: google_ads, meta may revise these days."

    again = evaluate(rule, alert_workspace)  # same numbers: the same incident, no second e-mail
    assert (again.opened, again.worsened, again.deliveries) == (0, 0, 0)
    assert AlertIncident.objects.count() == 1 and len(deliveries()) == 1

    rule.threshold = round(spend * 2, 2)
    rule.save()
    cleared = evaluate(rule, alert_workspace)
    assert cleared.resolved == 1
    incident.refresh_from_db()
    assert incident.state == "resolved" and incident.resolved_at is not None
    assert [d.target for d in deliveries("resolved")] == ["ana@example.com"]


def test_renotifies_only_when_it_gets_worse(alert_workspace: Workspace) -> None:
    spend = spend_of(1)
    rule = make_rule(threshold=round(spend / 2, 2))
    evaluate(rule, alert_workspace)

    inject_spend_spike(day=yesterday_utc(), factor=1.05, platform="google_ads")  # a little more: not "worse"
    assert evaluate(rule, alert_workspace).worsened == 0
    inject_spend_spike(day=yesterday_utc(), factor=3.0, platform="google_ads")
    worse = evaluate(rule, alert_workspace)
    assert (worse.worsened, worse.deliveries) == (1, 1)
    assert len(deliveries("worsened")) == 1
    assert AlertIncident.objects.get().notified_value > spend * 1.5


def test_snoozed_and_muted_rules_record_but_send_nothing(alert_workspace: Workspace) -> None:
    spend = spend_of(1)
    snoozed = make_rule(name="snoozed", threshold=spend / 2, snoozed_until=timezone.now() + timedelta(hours=2))
    muted = make_rule(name="muted", threshold=spend / 2, muted=True)
    assert evaluate(snoozed, alert_workspace).opened == 1
    assert evaluate(muted, alert_workspace).opened == 1
    assert deliveries() == []
    assert AlertIncident.objects.filter(state="open").count() == 2

    # the snooze ran out and the incident clears: it was never notified, so no "resolved" either
    snoozed.snoozed_until = timezone.now() - timedelta(minutes=1)
    snoozed.threshold = spend * 3
    snoozed.save()
    assert evaluate(snoozed, alert_workspace).resolved == 1
    assert deliveries() == []


def test_low_volume_window_neither_fires_nor_resolves(alert_workspace: Workspace) -> None:
    spend = spend_of(1)
    rule = make_rule(threshold=spend / 2)
    evaluate(rule, alert_workspace)
    rule.min_spend = round(spend * 10, 2)  # the window now counts as too small to judge
    rule.threshold = spend * 3  # would resolve if judged
    rule.save()
    report = evaluate(rule, alert_workspace)
    assert (report.skipped_low_volume, report.resolved, report.opened) == (1, 0, 0)
    assert AlertIncident.objects.get().state == "open"

    quiet = make_rule(name="quiet", threshold=spend / 2, min_conversions=10**9)
    assert evaluate(quiet, alert_workspace).opened == 0


def test_change_rule_compares_with_the_previous_period(alert_workspace: Workspace) -> None:
    inject_spend_spike(day=yesterday_utc(), factor=4.0, platform="google_ads")
    rule = make_rule(kind="change", threshold=50, comparison="above", name="Spend jumped")
    report = evaluate(rule, alert_workspace)
    assert report.opened == 1
    incident = AlertIncident.objects.get()
    assert incident.value > 50 and incident.baseline is not None
    falls = make_rule(kind="change", threshold=50, comparison="below", name="Spend fell")
    assert evaluate(falls, alert_workspace).opened == 0


def test_scopes_filter_the_numbers(alert_workspace: Workspace) -> None:
    meta = spend_of(7, platform=("meta",))
    rule = make_rule(window_days=7, scope_kind="platform", scope_value="meta", threshold=meta * 0.99)
    assert evaluate(rule, alert_workspace).opened == 1
    assert AlertIncident.objects.get().value == pytest.approx(meta)
    assert meta < spend_of(7)  # the workspace total would have been a different number

    nothing = make_rule(name="no such campaign", scope_kind="campaign", scope_value="zz-no-such", threshold=0)
    assert evaluate(nothing, alert_workspace).opened == 0


def test_ratio_rule_is_a_ratio_of_sums(alert_workspace: Workspace) -> None:
    from warehouse.selectors import MetricsQuery, metrics_query

    last = yesterday_utc()
    sums = metrics_query(
        MetricsQuery(metrics=("spend", "conversions"), date_from=last - timedelta(days=2), date_to=last)
    ).rows[0]
    cpa = float(sums["spend"]) / float(sums["conversions"])
    rule = make_rule(metric="cpa", window_days=3, threshold=cpa * 0.9)
    evaluate(rule, alert_workspace)
    assert AlertIncident.objects.get().value == pytest.approx(cpa)


def test_data_health_rule_follows_the_connection(alert_workspace: Workspace) -> None:
    rule = AlertRule.objects.get(builtin=True, health_check="needs_reauth")
    connection = make_connection(status=Connection.Status.NEEDS_REAUTH)
    report = evaluate(rule, alert_workspace)
    assert report.opened == 1
    incident = AlertIncident.objects.get(rule=rule)
    assert "needs re-authorisation" in incident.subject and incident.severity == "high"
    # no recipients on a built-in rule: the owner (an admin of the workspace) is told
    assert [d.target for d in deliveries()] == ["owner@alrt.example"]

    connection.status = Connection.Status.ACTIVE
    connection.save()
    assert evaluate(rule, alert_workspace).resolved == 1


def test_workspace_evaluation_skips_a_rule_with_an_unknown_metric(alert_workspace: Workspace) -> None:
    make_rule(name="broken", metric="ltv", threshold=1)  # saved before its metric left the catalogue
    good = make_rule(threshold=spend_of(1) / 2)
    report = services.workspace_evaluate(workspace=alert_workspace)
    assert report.opened == 1
    assert AlertIncident.objects.get().rule == good


def _anomaly(
    day: Any, *, severity: str, value: float, platform: str = "meta", key: str = "meta", metric: str = "spend"
) -> None:
    """An incident of the insights detector (what the nightly scoring writes): one entity's
    unusual day with the findings that moved together."""
    from insights.models import Incident, ModelVersion, Scope

    version, _ = ModelVersion.objects.get_or_create(
        kind=ModelVersion.Kind.ANOMALY,
        fingerprint="alerts-test",
        defaults={"name": "anomalies", "algorithm": "test/1", "code_version": "0.1.0+src.test"},
    )
    Incident.objects.create(
        version=version,
        scope=Scope.PLATFORM,
        key=key,
        label="Meta",
        platform=platform,
        date=day,
        severity=severity,
        score=5.0,
        summary="Spend was far above the usual.",
        metrics=[
            {
                "metric": metric,
                "direction": "up",
                "z": 5.0,
                "value": value,
                "expected": 100.0,
                "severity": severity,
                "explanation": "Spend was far above the usual.",
            }
        ],
    )


def test_anomaly_rule_follows_the_detectors_incidents(alert_workspace: Workspace) -> None:
    from insights.models import Incident

    day = yesterday_utc()
    rule = make_rule(kind="anomaly", metric="spend", min_severity="medium", window_days=3, threshold=None)
    _anomaly(day, severity="low", value=130.0)  # below the rule's severity: ignored
    _anomaly(day, severity="high", value=9.0, key="google_ads", metric="clicks")  # another metric: ignored
    assert evaluate(rule, alert_workspace).opened == 0

    _anomaly(day - timedelta(days=1), severity="medium", value=300.0)
    report = evaluate(rule, alert_workspace)
    assert (report.opened, report.deliveries) == (1, 1)
    incident = AlertIncident.objects.get()
    assert (incident.value, incident.baseline, incident.severity) == (300.0, 100.0, "medium")
    assert incident.subject == f"Meta on {(day - timedelta(days=1)).isoformat()}"
    assert incident.message.startswith("Spend was far above the usual.")

    Incident.objects.filter(severity="medium").update(severity="high")  # rescored: worse
    assert evaluate(rule, alert_workspace).worsened == 1

    Incident.objects.filter(severity="high", key="meta").delete()  # no longer an anomaly
    assert evaluate(rule, alert_workspace).resolved == 1
    assert len(deliveries("resolved")) == 1


def test_anomaly_rule_without_a_metric_follows_every_incident(alert_workspace: Workspace) -> None:
    rule = make_rule(kind="anomaly", metric="", min_severity="high", window_days=1, threshold=None)
    _anomaly(yesterday_utc(), severity="high", value=9.0, key="google_ads", metric="clicks")
    assert evaluate(rule, alert_workspace).opened == 1
    incident = AlertIncident.objects.get()
    assert incident.value == 9.0 and incident.subject == f"Meta, Clicks on {yesterday_utc().isoformat()}"


@pytest.mark.django_db(transaction=True)
def test_two_evaluations_of_one_rule_at_once_open_one_incident(
    transactional_db: None, committed_alert_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The warehouse run's evaluation and the hourly one meeting: both read "no open incident"
    unless one waits for the other; then there would be two incidents and two e-mails."""
    import contextlib
    import threading

    from django.db import connection

    from alerts import selectors

    rule = make_rule(threshold=round(spend_of(1) / 2, 2))
    both_read = threading.Barrier(2, timeout=3)
    read_open = selectors.incidents_open_for

    def read_then_wait(**kwargs: Any) -> Any:
        found = read_open(**kwargs)
        # Without the rule lock both evaluations get here before either writes; with it the other
        # one waits on the lock, the barrier times out and this one goes on alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()
        return found

    monkeypatch.setattr(selectors, "incidents_open_for", read_then_wait)
    errors: list[BaseException] = []

    def evaluate_in_thread() -> None:
        try:
            connection.set_tenant(committed_alert_workspace)
            services.rule_evaluate(rule=AlertRule.objects.get(pk=rule.pk), workspace=committed_alert_workspace)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluate_in_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert AlertIncident.objects.filter(rule=rule).count() == 1
    assert len(deliveries("opened")) == 1
