"""Forecast: beats seasonal naive on trend + weekly data, intervals near nominal, clean API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insights.ml.errors import InputError
from insights.ml.forecasting import FORECAST_COLUMNS, backtest, forecast, mase_scale, seasonal_naive
from tests.insights.ml.synthetic import trend_weekly


@pytest.fixture(scope="module")
def trend_backtest() -> pd.DataFrame:
    return backtest(trend_weekly(), 7, origins=16, step=7)


def test_beats_seasonal_naive_mase_on_trend_plus_weekly_series(trend_backtest: pd.DataFrame) -> None:
    assert trend_backtest["mase"].mean() < 0.8 * trend_backtest["naive_mase"].mean()


def test_intervals_cover_roughly_the_nominal_rate(trend_backtest: pd.DataFrame) -> None:
    assert 0.65 <= trend_backtest["coverage_80"].mean() <= 0.95
    assert 0.85 <= trend_backtest["coverage_95"].mean() <= 1.0


def test_forecast_returns_the_next_days_with_nested_bands() -> None:
    history = trend_weekly(days=200)

    result = forecast(history, 30)

    assert list(result.columns) == FORECAST_COLUMNS
    expected_days = pd.date_range(history.index[-1] + pd.Timedelta(days=1), periods=30, freq="D")
    assert list(result["ds"]) == list(expected_days)
    assert (result["yhat_lower_95"] <= result["yhat_lower_80"]).all()
    assert (result["yhat_lower_80"] <= result["yhat"]).all()
    assert (result["yhat"] <= result["yhat_upper_80"]).all()
    assert (result["yhat_upper_80"] <= result["yhat_upper_95"]).all()
    assert result.attrs["model_version"].startswith("forecast-")


def test_forecast_keeps_the_weekly_shape_and_the_trend() -> None:
    history = trend_weekly(days=300, noise=0.5)
    result = forecast(history, 14).set_index("ds")

    saturday, tuesday = result.index[result.index.day_of_week == 5][0], result.index[result.index.day_of_week == 1][0]
    assert result.loc[tuesday, "yhat"] - result.loc[saturday, "yhat"] > 10  # true gap is ~20
    truth_next_week = 100 + 0.15 * np.arange(300, 314)
    assert abs(result["yhat"].mean() - truth_next_week.mean()) < 3


def test_monthly_series_forecasts_month_starts_with_a_yearly_cycle() -> None:
    index = pd.date_range("2010-01-01", periods=96, freq="MS")
    season = np.tile(np.array([0, 0, 1, 2, 3, 5, 6, 5, 3, 2, 1, 8]), 8)
    series = pd.Series(100 + np.arange(96) * 0.5 + 4 * season, index=index)

    result = forecast(series, 12)

    assert result["ds"].iloc[0] == pd.Timestamp("2018-01-01") and result["ds"].iloc[-1] == pd.Timestamp("2018-12-01")
    assert result.attrs["params"]["period"] == 12
    assert result["yhat"].iloc[11] > result["yhat"].iloc[10] + 15  # December peak is kept


def test_missing_days_in_history_are_skipped_not_fatal() -> None:
    history = trend_weekly(days=150)
    gappy = history.drop(history.index[[40, 41, 42, 90, 120]])

    result = forecast(gappy, 7)

    assert np.isfinite(result["yhat"]).all()


def test_too_little_history_is_an_input_error() -> None:
    with pytest.raises(InputError, match="at least"):
        forecast(trend_weekly(days=10), 7)


def test_non_positive_horizon_is_an_input_error() -> None:
    with pytest.raises(InputError, match="horizon"):
        forecast(trend_weekly(days=60), 0)


def test_seasonal_naive_repeats_the_last_week() -> None:
    series = pd.Series(np.arange(14, dtype=float), index=pd.date_range("2024-01-01", periods=14))

    assert list(seasonal_naive(series, 9, 7)) == [7, 8, 9, 10, 11, 12, 13, 7, 8]
    assert mase_scale(series.to_numpy(), 7) == 7.0


def _volatile_then_calm(days: int = 420, seed: int = 5) -> pd.Series:
    """Trend + weekly cycle whose noise drops from sd 12 to sd 2 for the last 120 days."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2023-01-01", periods=days, freq="D")
    weekly = np.array([0.0, 5.0, 8.0, 6.0, 3.0, -10.0, -12.0])[index.day_of_week.to_numpy()]
    sd = np.where(np.arange(days) < days - 120, 12.0, 2.0)
    return pd.Series(300.0 + weekly + rng.normal(0.0, 1.0, days) * sd, index=index, name="y")


def test_bands_follow_the_current_volatility_not_the_whole_history() -> None:
    history = _volatile_then_calm()

    local = forecast(history, 7, log_scale=False)
    pooled = forecast(history, 7, log_scale=False, local_scale=False)

    local_width = (local["yhat_upper_80"] - local["yhat_lower_80"]).mean()
    pooled_width = (pooled["yhat_upper_80"] - pooled["yhat_lower_80"]).mean()
    assert local_width < 0.6 * pooled_width
    # the calm spell's true 80% width is 2 × 1.28 × 2 ≈ 5; the pooled errors' is several times that
    assert local_width < 12


def test_ets_variance_factors_match_the_closed_form_without_damping_or_season() -> None:
    from insights.ml.forecasting import HoltWintersFit, ets_variance_factors

    empty = np.zeros(0)
    fit = HoltWintersFit(0.3, 0.0, 0.0, 1.0, 7, empty, empty, empty, empty, 0.0)

    factors = ets_variance_factors(fit, 5)

    # simple exponential smoothing: v_h = 1 + (h - 1) alpha^2
    assert np.allclose(factors, 1 + np.arange(5) * 0.09)


def test_a_flat_series_gets_flat_bands_without_numeric_warnings() -> None:
    import warnings

    index = pd.date_range("2024-01-01", periods=60, freq="D")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a 0/0 in the volatility rescaling would raise here
        result = forecast(pd.Series(0.0, index=index), 7)
    assert np.allclose(result["yhat"], 0) and np.allclose(result["yhat_upper_95"], result["yhat_lower_95"])


def _short_random_walk_histories(count: int, days: int, seed: int = 11) -> list[tuple[pd.Series, np.ndarray]]:
    """Short daily series (random-walk level, weekly cycle, 6% noise) and their next 7 days."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=days + 7, freq="D")
    out = []
    for _ in range(count):
        week = rng.normal(0.0, 0.1, 7)[np.arange(days + 7) % 7]
        level = np.cumsum(rng.normal(0.0, 0.02, days + 7))
        values = np.exp(6.0 + level + week + rng.normal(0.0, 0.06, days + 7))
        out.append((pd.Series(values[:days], index=index[:days]), values[days:]))
    return out


def test_a_three_week_history_gets_a_95_band_that_covers_near_the_nominal_rate() -> None:
    # with three weeks the in-sample errors are few and optimistic: without the small-sample
    # corrections (forecast-ets-aad-calendar/2) this band covered 0.845 of these 420 days
    covered = []
    for history, future in _short_random_walk_histories(60, 21, seed=5):
        result = forecast(history, 7)
        covered.extend((future >= result["yhat_lower_95"]) & (future <= result["yhat_upper_95"]))

    assert 0.91 <= np.mean(covered) <= 0.99


def test_a_tail_quantile_is_read_from_the_errors_only_when_they_can_resolve_it() -> None:
    from insights.ml.forecasting import _conformal_level

    assert _conformal_level(0.975, 38) is None  # the 95% band's upper edge needs 39 errors
    assert _conformal_level(0.975, 39) == pytest.approx(38.5 / 39)  # then it is the largest
    assert _conformal_level(0.025, 39) == pytest.approx(0.5 / 39)  # and the smallest
    assert _conformal_level(0.9, 99) == pytest.approx(89.5 / 99)  # rank ceil(100 * 0.9) = 90


def test_the_band_of_a_short_history_is_wider_than_its_in_sample_errors_alone_suggest() -> None:
    from insights.ml.forecasting import FITTED_PARAMETERS, _error_quantiles, fit_holt_winters

    history, _ = _short_random_walk_histories(1, 28, seed=3)[0]
    y = np.log(history.to_numpy())
    fit = fit_holt_winters(y, 7)
    errors = (y - fit.fitted)[7:]
    in_sample_rms = float(np.sqrt(np.mean(errors**2)))

    upper = _error_quantiles(fit, y, 7, 365, None)[0.975]

    # one step ahead: Student's t with n - k degrees of freedom times the unbiased scale
    n = errors.size
    from scipy.stats import t as student_t

    expected = student_t.ppf(0.975, n - FITTED_PARAMETERS) * in_sample_rms * np.sqrt(n / (n - FITTED_PARAMETERS))
    assert upper[0] == pytest.approx(expected, rel=1e-6)
    assert upper[0] > 1.959964 * in_sample_rms * 1.1
