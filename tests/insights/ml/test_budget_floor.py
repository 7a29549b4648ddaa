"""The planner's default minimum per channel: the least steady spend its history measured.

A fitted curve is only measured over the adstock the history had; below it, the curve is
extrapolated toward zero. The default bounds keep the plan off that foot (scaled down with a
budget below the historical one); explicit bounds still reach 0, and the floor gives way
rather than make a budget impossible.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from insights.ml.budget import default_bounds, historical_split, optimize_allocation, plan_budget
from insights.ml.planning import FittedCurves, allocate, curves_from_params, curves_to_params
from insights.ml.response import FLOOR_PERCENTILE, ChannelCurve, fit_response_model, geometric_adstock

TRUTH = {
    "search": ChannelCurve("search", decay=0.2, half_saturation=500.0, shape=1.0, max_effect=4000.0),
    "video": ChannelCurve("video", decay=0.6, half_saturation=3000.0, shape=1.0, max_effect=2000.0),
}


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 120
    spend = {"search": 300 * rng.lognormal(0, 0.4, n), "video": 900 * rng.lognormal(0, 0.4, n)}
    y = 5000.0 + sum(
        TRUTH[c].max_effect * TRUTH[c].saturate(geometric_adstock(spend[c], TRUTH[c].decay)) for c in TRUTH
    )
    return pd.DataFrame({"y": y + rng.normal(0, 20, n), **spend})


@pytest.fixture(scope="module")
def fitted(history: pd.DataFrame) -> FittedCurves:
    model = fit_response_model(history, target="y", channels=list(TRUTH), restarts=3)
    return FittedCurves(model=model, refits=[])


def test_the_floor_is_the_steady_spend_at_the_low_percentile_of_the_adstock_seen(
    fitted: FittedCurves, history: pd.DataFrame
) -> None:
    model = fitted.model
    for c in TRUTH:
        decay = model.curves[c].decay
        adstock = geometric_adstock(history[c].to_numpy(), decay)
        # spending the floor every period gives the adstock at the low percentile of history's
        assert model.min_spend[c] / (1 - decay) == pytest.approx(np.percentile(adstock, FLOOR_PERCENTILE))
        assert 0 < model.min_spend[c] < model.historical_spend[c]
        assert np.mean(adstock < model.min_spend[c] / (1 - decay)) == pytest.approx(FLOOR_PERCENTILE / 100, abs=0.01)


def test_default_bounds_start_at_the_floor_and_shrink_with_a_smaller_budget(fitted: FittedCurves) -> None:
    model = fitted.model
    total = sum(model.historical_spend.values())
    at_history = default_bounds(model, total)
    at_half = default_bounds(model, total / 2)
    for c in TRUTH:
        assert at_history[c][0] == pytest.approx(model.min_spend[c])
        assert at_half[c][0] == pytest.approx(model.min_spend[c] / 2)
    # the historical split always fits the default bounds, at any budget
    for budget in (total / 10, total / 2, total, total * 3):
        bounds = default_bounds(model, budget)
        for c, spend in historical_split(model, budget).items():
            assert bounds[c][0] <= spend + 1e-9 <= bounds[c][1] + 2e-9


def test_a_plan_never_goes_below_the_floor_but_explicit_bounds_reach_zero(fitted: FittedCurves) -> None:
    model = fitted.model
    total = sum(model.historical_spend.values())
    # with no floor at all, the optimum on these curves cuts video (weak per dollar) below it
    bare = dataclasses.replace(model, min_spend={})
    assert optimize_allocation(bare, total)["video"] < 0.8 * model.min_spend["video"]

    planned = allocate(fitted, total)
    video = next(p for p in planned.channels if p.channel == "video")
    assert video.spend >= model.min_spend["video"] * (1 - 1e-6)
    assert video.lower == pytest.approx(model.min_spend["video"])

    free = allocate(fitted, total, bounds={"video": (0.0, model.max_spend["video"])})
    assert next(p.spend for p in free.channels if p.channel == "video") < video.spend


def test_the_floor_gives_way_rather_than_make_a_budget_impossible(fitted: FittedCurves) -> None:
    model = fitted.model
    budget = model.min_spend["video"] * 1.5  # search's floor plus this would not fit
    allocation = optimize_allocation(model, budget, bounds={"search": (budget, budget)})
    assert allocation == pytest.approx({"search": budget, "video": 0.0}, abs=1e-6 * budget)


def test_stored_curves_keep_the_floor_and_older_ones_plan_from_zero(fitted: FittedCurves) -> None:
    params = curves_to_params(fitted.model, fitted.refits, {})
    restored = curves_from_params(params)
    assert restored.model.min_spend == pytest.approx(fitted.model.min_spend)

    del params["model"]["min_spend"]  # a fit stored before the floor existed
    older = curves_from_params(params)
    assert all(low == 0.0 for low, _ in default_bounds(older.model).values())


def test_a_plans_floor_is_the_median_over_the_fit_and_its_refits(history: pd.DataFrame) -> None:
    plan = plan_budget(history, target="y", channels=list(TRUTH), budget=1200.0, bootstrap=6, restarts=2)
    fit_alone = fit_response_model(history, target="y", channels=list(TRUTH), restarts=2)
    for c in TRUTH:
        floors = [fit_alone.min_spend[c], *(r.min_spend[c] for r in plan.refits)]
        assert plan.model.min_spend[c] == pytest.approx(float(np.median(floors)))
        # each member's floor follows its own decay, so they differ: the median is not the fit's
        assert len({round(f, 6) for f in floors}) > 1
