"""Shared time-series plumbing: sampling interval, seasonal periods and a regular grid.

The models work on arrays on a regular grid (missing periods are NaN) because that makes
"the same hour last week" a fixed lag. Everything here is derived from the timestamps
alone, never from the values, so it cannot leak future information into a causal model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from insights.ml.errors import InputError

DAY = pd.Timedelta(days=1)
WEEK = pd.Timedelta(days=7)


@dataclass(frozen=True)
class Sampling:
    """How a series is sampled and which seasonal cycles that implies.

    ``per_day`` is the number of points per day for sub-daily data (None otherwise);
    ``season`` is the main cycle in points (a week for hourly/daily data, a year for
    monthly data) or None when no cycle applies.
    """

    step: pd.Timedelta
    freq: str | None
    per_day: int | None
    season: int | None
    calendar: str  # "subdaily", "daily", "weekly", "monthly", "irregular"


def _median_step(index: pd.DatetimeIndex) -> pd.Timedelta:
    diffs = np.diff(index.as_unit("ns").asi8)
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        raise InputError("need at least two distinct timestamps")
    return pd.Timedelta(int(np.median(diffs)), unit="ns")


def infer_sampling(index: pd.DatetimeIndex) -> Sampling:
    """Infer the sampling interval and seasonal cycle from timestamp spacing.

    Marketing metrics come hourly (or in 15/30-minute buckets), daily, weekly or monthly;
    the cycle that matters is the week for all sub-weekly data and the year for monthly
    data. Spacing that divides no day evenly gets no cycle.
    """
    step = _median_step(index)
    if step < DAY:
        per_day = DAY / step
        if abs(per_day - round(per_day)) < 1e-9 and round(per_day) >= 2:
            n = round(per_day)
            return Sampling(step, pd.tseries.frequencies.to_offset(step).freqstr, n, 7 * n, "subdaily")
        return Sampling(step, None, None, None, "irregular")
    if step == DAY:
        return Sampling(step, "D", None, 7, "daily")
    if step == WEEK:
        return Sampling(step, "W", None, 52, "weekly")
    if pd.Timedelta(days=27) <= step <= pd.Timedelta(days=32):
        freq = "MS" if bool((index.day == 1).all()) else "ME"
        return Sampling(step, freq, None, 12, "monthly")
    return Sampling(step, None, None, None, "irregular")


def regular_grid(series: pd.Series, sampling: Sampling) -> tuple[pd.Series, np.ndarray]:
    """Put ``series`` on a regular grid from its first to last timestamp (gaps become NaN).

    Returns the grid series and, for each input row, its position on the grid. Timestamps
    slightly off the grid are snapped to the nearest grid point; if two land on the same
    point they are averaged, because a doubled bucket (e.g. at a clock change) is one
    observation of that period, not two.
    """
    if series.empty:
        raise InputError("the series is empty")
    index = pd.DatetimeIndex(series.index)
    if sampling.calendar == "monthly":
        periods = index.to_period("M")
        grid = pd.period_range(periods.min(), periods.max(), freq="M")
        values = pd.Series(series.to_numpy(dtype=float), index=periods).groupby(level=0).mean()
        out = values.reindex(grid)
        stamps = grid.to_timestamp(how="start") if sampling.freq == "MS" else grid.to_timestamp(how="end").normalize()
        positions = np.asarray((periods - grid[0]).map(lambda offset: offset.n), dtype=np.int64)
        return pd.Series(out.to_numpy(), index=stamps, name=series.name), positions
    index = index.as_unit("ns")
    origin = index[0]
    step_ns = sampling.step.value
    slots = np.rint((index.asi8 - origin.value) / step_ns).astype(np.int64)
    values = pd.Series(series.to_numpy(dtype=float)).groupby(slots).mean()
    n = int(slots.max()) + 1
    grid_values = np.full(n, np.nan)
    grid_values[values.index.to_numpy()] = values.to_numpy()
    stamps = pd.DatetimeIndex(origin.value + np.arange(n) * step_ns).tz_localize(None)
    if index.tz is not None:
        stamps = stamps.tz_localize("UTC").tz_convert(index.tz)
    return pd.Series(grid_values, index=stamps, name=series.name), slots
