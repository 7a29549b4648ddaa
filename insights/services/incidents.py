"""Incidents: one per entity and day, grouping the metric findings that moved together.

A marketer reads "Conversion tracking looks broken on Meta on Tuesday" once, not five findings
(conversions, revenue, CPA, ROAS, CVR) about the same event. The nightly scoring groups its
findings into incidents, names a probable cause where the pattern says it, and sets a severity
calibrated so that "high" is rare: it needs a large deviation AND a corroborated story (a known
cause, or two metrics moving together); a lone large deviation of one metric is "medium".

Two more rules keep the list to what a person acts on. An episode raises one incident: a
campaign paused for five days, or a budget cut that holds, is news on its first day; the days
after it that tell the same story (same cause, or the same leading metric in the same direction)
are kept at "low" as its continuation, unless the move grows clearly larger
(`_CONTINUATION_GROWTH`). And a single campaign switching off entirely is usually someone's
decision (paused, ended, schedule), the mirror of a restart, so it is "low"; a whole platform
or workspace stopping is not, and keeps its severity. Broken conversion tracking on the other
hand is at least "medium" when the count left is very unlikely by chance: the detector's
log-scale z understates a fall to zero of a small count (eight conversions to one is z ≈ 3.5,
a 0.3% chance on an ordinary day), and the pattern (conversions gone on a volume-gated day while
clicks and spend held) says what it means.

People mark an incident "expected" (a planned sale) or "not useful". Both tune that series: a
later deviation of a marked metric counts only when it is clearly larger than the marked one
(`tuned_thresholds`), so the same move is not raised again the next time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from insights.ml.anomaly import SEVERITY_Z, severity_of
from insights.models import Incident, ModelVersion
from insights.results_version import results_changed
from insights.services import anomaly_rules

#: a marked move must be exceeded by this factor to be raised again for that series
FEEDBACK_MARGIN = 1.25
#: a metric "fell to zero" below this share of its usual amount
_NEAR_ZERO = 0.05
#: conversions "gone" below this share of the usual: counts are whole numbers, so an
#: outage that records 5% of the conversions still shows one on a day that usually has eight
GONE = 0.25
#: metrics that move with the size of single orders: on their own they are at most "low"
_ORDER_SIZE_METRICS = frozenset({"conversion_value", "roas"})
#: a continuing episode raises a new incident only when its deviation grows by this factor
_CONTINUATION_GROWTH = 1.5
#: broken tracking is at least "medium" when a count this low, against the usual, has a chance
#: below this on an ordinary day (Poisson): 1 conversion against 8 is 0.3%, against 5 it is 4%
_TRACKING_CHANCE = 0.005


@dataclass(frozen=True)
class Cause:
    code: str
    text: str


CAUSES: dict[str, Cause] = {
    c.code: c
    for c in (
        Cause("tracking", "Conversion tracking looks broken: conversions all but stopped while clicks and spend held."),
        Cause("delivery_stopped", "Delivery stopped: spend fell to zero (budget exhausted, paused or not approved)."),
        Cause("delivery_drop", "Delivery dropped: less was spent and fewer clicks came in (budget or bid change)."),
        Cause("spend_surge", "Spend rose with traffic: a budget increase or a new campaign started."),
        Cause("wasted_spend", "Spend rose without more conversions: the extra budget bought no results."),
        Cause("traffic_quality", "Clicks rose without conversions: check for low-quality or bot traffic."),
        Cause("big_order", "Revenue jumped without more conversions: an unusually large or duplicated order."),
        Cause("restart", "Delivery resumed after a pause."),
    )
}


def _moved(findings: Mapping[str, Mapping[str, Any]], metric: str, direction: str) -> bool:
    found = findings.get(metric)
    return bool(found and found["direction"] == direction)


def _near_zero(finding: Mapping[str, Any] | None, share: float = _NEAR_ZERO) -> bool:
    return bool(finding and finding["value"] <= share * max(finding["expected"], 0.0))


def _results_gone(findings: Mapping[str, Mapping[str, Any]]) -> bool:
    """Conversions (gated on volume: a day without any is surprising) fell to next to nothing.

    Revenue falling alone is not enough: on a campaign with one or two orders a day a day without
    any is ordinary, and its revenue finding passes the money gate all the same.
    """
    return _moved(findings, "conversions", "down") and _near_zero(findings.get("conversions"), GONE)


def probable_cause(findings: Mapping[str, Mapping[str, Any]]) -> Cause | None:
    """The cause the pattern of one entity-day's findings points to (metric -> finding row)."""
    if _near_zero(findings.get("spend")) and _moved(findings, "spend", "down"):
        return CAUSES["delivery_stopped"]
    if _results_gone(findings) and not _moved(findings, "clicks", "down") and not _moved(findings, "spend", "down"):
        return CAUSES["tracking"]
    spend = findings.get("spend")
    if spend and spend["direction"] == "up" and spend["expected"] < _NEAR_ZERO * spend["value"]:
        return CAUSES["restart"]
    if _moved(findings, "spend", "down") and _moved(findings, "clicks", "down"):
        return CAUSES["delivery_drop"]
    if _moved(findings, "spend", "up"):
        if _moved(findings, "clicks", "up") and not _moved(findings, "cpa", "up"):
            return CAUSES["spend_surge"]
        if not _moved(findings, "conversions", "up"):
            return CAUSES["wasted_spend"]
    if _moved(findings, "clicks", "up") and not _moved(findings, "conversions", "up"):
        return CAUSES["traffic_quality"]
    if _moved(findings, "conversion_value", "up") and "conversions" not in findings:
        return CAUSES["big_order"]
    return None


def incident_severity(
    z_max: float,
    *,
    metrics: Sequence[str],
    cause: Cause | None,
    scope: str = "platform",
    conversions_chance: float = 1.0,
) -> str:
    """Severity from the strongest deviation, calibrated so that "high" stays rare.

    "high" needs a corroborated story (a known cause, or two metrics moving together); one metric
    alone tops at medium. A restart after a pause, a single campaign switching off, and revenue
    moving on its own (one large order moves it on a small campaign), are at most "low": worth a
    look, not an alert. Broken tracking is at least "medium" when the conversions left are very
    unlikely on an ordinary day (`conversions_chance`, see `count_chance`).
    """
    found = severity_of(z_max) or "low"
    if cause is not None and cause.code == "restart":
        return "low"
    if cause is not None and cause.code == "delivery_stopped" and scope == "campaign":
        return "low"
    if set(metrics) <= _ORDER_SIZE_METRICS and (cause is None or cause.code == "big_order"):
        return "low"
    if found == "high" and cause is None and len(metrics) < 2:
        return "medium"
    if found == "low" and cause is not None and cause.code == "tracking" and conversions_chance < _TRACKING_CHANCE:
        return "medium"
    return found


def count_chance(value: float, expected: float) -> float:
    """P(X <= value) for a Poisson count X with mean `expected`: how ordinary a low count is.

    Fractional counts (data-driven attribution reports 0.6 conversions) round down.
    """
    if expected <= 0:
        return 1.0
    term = total = math.exp(-expected)
    for k in range(1, int(max(value, 0.0)) + 1):
        term *= expected / k
        total += term
    return min(total, 1.0)


def _story(incident: Mapping[str, Any]) -> str:
    """What an incident says happened: its cause, else its leading metric and direction."""
    if incident["cause"]:
        return str(incident["cause"])
    lead = incident["metrics"][0]
    return f"{lead['metric']}:{lead['direction']}"


def _mark_continuations(incidents: list[dict[str, Any]]) -> None:
    """Keep one incident per episode: a day that tells the previous day's story again is "low".

    The detector's level needs a few days to absorb a lasting change (a pause, a budget cut), and
    until then every day deviates again. The first day is the news; the next ones are recorded as
    its continuation ("ongoing since"), unless the deviation grew clearly larger.
    """
    by_day = {(i["scope"], i["key"], i["date"]): i for i in incidents}
    for incident in sorted(incidents, key=lambda i: i["date"]):
        previous = by_day.get((incident["scope"], incident["key"], incident["date"] - timedelta(days=1)))
        if previous is None or _story(previous) != _story(incident):
            continue
        since = previous.get("ongoing_since") or previous["date"]
        if incident["score"] >= _CONTINUATION_GROWTH * float(previous["score"]):
            continue
        incident["ongoing_since"] = since
        incident["severity"] = "low"
        incident["summary"] = f"{incident['summary']} Ongoing since {since:%a} {since.day} {since:%b}."


def group_findings(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Incident rows (not yet saved) from finding rows: one per (scope, key, date)."""
    by_day: dict[tuple[str, str, date], list[Mapping[str, Any]]] = {}
    for row in rows:
        by_day.setdefault((row["scope"], row["key"], row["date"]), []).append(row)
    incidents = []
    volumes = anomaly_rules.min_volumes()
    for (scope, key, day), found in by_day.items():
        found = sorted(found, key=lambda r: -r["z"])
        by_metric = {r["metric"]: r for r in found}
        cause = probable_cause(by_metric)
        z_max = float(found[0]["z"])
        # severity is read from each finding's deviation clipped to its ceiling: a jump from a
        # usual amount below the metric's minimum volume does not make the incident "high"
        z_judged = max(
            anomaly_rules.capped_z(
                float(r["z"]),
                anomaly_rules.severity_ceiling(r["metric"], expected=float(r["expected"]), volumes=volumes),
            )
            for r in found
        )
        conversions = by_metric.get("conversions")
        chance = count_chance(conversions["value"], conversions["expected"]) if conversions else 1.0
        incidents.append(
            {
                "scope": scope,
                "key": key,
                "date": day,
                "label": found[0]["label"],
                "platform": found[0]["platform"],
                "severity": incident_severity(
                    z_judged, metrics=list(by_metric), cause=cause, scope=scope, conversions_chance=chance
                ),
                "score": z_max,
                "cause": cause.code if cause else "",
                "summary": cause.text if cause else found[0]["explanation"],
                "metrics": [
                    {k: r[k] for k in ("metric", "direction", "z", "value", "expected", "severity", "explanation")}
                    for r in found
                ],
            }
        )
    _mark_continuations(incidents)
    for incident in incidents:
        incident.pop("ongoing_since", None)  # not a column: the summary says it
    return incidents


def tuned_thresholds() -> dict[tuple[str, str, str], tuple[date, float]]:
    """(metric, scope, key) -> (marked day, smallest z raised after it), from people's marks.

    The largest marked move of a series wins: after it, only a move `FEEDBACK_MARGIN` times its
    size (and at least the lowest severity) is raised for that series.
    """
    tuned: dict[tuple[str, str, str], tuple[date, float]] = {}
    marked = Incident.objects.exclude(feedback="").values_list("scope", "key", "date", "metrics")
    for scope, key, day, metrics in marked:
        for item in metrics:
            series = (item["metric"], scope, key)
            threshold = max(SEVERITY_Z["low"], FEEDBACK_MARGIN * float(item["z"]))
            earlier = tuned.get(series)
            if earlier is None or threshold > earlier[1]:
                tuned[series] = (min(day, earlier[0]) if earlier else day, threshold)
    return tuned


def passes_tuning(row: Mapping[str, Any], tuned: Mapping[tuple[str, str, str], tuple[date, float]]) -> bool:
    """Whether a finding survives the feedback on its series (days up to the mark are history)."""
    mark = tuned.get((row["metric"], row["scope"], row["key"]))
    return mark is None or row["date"] <= mark[0] or row["z"] >= mark[1]


def write_incidents(
    rows: Sequence[dict[str, Any]], *, version: ModelVersion, scored_keys: set[tuple[str, str]], report_from: date
) -> tuple[int, int]:
    """Upsert the incidents of the re-scored window; drop the ones that no longer hold.

    An incident someone marked is kept as it was: the mark is what tunes the series, and the
    person who made it expects to find it again.
    """
    now = timezone.now()
    new_keys = {(r["scope"], r["key"], r["date"]) for r in rows}
    existing = Incident.objects.filter(date__gte=report_from).values_list("pk", "scope", "key", "date", "feedback")
    stale = [
        pk
        for pk, scope, key, day, feedback in existing
        if not feedback and (scope, key) in scored_keys and (scope, key, day) not in new_keys
    ]
    marked = {(s, k, d) for _, s, k, d, feedback in existing if feedback}
    with transaction.atomic():
        results_changed()
        if stale:
            Incident.objects.filter(pk__in=stale).delete()
        objects = [
            Incident(version=version, created_at=now, updated_at=now, **r)
            for r in rows
            if (r["scope"], r["key"], r["date"]) not in marked
        ]
        Incident.objects.bulk_create(
            objects,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["scope", "key", "date"],
            update_fields=[
                "version",
                "label",
                "platform",
                "severity",
                "score",
                "cause",
                "summary",
                "metrics",
                "updated_at",
            ],
        )
    return len(objects), len(stale)


def mark_incident(incident: Incident, *, feedback: str, user_id: int | None) -> Incident:
    """Record a person's judgement of an incident ("" clears it); it tunes the next scoring."""
    if feedback not in Incident.Feedback.values:
        raise ValueError(f"unknown feedback {feedback!r}")
    incident.feedback = feedback
    incident.feedback_at = timezone.now() if feedback else None
    incident.feedback_by_id = user_id if feedback else None
    incident.updated_at = timezone.now()
    incident.save(update_fields=["feedback", "feedback_at", "feedback_by_id", "updated_at"])
    results_changed()
    return incident
