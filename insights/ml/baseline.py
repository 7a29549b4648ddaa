"""The budget model's baseline: what the outcome would be without media.

A response-curve fit without a baseline lets media spend explain every slow movement of the
outcome: a business that grows and spends more over the years, or one that sells and spends
more every December, shows spend "working" that is really trend or season, and the plan then
moves money to the channel that merely spends at the right time. The reference media-mix
models (Robyn, Meridian, PyMC-Marketing) put trend, yearly seasonality, holidays and the
control columns into a baseline and fit the media effects on top; so does this one.

``baseline_features(dates)`` turns the history's dates into regressors, all centred (so the
intercept stays the average level) and scaled to unit range:

* ``trend`` - linear in time. A piecewise trend (a hinge per year) was tried and left out:
  in the recovery test (bench/budget_recovery.py) its slow bend competed with the smooth
  adstock of high-carry-over channels and took their effect (weekly seeds' worst share at 1x:
  0.25 with hinges and yearly order 3, 0.57 without; same 4 seeds, full run).
* ``year sin k`` / ``year cos k`` - Fourier terms of the year (period 365.25 days), order 2
  (higher orders soaked up media the same way); none with less than a year (a year's shape
  cannot be told from a trend then). From 2 years on also ``trend x year sin/cos 1``. Weekly
  and daily data alike; a year here is 365 days, so 730 days of daily data count as two years.
* ``weekday d`` - day-of-week dummies (Monday the reference), daily data only.
* ``holiday: ...`` / ``event: ...`` - one indicator per named set of days (country holidays
  from ``insights.ml.calendar``, workspace events such as sales). In weekly data a period's
  value is the share of its 7 days that fall on the event.

The budget model treats these columns like controls: free coefficients (the media effects stay
non-negative), so the split of the outcome between baseline and media is estimated jointly.
Pure numpy/pandas: no Django.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from insights.ml.calendar import Event, calendar_days

YEAR_DAYS = 365.25
#: days of history that count as a whole year when deciding which terms a history can carry:
#: 365, not 365.25, so two calendar years of days (730) are two years, as a person counts them
#: (730 / 365.25 = 1.998 once left daily data without the growing season; issue 18 part 4)
_COUNTED_YEAR_DAYS = 365.0
YEAR_ORDER = 2
_MIN_ROWS_PER_COLUMN = 4  # never spend more than a quarter of the rows on baseline terms


def period_days(index: pd.DatetimeIndex) -> float:
    """The typical step of the history in days (1 daily, 7 weekly)."""
    if len(index) < 2:
        return 1.0
    steps = pd.Series(index.sort_values()).diff().dt.total_seconds().to_numpy()[1:] / 86_400.0
    return float(np.median(steps))


def baseline_features(
    index: pd.DatetimeIndex,
    *,
    country: str | None = None,
    events: Sequence[Event] = (),
    media_columns: int = 0,
) -> pd.DataFrame:
    """Baseline regressors for the periods in ``index`` (see module doc), in the index's order.

    ``media_columns`` (channels plus controls) is reserved from the row budget: with few rows
    the least useful terms (the 2nd Fourier order, then events, then weekdays) are left out so
    the fit keeps enough degrees of freedom for the media curves.
    """
    index = pd.DatetimeIndex(index)
    n = len(index)
    if n == 0:
        return pd.DataFrame(index=index)
    step = period_days(index)
    days = (index - index.min()).total_seconds().to_numpy() / 86_400.0
    span = float(days.max()) + step
    columns: dict[str, np.ndarray] = {"trend": days / max(span, 1.0)}
    years = span / _COUNTED_YEAR_DAYS
    seasonal: list[dict[str, np.ndarray]] = []
    if years >= 1.0:
        order = YEAR_ORDER
        angle = 2 * np.pi * days / YEAR_DAYS
        # the 1st order first: when rows are short, higher orders are dropped before it
        for k in range(1, order + 1):
            seasonal.append({f"year sin {k}": np.sin(k * angle), f"year cos {k}": np.cos(k * angle)})
        if years >= 2.0:
            # a business that grows sells more in its season too: the season's amplitude grows
            # with the trend (multiplicative seasonality, to first order)
            # (the first harmonic only: each term more is a column that can soak up media)
            growth = columns["trend"] - columns["trend"].mean()
            seasonal[0]["trend x year sin 1"] = growth * np.sin(angle)
            seasonal[0]["trend x year cos 1"] = growth * np.cos(angle)
    weekdays: dict[str, np.ndarray] = {}
    if step < 1.5:
        dow = index.day_of_week.to_numpy()
        for d, name in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")):
            if d:
                weekdays[f"weekday {name}"] = (dow == d).astype(float)
    special = _special_days(index, step, country=country, events=events)

    budget = max(n // _MIN_ROWS_PER_COLUMN - media_columns - 1, 1)
    chosen = dict(columns)
    for group in [*seasonal[:1], weekdays, special, *seasonal[1:]]:
        if group and len(chosen) + len(group) <= budget:
            chosen.update(group)
    frame = pd.DataFrame(chosen, index=index)
    frame = frame.loc[:, frame.std(ddof=0) > 1e-12]  # a term that never varies adds nothing
    centred = frame - frame.mean()
    spread = centred.abs().max().replace(0.0, 1.0)
    return centred / spread


def _special_days(
    index: pd.DatetimeIndex, step: float, *, country: str | None, events: Sequence[Event]
) -> dict[str, np.ndarray]:
    if not country and not events:
        return {}
    lookup = calendar_days(index, country=country, events=events)
    out: dict[str, np.ndarray] = {}
    width = max(round(step), 1)
    starts = index.normalize()
    for name, days in lookup.items():
        if width == 1:
            hits = np.array([d.date() in days for d in starts], dtype=float)
        else:
            hits = np.array(
                [sum((start + pd.Timedelta(days=j)).date() in days for j in range(width)) / width for start in starts]
            )
        if hits.any():
            out[name] = hits
    return out
