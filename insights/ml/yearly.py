"""The calendar part of a daily forecast: yearly cycle, holidays and events.

A penalised robust regression on the (log or raw) daily values:

    y_t = trend_t + weekly_t + yearly_t + sum_k holiday_k(t) + sum_e event_e(t) + noise

* trend: piecewise linear with up to 25 changepoints spread over the first 80% of the
  history, each slope change shrunk towards zero (ridge), so the trend bends only where
  the data insist (as Prophet's changepoints do, with a Gaussian instead of a Laplace prior);
* weekly: Fourier terms of order 3;
* yearly: Fourier terms of order 10 (period 365.25 days), only with at least one year of
  history, and shrunk much harder with less than two years (one year of data cannot tell a
  yearly cycle from a one-off);
* holidays and events: one indicator per name (the same holiday in every year shares its
  effect), shrunk towards zero, learned only if the name occurs in the history.

Robustness: Huber weights from iteratively reweighted least squares, so spikes and outages
do not bend the yearly curve. Penalties are prior standard deviations in units of the
series' robust spread, so the same defaults fit page views and revenue.

``forecasting.forecast`` removes the yearly, holiday and event parts (``CalendarFit.effect``)
before its damped Holt-Winters filter follows the level, trend and week, and adds them back
for the forecast dates. Trend and week stay with the filter, which adapts to recent data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

YEAR = 365.25
YEARLY_ORDER = 10
WEEKLY_ORDER = 3
MAX_CHANGEPOINTS = 25
# prior standard deviations, in units of the series' robust spread
PRIOR_YEARLY_FULL = 0.3  # two years or more
PRIOR_YEARLY_SHORT = 0.05  # one to two years: shrink hard
PRIOR_WEEKLY = 1.0
PRIOR_SPECIAL = 1.0
PRIOR_CHANGEPOINT = 0.5
HUBER_K = 2.0
MIN_YEARLY_DAYS = 365


@dataclass
class CalendarFit:
    """The fitted calendar effects; ``effect(dates)`` is what to remove/add back."""

    start: pd.Timestamp
    yearly: np.ndarray | None  # Fourier coefficients (sin, cos pairs), or None
    specials: dict[str, float] = field(default_factory=dict)  # name -> effect
    special_days: Mapping[str, set[dt.date]] = field(default_factory=dict)
    yearly_share: float = 0.0  # variance of the yearly part / variance of the series
    # the whole regression, for a regression-only forecast
    center: float = 0.0
    spread: float = 1.0
    span: float = 1.0
    changepoints: np.ndarray = field(default_factory=lambda: np.zeros(0))
    trend_week: np.ndarray = field(default_factory=lambda: np.zeros(0))  # intercept, slope, deltas, weekly
    sigma: float = 0.0  # robust residual spread (series units)

    def regression(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """The full regression (trend + week + calendar) at ``dates``, in series units."""
        t = _days_since(dates, self.start)
        cols = [np.ones(t.size), t / self.span]
        cols.extend(np.maximum(t - cp, 0.0) / self.span for cp in self.changepoints)
        cols.extend(_fourier(t, 7.0, WEEKLY_ORDER).T)
        base = np.column_stack(cols) @ self.trend_week
        return self.center + self.spread * base + self.effect(dates)

    def effect(self, dates: pd.DatetimeIndex) -> np.ndarray:
        out = np.zeros(len(dates))
        if self.yearly is not None:
            out += _fourier(_days_since(dates, self.start), YEAR, YEARLY_ORDER) @ self.yearly
        if self.specials:
            days = [d.date() for d in dates]
            for name, value in self.specials.items():
                members = self.special_days[name]
                out += value * np.fromiter((d in members for d in days), dtype=float, count=len(days))
        return out

    def describe(self) -> dict[str, object]:
        """JSON-friendly summary for the model registry."""
        top = sorted(self.specials.items(), key=lambda kv: -abs(kv[1]))[:8]
        return {
            "yearly": self.yearly is not None,
            "yearly_share": round(float(self.yearly_share), 4),
            "special_days": {k: round(float(v), 4) for k, v in top},
        }


def _days_since(dates: pd.DatetimeIndex, start: pd.Timestamp) -> np.ndarray:
    return ((dates - start) / pd.Timedelta(days=1)).to_numpy(dtype=float)


def _fourier(days: np.ndarray, period: float, order: int) -> np.ndarray:
    angle = 2 * np.pi * np.outer(days, np.arange(1, order + 1)) / period
    out = np.empty((days.size, 2 * order))
    out[:, 0::2] = np.sin(angle)
    out[:, 1::2] = np.cos(angle)
    return out


def fit_calendar(
    values: np.ndarray,
    dates: pd.DatetimeIndex,
    special_days: Mapping[str, set[dt.date]] | None = None,
    *,
    yearly: bool | None = None,
    always: bool = False,
) -> CalendarFit | None:
    """Fit the regression on a daily grid (NaN = missing day); None if there is nothing to fit.

    ``yearly``: None decides from the history length (at least a year), False never.
    """
    special_days = special_days or {}
    observed = np.isfinite(values)
    y = values[observed]
    when = dates[observed]
    start = dates[0]
    span = float((when[-1] - when[0]) / pd.Timedelta(days=1)) + 1 if y.size else 0.0
    use_yearly = (span >= MIN_YEARLY_DAYS) if yearly is None else (bool(yearly) and span >= MIN_YEARLY_DAYS)
    history_days = {d.date() for d in when}
    names = [n for n, days in special_days.items() if days & history_days]
    if (not use_yearly and not names and not always) or y.size < 28:
        return None

    center = float(np.median(y))
    spread = float(np.median(np.abs(np.diff(y)))) * 1.4826 / np.sqrt(2) if y.size > 2 else 0.0
    spread = spread if spread > 0 else float(np.std(y)) or 1.0
    z = (y - center) / spread

    t = _days_since(when, start)
    columns: list[np.ndarray] = [np.ones(y.size), t / max(span, 1.0)]
    prior: list[float] = [np.inf, np.inf]
    # trend changepoints over the first 80% of the history
    count = int(min(MAX_CHANGEPOINTS, max(0, span // 30)))
    changepoints = np.linspace(0, 0.8 * span, count + 2)[1:-1] if count else np.zeros(0)
    if count:
        for cp in changepoints:
            columns.append(np.maximum(t - cp, 0.0) / max(span, 1.0))
            prior.append(PRIOR_CHANGEPOINT)
    weekly = _fourier(t, 7.0, WEEKLY_ORDER)
    columns.extend(weekly.T)
    prior.extend([PRIOR_WEEKLY] * weekly.shape[1])
    yearly_cols = slice(0, 0)
    if use_yearly:
        fy = _fourier(t, YEAR, YEARLY_ORDER)
        first = len(columns)
        columns.extend(fy.T)
        shrink = PRIOR_YEARLY_FULL if span >= 2 * MIN_YEARLY_DAYS else PRIOR_YEARLY_SHORT
        prior.extend([shrink] * fy.shape[1])
        yearly_cols = slice(first, first + fy.shape[1])
    special_first = len(columns)
    day_list = [d.date() for d in when]
    for name in names:
        members = special_days[name]
        columns.append(np.fromiter((d in members for d in day_list), dtype=float, count=len(day_list)))
        prior.append(PRIOR_SPECIAL)
    design = np.column_stack(columns)
    prior_arr = np.asarray(prior)

    weights = np.ones(y.size)
    sigma = 1.0
    beta = np.zeros(design.shape[1])
    for _ in range(4):
        penalty = np.where(
            np.isfinite(prior_arr),
            sigma**2 / np.square(prior_arr, where=np.isfinite(prior_arr), out=np.ones_like(prior_arr)),
            0.0,
        )
        penalty[:2] = 1e-9 * y.size  # intercept and slope: unpenalised (tiny ridge for stability)
        gram = design.T @ (design * weights[:, None]) + np.diag(penalty)
        try:
            beta = np.linalg.solve(gram, design.T @ (weights * z))
        except np.linalg.LinAlgError:
            beta = np.linalg.lstsq(gram, design.T @ (weights * z), rcond=None)[0]
        resid = z - design @ beta
        sigma = float(np.median(np.abs(resid)) * 1.4826) or 1e-6
        scaled = np.abs(resid) / (HUBER_K * sigma)
        weights = np.where(scaled <= 1.0, 1.0, 1.0 / np.maximum(scaled, 1e-12))

    yearly_coef = beta[yearly_cols] * spread if use_yearly else None
    specials = {name: float(beta[special_first + i] * spread) for i, name in enumerate(names)}
    fit = CalendarFit(
        start=start,
        yearly=yearly_coef,
        specials=specials,
        special_days=dict(special_days),
        center=center,
        spread=spread,
        span=max(span, 1.0),
        changepoints=changepoints,
        trend_week=beta[: 2 + count + 2 * WEEKLY_ORDER],
        sigma=sigma * spread,
    )
    if yearly_coef is not None:
        part = design[:, yearly_cols] @ beta[yearly_cols]
        fit.yearly_share = float(np.var(part) / max(np.var(z), 1e-12))
    return fit
