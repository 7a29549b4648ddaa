"""The budget model's baseline (trend, seasonality, events) under the media curves, the hedge toward
the historical split, budgets beyond history, and the bad inputs of issue 18."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insights.ml.baseline import baseline_features
from insights.ml.budget import historical_split, member_totals, optimize_allocation, plan_budget
from insights.ml.calendar import Event
from insights.ml.errors import InputError
from insights.ml.response import ChannelCurve, geometric_adstock

TRUTH = {
    "search": ChannelCurve("search", decay=0.15, half_saturation=30_000.0, shape=1.0, max_effect=150_000.0),
    "social": ChannelCurve("social", decay=0.45, half_saturation=35_000.0, shape=1.0, max_effect=90_000.0),
    "video": ChannelCurve("video", decay=0.65, half_saturation=40_000.0, shape=1.0, max_effect=80_000.0),
}
MEANS = {"search": 18_000.0, "social": 20_000.0, "video": 45_000.0}  # search under-, video over-funded


def weekly_history(seed: int = 2, noise: float = 2_000.0) -> tuple[pd.DataFrame, list[Event]]:
    """Three years of weeks: growth, a yearly season whose amplitude grows with the business, a
    sale each November; spend follows the season (the confounding a baseline must remove)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-03", periods=156, freq="W-MON")
    years = (dates - dates[0]).days.to_numpy() / 365.25
    season = 0.16 * np.sin(2 * np.pi * (dates.day_of_year.to_numpy() - 100) / 365.25)
    events = [
        Event("November sale", pd.Timestamp(f"{y}-11-20").date(), pd.Timestamp(f"{y}-11-26").date())
        for y in (2022, 2023, 2024)
    ]
    # a week's share of sale days (weeks are labelled by their Monday)
    sale = np.array(
        [
            sum(e.start <= (d + pd.Timedelta(days=k)).date() <= e.end for e in events for k in range(7)) / 7
            for d in dates
        ]
    )
    spend = {
        c: m * (1 + 0.1 * years) * (1 + 1.2 * season) * (1 + 0.8 * sale) * rng.lognormal(0, 0.35, len(dates))
        for c, m in MEANS.items()
    }
    spend["video"] = np.where(rng.random(len(dates)) < 0.15, 0.0, spend["video"])
    baseline = 400_000.0 * (1 + 0.12 * years) * (1 + season) + 120_000.0 * sale
    media = sum(TRUTH[c].max_effect * TRUTH[c].saturate(geometric_adstock(spend[c], TRUTH[c].decay)) for c in TRUTH)
    y = baseline + media + rng.normal(0.0, noise, len(dates))
    return pd.DataFrame({"revenue": y, **spend}, index=dates), events


def true_outcome(allocation: dict[str, float]) -> float:
    return float(sum(TRUTH[c].steady_outcome(v) for c, v in allocation.items()))


def captured(plan_allocation: dict[str, float], history: pd.DataFrame, budget: float) -> float:
    historical = history[list(TRUTH)].mean()
    split = {c: budget * historical[c] / historical.sum() for c in TRUTH}
    oracle = optimize_allocation(
        _truth_model(history),
        budget,
        bounds={c: (0.0, float(history[c].max()) * max(1.0, budget / historical.sum())) for c in TRUTH},
    )
    return (true_outcome(plan_allocation) - true_outcome(split)) / (true_outcome(oracle) - true_outcome(split))


def _truth_model(history: pd.DataFrame):
    from insights.ml.response import ResponseModel

    return ResponseModel(
        curves=TRUTH,
        intercept=0.0,
        control_coefficients={},
        control_means={},
        historical_spend={c: float(history[c].mean()) for c in TRUTH},
        max_spend={c: float(history[c].max()) for c in TRUTH},
        fitted=np.zeros(1),
        residuals=np.zeros(1),
        r_squared=1.0,
        sse=0.0,
    )


def test_baseline_terms_follow_the_history_length_and_frequency() -> None:
    three_years = baseline_features(pd.date_range("2022-01-03", periods=156, freq="W-MON"))
    half_year = baseline_features(pd.date_range("2024-01-01", periods=180, freq="D"))
    few_weeks = baseline_features(pd.date_range("2024-01-01", periods=20, freq="W-MON"))

    assert {"trend", "year sin 1", "year cos 1", "trend x year sin 1", "year sin 2"} <= set(three_years.columns)
    assert "year sin 3" not in three_years.columns
    assert not any("weekday" in c for c in three_years.columns)
    assert not any("year" in c for c in half_year.columns)  # half a year cannot show a year's shape
    assert {"trend", "weekday Sat", "weekday Sun"} <= set(half_year.columns)
    assert list(few_weeks.columns) == ["trend"]
    for frame in (three_years, half_year):
        assert np.allclose(frame.mean(), 0.0) and np.isfinite(frame.to_numpy()).all()


def test_two_calendar_years_of_days_count_as_two_years() -> None:
    # 730 days are two years of 365 days, though 730 / 365.25 < 2: the season's growth with the
    # business (trend x season) belongs in their baseline as in two years of weeks
    two_years = baseline_features(pd.date_range("2023-01-02", periods=730, freq="D"))
    one_year = baseline_features(pd.date_range("2023-01-02", periods=365, freq="D"))
    just_short = baseline_features(pd.date_range("2023-01-02", periods=729, freq="D"))

    assert {"trend x year sin 1", "trend x year cos 1"} <= set(two_years.columns)
    assert {"year sin 1", "year cos 1"} <= set(one_year.columns)
    assert not any("trend x" in c for c in one_year.columns)
    assert not any("trend x" in c for c in just_short.columns)


@pytest.mark.slow
def test_fit_with_a_baseline_recovers_the_known_curves_and_the_best_split() -> None:
    history, events = weekly_history()
    budget = float(history[list(TRUTH)].mean().sum())

    plan = plan_budget(
        history, target="revenue", channels=list(TRUTH), budget=budget, bootstrap=6, restarts=3, events=events
    )

    for channel, curve in TRUTH.items():
        at = float(history[channel].mean())
        fitted = float(plan.model.curves[channel].steady_outcome(at))
        assert fitted == pytest.approx(float(curve.steady_outcome(at)), rel=0.15), channel
        assert plan.model.curves[channel].decay == pytest.approx(curve.decay, abs=0.12), channel
    assert "event: November sale" in plan.model.baseline_terms
    assert captured(plan.allocation, history, budget) > 0.9
    assert plan.uplift > 0 and not plan.warnings


@pytest.mark.slow
def test_without_the_baseline_the_season_is_credited_to_media() -> None:
    history, events = weekly_history()
    budget = float(history[list(TRUTH)].mean().sum())
    common = {"target": "revenue", "channels": list(TRUTH), "budget": budget, "bootstrap": 0, "restarts": 3}

    with_baseline = plan_budget(history, events=events, **common)
    without = plan_budget(history, seasonality=False, **common)

    media_truth = true_outcome({c: float(history[c].mean()) for c in TRUTH})
    assert abs(with_baseline.current_total - media_truth) < abs(without.current_total - media_truth)
    assert not without.model.baseline_terms


@pytest.mark.slow
def test_a_budget_beyond_history_is_planned_with_a_warning_and_a_wider_band() -> None:
    history, events = weekly_history(seed=3)
    channels = list(TRUTH)
    budget = float(history[channels].mean().sum())

    at_history = plan_budget(
        history, target="revenue", channels=channels, budget=budget, bootstrap=6, restarts=2, events=events
    )
    tripled = plan_budget(
        history, target="revenue", channels=channels, budget=3 * budget, bootstrap=6, restarts=2, events=events
    )

    assert sum(tripled.allocation.values()) == pytest.approx(3 * budget)
    assert any("above the largest total spend seen" in w for w in tripled.warnings)
    assert tripled.table.attrs["warnings"] == list(tripled.warnings)
    width = tripled.expected_total_band[1] - tripled.expected_total_band[0]
    assert width > at_history.expected_total_band[1] - at_history.expected_total_band[0]
    assert np.isfinite(
        tripled.table.drop(columns="channel").drop(index=len(channels), columns="marginal_roas").to_numpy()
    ).all()


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_the_plan_never_loses_to_the_historical_split_on_its_own_curves(seed: int) -> None:
    history, events = weekly_history(seed=seed, noise=25_000.0)  # noisy: the refits disagree
    channels = list(TRUTH)
    for ratio in (0.5, 1.0, 2.0):
        budget = ratio * float(history[channels].mean().sum())
        plan = plan_budget(
            history, target="revenue", channels=channels, budget=budget, bootstrap=8, restarts=2, events=events
        )
        members = [plan.model, *plan.refits]
        split = historical_split(plan.model, budget)
        gains = member_totals(members, channels, np.array([plan.allocation[c] for c in channels])) - member_totals(
            members, channels, np.array([split[c] for c in channels])
        )
        assert gains.mean() >= -1e-6 * abs(plan.current_total)
        assert plan.uplift >= -1e-6 * abs(plan.current_total)


def _plan(history: pd.DataFrame, **options: object):
    defaults: dict[str, object] = {"target": "revenue", "channels": list(TRUTH), "bootstrap": 2, "restarts": 1}
    return plan_budget(history, **{**defaults, **options})


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        (0.0, "greater than zero"),
        (-10.0, "greater than zero"),
        (float("nan"), "greater than zero"),
        (1e12, "more than 1000 times"),
    ],
)
def test_impossible_budgets_are_input_errors(budget: float, message: str) -> None:
    history, _ = weekly_history()
    with pytest.raises(InputError, match=message):
        _plan(history, budget=budget)


def test_bounds_that_cannot_hold_the_budget_are_an_input_error() -> None:
    history, _ = weekly_history()
    with pytest.raises(InputError, match="outside what the channel bounds allow"):
        _plan(history, budget=50_000.0, bounds=dict.fromkeys(TRUTH, (30000.0, 40000.0)))


def test_a_channel_whose_spend_never_changed_keeps_its_share_with_a_warning() -> None:
    history, _ = weekly_history()
    history["social"] = 20_000.0
    budget = float(history[list(TRUTH)].mean().sum())

    plan = _plan(history, budget=budget)

    assert plan.allocation["social"] == pytest.approx(historical_split(plan.model, budget)["social"])
    assert any("social" in w and "never changed" in w for w in plan.warnings)
    assert np.isfinite(plan.expected_total)


def test_an_all_zero_channel_or_a_short_history_is_an_input_error() -> None:
    history, _ = weekly_history()
    silent = history.assign(video=0.0)
    with pytest.raises(InputError, match="channel video has no spend"):
        _plan(silent, budget=10_000.0)
    with pytest.raises(InputError, match="need at least"):
        _plan(history.iloc[:8], budget=10_000.0)
