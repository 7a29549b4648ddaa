"""Forecasts that know the year: yearly cycle, holidays, events, sane ends and bad input."""

from __future__ import annotations

import datetime as dt
import warnings

import holidays
import numpy as np
import pandas as pd
import pytest

from insights.ml.calendar import Event, calendar_days, country_holidays, read_events
from insights.ml.errors import InputError
from insights.ml.forecasting import forecast
from insights.ml.yearly import fit_calendar

HOLIDAY_EFFECT = -0.4  # log scale: a third fewer conversions on a public holiday
SALE_EFFECT = 0.6  # +80% during the yearly sale


def yearly_series(years: float = 3.0, seed: int = 0, *, sale: bool = True, noise: float = 0.05) -> pd.Series:
    """Daily conversions with a known yearly cycle, US holidays and a 3-day November sale."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2021-01-04", periods=int(years * 365), freq="D")
    doy = 2 * np.pi * days.day_of_year.to_numpy() / 365.25
    yearly = 0.3 * np.sin(doy) + 0.1 * np.cos(2 * doy)
    weekly = np.array([0.05, 0.08, 0.06, 0.04, 0.0, -0.12, -0.11])[days.day_of_week]
    calendar = holidays.country_holidays("US", years=range(2021, 2026))
    hol = np.array([HOLIDAY_EFFECT if d.date() in calendar else 0.0 for d in days])
    sale_days = np.array([SALE_EFFECT if sale and d.month == 11 and 24 <= d.day <= 26 else 0.0 for d in days])
    log_values = np.log(400) + 0.1 * np.arange(days.size) / 365 + yearly + weekly + hol + sale_days
    return pd.Series(np.exp(log_values + rng.normal(0, noise, days.size)), index=days)


def sale_events(years: range) -> list[Event]:
    return [Event("autumn sale", dt.date(y, 11, 24), dt.date(y, 11, 26)) for y in years]


def test_the_regression_recovers_a_known_yearly_cycle_and_holiday_effect() -> None:
    series = yearly_series(sale=False)  # the sale would overlap Thanksgiving
    index = pd.DatetimeIndex(series.index)
    special = calendar_days(index, country="US")

    fit = fit_calendar(np.log(series.to_numpy()), index, special)

    assert fit is not None and fit.yearly is not None
    doy = 2 * np.pi * index.day_of_year.to_numpy() / 365.25
    truth = 0.3 * np.sin(doy) + 0.1 * np.cos(2 * doy)
    estimate = fit.effect(index) - np.array([fit.specials.get(_name(d, special), 0.0) for d in index])
    assert np.corrcoef(truth, estimate)[0, 1] > 0.97
    assert np.std(estimate) == pytest.approx(np.std(truth), rel=0.15)
    for name in ("holiday: Christmas Day", "holiday: Thanksgiving Day", "holiday: Independence Day"):
        assert fit.specials[name] == pytest.approx(HOLIDAY_EFFECT, abs=0.1), name


def _name(day: pd.Timestamp, special: dict) -> str:
    return next((name for name, days in special.items() if day.date() in days), "")


def test_a_holiday_in_the_horizon_is_forecast_below_an_ordinary_day() -> None:
    series = yearly_series(noise=0.03, sale=False)
    history = series[: pd.Timestamp("2023-11-21")]  # Thanksgiving is the day after tomorrow

    with_holidays = forecast(history, 7, country="US").set_index("ds")["yhat"]
    without = forecast(history, 7).set_index("ds")["yhat"]

    thanksgiving, next_thursday = pd.Timestamp("2023-11-23"), pd.Timestamp("2023-11-30")
    truth = series[thanksgiving] / series[next_thursday]
    assert with_holidays[thanksgiving] / series[next_thursday] == pytest.approx(truth, rel=0.15)
    assert without[thanksgiving] / series[next_thursday] > truth * 1.3  # blind to the day


def test_workspace_events_lift_the_forecast_on_their_days() -> None:
    series = yearly_series(noise=0.03)
    history = series[: pd.Timestamp("2023-11-20")]
    events = sale_events(range(2021, 2024))

    result = forecast(history, 10, events=events).set_index("ds")["yhat"]
    plain = forecast(history, 10).set_index("ds")["yhat"]

    sale = pd.date_range("2023-11-24", "2023-11-26")
    assert (result[sale] / plain[sale]).min() > 1.4  # true lift exp(0.6) = 1.82
    before = pd.date_range("2023-11-21", "2023-11-22")
    assert (result[before] / plain[before]).max() < 1.1


def test_yearly_terms_only_with_a_year_of_history_and_shrunk_below_two() -> None:
    short = yearly_series(years=0.8)
    one = yearly_series(years=1.3)
    three = yearly_series(years=3.0)

    assert forecast(short, 7).attrs["params"]["calendar"]["yearly"] is False
    share_one = forecast(one, 7).attrs["params"]["calendar"]["yearly_share"]
    share_three = forecast(three, 7).attrs["params"]["calendar"]["yearly_share"]
    assert 0 < share_one < share_three


def test_yearly_can_be_turned_off() -> None:
    params = forecast(yearly_series(), 7, yearly=False).attrs["params"]
    assert params["calendar"]["yearly"] is False


def test_the_end_of_a_steep_ramp_is_damped_not_extrapolated() -> None:
    days = pd.date_range("2023-01-01", periods=500, freq="D")
    values = np.full(500, 100.0)
    values[-30:] = 100 + 20 * np.arange(1, 31)  # a launch: +20 a day for the last month (to 700)
    rng = np.random.default_rng(1)
    result = forecast(pd.Series(values + rng.normal(0, 2, 500), index=days), 60)

    assert np.isfinite(result.drop(columns="ds").to_numpy()).all()
    # undamped, the last 60 days would reach 700 + 60 * 20 = 1,900
    assert result["yhat"].iloc[-1] < 1500
    assert result["yhat"].is_monotonic_increasing or result["yhat"].max() < 1500


def test_a_non_negative_series_never_gets_a_negative_forecast_or_band() -> None:
    days = pd.date_range("2023-01-01", periods=400, freq="D")
    rng = np.random.default_rng(2)
    # conversions that fade towards zero, with zero days (so the raw scale is used)
    values = np.maximum(0, np.round(np.linspace(30, 0.5, 400) + rng.normal(0, 3, 400)))
    result = forecast(pd.Series(values, index=days), 30, country="US")

    numbers = result.drop(columns="ds").to_numpy()
    assert (numbers >= 0).all() and np.isfinite(numbers).all()
    assert not result.attrs["log_scale"]


@pytest.mark.parametrize(
    ("values", "expected_warning"),
    [(np.zeros(90), "all zero"), (np.full(90, 42.0), "constant")],
)
def test_zero_and_constant_series_are_forecast_with_a_warning(values: np.ndarray, expected_warning: str) -> None:
    days = pd.date_range("2023-01-01", periods=90, freq="D")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = forecast(pd.Series(values, index=days), 7, country="US")
    assert np.allclose(result["yhat"], values[0])
    assert any(expected_warning in w for w in result.attrs["warnings"])


def test_gaps_are_reported_and_skipped() -> None:
    series = yearly_series(years=1.5).drop(pd.date_range("2022-03-01", "2022-03-09"))
    result = forecast(series, 7, country="US")
    assert np.isfinite(result["yhat"]).all()
    assert result.attrs["warnings"] == ["9 missing period(s) in the history were skipped"]


def test_huge_values_give_finite_numbers_or_a_clear_error() -> None:
    days = pd.date_range("2023-01-01", periods=120, freq="D")
    rng = np.random.default_rng(3)
    positive = pd.Series(1e250 * np.exp(rng.normal(0, 0.1, 120)), index=days)
    result = forecast(positive, 7)
    assert np.isfinite(result.drop(columns="ds").to_numpy()).all()

    mixed = pd.Series(rng.normal(0, 1, 120) * 1e200, index=days)  # raw scale: squares would overflow
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = forecast(mixed, 7)
    numbers = result.drop(columns="ds").to_numpy()
    assert np.isfinite(numbers).all() and np.abs(numbers).max() < 1e202


def test_unknown_country_and_bad_events_are_input_errors() -> None:
    series = yearly_series(years=0.5)
    with pytest.raises(InputError, match="unknown holiday country 'XX'"):
        forecast(series, 7, country="XX")
    with pytest.raises(InputError, match="ends before it starts"):
        forecast(series, 7, events=[Event("sale", dt.date(2021, 3, 5), dt.date(2021, 3, 1))])
    table = pd.DataFrame({"name": ["sale"], "start": ["2021-13-01"]})
    with pytest.raises(InputError, match="data row 1 has an invalid date"):
        read_events(table, "events.csv")


def test_country_holidays_pool_observed_days_and_years() -> None:
    days = country_holidays("US", [2021, 2022])
    assert dt.date(2021, 12, 24) in days["holiday: Christmas Day"]  # observed on the Friday
    assert dt.date(2022, 12, 25) in days["holiday: Christmas Day"]
    assert all(name.startswith("holiday: ") for name in days)


def test_calendar_beats_the_weekly_model_on_data_with_a_year_and_holidays() -> None:
    series = yearly_series(seed=4, noise=0.08)
    grid = series.to_numpy()
    errors = {"calendar": [], "weekly": []}
    for end in pd.date_range("2023-10-01", periods=10, freq="7D"):
        history = series[:end]
        actual = grid[len(history) : len(history) + 7]
        errors["calendar"].append(
            np.abs(forecast(history, 7, country="US", events=sale_events(range(2021, 2024)))["yhat"] - actual).mean()
        )
        errors["weekly"].append(np.abs(forecast(history, 7, yearly=False)["yhat"] - actual).mean())
    assert np.mean(errors["calendar"]) < 0.85 * np.mean(errors["weekly"])
