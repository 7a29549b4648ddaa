"""Incidents: one per entity and day, with a probable cause, a calibrated severity, and feedback
that tunes the next scoring of the series it is about."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from insights.models import Incident, Scope
from insights.services import score_workspace_nightly
from insights.services.incidents import (
    count_chance,
    group_findings,
    incident_severity,
    mark_incident,
    probable_cause,
)
from tests.insights.conftest import in_schema, inject_spend_spike, yesterday_utc

DAY = date(2024, 5, 7)


def _finding(metric: str, direction: str, z: float, value: float, expected: float, **extra) -> dict:
    return {
        "metric": metric,
        "scope": extra.get("scope", "platform"),
        "key": extra.get("key", "meta"),
        "label": "Meta",
        "platform": "meta",
        "date": extra.get("day", DAY),
        "direction": direction,
        "z": z,
        "value": value,
        "expected": expected,
        "severity": "high" if z >= 8 else "medium" if z >= 5 else "low",
        "explanation": f"{metric} moved",
    }


@pytest.mark.parametrize(
    ("findings", "cause"),
    [
        # conversions to zero while clicks are normal: the tag, not the market
        ([_finding("conversions", "down", 9, 0, 40), _finding("cvr", "down", 9, 0, 4.0)], "tracking"),
        # spend to zero: delivery stopped, and conversions falling with it is not a tracking problem
        ([_finding("spend", "down", 12, 0, 900), _finding("conversions", "down", 9, 0, 40)], "delivery_stopped"),
        ([_finding("spend", "down", 6, 300, 900), _finding("clicks", "down", 6, 200, 600)], "delivery_drop"),
        ([_finding("spend", "up", 9, 2900, 900), _finding("clicks", "up", 7, 1500, 600)], "spend_surge"),
        ([_finding("spend", "up", 9, 2900, 900), _finding("cpa", "up", 7, 90, 25)], "wasted_spend"),
        ([_finding("clicks", "up", 9, 4000, 600)], "traffic_quality"),
        ([_finding("conversion_value", "up", 9, 9000, 1500)], "big_order"),
        ([_finding("ctr", "down", 6, 0.9, 1.8)], None),
    ],
)
def test_the_pattern_of_an_entity_day_names_its_probable_cause(findings, cause) -> None:
    found = probable_cause({f["metric"]: f for f in findings})
    assert (found.code if found else None) == cause


def test_metrics_that_moved_together_on_one_entity_and_day_make_one_incident() -> None:
    rows = [
        _finding("conversions", "down", 9, 0, 40),
        _finding("conversion_value", "down", 7, 0, 1500),
        _finding("cvr", "down", 11, 0, 4.0),
        _finding("spend", "up", 4, 1000, 900, key="google_ads"),
        _finding("spend", "up", 4, 1000, 900, day=DAY + timedelta(days=1)),
    ]

    incidents = sorted(group_findings(rows), key=lambda r: (r["key"], r["date"]))

    assert [(i["key"], i["date"], len(i["metrics"])) for i in incidents] == [
        ("google_ads", DAY, 1),
        ("meta", DAY, 3),
        ("meta", DAY + timedelta(days=1), 1),
    ]
    tracking = incidents[1]
    assert tracking["cause"] == "tracking" and tracking["summary"].startswith("Conversion tracking looks broken")
    assert [m["metric"] for m in tracking["metrics"]] == ["cvr", "conversions", "conversion_value"]  # strongest first
    assert tracking["severity"] == "high" and tracking["score"] == 11


def test_high_needs_a_corroborated_story_a_lone_large_move_is_medium() -> None:
    assert incident_severity(12.0, metrics=["spend"], cause=None) == "medium"
    assert incident_severity(12.0, metrics=["spend", "clicks"], cause=None) == "high"
    traffic = probable_cause({"clicks": _finding("clicks", "up", 12, 9, 1)})
    assert incident_severity(12.0, metrics=["clicks"], cause=traffic) == "high"
    assert incident_severity(6.0, metrics=["spend", "clicks", "cpc"], cause=None) == "medium"
    assert incident_severity(3.5, metrics=["spend"], cause=None) == "low"


def test_revenue_moving_alone_and_a_restart_after_a_pause_are_only_low() -> None:
    # one large order moves revenue (and ROAS) on a small campaign: worth a look, not an alert
    alone = [_finding("conversion_value", "up", 14, 9000, 1500), _finding("roas", "up", 11, 9.0, 1.5)]
    assert group_findings(alone)[0]["severity"] == "low"
    restart = [_finding("spend", "up", 20, 80, 0.5), _finding("clicks", "up", 15, 60, 0.2)]
    incident = group_findings(restart)[0]
    assert incident["cause"] == "restart" and incident["severity"] == "low"


def test_a_jump_from_a_usual_below_the_minimum_volume_is_not_high() -> None:
    # the demo's Overview: "Revenue was €56.10, far above the usual (usually up to €0.29)" was High
    nothing = [
        _finding("conversion_value", "up", 25, 56.10, 0.1),
        _finding("conversions", "up", 12, 6, 0.05),
    ]
    incident = group_findings(nothing)[0]
    assert incident["severity"] == "low" and incident["score"] == 25  # the score keeps the deviation
    # a usual below the minimum but not next to nothing: at most medium, even with a story
    small = [_finding("spend", "up", 14, 200, 12), _finding("clicks", "up", 10, 300, 10)]
    assert group_findings(small)[0]["cause"] == "spend_surge"
    assert group_findings(small)[0]["severity"] == "medium"
    # the same move on a campaign with the volume stays high
    usual = [_finding("spend", "up", 14, 4000, 900), _finding("clicks", "up", 10, 3000, 600)]
    assert group_findings(usual)[0]["severity"] == "high"
    # a capped metric does not hide an uncapped one moving on the same day
    mixed = [_finding("conversion_value", "up", 25, 56.10, 0.1), _finding("clicks", "up", 9, 3000, 600)]
    assert group_findings(mixed)[0]["severity"] == "high"


def test_conversions_gone_with_normal_clicks_is_tracking_even_with_one_left() -> None:
    # an outage recording 5% of conversions still shows one on a day that usually has eight
    findings = [_finding("conversions", "down", 6, 1, 8), _finding("conversion_value", "down", 7, 40, 600)]
    assert group_findings(findings)[0]["cause"] == "tracking"
    # revenue alone at zero is an ordinary day without orders on a small campaign
    alone = group_findings([_finding("conversion_value", "down", 7, 0, 90)])[0]
    assert alone["cause"] == "" and alone["severity"] == "low"


def _stop(day: date, *, scope: str = "platform", key: str = "meta", z: float = 12.0) -> list[dict]:
    return [
        _finding("spend", "down", z, 0, 900, scope=scope, key=key, day=day),
        _finding("clicks", "down", z - 1, 0, 600, scope=scope, key=key, day=day),
    ]


def test_a_stop_that_lasts_several_days_is_one_incident_the_days_after_are_low() -> None:
    rows = [row for offset in range(4) for row in _stop(DAY + timedelta(days=offset))]

    incidents = sorted(group_findings(rows), key=lambda r: r["date"])

    assert [i["severity"] for i in incidents] == ["high", "low", "low", "low"]
    assert all(i["cause"] == "delivery_stopped" for i in incidents)
    assert "Ongoing since" not in incidents[0]["summary"]
    assert all(i["summary"].endswith("Ongoing since Tue 7 May.") for i in incidents[1:])  # DAY is a Tuesday


def test_a_new_story_or_a_clearly_larger_move_on_the_next_day_is_raised_again() -> None:
    # the day after a stop, a surge is news of its own
    surge = [_finding("spend", "up", 9, 2900, 900, day=DAY + timedelta(days=1))]
    surge.append(_finding("clicks", "up", 7, 1500, 600, day=DAY + timedelta(days=1)))
    after_stop = sorted(group_findings([*_stop(DAY), *surge]), key=lambda r: r["date"])
    assert [(i["cause"], i["severity"]) for i in after_stop] == [("delivery_stopped", "high"), ("spend_surge", "high")]
    # the same story 1.5× stronger the next day is raised again; a gap of a day starts a new episode
    growing = [*_stop(DAY, z=6.0), *_stop(DAY + timedelta(days=1), z=9.5), *_stop(DAY + timedelta(days=3), z=6.0)]
    assert [i["severity"] for i in sorted(group_findings(growing), key=lambda r: r["date"])] == [
        "medium",
        "high",
        "medium",
    ]
    # another entity the next day is not a continuation
    other = group_findings([*_stop(DAY), *_stop(DAY + timedelta(days=1), key="google_ads")])
    assert sorted(i["severity"] for i in other) == ["high", "high"]


def test_one_campaign_switching_off_is_low_a_whole_platform_stopping_is_not() -> None:
    campaign = group_findings(_stop(DAY, scope="campaign", key="google_ads:1:2"))[0]
    platform = group_findings(_stop(DAY, scope="platform", key="google_ads"))[0]

    assert campaign["cause"] == platform["cause"] == "delivery_stopped"
    assert campaign["severity"] == "low"
    assert platform["severity"] == "high"
    # a campaign's spend merely dropping (not to zero) keeps its severity
    drop = [
        _finding("spend", "down", 9, 150, 900, scope="campaign", key="c"),
        _finding("clicks", "down", 8, 90, 600, scope="campaign", key="c"),
    ]
    assert group_findings(drop)[0]["severity"] == "high"


def test_conversions_falling_to_an_improbable_count_with_normal_clicks_is_at_least_medium() -> None:
    # one conversion against a usual of nine: a 0.1% chance on an ordinary day, though the
    # detector's log-scale z for a small count is only 3.5
    improbable = group_findings([_finding("conversions", "down", 3.5, 1, 9), _finding("roas", "down", 3.2, 0.2, 2)])
    assert improbable[0]["cause"] == "tracking" and improbable[0]["severity"] == "medium"
    # one conversion against a usual of five happens (4%): it stays low
    ordinary = group_findings([_finding("conversions", "down", 3.4, 1, 5)])
    assert ordinary[0]["cause"] == "tracking" and ordinary[0]["severity"] == "low"
    # the same fall with clicks down is less traffic, not broken tracking, and is not promoted
    with_traffic = group_findings(
        [_finding("conversions", "down", 3.5, 1, 9), _finding("clicks", "down", 3.2, 200, 600)]
    )
    assert with_traffic[0]["cause"] != "tracking" and with_traffic[0]["severity"] == "low"


def test_the_chance_of_a_low_count_is_the_poisson_tail() -> None:
    assert count_chance(0, 5.0) == pytest.approx(0.006738, abs=1e-6)
    assert count_chance(1, 8.0) == pytest.approx(9 * 0.000335463, rel=1e-4)
    assert count_chance(1.6, 8.0) == count_chance(1, 8.0)  # fractional conversions round down
    assert count_chance(3, 0.0) == 1.0
    assert count_chance(40, 5.0) == pytest.approx(1.0)


@pytest.mark.django_db
def test_marking_an_incident_not_useful_stops_the_same_move_being_raised_again(data_workspace) -> None:
    as_of = yesterday_utc()
    first, second = as_of - timedelta(days=20), as_of - timedelta(days=6)
    # the later move is smaller than the marked one (×3 after ×8): how unusual a ×4 looks depends
    # on the synthetic days around it, so two equal factors can score either way of each other
    workspace = data_workspace("inc-fb", spike_day=first, factor=8.0)
    with in_schema(workspace):
        inject_spend_spike(day=second, factor=3.0)
        score_workspace_nightly(as_of=as_of, campaigns=0, fit_budget=False)
        google = Incident.objects.filter(scope=Scope.PLATFORM, key="google_ads")
        assert set(google.values_list("date", flat=True)) >= {first, second}
        marked = google.get(date=first)
        assert "spend" in marked.metric_names
        total_before = list(
            Incident.objects.filter(scope=Scope.WORKSPACE).order_by("date").values_list("date", "metrics")
        )

        mark_incident(marked, feedback=Incident.Feedback.NOT_USEFUL, user_id=7)
        score_workspace_nightly(as_of=as_of, campaigns=0, fit_budget=False)

        after = {i.date: i for i in Incident.objects.filter(scope=Scope.PLATFORM, key="google_ads")}
        # a move no bigger later on is no longer raised for Google Ads spend …
        assert second not in after or "spend" not in after[second].metric_names
        # … the marked incident stays as it was, with its mark
        assert after[first].feedback == "not_useful" and after[first].feedback_by_id == 7
        # and other series are untouched: the workspace total's incidents are as they were
        total_after = Incident.objects.filter(scope=Scope.WORKSPACE).order_by("date").values_list("date", "metrics")
        assert list(total_after) == total_before


def test_feedback_must_be_one_of_the_known_marks() -> None:
    with pytest.raises(ValueError, match="unknown feedback"):
        mark_incident(Incident(), feedback="meh", user_id=None)
