"""Anomaly detection: injected anomalies are found, clean data stays quiet, scores are causal."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insights.ml.anomaly import detect_anomalies, score_series, severity_of
from insights.ml.errors import InputError
from insights.ml.timeseries import infer_sampling
from tests.insights.ml.synthetic import daily_spend, hourly_traffic


def test_injected_hourly_spike_and_drop_are_found_with_direction(hourly: pd.Series) -> None:
    series = hourly.copy()
    spike, drop = series.index[50 * 24 + 14], series.index[60 * 24 + 10]
    series[spike] *= 3.0
    series[drop] *= 0.2

    findings = detect_anomalies(series, "clicks", min_severity="medium")

    found = findings.set_index("timestamp")
    assert spike in found.index and drop in found.index
    assert found.loc[spike, "direction"] == "up"
    assert found.loc[drop, "direction"] == "down"
    assert found.loc[spike, "severity"] == "high"
    assert found.loc[spike, "expected"] == pytest.approx(hourly[spike], rel=0.2)


def test_clean_seasonal_series_gets_low_scores(hourly: pd.Series) -> None:
    scored = score_series(hourly).iloc[14 * 24 :]  # after two weeks of warm-up

    assert scored["score"].quantile(0.99) < 0.75
    assert (scored["z"] >= 8).sum() == 0
    assert detect_anomalies(hourly, "clicks", min_severity="high").empty


def test_daily_spend_spike_is_explained_for_a_marketer(daily: pd.Series) -> None:
    series = daily.copy()
    day = pd.Timestamp("2024-04-09")  # a Tuesday
    series[day] *= 2.4

    findings = detect_anomalies(series, "spend", currency="€")

    row = findings.set_index("timestamp").loc[day]
    assert re.fullmatch(r"Spend was 2\.\d× the usual for a Tuesday \(expected €\d+–€\d+\)\.", row["explanation"])
    assert row["lower"] < row["expected"] < row["upper"] < row["value"]


def test_drop_in_conversions_reads_as_percentage_below() -> None:
    series = daily_spend(level=40.0, seed=3)
    day = pd.Timestamp("2024-05-02")
    series[day] *= 0.3

    findings = detect_anomalies(series, "conversions")

    sentence = findings.set_index("timestamp").loc[day, "explanation"]
    assert sentence.startswith("Conversions were ") and "% below the usual for a Thursday" in sentence


@pytest.mark.parametrize("cut", [30, 200, 24 * 20 + 7, 24 * 45])
def test_scores_of_a_prefix_equal_scores_of_the_full_series(hourly: pd.Series, cut: int) -> None:
    series = hourly.copy()
    series.iloc[24 * 30] *= 4  # an anomaly in the middle must not change earlier scores either
    full = score_series(series)
    prefix = score_series(series.iloc[:cut])

    for column in ("score", "alert_score", "z", "expected", "lower", "upper"):
        np.testing.assert_array_equal(prefix[column].to_numpy(), full[column].to_numpy()[:cut], err_msg=column)


def test_future_values_do_not_change_past_scores(daily: pd.Series) -> None:
    altered = daily.copy()
    altered.iloc[120:] *= 10.0

    np.testing.assert_array_equal(score_series(daily)["score"].iloc[:120], score_series(altered)["score"].iloc[:120])


def test_level_shift_stops_being_flagged_within_a_week() -> None:
    series = daily_spend(days=200, seed=5)
    series.iloc[120:] *= 1.6

    scored = score_series(series)

    assert scored["z"].iloc[120] >= 5  # the shift itself is news
    assert (scored["z"].iloc[128:] < 4.5).all()  # the new level is normal after a week


def test_missing_days_are_tolerated_and_spike_still_found() -> None:
    series = daily_spend(days=160, seed=7)
    spike = series.index[130]
    series[spike] *= 2.5
    rng = np.random.default_rng(0)
    gaps = rng.choice(np.arange(20, 125), size=15, replace=False)
    with_gaps = series.drop(series.index[gaps])

    scored = score_series(with_gaps)

    assert len(scored) == len(with_gaps)
    assert scored.loc[spike, "z"] >= 5
    assert scored["score"].iloc[40:].drop(spike).quantile(0.95) < 0.8


@pytest.mark.parametrize(
    ("freq", "per_day", "season", "calendar"),
    [("30min", 48, 336, "subdaily"), ("h", 24, 168, "subdaily"), ("D", None, 7, "daily"), ("MS", None, 12, "monthly")],
)
def test_seasonal_period_is_read_from_timestamp_spacing(
    freq: str, per_day: int | None, season: int, calendar: str
) -> None:
    sampling = infer_sampling(pd.date_range("2024-01-01", periods=60, freq=freq))

    assert (sampling.per_day, sampling.season, sampling.calendar) == (per_day, season, calendar)


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=3, max_size=120),
    hourly=st.booleans(),
)
def test_scores_always_lie_in_the_unit_interval(values: list[float], hourly: bool) -> None:
    index = pd.date_range("2024-01-01", periods=len(values), freq="h" if hourly else "D")

    scored = score_series(pd.Series(values, index=index))

    for column in ("score", "alert_score"):
        assert ((scored[column] >= 0) & (scored[column] <= 1)).all()


def test_alert_score_fires_once_per_episode_not_every_point(hourly: pd.Series) -> None:
    series = hourly.copy()
    start = 50 * 24 + 8
    series.iloc[start : start + 6] *= 3.0  # six anomalous hours in a row

    scored = score_series(series)

    assert (scored["score"].iloc[start : start + 6] > 0.9).all()
    assert (scored["alert_score"].iloc[start : start + 6] > 0).sum() <= 2


def test_severity_buckets() -> None:
    assert [severity_of(z) for z in (2.0, 3.5, 6.0, 9.0)] == [None, "low", "medium", "high"]


@pytest.mark.parametrize(
    ("series", "message"),
    [
        (pd.Series([1.0, 2.0, 3.0], index=[1, 2, 3]), "DatetimeIndex"),
        (pd.Series([1.0, np.nan, 3.0], index=pd.date_range("2024-01-01", periods=3)), "non-numeric"),
        (pd.Series([1.0, 2.0], index=pd.date_range("2024-01-01", periods=2)), "at least 3"),
    ],
)
def test_unusable_series_raise_input_error(series: pd.Series, message: str) -> None:
    with pytest.raises(InputError, match=message):
        score_series(series)


def test_hourly_helper_has_expected_shape() -> None:
    assert len(hourly_traffic(days=3)) == 72
