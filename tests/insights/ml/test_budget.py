"""Budget optimizer: known optimum on known curves, bounds and budget respected, fits recover curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insights.ml.budget import PLAN_COLUMNS, optimize_allocation, plan_budget
from insights.ml.errors import InputError
from insights.ml.response import ChannelCurve, LiftTest, ResponseModel, fit_response_model, geometric_adstock

KNOWN = {
    "search": ChannelCurve("search", decay=0.2, half_saturation=500.0, shape=1.0, max_effect=4000.0),
    "social": ChannelCurve("social", decay=0.5, half_saturation=300.0, shape=1.0, max_effect=1500.0),
    "video": ChannelCurve("video", decay=0.7, half_saturation=2000.0, shape=1.0, max_effect=6000.0),
}


def model_of(curves: dict[str, ChannelCurve], max_spend: float = 1e6) -> ResponseModel:
    return ResponseModel(
        curves=curves,
        intercept=0.0,
        control_coefficients={},
        control_means={},
        historical_spend=dict.fromkeys(curves, 100.0),
        max_spend=dict.fromkeys(curves, max_spend),
        fitted=np.zeros(1),
        residuals=np.zeros(1),
        r_squared=1.0,
        sse=0.0,
    )


def closed_form_optimum(curves: dict[str, ChannelCurve], budget: float) -> dict[str, float]:
    """Hill with shape 1 at steady state is beta * x / (x + c), c = K (1 - theta); equal
    marginal returns beta c / (x + c)^2 give x_i = lam * sqrt(beta_i c_i) - c_i."""
    c = {k: v.half_saturation * (1 - v.decay) for k, v in curves.items()}
    root = {k: np.sqrt(curves[k].max_effect * c[k]) for k in curves}
    lam = (budget + sum(c.values())) / sum(root.values())
    return {k: lam * root[k] - c[k] for k in curves}


def test_optimizer_finds_the_known_optimum_on_known_curves() -> None:
    budget = 3000.0
    expected = closed_form_optimum(KNOWN, budget)
    assert all(v > 0 for v in expected.values())  # interior optimum, so the closed form applies

    allocation = optimize_allocation(model_of(KNOWN), budget)

    for channel, spend in expected.items():
        assert allocation[channel] == pytest.approx(spend, rel=1e-3)


@settings(max_examples=25, deadline=None)
@given(
    shares=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=3, max_size=3),
    caps=st.lists(st.floats(min_value=50.0, max_value=3000.0), min_size=3, max_size=3),
    fill=st.floats(min_value=0.0, max_value=1.0),
)
def test_allocation_respects_bounds_and_spends_exactly_the_budget(
    shares: list[float], caps: list[float], fill: float
) -> None:
    channels = list(KNOWN)
    bounds = {c: (min(s * cap, cap) * 0.3, cap) for c, s, cap in zip(channels, shares, caps, strict=True)}
    low = sum(b[0] for b in bounds.values())
    high = sum(b[1] for b in bounds.values())
    budget = low + fill * (high - low)

    allocation = optimize_allocation(model_of(KNOWN), budget, bounds=bounds)

    assert sum(allocation.values()) == pytest.approx(budget, rel=1e-9, abs=1e-6)
    for channel, spend in allocation.items():
        assert bounds[channel][0] - 1e-7 <= spend <= bounds[channel][1] + 1e-7


def test_budget_the_bounds_cannot_hold_is_an_input_error() -> None:
    with pytest.raises(InputError, match="outside what the channel bounds allow"):
        optimize_allocation(model_of(KNOWN), 10_000.0, bounds=dict.fromkeys(KNOWN, (0.0, 100.0)))
    with pytest.raises(InputError, match="non-negative"):
        optimize_allocation(model_of(KNOWN), -5.0)


def test_constant_spend_reaches_the_adstock_steady_state() -> None:
    adstock = geometric_adstock(np.full(50, 100.0), 0.6)

    assert adstock == pytest.approx(np.full(50, 100.0 / 0.4))


def simulated_history(days: int = 180, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    spend = {
        # search is under-funded and video over-funded, so re-allocating has a lot to gain
        "search": rng.lognormal(np.log(250), 0.5, days),
        "social": rng.lognormal(np.log(250), 0.6, days),
        "video": rng.lognormal(np.log(2500), 0.5, days),
    }
    promo = (rng.random(days) < 0.1).astype(float)
    outcome = 2000.0 + 800.0 * promo + rng.normal(0.0, 60.0, days)
    for name, curve in KNOWN.items():
        outcome += curve.max_effect * curve.saturate(geometric_adstock(spend[name], curve.decay))
    return pd.DataFrame({"revenue": outcome, "promo": promo, **spend})


def true_outcome(allocation: dict[str, float]) -> float:
    return float(sum(KNOWN[c].steady_outcome(v) for c, v in allocation.items()))


def test_fitted_curves_allocate_almost_as_well_as_the_truth() -> None:
    history = simulated_history()
    channels = list(KNOWN)
    model = fit_response_model(history, target="revenue", channels=channels, controls=["promo"], restarts=4)
    current = {c: float(history[c].mean()) for c in channels}
    budget = sum(current.values())
    bounds = {c: (0.0, float(history[c].max())) for c in channels}

    fitted_plan = optimize_allocation(model, budget, bounds=bounds)
    oracle = optimize_allocation(model_of(KNOWN), budget, bounds=bounds)

    assert model.r_squared > 0.9
    assert model.control_coefficients["promo"] == pytest.approx(800.0, rel=0.15)
    captured = (true_outcome(fitted_plan) - true_outcome(current)) / (true_outcome(oracle) - true_outcome(current))
    assert captured > 0.9


def test_plan_reports_total_row_bands_and_equal_marginal_returns() -> None:
    history = simulated_history(days=150, seed=4)
    channels = list(KNOWN)
    budget = float(history[channels].mean().sum())

    plan = plan_budget(
        history, target="revenue", channels=channels, controls=["promo"], budget=budget, bootstrap=6, restarts=3
    )

    table = plan.table.set_index("channel")
    assert list(plan.table.columns) == PLAN_COLUMNS
    assert list(table.index) == [*channels, "total"]
    assert table.loc["total", "spend"] == pytest.approx(budget)
    assert table.loc[channels, "spend"].sum() == pytest.approx(budget)
    assert table.loc["total", "expected_outcome"] == pytest.approx(table.loc[channels, "expected_outcome"].sum())
    assert table.loc["total", "expected_outcome_low"] <= table.loc["total", "expected_outcome_high"]
    assert plan.expected_total >= plan.current_total - 1e-6  # never worse than the current split on its own curves
    assert plan.uplift == pytest.approx(plan.expected_total - plan.current_total)
    assert plan.uplift_band[0] <= plan.uplift_band[1]
    assert len(plan.refits) == 6
    interior = [c for c in channels if 1.0 < plan.allocation[c] < history[c].max() - 1.0]
    marginals = table.loc[interior, "marginal_roas"].to_numpy()
    assert np.ptp(marginals) <= 0.02 * marginals.mean()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h: h.drop(columns=["social"]), "missing column"),
        (lambda h: h.head(8), "at least"),
        (lambda h: h.assign(social=-1.0), "negative spend"),
        (lambda h: h.assign(social=0.0), "no spend"),
        (lambda h: h.assign(revenue=np.where(np.arange(len(h)) == 5, np.nan, h["revenue"])), "non-numeric"),
    ],
)
def test_unusable_history_is_an_input_error(change: object, message: str) -> None:
    history = change(simulated_history(days=60))  # type: ignore[operator]

    with pytest.raises(InputError, match=message):
        fit_response_model(history, target="revenue", channels=list(KNOWN), restarts=1)


# Two campaigns whose daily spend moves together (correlation ~0.9995): the history says how
# much they add together, hardly how it splits. Experiments on each pin the split.
CO_MOVING = {
    "prospecting": ChannelCurve("prospecting", decay=0.3, half_saturation=400.0, shape=1.0, max_effect=3000.0),
    "retargeting": ChannelCurve("retargeting", decay=0.3, half_saturation=400.0, shape=1.0, max_effect=600.0),
}


def co_moving_history(days: int = 150, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = rng.lognormal(np.log(300), 0.5, days)
    spend = {
        "prospecting": 0.5 * base * rng.lognormal(0.0, 0.01, days),
        "retargeting": base * rng.lognormal(0.0, 0.01, days),
    }
    revenue = 1000.0 + rng.normal(0.0, 150.0, days)
    for name, curve in CO_MOVING.items():
        revenue += curve.max_effect * curve.saturate(geometric_adstock(spend[name], curve.decay))
    return pd.DataFrame({"revenue": revenue, **spend})


def measured_lift(curve: ChannelCurve, before: float, after: float) -> float:
    return float(curve.steady_outcome(after) - curve.steady_outcome(before))


def test_lift_tests_pin_what_co_moving_spend_cannot_separate() -> None:
    history = co_moving_history()
    channels = list(CO_MOVING)
    current = {c: float(history[c].mean()) for c in channels}
    tests = [
        LiftTest(c, current[c], 1.5 * current[c], lift, 0.1 * lift)
        for c in channels
        for lift in [measured_lift(CO_MOVING[c], current[c], 1.5 * current[c])]
    ]

    plain = fit_response_model(history, target="revenue", channels=channels, restarts=3)
    calibrated = fit_response_model(history, target="revenue", channels=channels, restarts=3, lift_tests=tests)

    def error(model: ResponseModel, channel: str) -> float:
        fitted = measured_lift(model.curves[channel], current[channel], 1.5 * current[channel])
        truth = measured_lift(CO_MOVING[channel], current[channel], 1.5 * current[channel])
        return abs(fitted - truth) / truth

    assert max(error(plain, c) for c in channels) > 0.15  # the history alone gets the split wrong
    assert all(error(calibrated, c) < 0.1 for c in channels)  # within the tests' standard error
    assert calibrated.r_squared == pytest.approx(plain.r_squared, abs=0.01)  # the daily fit barely pays for it
    assert calibrated.lift_tests == tuple(tests)


def test_bootstrap_refits_redraw_each_lift_test_within_its_error() -> None:
    history = co_moving_history(days=90)
    channels = list(CO_MOVING)
    test = LiftTest("retargeting", 300.0, 450.0, 50.0, 10.0)

    plan = plan_budget(history, target="revenue", channels=channels, budget=450.0, bootstrap=8, lift_tests=[test])

    assert plan.model.lift_tests == (test,)
    redrawn = [refit.lift_tests[0].lift for refit in plan.refits]
    assert len(set(redrawn)) == 8
    assert all(abs(lift - 50.0) < 5 * 10.0 for lift in redrawn)
    assert all(refit.lift_weight == plan.model.lift_weight > 0 for refit in plan.refits)


@pytest.mark.parametrize(
    ("test", "message"),
    [
        (LiftTest("tv", 100.0, 150.0, 10.0, 1.0), "not one of the channels"),
        (LiftTest("search", 100.0, 100.0, 10.0, 1.0), "measured no change"),
        (LiftTest("search", -1.0, 100.0, 10.0, 1.0), "cannot be negative"),
        (LiftTest("search", 100.0, 150.0, 10.0, 0.0), "lift_sd must be greater than 0"),
        (LiftTest("search", 100.0, 150.0, float("nan"), 1.0), "finite"),
    ],
)
def test_unusable_lift_test_is_an_input_error(test: LiftTest, message: str) -> None:
    with pytest.raises(InputError, match=message):
        fit_response_model(
            simulated_history(days=60), target="revenue", channels=list(KNOWN), restarts=1, lift_tests=[test]
        )
