"""Causal, seasonality-aware anomaly detection for marketing metric series.

Method (one pass, vectorised, every quantity at time t uses only data before t except the
value being judged):

1. Put the series on a regular grid and read the cycle from the timestamp spacing: sub-daily
   data has a daily and a weekly cycle, daily data a weekly cycle.
2. Seasonal profile: for each slot ("Tuesdays at 14:00") the median, over the last
   ``weeks`` weeks, of how far that slot sat above or below the level of its own week. The
   median ignores one odd week (a holiday last Tuesday does not distort this Tuesday), and
   measuring each week against its own level keeps past level shifts out of the profile.
   While fewer than two weeks exist the daily cycle is used, before that none.
3. Level: the median of the de-seasonalised values over the last day (sub-daily data) or
   week (daily data). A lasting level shift is therefore absorbed within about half that
   window instead of being flagged for weeks.
4. Residuals are log-ratios for non-negative metrics (a 40% drop means the same at 3 am and
   at 7 pm) and plain differences otherwise. Their spread is a robust (inter-quartile)
   scale over the last four weeks (eight for daily data); for sub-daily data it is shrunk
   half-way (geometric mean) towards the spread of the same time of day over the last 28
   days, because nights are noisier than afternoons.
5. ``z`` = |residual| / spread; ``score`` = 1 - 1/(1 + (z/2.5)^3) maps it to [0, 1]
   without saturating, so large anomalies still rank above smaller ones.
6. ``alert_score`` (what the CLI writes) is ``score`` when the deviation is at least 10%
   larger than anything seen in the previous day, else 0: one anomaly episode raises one
   alert (and a new one only when it gets clearly worse) instead of one per data point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from insights.ml.errors import InputError
from insights.ml.timeseries import Sampling, infer_sampling, regular_grid

MODEL_VERSION = "anomaly-seasonal-median/1"

Severity = Literal["low", "medium", "high"]
#: the units of a metric catalogue (money in the currency, counts, a ratio as 3.2, a percent as 1.25)
Unit = Literal["money", "count", "ratio", "percent"]
SEVERITY_Z: dict[Severity, float] = {"low": 3.0, "medium": 5.0, "high": 8.0}
"""Deviation (in robust standard deviations) at which each severity starts."""

_SCORE_Z0 = 2.5
_SCORE_POWER = 3.0
_REALERT_RATIO = 1.1
_SHRINK_TO_SLOT = 0.5

MONEY_METRICS = frozenset({"spend", "cost", "cpc", "cpm", "cpa", "revenue", "conversion_value", "aov"})
COUNT_METRICS = frozenset({"clicks", "impressions", "conversions", "sessions", "orders", "reach"})
RATE_METRICS = frozenset({"ctr", "cvr", "conversion_rate"})
RATIO_METRICS = frozenset({"roas", "mer"})


@dataclass(frozen=True)
class _Windows:
    """Window lengths in grid points, derived from the sampling."""

    season: int | None  # lag of "same slot last cycle" (a week for hourly/daily data)
    per_day: int | None  # points per day for sub-daily data
    level: int
    scale: int
    slot_days: int


def _windows(sampling: Sampling, weeks: int) -> _Windows:
    if sampling.per_day is not None:
        return _Windows(sampling.season, sampling.per_day, sampling.per_day, 4 * 7 * sampling.per_day, 28)
    if sampling.calendar == "daily":
        return _Windows(7, None, 7, 56, 0)
    season = sampling.season
    return _Windows(season, None, max(3, (season or 8) // 2), max(12, 2 * (season or 8)), 0)


def _lag(x: np.ndarray, lag: int) -> np.ndarray:
    out = np.full(x.shape, np.nan)
    if 0 < lag < x.size:
        out[lag:] = x[:-lag]
    return out


def _past(values: np.ndarray, window: int, stat: str, min_periods: int | None = None) -> np.ndarray:
    """Rolling statistic over the ``window`` points strictly before each point (causal)."""
    rolling = pd.Series(values).shift(1).rolling(window, min_periods=min_periods or max(2, window // 4))
    if stat == "median":
        return rolling.median().to_numpy()
    if stat == "mean":
        return rolling.mean().to_numpy()
    if stat == "max":
        return rolling.max().to_numpy()
    if stat == "iqr":
        return (rolling.quantile(0.75) - rolling.quantile(0.25)).to_numpy()
    raise ValueError(stat)


def _same_slot_iqr(values: np.ndarray, per_day: int, days: int) -> np.ndarray:
    """IQR of the same time of day over the previous ``days`` days (NaN with < 7 of them)."""
    n = values.size
    rows = -(-n // per_day)
    padded = np.full(rows * per_day, np.nan)
    padded[:n] = values
    by_day = pd.DataFrame(padded.reshape(rows, per_day)).shift(1).rolling(days, min_periods=7)
    iqr = (by_day.quantile(0.75) - by_day.quantile(0.25)).to_numpy().reshape(-1)
    return iqr[:n]


def _nanmedian_rows(stack: np.ndarray, min_count: int) -> np.ndarray:
    count = np.sum(~np.isnan(stack), axis=0)
    out = np.full(stack.shape[1], np.nan)
    ok = count >= min_count
    if ok.any():
        out[ok] = np.nanmedian(stack[:, ok], axis=0)
    return out


def _seasonal_profile(u: np.ndarray, win: _Windows, weeks: int) -> np.ndarray:
    """Seasonal offset of each slot: median over past cycles of (value - that cycle's level).

    Each past value is measured against the level of its own time (the median of the cycle
    before it), so a level shift in the history does not leak into the profile; the median
    over ``weeks`` cycles ignores one odd week. Falls back to the daily cycle while fewer
    than two weekly cycles exist, and to no seasonality (0) before that.
    """
    profile = np.full(u.size, np.nan)
    cycles = [(win.season, weeks)] if win.season else []
    if win.per_day:
        cycles.append((win.per_day, 7))
    for cycle, count in cycles:
        own_level = _past(u, cycle, "median", max(2, cycle // 2))
        relative = u - own_level
        estimate = _nanmedian_rows(np.vstack([_lag(relative, k * cycle) for k in range(1, count + 1)]), 2)
        profile = np.where(np.isnan(profile), estimate, profile)
    return np.nan_to_num(profile, nan=0.0)


def z_to_score(z: np.ndarray) -> np.ndarray:
    """Map a robust deviation z >= 0 to [0, 1): 3 -> 0.63, 5 -> 0.89, 8 -> 0.97, 20 -> 0.998."""
    z = np.nan_to_num(np.asarray(z, dtype=float), nan=0.0)
    return 1.0 - 1.0 / (1.0 + (np.maximum(z, 0.0) / _SCORE_Z0) ** _SCORE_POWER)


def _alert(z: np.ndarray, window: int) -> np.ndarray:
    """Score only deviations clearly larger than the worst of the last ``window`` points."""
    z = np.nan_to_num(z, nan=0.0)
    recent_worst = np.nan_to_num(_past(z, window, "max", 1), nan=0.0)
    return np.where(z > _REALERT_RATIO * recent_worst, z_to_score(z), 0.0)


def score_series(
    series: pd.Series,
    *,
    multiplicative: bool | None = None,
    weeks: int = 4,
    floor: float = 0.0,
    band_z: float = SEVERITY_Z["low"],
) -> pd.DataFrame:
    """Score every point of ``series`` (DatetimeIndex -> value) causally.

    Returns a frame indexed like the input (sorted) with columns ``value, expected, lower,
    upper, z, direction, score, alert_score``. ``lower``/``upper`` is the range within which
    the value would not have counted as anomalous (``band_z`` robust deviations).
    ``multiplicative`` defaults to True when no value is negative; ``floor`` is the smallest
    meaningful amount of the metric (1 for counts) and keeps ratios of tiny numbers sane.
    Points in the warm-up (not enough history) get score 0 and NaN expectations.
    """
    series = _clean_series(series)
    sampling = infer_sampling(pd.DatetimeIndex(series.index))
    grid, positions = regular_grid(series, sampling)
    x = grid.to_numpy(dtype=float)
    if multiplicative is None:
        multiplicative = bool(np.nanmin(x) >= 0)
    win = _windows(sampling, weeks)

    if multiplicative:
        trailing_abs = np.abs(x)
        offset = (
            0.05 * np.nan_to_num(_past(trailing_abs, win.scale, "median", 1))
            + 0.05 * np.nan_to_num(_past(trailing_abs, win.scale, "mean", 1))
            + max(floor, 0.0)
            + 1e-9
        )
        transformed = np.log(np.maximum(x, 0.0) + offset)
    else:
        offset = np.zeros_like(x)
        transformed = x

    profile = _seasonal_profile(transformed, win, weeks)
    level = _past(transformed - profile, win.level, "median", max(2, win.level // 2))
    resid = transformed - (level + profile)
    centre = np.nan_to_num(_past(resid, win.scale, "median"), nan=0.0)
    spread = _past(resid, win.scale, "iqr") / 1.349
    if win.per_day:
        slot_spread = _same_slot_iqr(resid, win.per_day, win.slot_days) / 1.349
        usable = np.isfinite(slot_spread) & (slot_spread > 0) & (spread > 0)
        spread = np.where(
            usable,
            np.exp(
                _SHRINK_TO_SLOT * np.log(np.where(usable, slot_spread, 1.0))
                + (1 - _SHRINK_TO_SLOT) * np.log(np.where(usable, spread, 1.0))
            ),
            spread,
        )
    spread = np.maximum(spread, 1e-6 if multiplicative else 1e-9 * np.nan_to_num(np.nanmax(np.abs(x)), nan=1.0))

    deviation = resid - centre
    z = np.abs(deviation) / spread
    centre_t = level + profile + centre
    if multiplicative:
        expected = np.exp(centre_t) - offset
        lower = np.maximum(np.exp(centre_t - band_z * spread) - offset, 0.0)
        upper = np.exp(centre_t + band_z * spread) - offset
        expected = np.maximum(expected, 0.0)
    else:
        expected, lower, upper = centre_t, centre_t - band_z * spread, centre_t + band_z * spread

    alert = _alert(z, win.per_day or win.level)
    frame = pd.DataFrame(
        {
            "value": x,
            "expected": expected,
            "lower": lower,
            "upper": upper,
            "z": np.nan_to_num(z, nan=0.0),
            "direction": np.where(deviation >= 0, "up", "down"),
            "score": z_to_score(z),
            "alert_score": alert,
        },
        index=grid.index,
    )
    observed = frame.iloc[positions]
    observed.index = pd.DatetimeIndex(series.index, name="timestamp")
    observed.attrs["model_version"] = MODEL_VERSION
    return observed


def _clean_series(series: pd.Series) -> pd.Series:
    if not isinstance(series.index, pd.DatetimeIndex):
        raise InputError("the series needs a DatetimeIndex of timestamps")
    if series.index.hasnans:
        raise InputError("the series has missing timestamps")
    values = pd.to_numeric(series, errors="coerce")
    if values.isna().any():
        raise InputError("the series has missing or non-numeric values")
    if not np.isfinite(values.to_numpy(dtype=float)).all():
        raise InputError("the series has infinite values")
    if series.index.has_duplicates:
        raise InputError("the series has duplicate timestamps")
    if len(values) < 3:
        raise InputError("need at least 3 points to score a series")
    return values.astype(float).sort_index()


def severity_of(z: float) -> Severity | None:
    """Severity bucket of a robust deviation, None below the lowest level."""
    found: Severity | None = None
    for name, threshold in SEVERITY_Z.items():
        if z >= threshold:
            found = name
    return found


def detect_anomalies(
    series: pd.Series,
    metric: str,
    *,
    min_severity: Severity = "low",
    currency: str = "€",
    weeks: int = 4,
    label: str | None = None,
    unit: Unit | None = None,
) -> pd.DataFrame:
    """Product API: the anomalous points of one metric series, with severity and explanation.

    ``series`` maps timestamps (daily or hourly, gaps allowed) to the metric's value;
    ``metric`` (spend, clicks, cpc, cpm, conversions, roas, ...) decides formatting and the
    smallest meaningful amount. A caller with a metric catalogue of its own (Bosco's
    `warehouse.metrics`) passes the metric's ``label`` and ``unit``, which then word and format
    the explanation instead of this module's guesses from the name. Returns one row per anomalous point with columns
    ``timestamp, metric, value, expected, lower, upper, score, z, severity, direction,
    explanation, model_version`` (empty frame when nothing is anomalous). Causal: a
    finding at time t would have been raised identically at time t.
    """
    name = metric.strip().lower()
    floor = 1.0 if _unit_of(name, unit) == "count" else 0.0
    scored = score_series(series, weeks=weeks, floor=floor, multiplicative=None)
    sampling = infer_sampling(pd.DatetimeIndex(scored.index))
    threshold = SEVERITY_Z[min_severity]
    hits = scored[scored["z"] >= threshold]
    columns = [
        "timestamp",
        "metric",
        "value",
        "expected",
        "lower",
        "upper",
        "score",
        "z",
        "severity",
        "direction",
        "explanation",
        "model_version",
    ]
    rows = []
    for timestamp, row in hits.iterrows():
        ts = pd.Timestamp(timestamp)
        rows.append(
            {
                "timestamp": ts,
                "metric": name,
                "value": row["value"],
                "expected": row["expected"],
                "lower": row["lower"],
                "upper": row["upper"],
                "score": row["score"],
                "z": row["z"],
                "severity": severity_of(float(row["z"])),
                "direction": row["direction"],
                "explanation": explain(
                    name,
                    value=float(row["value"]),
                    expected=float(row["expected"]),
                    lower=float(row["lower"]),
                    upper=float(row["upper"]),
                    when=ts,
                    sampling=sampling,
                    currency=currency,
                    label=label,
                    unit=unit,
                ),
                "model_version": MODEL_VERSION,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _unit_of(metric: str, unit: Unit | None) -> Unit | Literal["rate"] | None:
    """The unit given by the caller, else guessed from the name ("rate": a fraction shown as %)."""
    if unit is not None:
        return unit
    if metric in MONEY_METRICS:
        return "money"
    if metric in COUNT_METRICS:
        return "count"
    if metric in RATE_METRICS:
        return "rate"
    if metric in RATIO_METRICS:
        return "ratio"
    return None


def format_amount(metric: str, value: float, currency: str = "€", *, unit: Unit | None = None) -> str:
    """Format a metric value the way a marketer reads it (money, counts, rates, ratios)."""
    if not np.isfinite(value):
        return "n/a"
    kind = _unit_of(metric, unit)
    if kind == "money":
        return f"{currency}{value:,.0f}" if abs(value) >= 100 else f"{currency}{value:,.2f}"
    if kind == "count":
        return f"{value:,.0f}" if abs(value) >= 10 or float(value).is_integer() else f"{value:,.1f}"
    if kind == "rate":
        return f"{100 * value:.2f}%"
    if kind == "percent":  # already in percent (CTR as 1.25)
        return f"{value:.2f}%"
    if kind == "ratio":
        return f"{value:.2f}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def _slot_phrase(when: pd.Timestamp, sampling: Sampling) -> str:
    if sampling.per_day is not None:
        return f"for a {when.day_name()} at {when:%H:%M}"
    if sampling.calendar == "daily":
        return f"for a {when.day_name()}"
    if sampling.calendar == "monthly":
        return f"for {when.month_name()}"
    return "for this time"


def explain(
    metric: str,
    *,
    value: float,
    expected: float,
    lower: float,
    upper: float,
    when: pd.Timestamp,
    sampling: Sampling,
    currency: str = "€",
    label: str | None = None,
    unit: Unit | None = None,
) -> str:
    """One sentence a marketer understands, e.g. "Spend was 2.4x the usual for a Tuesday
    (expected EUR 310-420)." (rendered with the multiplication sign and an en dash)."""
    if label is None:
        label = {"cpc": "CPC", "cpm": "CPM", "cpa": "CPA", "roas": "ROAS", "ctr": "CTR", "mer": "MER"}.get(
            metric, metric.replace("_", " ").capitalize()
        )
    verb = "were" if label.endswith("s") and _unit_of(metric, unit) != "ratio" else "was"

    def amount(number: float) -> str:
        return format_amount(metric, number, currency, unit=unit)

    # the en dash and the multiplication sign below are deliberate: this text is shown to people
    fmt_range = f"expected {amount(lower)}–{amount(upper)}"
    slot = _slot_phrase(when, sampling)
    if not np.isfinite(expected) or expected <= 0:
        return f"{label} {verb} {amount(value)}, unusual {slot} ({fmt_range})."
    ratio = value / expected
    if ratio >= 1.5:
        change = f"{ratio:.1f}× the usual"
    elif ratio >= 1:
        change = f"{100 * (ratio - 1):.0f}% above the usual"
    else:
        change = f"{100 * (1 - ratio):.0f}% below the usual"
    return f"{label} {verb} {change} {slot} ({fmt_range})."
