"""Incidents measured on the product's own data: the emulators' labelled anomaly days.

The emulated platforms inject spend spikes, spend drops and conversion-tracking outages into
campaign days and say which (`devtools.emulators.datagen.anomaly_days`). Every campaign of every
emulated account is scored the way the nightly scoring scores a campaign (volume gates, ratios
from components, the detector, incidents), and the incidents are compared with the labels:

* precision per kind: incidents whose pattern names a kind (spend up -> spike, spend down ->
  drop, conversions gone -> tracking outage) that fall on a labelled day of that kind;
* recall per kind: labelled days of a kind with an incident of that kind;
* false incidents per 100 series-days: incidents on unlabelled days per 100 campaign-days scored.

All three at each severity threshold (low and above, medium and above, high). Campaign pauses
inside a campaign's life are unlabelled: an incident a paused day raises at medium or above
counts as false.

Recall is reported twice. Over every labelled day, and over the *observable* ones: days whose
campaign usually (median of the 28 days before) has at least the product's minimum daily volume
of the labelled metric (`anomaly_rules.min_volumes()`: spend 20, conversions 5). The emulator
also injects outages into campaigns with 0.5 conversions a day, and into Meta lead campaigns
whose purchases are always zero; there a day of zero conversions is an ordinary day (at 2 a
day, P(0) = 13%), no detector can tell it from the data, and the product deliberately does
not alert on it. The targets apply to the observable recall.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

KINDS = ("spike", "drop", "tracking_outage")
SEVERITIES = ("low", "medium", "high")
WARMUP_DAYS = 63


def _campaign_frames(state: Any, platform: str, account: str, since: date, until: date) -> dict[str, pd.DataFrame]:
    rows = state.truth(platform, account, level="campaign", since=since, until=until)["rows"]
    table = pd.DataFrame(rows)
    if table.empty:
        return {}
    if platform == "google_ads":
        table["spend"] = table["cost_micros"].astype(float) / 1e6
        table["conversions"] = table["conversions"].astype(float)
        table["conversion_value"] = table["conversions_value"].astype(float)
    else:
        table["spend"] = table["spend"].astype(float)
        table["conversions"] = table["purchases"].astype(float)
        table["conversion_value"] = table["purchase_value"].astype(float)
    table["impressions"] = table["impressions"].astype(float)
    table["clicks"] = table["clicks"].astype(float)
    table["day"] = pd.to_datetime(table["date"])
    frames = {}
    columns = ["spend", "impressions", "clicks", "conversions", "conversion_value"]
    for campaign, part in table.groupby("campaign_id"):
        sums = part.set_index("day")[columns].sort_index()
        # inside a campaign's span a day without a row spent nothing (as the metrics layer reads it)
        full = pd.date_range(sums.index.min(), sums.index.max(), freq="D")
        frames[str(campaign)] = sums.reindex(full, fill_value=0.0)
    return frames


def _incidents_of(frame: pd.DataFrame, *, campaign: str, report_from: date, currency: str) -> list[dict[str, Any]]:
    from insights.ml.anomaly import detect_anomalies  # after Django is set up (see evaluate)
    from insights.selectors.series import with_ratios
    from insights.services import anomaly_rules, incidents
    from insights.services.scoring import ANOMALY_METRICS, ANOMALY_MIN_DAYS

    volumes = anomaly_rules.min_volumes()
    frame = with_ratios(frame)
    rows = []
    for metric in ANOMALY_METRICS:
        values = anomaly_rules.scorable_values(frame, metric, volumes)
        if len(values) < ANOMALY_MIN_DAYS:
            continue
        first_day = anomaly_rules.judged_from(values, ANOMALY_MIN_DAYS)
        usual = anomaly_rules.usual_levels(values)  # the volume gate reads the median day too
        for row in detect_anomalies(values, metric).itertuples(index=False):
            day = pd.Timestamp(row.timestamp).date()
            if first_day is None or pd.Timestamp(day) < first_day:
                continue  # as the nightly scoring: too little history before the day
            if day < report_from or not anomaly_rules.has_volume(
                metric,
                value=float(row.value),
                expected=float(row.expected),
                volumes=volumes,
                usual=float(usual.get(pd.Timestamp(day), np.nan)),
            ):
                continue
            rows.append(
                {
                    "metric": metric,
                    "scope": "campaign",
                    "key": campaign,
                    "label": campaign,
                    "platform": "",
                    "date": day,
                    "value": float(row.value),
                    "expected": float(row.expected),
                    "z": float(row.z),
                    "severity": str(row.severity),
                    "direction": str(row.direction),
                    "explanation": "",
                }
            )
    return incidents.group_findings(rows)


def _settings_only() -> None:
    """Django's settings and app registry (the gates read settings); no database is touched."""
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bosco.settings.test")
    django.setup()


def predicted_kind(incident: dict[str, Any]) -> str:
    """The labelled kind an incident's pattern stands for ("other" when none)."""
    from insights.services.incidents import GONE  # after Django is set up (see evaluate)

    moved = {m["metric"]: m["direction"] for m in incident["metrics"]}
    conversions = next((m for m in incident["metrics"] if m["metric"] == "conversions"), None)
    # "conversions gone", as the product reads it (incidents.GONE): a dip to 40% of the usual
    # with spend unchanged is an ordinary slow day, not a claim that tracking broke
    gone = conversions is not None and conversions["value"] <= GONE * max(conversions["expected"], 0.0)
    if incident["cause"] == "tracking" or (moved.get("conversions") == "down" and gone and "spend" not in moved):
        return "tracking_outage"
    if moved.get("spend") == "up":
        return "spike"
    if moved.get("spend") == "down":
        return "drop"
    return "other"


def evaluate_incidents(report: Any, *, quick: bool, seed: int = 1, prefix: str = "incident") -> None:
    """Score every emulated campaign over the last 120 (quick) or 365 days and add the figures.

    `seed` is the emulator's data seed (other seeds are other campaigns, levels and labelled
    days); `prefix` names the figures, so several seeds can share one report.
    """
    print(f"Incidents - emulator campaigns with labelled anomaly days (seed {seed})", flush=True)
    _settings_only()
    from devtools.emulators.config import EmulatorConfig
    from devtools.emulators.state import EmulatorState

    today = date(2026, 6, 30)
    state = EmulatorState(EmulatorConfig(seed=seed, today=today, anchor_date=today))
    days = 120 if quick else 365
    until = today - timedelta(days=1)  # today is partial
    report_from = until - timedelta(days=days - 1)
    since = report_from - timedelta(days=WARMUP_DAYS)
    labels: dict[tuple[str, date], str] = {}
    observable: set[tuple[str, date]] = set()
    found: list[dict[str, Any]] = []
    series_days = 0
    for platform in ("google_ads", "meta"):
        for spec in state._config.accounts(platform):  # the emulator's own account list
            marked = state.anomalies(platform, spec.account_id, since=report_from, until=until)
            for item in marked:
                labels[(str(item["campaign_id"]), date.fromisoformat(str(item["date"])))] = str(item["kind"])
            frames = _campaign_frames(state, platform, spec.account_id, since, until)
            observable |= _observable(marked, frames)
            for campaign, frame in frames.items():
                series_days += int((frame.index >= pd.Timestamp(report_from)).sum())
                found += _incidents_of(frame, campaign=campaign, report_from=report_from, currency=spec.currency)
    report.add(f"{prefix}_series_days", series_days, "campaign-days scored")
    report.add(f"{prefix}_labelled_days", len(labels), "labelled anomaly days in them")
    for kind in KINDS:
        of_kind = [key for key, k in labels.items() if k == kind]
        report.add(
            f"{prefix}_{kind}_observable_days",
            sum(key in observable for key in of_kind),
            f"  {kind}: labelled days with the usual volume to see it (of {len(of_kind)})",
        )
    for floor in SEVERITIES:
        _add_figures(
            report,
            floor,
            [i for i in found if SEVERITIES.index(i["severity"]) >= SEVERITIES.index(floor)],
            labels,
            series_days,
            observable,
            prefix,
        )


def _observable(marked: list[dict[str, Any]], frames: dict[str, pd.DataFrame]) -> set[tuple[str, date]]:
    """Labelled days whose campaign usually has the minimum volume of the labelled metric."""
    from insights.services import anomaly_rules  # after Django is set up (see evaluate)

    volumes = anomaly_rules.min_volumes()
    out = set()
    for item in marked:
        campaign, day, metric = str(item["campaign_id"]), date.fromisoformat(str(item["date"])), str(item["metric"])
        frame = frames.get(campaign)
        if frame is None:
            continue
        before = frame[(frame.index < pd.Timestamp(day)) & (frame.index >= pd.Timestamp(day - timedelta(days=28)))]
        if len(before) and float(before[metric].median()) >= volumes.get(metric, 0.0):
            out.add((campaign, day))
    return out


def _add_figures(
    report: Any,
    floor: str,
    shown: list[dict[str, Any]],
    labels: dict[tuple[str, date], str],
    series_days: int,
    observable: set[tuple[str, date]],
    prefix: str = "incident",
) -> None:
    gate = floor in ("medium", "high")
    # The targets are at "medium and above"; "high" must stay precise but is rare by
    # design (docs/insights.md), so its recall is printed without a goal.
    gate_recall = floor == "medium"
    false = sum((i["key"], i["date"]) not in labels for i in shown)
    per_100 = 100.0 * false / max(series_days, 1)
    overall = (len(shown) - false) / len(shown) if shown else float("nan")
    report.add(f"{prefix}_{floor}_count", len(shown), f"incidents at {floor} and above")
    report.add(f"{prefix}_{floor}_precision", overall, f"  precision (on any labelled day), {floor}+")
    report.add(
        f"{prefix}_{floor}_false_per_100",
        per_100,
        f"  false incidents per 100 series-days, {floor}+",
        "<= 1" if gate else "",
        per_100 <= 1 if gate else None,
    )
    causes = Counter(i["cause"] or "none" for i in shown if (i["key"], i["date"]) not in labels)
    report.add(
        f"{prefix}_{floor}_false_by_cause",
        ", ".join(f"{c} {n}" for c, n in causes.most_common()),
        f"  false incidents by probable cause, {floor}+",
    )
    predicted = Counter(predicted_kind(i) for i in shown)
    for kind in KINDS:
        hits = sum(predicted_kind(i) == kind and labels.get((i["key"], i["date"])) == kind for i in shown)
        precision = hits / predicted[kind] if predicted[kind] else float("nan")
        labelled = [key for key, k in labels.items() if k == kind]
        caught = {(i["key"], i["date"]) for i in shown if predicted_kind(i) == kind}
        recall = sum(key in caught for key in labelled) / len(labelled) if labelled else float("nan")
        seen = [key for key in labelled if key in observable]
        recall_seen = sum(key in caught for key in seen) / len(seen) if seen else float("nan")
        ok_p = bool(np.isfinite(precision) and precision >= 0.8)
        ok_r = bool(np.isfinite(recall_seen) and recall_seen >= 0.8)
        report.add(
            f"{prefix}_{floor}_{kind}_precision",
            precision,
            f"  {kind} precision, {floor}+",
            ">= 0.8" if gate else "",
            ok_p if gate else None,
        )
        report.add(f"{prefix}_{floor}_{kind}_recall_all", recall, f"  {kind} recall, every labelled day, {floor}+")
        report.add(
            f"{prefix}_{floor}_{kind}_recall",
            recall_seen,
            f"  {kind} recall, observable days, {floor}+",
            ">= 0.8" if gate_recall else "",
            ok_r if gate_recall else None,
        )


def main(argv: list[str] | None = None) -> int:
    """Incident figures alone, for one or more emulator seeds (the full benchmark runs seed 1)."""
    import argparse
    import json
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    from bench.insights_eval import Report

    parser = argparse.ArgumentParser(description="Incident precision/recall on the emulators' labelled anomaly days")
    parser.add_argument("--quick", action="store_true", help="the last 120 days instead of 365")
    parser.add_argument("--seeds", default="1", help="comma-separated emulator seeds (default 1)")
    args = parser.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        print(f"error: --seeds takes whole numbers separated by commas, got {args.seeds!r}", file=sys.stderr)
        return 2
    report = Report()
    for seed in seeds:
        evaluate_incidents(report, quick=args.quick, seed=seed, prefix=f"seed{seed}")
    report.figures["mode"] = "quick" if args.quick else "full"
    report.figures["missed"] = report.failures
    print(f"{len(report.failures)} goal(s) missed: {', '.join(report.failures) or 'none'}")
    print(json.dumps(report.figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
