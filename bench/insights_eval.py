"""Score Bosco's insight models on the public reference data.

    python bench/insights_eval.py [--data-dir DIR] [--quick]

Prints every figure with its goal and PASS/MISS, then one final line of JSON with all of
them. ``--data-dir`` defaults to $BOSCO_REFERENCE_DATA, else ``../shared/data`` next to the
repository. ``--quick`` uses fewer forecast origins and bootstrap refits (< 1 minute).

What is measured (details in docs/insights-models.md):
* anomalies  - NAB score of the CLI's output on nab/nyc_taxi.csv, scored here the NAB way
               (windows, probation, scaled sigmoid, profile weights, best threshold,
               normalised against the null and perfect detectors), plus a causality check.
* incidents  - precision and recall per kind and false incidents per 100 series-days at each
               severity, on the emulators' labelled anomaly days (bench/incident_eval.py);
               recall over every labelled day (`_recall_all`) and over the observable ones
               (`_recall`, the one with the goal: campaigns with the minimum daily volume).
* forecast   - rolling-origin MASE against seasonal naive, and 80/95% interval coverage.
* budget     - share of the oracle's uplift captured on the TRUE response curves.
* budget recovery - the same share on data simulated from KNOWN curves with trend, yearly
               seasonality, events and noise, at 0.5x, 1x and 2x the historical budget
               (bench/budget_recovery.py; weekly ~3 years and daily 2 years, several seeds).
* attribution- Markov removal effects against an independent computation (matrix powers),
               Shapley and Markov hand checks, heuristic totals.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares, minimize
from scipy.signal import lfilter

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.budget_recovery import evaluate_budget_recovery  # noqa: E402
from bench.incident_eval import evaluate_incidents  # noqa: E402
from insights.ml import attribution as attr  # noqa: E402 - needs the repo on sys.path first
from insights.ml.budget import default_bounds, optimize_allocation, plan_budget  # noqa: E402
from insights.ml.forecasting import backtest  # noqa: E402
from insights.ml.response import LiftTest  # noqa: E402

ARTIME_NYC_TAXI = 87.8

Figures = dict[str, Any]


class Report:
    """Collects figures and prints them with their goal and PASS/MISS."""

    def __init__(self) -> None:
        self.figures: Figures = {}
        self.failures: list[str] = []

    def add(self, key: str, value: Any, label: str, goal: str = "", passed: bool | None = None) -> None:
        self.figures[key] = _plain(value)
        verdict = "" if passed is None else ("PASS" if passed else "MISS")
        if passed is not None and not passed:  # numpy booleans are not the False singleton
            self.failures.append(key)
        if isinstance(value, float) and value != 0 and abs(value) < 1e-3:
            shown = f"{value:.2e}"
        elif isinstance(value, float):
            shown = f"{value:.4f}"
        else:
            shown = str(value)
        goal_text = f"  (goal: {goal})" if goal else ""
        print(f"  {label:<58} {shown:>12}{goal_text}  {verdict}".rstrip(), flush=True)


def _plain(value: Any) -> Any:
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(f"{float(value):.10g}")
    if isinstance(value, np.integer):
        return int(value)
    return value


# =========================================================================== NAB


def _scaled_sigmoid(position: float) -> float:
    """NAB's reward curve: ~+1 at a window's left edge, 0 at its right edge, -> -1 after."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def nab_score(
    timestamps: pd.Series,
    scores: np.ndarray,
    windows: list[tuple[pd.Timestamp, pd.Timestamp]],
    fp_weight: float,
    fn_weight: float,
    tp_weight: float = 1.0,
) -> tuple[float, float, dict[str, Any]]:
    """Normalised NAB score for one file with the best threshold.

    Follows numenta/NAB's sweeper: rows in the probationary period (first 15%, at most 750
    rows) are dropped; a detection inside a window earns tp_weight * sigmoid(position) /
    sigmoid(left edge) and only the best (earliest) one per window counts; a detection
    outside windows costs fp_weight * sigmoid(distance past the previous window) (-fp_weight
    before any window); each window without detection costs fn_weight. The threshold
    maximising the raw score is chosen, and the result is normalised to
    100 * (S - S_null) / (S_perfect - S_null) with S_null = -fn_weight * windows and
    S_perfect = tp_weight * windows.
    """
    stamps = pd.DatetimeIndex(pd.to_datetime(timestamps))
    n = len(stamps)
    probation = min(math.floor(0.15 * n), 0.15 * 5000)
    position_of = {t: i for i, t in enumerate(stamps)}
    bounds = [(position_of[a], position_of[b]) for a, b in windows]
    max_tp = _scaled_sigmoid(-1.0)
    reward = np.zeros(n)
    window_id = np.full(n, -1)
    previous_right: int | None = None
    previous_width = 0.0
    for i in range(n):
        inside = next((k for k, (a, b) in enumerate(bounds) if a <= i <= b), None)
        if inside is not None:
            a, b = bounds[inside]
            width = float(b - a + 1)
            reward[i] = _scaled_sigmoid(-(b - i + 1) / width) * tp_weight / max_tp
            window_id[i] = inside
            if i == b:
                previous_right, previous_width = b, width
        else:
            position = 3.0 if previous_right is None else abs(previous_right - i) / (previous_width - 1)
            reward[i] = _scaled_sigmoid(position) * fp_weight
    scored = np.arange(n) >= probation
    s, r, w = np.asarray(scores, dtype=float)[scored], reward[scored], window_id[scored]
    order = np.argsort(-s, kind="stable")
    per_window = np.full(len(bounds), -fn_weight)
    false_positive = 0.0
    best_total, best_threshold = -fn_weight * len(bounds), 1.1
    current: float | None = None
    for j in order:
        if current is not None and s[j] != current:
            total = false_positive + per_window.sum()
            if total > best_total:
                best_total, best_threshold = total, current
        current = float(s[j])
        if w[j] >= 0:
            per_window[w[j]] = max(per_window[w[j]], r[j])
        else:
            false_positive += r[j]
    total = false_positive + per_window.sum()
    if total > best_total:
        best_total, best_threshold = total, current if current is not None else 1.1
    null, perfect = -fn_weight * len(bounds), tp_weight * len(bounds)
    detected = s >= best_threshold
    detail = {
        "windows_detected": int(sum(1 for k in range(len(bounds)) if np.any(detected & (w == k)))),
        "false_positives": int(np.sum(detected & (w < 0))),
    }
    return 100.0 * (best_total - null) / (perfect - null), best_threshold, detail


def evaluate_anomalies(data: Path, report: Report) -> None:
    print("Anomaly detection - NAB realKnownCause/nyc_taxi.csv (scores from the CLI)", flush=True)
    source = data / "nab" / "nyc_taxi.csv"
    windows_raw = json.loads((data / "nab" / "nyc_taxi_windows.json").read_text())["realKnownCause/nyc_taxi.csv"]
    profiles = json.loads((data / "nab" / "profiles.json").read_text())
    windows = [(pd.Timestamp(a), pd.Timestamp(b)) for a, b in windows_raw]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scores.csv"
        started = time.perf_counter()
        _cli("anomalies", "--input", str(source), "--output", str(out))
        elapsed = time.perf_counter() - started
        result = pd.read_csv(out)
        # causality: scoring only the first 60% must give exactly the same scores there
        prefix_rows = int(0.6 * len(result))
        prefix_in = Path(tmp) / "prefix.csv"
        pd.read_csv(source).iloc[:prefix_rows].to_csv(prefix_in, index=False)
        prefix_out = Path(tmp) / "prefix_scores.csv"
        _cli("anomalies", "--input", str(prefix_in), "--output", str(prefix_out))
        prefix = pd.read_csv(prefix_out)
    scores = result["anomaly_score"].to_numpy(dtype=float)
    causal_diff = float(np.max(np.abs(prefix["anomaly_score"].to_numpy() - scores[:prefix_rows])))
    report.add("anomaly_cli_seconds", round(elapsed, 2), "CLI wall time for 10,320 points (s)")
    report.add(
        "anomaly_score_range_ok",
        bool(np.all((scores >= 0) & (scores <= 1))),
        "all scores within [0, 1]",
        "true",
        bool(np.all((scores >= 0) & (scores <= 1))),
    )
    report.add(
        "anomaly_causal_prefix_max_diff",
        causal_diff,
        "causality: |score(prefix) - score(full)| max",
        "0",
        causal_diff == 0,
    )
    names = {
        "standard": "nab_standard",
        "reward_low_FP_rate": "nab_reward_low_fp",
        "reward_low_FN_rate": "nab_reward_low_fn",
    }
    for profile, key in names.items():
        costs = profiles[profile]["CostMatrix"]
        score, threshold, detail = nab_score(
            result["timestamp"], scores, windows, costs["fpWeight"], costs["fnWeight"], costs["tpWeight"]
        )
        goal = f"> {ARTIME_NYC_TAXI} (ARTime, best published)" if profile == "standard" else ""
        report.add(key, score, f"NAB {profile} score", goal, score > ARTIME_NYC_TAXI if profile == "standard" else None)
        report.add(f"{key}_threshold", threshold, f"  threshold chosen for {profile}")
        if profile == "standard":
            report.add("nab_standard_windows_detected", detail["windows_detected"], "  windows detected (of 5)")
            report.add("nab_standard_false_positives", detail["false_positives"], "  false-positive rows at threshold")


# =========================================================================== forecast


def evaluate_forecast(data: Path, report: Report, quick: bool) -> None:
    print("Forecast - rolling-origin backtests", flush=True)
    cases = [
        ("wp", "example_wp_log_R.csv", 7, 7, 30 if quick else 150, 7, "daily, horizon 7, weekly origins"),
        ("retail", "example_retail_sales.csv", 12, 12, 24 if quick else 48, 1, "monthly, horizon 12, monthly origins"),
    ]
    for key, name, horizon, period, origins, step, text in cases:
        frame = pd.read_csv(data / "forecast" / name, parse_dates=["ds"]).sort_values("ds")
        series = pd.Series(frame["y"].to_numpy(dtype=float), index=pd.DatetimeIndex(frame["ds"]))
        started = time.perf_counter()
        result = backtest(series, horizon, origins=origins, step=step, naive_period=period)
        elapsed = time.perf_counter() - started
        mase, naive = float(result["mase"].mean()), float(result["naive_mase"].mean())
        print(f"  {name}: {len(result)} origins ({text}), seasonal naive period {period}, {elapsed:.1f}s")
        report.add(f"forecast_{key}_origins", len(result), f"{key}: origins")
        report.add(f"forecast_{key}_mase", mase, f"{key}: model MASE", f"< seasonal naive ({naive:.4f})", mase < naive)
        report.add(f"forecast_{key}_naive_mase", naive, f"{key}: seasonal-naive MASE (same origins)")
        report.add(
            f"forecast_{key}_win_rate",
            float((result["mase"] < result["naive_mase"]).mean()),
            f"{key}: share of origins won",
        )
        c80, c95 = float(result["coverage_80"].mean()), float(result["coverage_95"].mean())
        report.add(
            f"forecast_{key}_coverage_80", c80, f"{key}: 80% interval coverage", "0.70-0.90", 0.70 <= c80 <= 0.90
        )
        report.add(
            f"forecast_{key}_coverage_95", c95, f"{key}: 95% interval coverage", "0.90-0.99", 0.90 <= c95 <= 0.99
        )


# =========================================================================== budget


def _maximise(
    outcome: Callable[[np.ndarray], float], lower: np.ndarray, upper: np.ndarray, budget: float, starts: int = 40
) -> np.ndarray:
    """Oracle search on the TRUE curves: many random feasible starts, SLSQP, best wins."""
    rng = np.random.default_rng(12345)
    best_x, best_value = None, -np.inf
    for k in range(starts):
        raw = lower + rng.dirichlet(np.ones(lower.size)) * max(budget - lower.sum(), 0.0) if k else (lower + upper) / 2
        x0 = np.clip(raw * budget / max(raw.sum(), 1e-12), lower, upper)
        result = minimize(
            lambda x: -outcome(x),
            x0,
            bounds=list(zip(lower, upper, strict=True)),
            constraints=[{"type": "eq", "fun": lambda x: np.sum(x) - budget}],
            method="SLSQP",
            options={"maxiter": 500, "ftol": 1e-12},
        )
        if abs(result.x.sum() - budget) < 1e-6 * max(budget, 1) and outcome(result.x) > best_value:
            best_x, best_value = result.x, outcome(result.x)
    assert best_x is not None
    return best_x


def _mmm_truth(frame: pd.DataFrame) -> tuple[Callable[[np.ndarray], float], dict[str, Any]]:
    """Recover the data-generating response of x1, x2 from mmm_roas_data.csv's columns.

    * adstock weights: least squares of x_adstock on x and its 7 lags (they come out
      geometric, truncated at 4 lags and normalised to sum 1 -> steady-state adstock = spend);
    * saturation: x_adstock_saturated = tanh(lam * a / 2) (logistic), lam = 2 atanh(sat) / a;
    * effect: x_effect = beta * saturated; y - y0c = scale * x_effect (y01 / y02 are the
      counterfactuals with x1 / x2 switched off).
    The true weekly outcome of spending s_c each week is then sum_c scale*beta_c*tanh(lam_c*w_c*s_c/2)
    with w_c the sum of the adstock weights.
    """
    info: dict[str, Any] = {}
    params = []
    for channel, counterfactual in (("x1", "y01"), ("x2", "y02")):
        x = frame[channel].to_numpy()
        lags = np.column_stack([np.r_[np.zeros(j), x[: x.size - j]] for j in range(8)])
        weights, *_ = np.linalg.lstsq(lags, frame[f"{channel}_adstock"].to_numpy(), rcond=None)
        adstock = frame[f"{channel}_adstock"].to_numpy()
        saturated = frame[f"{channel}_adstock_saturated"].to_numpy()
        lam = float(np.median(2 * np.arctanh(saturated) / adstock))
        beta = float(np.median(frame[f"{channel}_effect"] / saturated))
        scale = float(np.median((frame["y"] - frame[counterfactual]) / frame[f"{channel}_effect"]))
        info[channel] = {
            "adstock_weights": [round(float(v), 4) for v in weights[:5]],
            "decay": round(float(weights[1] / weights[0]), 4),
            "lam": round(lam, 4),
            "beta": round(beta, 4),
            "scale": round(scale, 4),
        }
        params.append((float(weights.sum()), lam, beta * scale))

    def truth(spend: np.ndarray) -> float:
        return float(sum(b * np.tanh(lam * w * s / 2) for (w, lam, b), s in zip(params, spend, strict=True)))

    return truth, info


def _hill_truth_fit(spend: np.ndarray, contribution: np.ndarray) -> tuple[tuple[float, float, float, float], float]:
    """Bench-own fit of a campaign's TRUE daily contribution: beta * hill(geometric adstock),
    no intercept (no spend, no contribution), S- or C-shaped (shape 0.3-4)."""

    def residual(p: np.ndarray) -> np.ndarray:
        theta, log_k, shape, beta = p
        adstock = lfilter([1.0], [1.0, -theta], spend)
        ratio = (np.maximum(adstock, 0) / np.exp(log_k)) ** shape
        return beta * ratio / (1 + ratio) - contribution

    best = None
    for theta0 in (0.1, 0.5, 0.8):
        for shape0 in (0.7, 1.5, 2.5):
            k0 = np.log(max(spend.mean(), 1e-6) / (1 - theta0))
            fit = least_squares(
                residual,
                [theta0, k0, shape0, 2 * contribution.max()],
                bounds=([0, np.log(1e-3), 0.3, 0], [0.95, np.log(1e7), 4, 1e9]),
            )
            if best is None or fit.cost < best.cost:
                best = fit
    assert best is not None
    r2 = 1 - np.sum(best.fun**2) / np.sum((contribution - contribution.mean()) ** 2)
    theta, log_k, shape, beta = best.x
    return (float(theta), float(np.exp(log_k)), float(shape), float(beta)), float(r2)


def _judge_plan(
    report: Report,
    key: str,
    label: str,
    truth: Callable[[np.ndarray], float],
    history: pd.DataFrame,
    channels: list[str],
    controls: list[str],
    bootstrap: int,
    restarts: int,
    goal: bool = True,
) -> None:
    """Fit on observed data through the product API, then judge on the true curves."""
    historical = history[channels].mean().to_numpy()
    budget = float(historical.sum())
    started = time.perf_counter()
    plan = plan_budget(
        history, target="y", channels=channels, controls=controls, budget=budget, bootstrap=bootstrap, restarts=restarts
    )
    elapsed = time.perf_counter() - started
    bounds = default_bounds(plan.model)
    lower = np.zeros(len(channels))  # the oracle may cut a channel to 0, below the planner's default floor
    upper = np.array([bounds[c][1] for c in channels])
    chosen = np.array([plan.allocation[c] for c in channels])
    point = optimize_allocation(plan.model, budget, bounds=bounds)
    print(
        f"  {label}: fit R^2 {plan.model.r_squared:.4f}, {bootstrap} bootstrap refits, {elapsed:.1f}s; "
        f"plan {np.round(chosen, 3).tolist()}"
    )
    oracle = _maximise(truth, lower, upper, budget)
    r_hist, r_oracle = truth(historical), truth(oracle)
    print(f"    historical split {np.round(historical, 3).tolist()}, oracle {np.round(oracle, 3).tolist()}")
    for suffix, allocation, text, has_goal in (
        ("", chosen, "plan (fit + refits)", goal),
        ("_point_fit", np.array([point[c] for c in channels]), "point fit only", False),
    ):
        r_model = truth(allocation)
        share = (r_model - r_hist) / (r_oracle - r_hist)
        report.add(
            f"budget_{key}{suffix}_uplift_captured",
            share,
            f"{label}: {text}, share of oracle uplift",
            ">= 0.90" if has_goal else "",
            share >= 0.9 if has_goal else None,
        )
        report.add(f"budget_{key}{suffix}_regret", r_oracle - r_model, f"{label}: {text}, regret R_oracle - R_model")
    report.add(f"budget_{key}_r_model", truth(chosen), f"{label}: true outcome of the plan")
    report.add(f"budget_{key}_r_historical", r_hist, f"{label}: true outcome of the historical split")
    report.add(f"budget_{key}_r_oracle", r_oracle, f"{label}: true outcome of the oracle allocation")
    band = plan.expected_total_band
    report.add(f"budget_{key}_expected_outcome", plan.expected_total, f"{label}: plan's expected media outcome")
    report.add(
        f"budget_{key}_true_outcome_in_80_band",
        bool(band[0] <= truth(chosen) <= band[1]),
        f"{label}: true outcome in its 80% band ({band[0]:.1f} to {band[1]:.1f})",
    )
    true_uplift = truth(chosen) - r_hist
    low, high = plan.uplift_band
    report.add(f"budget_{key}_expected_uplift", plan.uplift, f"{label}: plan's expected uplift over current split")
    report.add(f"budget_{key}_true_uplift", true_uplift, f"{label}: true uplift over current split")
    report.add(
        f"budget_{key}_true_uplift_in_80_band",
        bool(low <= true_uplift <= high),
        f"{label}: true uplift in its 80% band ({low:.1f} to {high:.1f})",
    )


def evaluate_budget(data: Path, report: Report, quick: bool) -> None:
    print("Budget optimizer - plans fitted on observed data, judged on the TRUE curves", flush=True)
    restarts, bootstrap = (4, 10) if quick else (8, 30)
    frame = pd.read_csv(data / "mmm" / "mmm_roas_data.csv")
    truth, info = _mmm_truth(frame)
    print(f"  mmm true curves recovered from the columns: {json.dumps(info)}")
    for key, controls, goal in (
        ("mmm", ["trend", "cs", "cc", "z"], True),
        ("mmm_without_z", ["trend", "cs", "cc"], False),
    ):
        label = f"mmm_roas (controls {'+'.join(controls)})"
        _judge_plan(report, key, label, truth, frame, ["x1", "x2"], controls, bootstrap, restarts, goal)

    metrics = pd.read_csv(data / "mmm" / "credibility_campaign_daily_metrics.csv")
    contributions = pd.read_csv(data / "mmm" / "credibility_ground_truth_campaign_contributions.csv")
    inputs = pd.read_csv(data / "mmm" / "credibility_mmm_input_data.csv")
    campaigns = [c for c in contributions.columns if c != "date"]
    spend = metrics.pivot(index="date", columns="campaign", values="spend").loc[contributions["date"], campaigns]
    curves = {}
    for campaign in campaigns:
        curves[campaign], r2 = _hill_truth_fit(spend[campaign].to_numpy(), contributions[campaign].to_numpy())
        report.add(f"budget_credibility_truth_r2_{campaign}", r2, f"  truth-curve fit R^2, {campaign}")

    def credibility_truth(x: np.ndarray) -> float:
        return sum(_hill(max(s, 0.0) / (1 - curve[0]), curve) for curve, s in zip(curves.values(), x, strict=True))

    history = pd.concat([spend.reset_index(drop=True), inputs[["search", "trend", "y"]]], axis=1)
    label = "credibility (7 campaigns, controls search+trend)"
    _judge_plan(
        report, "credibility", label, credibility_truth, history, campaigns, ["search", "trend"], bootstrap, restarts
    )
    _credibility_attainable(report, credibility_truth, curves, history, campaigns, bootstrap, restarts, quick)
    _credibility_with_lift_tests(report, credibility_truth, curves, history, campaigns, bootstrap, restarts, quick)


Curve = tuple[float, float, float, float]  # a bench truth curve: theta, K, shape, beta


def _hill(adstock: Any, curve: Curve) -> Any:
    """A truth curve's outcome at the given adstock (a number or an array)."""
    _, k, shape, beta = curve
    ratio = (np.maximum(adstock, 0.0) / k) ** shape
    return beta * ratio / (1 + ratio)


def _credibility_capture(
    truth: Callable[[np.ndarray], float], history: pd.DataFrame, campaigns: list[str], bootstrap: int, restarts: int
) -> Callable[..., float]:
    """capture(frame, **plan_options): plan on `frame` (credibility's controls, the historical
    budget), return the share of the oracle's uplift the plan gets on the TRUE curves."""
    historical = history[campaigns].mean().to_numpy()
    budget = float(historical.sum())
    oracle = _maximise(truth, np.zeros(len(campaigns)), history[campaigns].max().to_numpy(), budget)
    r_hist, r_oracle = truth(historical), truth(oracle)

    def capture(frame: pd.DataFrame, **options: Any) -> float:
        plan = plan_budget(
            frame,
            target="y",
            channels=campaigns,
            controls=["search", "trend"],
            budget=budget,
            bootstrap=bootstrap,
            restarts=restarts,
            **options,
        )
        return (truth(np.array([plan.allocation[c] for c in campaigns])) - r_hist) / (r_oracle - r_hist)

    return capture


def _credibility_with_lift_tests(
    report: Report,
    truth: Callable[[np.ndarray], float],
    curves: dict[str, Curve],
    history: pd.DataFrame,
    campaigns: list[str],
    bootstrap: int,
    restarts: int,
    quick: bool,
) -> None:
    """The real y plus SIMULATED experiments on the two campaigns whose spend moves together most.

    The pair is chosen from the spend alone (largest correlation). Each simulated lift test
    raises the campaign's spend per day from its average to 1.5x; its lift is the truth
    curve's steady-state difference plus normal noise with a 20% standard error, i.e. what a
    well-run experiment would report. Informational: it shows what calibrating with
    experiments adds, it is not the goal figure (the goal is judged without them).
    """
    correlation = history[campaigns].corr().to_numpy().copy()
    np.fill_diagonal(correlation, -np.inf)
    first, second = np.unravel_index(np.argmax(correlation), correlation.shape)
    pair = [campaigns[first], campaigns[second]]
    historical = history[campaigns].mean()
    capture = _credibility_capture(truth, history, campaigns, bootstrap, restarts)

    def steady(campaign: str, spend: float) -> float:
        return float(_hill(spend / (1 - curves[campaign][0]), curves[campaign]))

    draws = 3 if quick else 5
    shares = []
    for draw in range(draws):
        rng = np.random.default_rng(3000 + draw)
        tests = []
        for campaign in pair:
            before, after = float(historical[campaign]), 1.5 * float(historical[campaign])
            lift = steady(campaign, after) - steady(campaign, before)
            sd = 0.2 * abs(lift)
            tests.append(LiftTest(campaign, before, after, lift + rng.normal(0.0, sd), sd))
        shares.append(capture(history, seed=draw, lift_tests=tests))
    print(
        f"  credibility + simulated lift tests on {pair[0]} and {pair[1]} "
        f"(spend correlation {correlation[first, second]:.2f}; +50% spend, 20% standard error):"
    )
    report.add(
        "budget_credibility_lift_tests_uplift_captured",
        float(np.mean(shares)),
        f"    share of oracle uplift, mean of {draws} draws",
    )
    report.add("budget_credibility_lift_tests_range", f"{min(shares):.2f} to {max(shares):.2f}", "    range")


def _credibility_attainable(
    report: Report,
    truth: Callable[[np.ndarray], float],
    curves: dict[str, Curve],
    history: pd.DataFrame,
    campaigns: list[str],
    bootstrap: int,
    restarts: int,
    quick: bool,
) -> None:
    """What the same planner captures when y is generated FROM the truth curves.

    y_sim = (linear baseline on search + trend fitted to y minus the curves' media) + the
    truth curves' own daily media outcome (their adstock, their Hill) + iid normal noise.
    With noise 0 the only loss is the model class and the design (which spends move
    together); with noise of the size the real y shows around the truth curves, the figure
    is what this planner can be expected to capture on data like this. Informational: it
    shows how much of the real-data figure is attainable rather than luck.
    """
    media = np.zeros(len(history))
    for campaign, curve in curves.items():
        media += _hill(lfilter([1.0], [1.0, -curve[0]], history[campaign].to_numpy(dtype=float)), curve)
    free = np.column_stack([np.ones(len(history)), history[["search", "trend"]].to_numpy(dtype=float)])
    coefficients, *_ = np.linalg.lstsq(free, history["y"].to_numpy() - media, rcond=None)
    baseline = free @ coefficients
    noise_sd = float(np.std(history["y"].to_numpy() - media - baseline, ddof=free.shape[1]))
    capture = _credibility_capture(truth, history, campaigns, bootstrap, restarts)
    draws = 3 if quick else 8
    print(
        f"  credibility, y generated from the truth curves (+ iid noise; the real y's sd around "
        f"those curves is {noise_sd:.0f}, {draws} noise draws):"
    )
    for key, sd, count in (("noiseless", 0.0, 1), ("noise_as_data", noise_sd, draws)):
        shares = []
        for draw in range(count):
            simulated = history.copy()
            simulated["y"] = baseline + media + np.random.default_rng(2000 + draw).normal(0.0, sd, len(history))
            shares.append(capture(simulated))
        text = "noise 0" if sd == 0 else f"noise sd {sd:.0f}, mean of {count} draws"
        report.add(f"budget_credibility_simulated_{key}_uplift_captured", float(np.mean(shares)), f"    {text}")
        if count > 1:
            report.add(
                f"budget_credibility_simulated_{key}_range",
                f"{min(shares):.2f} to {max(shares):.2f}",
                "    range over the draws",
            )
    report.add("budget_credibility_noise_sd_around_truth", noise_sd, "    real y's sd around the truth curves")


# =========================================================================== attribution


def _independent_removal_effects(paths: pd.DataFrame, order: int) -> dict[str, float]:
    """Removal effects computed a different way from insights.ml.attribution: a dense
    transition matrix over transient AND absorbing states, P(conversion) read off the
    absorbing column of P^k after repeated squaring until the transient mass vanishes."""
    rows = []
    for path, conv, null in zip(paths["path"], paths["total_conversions"], paths["total_null"], strict=True):
        channels = [c.strip() for c in path.split(">")]
        rows.append((channels, float(conv), float(null)))
    all_channels = sorted({c for channels, _, _ in rows for c in channels})

    def conversion_probability(removed: str | None) -> float:
        names: list[str] = ["START", "CONV", "NULL"]
        counts: dict[tuple[str, str], float] = {}
        for channels, conv, null in rows:
            weight = conv + null
            if weight == 0:
                continue
            sequence = ["START"] + ["|".join(channels[max(0, i + 1 - order) : i + 1]) for i in range(len(channels))]
            for state in sequence:
                if state not in names:
                    names.append(state)
            for a, b in itertools.pairwise(sequence):
                counts[(a, b)] = counts.get((a, b), 0.0) + weight
            counts[(sequence[-1], "CONV")] = counts.get((sequence[-1], "CONV"), 0.0) + conv
            counts[(sequence[-1], "NULL")] = counts.get((sequence[-1], "NULL"), 0.0) + null
        index = {name: i for i, name in enumerate(names)}
        matrix = np.zeros((len(names), len(names)))
        for (a, b), weight in counts.items():
            matrix[index[a], index[b]] += weight
        if removed is not None:
            for name in names[3:]:
                if removed in name.split("|"):
                    matrix[index[name], :] = 0.0
                    matrix[index[name], index["NULL"]] = 1.0
        matrix[index["CONV"], index["CONV"]] = 1.0
        matrix[index["NULL"], index["NULL"]] = 1.0
        sums = matrix.sum(axis=1, keepdims=True)
        matrix = np.divide(matrix, sums, out=np.zeros_like(matrix), where=sums > 0)
        for name in names:  # states never left (only reached) - make them absorb to NULL
            if sums[index[name], 0] == 0:
                matrix[index[name], index["NULL"]] = 1.0
        power = matrix.copy()
        for _ in range(200):
            power = power @ power
            if power[index["START"], 3:].sum() < 1e-15:
                break
        return float(power[index["START"], index["CONV"]])

    base = conversion_probability(None)
    return {c: 1.0 - conversion_probability(c) / base for c in all_channels}


def _synthetic_paths(seed: int, journeys: int, channels: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = [f"ch{i}" for i in range(channels)]
    popularity = rng.dirichlet(np.ones(channels) * 0.7)
    rows = []
    for _ in range(journeys):
        length = int(rng.integers(1, 7))
        path = " > ".join(rng.choice(names, size=length, p=popularity))
        converted = int(rng.poisson(2 + length))
        rows.append((path, converted, float(converted * rng.gamma(3.0, 20.0)), int(rng.poisson(30))))
    frame = pd.DataFrame(rows, columns=["path", "total_conversions", "total_conversion_value", "total_null"])
    return frame.groupby("path", as_index=False).sum()


def evaluate_attribution(report: Report) -> None:
    print("Attribution - exactness and hand checks", flush=True)
    paths = _synthetic_paths(seed=7, journeys=4000, channels=8)
    journeys = attr.journeys_from_frame(paths)
    worst = 0.0
    for order in (1, 2, 3):
        ours = attr.removal_effects(journeys, order)
        theirs = _independent_removal_effects(paths, order)
        diff = max(abs(ours[c] - theirs[c]) for c in ours)
        worst = max(worst, diff)
        report.add(
            f"attribution_markov{order}_max_abs_diff",
            diff,
            f"Markov order {order}: |removal effect - independent|",
            "<= 1e-6",
            diff <= 1e-6,
        )
    report.add(
        "attribution_markov_max_abs_diff", worst, "Markov orders 1-3: worst difference", "<= 1e-6", worst <= 1e-6
    )

    def shapley(rows: Sequence[tuple[str, float]]) -> dict[str, float]:
        frame = pd.DataFrame(rows, columns=["path", "total_conversions"])
        result = attr.attribute(frame, models=["shapley"])
        return dict(zip(result["channel"], result["conversions"], strict=True))

    cases = [
        ("shapley_hand_a_ab", [("a", 4), ("a > b", 6)], {"a": 7.0, "b": 3.0}),
        ("shapley_hand_symmetric_abc", [("a > b > c", 12)], {"a": 4.0, "b": 4.0, "c": 4.0}),
        ("shapley_hand_three", [("a", 3), ("b", 5), ("a > b", 4), ("c > a", 6)], {"a": 8.0, "b": 7.0, "c": 3.0}),
        ("shapley_hand_repeats", [("a > a > b", 10), ("b > b", 2)], {"a": 5.0, "b": 7.0}),
    ]
    for key, rows, expected in cases:
        got = shapley(rows)
        diff = max(abs(got[c] - v) for c, v in expected.items())
        report.add(f"attribution_{key}_max_diff", diff, f"{key} {expected}", "<= 1e-9", diff <= 1e-9)

    markov = attr.attribute(
        pd.DataFrame({"path": ["a", "a > b"], "total_conversions": [4, 6], "total_null": [10, 5]}), models=["markov_1"]
    )
    got = dict(zip(markov["channel"], markov["conversions"], strict=True))
    diff = max(abs(got["a"] - 6.25), abs(got["b"] - 3.75))
    report.add(
        "attribution_markov_hand_max_diff", diff, "Markov hand check {a: 6.25, b: 3.75}", "<= 1e-9", diff <= 1e-9
    )

    full = attr.attribute(paths)
    totals = full.groupby("model")[["conversions", "conversion_value"]].sum()
    total_conv = float(paths["total_conversions"].sum())
    total_value = float(paths["total_conversion_value"].sum())
    conv_err = float(np.max(np.abs(totals["conversions"] - total_conv))) / total_conv
    value_err = float(np.max(np.abs(totals["conversion_value"] - total_value))) / total_value
    report.add("attribution_models", ",".join(totals.index), "models run on the synthetic paths")
    report.add(
        "attribution_totals_rel_err",
        max(conv_err, value_err),
        "every model sums to total conv./value (rel.)",
        "<= 1e-9",
        max(conv_err, value_err) <= 1e-9,
    )


# =========================================================================== main


def _cli(*args: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "insights.ml", *args], cwd=REPO, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"CLI failed ({completed.returncode}): {completed.stderr.strip()}")


def _default_data_dir() -> Path:
    env = os.environ.get("BOSCO_REFERENCE_DATA")
    return Path(env) if env else (REPO / ".." / "shared" / "data").resolve()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="fewer origins and refits; under a minute")
    args = parser.parse_args(argv)
    data = args.data_dir or _default_data_dir()
    if not (data / "nab" / "nyc_taxi.csv").exists():
        print(f"error: reference data not found under {data}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    print(f"Bosco insights benchmark - data {data} - {'quick' if args.quick else 'full'} run")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    report = Report()
    evaluate_anomalies(data, report)
    evaluate_incidents(report, quick=args.quick)
    evaluate_forecast(data, report, args.quick)
    evaluate_budget(data, report, args.quick)
    evaluate_budget_recovery(report, args.quick)
    evaluate_attribution(report)
    report.add("wall_seconds", round(time.perf_counter() - started, 1), "total wall time (s)")
    report.figures["mode"] = "quick" if args.quick else "full"
    report.figures["missed"] = report.failures
    print(f"{len(report.failures)} goal(s) missed: {', '.join(report.failures) or 'none'}")
    print(json.dumps(report.figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
