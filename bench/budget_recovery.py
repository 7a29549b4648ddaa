"""Budget planner recovery test: data simulated from KNOWN curves, planned, judged on the truth.

    python bench/budget_recovery.py [--quick]          (or as a section of bench/insights_eval.py)

Each case simulates a marketing history the way it looks in real accounts - a baseline with a
growing trend, yearly seasonality, two sales events a year and (daily data) a weekly pattern,
spend that itself follows the season and the growth (marketers spend more when they sell more:
exactly what makes media look better than it is when a model has no baseline), flighted video,
noise at realistic levels - and outcome = baseline + the media's TRUE adstock + Hill curves.

The planner (`insights.ml.plan_budget` for the fit and refits, `insights.ml.planning.allocate`
for each budget: the product's nightly fit and page allocation) then plans 0.5x, 1x and 2x the
historical budget. Each plan is judged on the TRUE curves at steady state:

    share = (truth(plan) - truth(historical split)) / (truth(oracle) - truth(historical split))

with the historical split = historical shares scaled to the budget, and the oracle = the best
allocation on the true curves from 0 to each channel's largest past spend (the planner's default
maximum, scaled with a budget above the historical one; its default minimum is NOT imposed on the
oracle, so the floor cannot make the comparison easier). Goal: >= 0.9 on each case
and budget, never below 0 (the historical split). The same data planned WITHOUT the baseline
(``seasonality=False``) is shown for comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from insights.ml.budget import plan_budget  # noqa: E402 - needs the repo on sys.path first
from insights.ml.calendar import Event  # noqa: E402
from insights.ml.planning import FittedCurves, allocate, default_bounds  # noqa: E402
from insights.ml.response import ChannelCurve, geometric_adstock  # noqa: E402

BUDGET_RATIOS = (0.5, 1.0, 2.0)
WEEKLY_SEEDS = (1, 2, 3, 4, 5, 6, 7, 8)
DAILY_SEEDS = (11, 12, 13, 14)
GOAL = 0.9


@dataclass(frozen=True)
class Case:
    key: str
    history: pd.DataFrame  # DatetimeIndex; y plus one spend column per channel
    curves: dict[str, ChannelCurve]  # the truth, per period
    events: list[Event]


def _weekly_curves(scale: float) -> dict[str, ChannelCurve]:
    """Per-period truth: search efficient but under-funded, video saturated and over-funded."""
    return {
        "search": ChannelCurve(
            "search", decay=0.15, half_saturation=30_000 * scale, shape=1.0, max_effect=150_000 * scale
        ),
        "social": ChannelCurve(
            "social", decay=0.45, half_saturation=35_000 * scale, shape=0.9, max_effect=90_000 * scale
        ),
        "video": ChannelCurve(
            "video", decay=0.65, half_saturation=40_000 * scale, shape=1.0, max_effect=80_000 * scale
        ),
    }


def simulate(seed: int, *, daily: bool, noise_scale: float = 1.0) -> Case:
    rng = np.random.default_rng(seed)
    if daily:
        dates = pd.date_range("2023-01-02", periods=730, freq="D")
        scale, noise = 1 / 7, 0.06
    else:
        dates = pd.date_range("2022-01-03", periods=156, freq="W-MON")
        scale, noise = 1.0, 0.04
    curves = _weekly_curves(scale)
    if daily:  # a day carries over less than a week does: same half-life in days
        curves = {
            c: ChannelCurve(
                c,
                decay=v.decay ** (1 / 7),
                half_saturation=v.half_saturation * (1 - v.decay) / (1 - v.decay ** (1 / 7)),
                shape=v.shape,
                max_effect=v.max_effect,
            )
            for c, v in curves.items()
        }
    days = (dates - dates[0]).days.to_numpy(dtype=float)
    years = days / 365.25
    season = 0.16 * np.sin(2 * np.pi * (dates.day_of_year.to_numpy() - 100) / 365.25) + 0.05 * np.cos(
        4 * np.pi * dates.day_of_year.to_numpy() / 365.25
    )
    events = []
    event_lift = np.zeros(len(dates))
    for year in sorted(set(dates.year)):
        black_friday = pd.Timestamp(f"{year}-11-01") + pd.offsets.WeekOfMonth(week=3, weekday=4)
        sale = (black_friday.normalize(), black_friday.normalize() + pd.Timedelta(days=3))
        summer = (pd.Timestamp(f"{year}-07-10"), pd.Timestamp(f"{year}-07-16"))
        for name, (start, end), size in (("Black Friday", sale, 0.35), ("Summer sale", summer, 0.15)):
            events.append(Event(name, start.date(), end.date()))
            width = 1 if daily else 7
            for j, stamp in enumerate(dates):
                covered = sum(start <= stamp + pd.Timedelta(days=k) <= end for k in range(width))
                event_lift[j] += size * covered / width
    weekday = np.where(dates.day_of_week.to_numpy() >= 5, -0.15, 0.04) if daily else np.zeros(len(dates))
    level = 400_000.0 * scale
    baseline = level * (1 + 0.12 * years) * (1 + season + weekday) + level * event_lift
    # spend follows growth, season and the events, plus noise; video runs in flights
    means = {"search": 18_000 * scale, "social": 20_000 * scale, "video": 45_000 * scale}
    spend = {}
    for c, mean in means.items():
        pattern = (1 + 0.1 * years) * (1 + 1.2 * season) * (1 + 0.8 * event_lift)
        spend[c] = mean * pattern * rng.lognormal(0.0, 0.35, len(dates))
    flights = rng.random(len(dates)) < (0.15 if not daily else 0.1)
    spend["video"] = np.where(flights, 0.0, spend["video"])
    media = sum(curves[c].max_effect * curves[c].saturate(geometric_adstock(spend[c], curves[c].decay)) for c in curves)
    y = baseline + media + rng.normal(0.0, noise * noise_scale * level, len(dates))
    history = pd.DataFrame({"y": y, **spend}, index=dates)
    return Case(f"{'daily' if daily else 'weekly'}_seed{seed}", history, curves, events)


def _truth(curves: dict[str, ChannelCurve], channels: list[str]) -> Callable[[np.ndarray], float]:
    def outcome(x: np.ndarray) -> float:
        return float(sum(curves[c].steady_outcome(max(float(v), 0.0)) for c, v in zip(channels, x, strict=True)))

    return outcome


def _oracle(truth: Callable[[np.ndarray], float], lower: np.ndarray, upper: np.ndarray, budget: float) -> np.ndarray:
    rng = np.random.default_rng(7)
    best, best_value = None, -np.inf
    for k in range(12):
        raw = (lower + upper) / 2 if k == 0 else lower + rng.dirichlet(np.ones(lower.size)) * budget
        x0 = np.clip(raw * budget / max(raw.sum(), 1e-12), lower, upper)
        result = minimize(
            lambda x: -truth(x),
            x0,
            bounds=list(zip(lower, upper, strict=True)),
            constraints=[{"type": "eq", "fun": lambda x: np.sum(x) - budget}],
            method="SLSQP",
            options={"maxiter": 500, "ftol": 1e-12},
        )
        if abs(result.x.sum() - budget) < 1e-6 * budget and truth(result.x) > best_value:
            best, best_value = result.x, truth(result.x)
    assert best is not None
    return best


def judge(case: Case, *, bootstrap: int, restarts: int, seasonality: bool = True) -> dict[str, Any]:
    """Fit once, allocate at each budget ratio; shares of the oracle's uplift on the truth."""
    channels = list(case.curves)
    started = time.perf_counter()
    historical_total = float(case.history[channels].mean().sum())
    plan = plan_budget(
        case.history,
        target="y",
        channels=channels,
        budget=historical_total,
        bootstrap=bootstrap,
        restarts=restarts,
        events=case.events,
        seasonality=seasonality,
    )
    fitted = FittedCurves(model=plan.model, refits=plan.refits)
    truth = _truth(case.curves, channels)
    shares, reachable = {}, {}
    for ratio in BUDGET_RATIOS:
        budget = ratio * historical_total
        result = allocate(fitted, budget)
        bounds = default_bounds(fitted, budget)
        # the oracle may cut a channel to 0: the planner's default floor must not ease the test
        lower = np.zeros(len(channels))
        upper = np.array([bounds[c][1] for c in channels])
        shares_hist = plan.model.historical_spend
        hist = np.array([budget * shares_hist[c] / historical_total for c in channels])
        oracle = _oracle(truth, lower, upper, budget)
        chosen = np.array([next(p.spend for p in result.channels if p.channel == c) for c in channels])
        r_hist, r_oracle = truth(hist), truth(oracle)
        shares[ratio] = (truth(chosen) - r_hist) / (r_oracle - r_hist)
        # the most any plan within the planner's default floors could capture (informational)
        floors = np.minimum(np.array([bounds[c][0] for c in channels]), hist)
        reachable[ratio] = (truth(_oracle(truth, floors, upper, budget)) - r_hist) / (r_oracle - r_hist)
    return {
        "shares": shares,
        "reachable": reachable,
        "seconds": time.perf_counter() - started,
        "r_squared": plan.model.r_squared,
        "decays": {c: round(plan.model.curves[c].decay, 2) for c in channels},
    }


def evaluate_budget_recovery(report: Any, quick: bool) -> None:
    """Add the recovery figures to a `bench.insights_eval.Report`."""
    print("Budget recovery - simulated from KNOWN curves with trend, seasonality, events, noise", flush=True)
    bootstrap, restarts = (8, 3) if quick else (20, 6)
    # seeds 5-8 and 13-14 were added with the return prior (issue 18 part 4): the first six alone
    # were a lucky draw (with the planner before it, daily seed 13 lost 2.3x the oracle's uplift)
    cases = [simulate(seed, daily=False) for seed in ((1, 2) if quick else WEEKLY_SEEDS)]
    cases += [simulate(seed, daily=True) for seed in ((11,) if quick else DAILY_SEEDS)]
    worst = dict.fromkeys(BUDGET_RATIOS, np.inf)
    for case in cases:
        result = judge(case, bootstrap=bootstrap, restarts=restarts)
        text = ", ".join(f"{r:g}x {s:.2f}" for r, s in result["shares"].items())
        reach = "/".join(f"{s:.2f}" for s in result["reachable"].values())
        print(
            f"  {case.key}: fit R^2 {result['r_squared']:.3f}, {result['seconds']:.1f}s; captured {text}"
            f" (reachable within the default floors: {reach})"
        )
        for ratio, share in result["shares"].items():
            worst[ratio] = min(worst[ratio], share)
            report.add(f"budget_recovery_{case.key}_{ratio:g}x_uplift_captured", share, f"  {case.key} at {ratio:g}x")
    for ratio, share in worst.items():
        report.add(
            f"budget_recovery_min_{ratio:g}x_uplift_captured",
            share,
            f"recovery: worst share of oracle uplift at {ratio:g}x",
            f">= {GOAL}",
            share >= GOAL,
        )
    floor = min(worst.values())
    report.add("budget_recovery_never_below_historical", floor >= 0, "recovery: no plan below the historical split")
    plain = judge(cases[0], bootstrap=bootstrap, restarts=restarts, seasonality=False)
    text = ", ".join(f"{r:g}x {s:.2f}" for r, s in plain["shares"].items())
    print(f"  {cases[0].key} WITHOUT the baseline (comparison): captured {text}")
    for ratio, share in plain["shares"].items():
        report.add(f"budget_recovery_{cases[0].key}_no_baseline_{ratio:g}x", share, f"  without baseline at {ratio:g}x")


class _Printer:
    def __init__(self) -> None:
        self.figures: dict[str, Any] = {}

    def add(self, key: str, value: Any, label: str, goal: str = "", passed: bool | None = None) -> None:
        self.figures[key] = round(float(value), 4) if isinstance(value, float) else bool(value)
        verdict = "" if passed is None else ("PASS" if passed else "MISS")
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"  {label:<58} {shown:>12}{f'  (goal: {goal})' if goal else ''}  {verdict}".rstrip(), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds and refits; under a minute")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    printer = _Printer()
    evaluate_budget_recovery(printer, args.quick)
    printer.figures["wall_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(printer.figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
