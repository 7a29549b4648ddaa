"""Synthetic series with known answers for the insight-model tests (no Django, no database)."""

from __future__ import annotations

import numpy as np
import pandas as pd

WEEKDAY_FACTOR = np.array([1.0, 1.1, 1.1, 1.05, 1.0, 0.7, 0.6])  # Mon..Sun


def hourly_traffic(days: int = 70, seed: int = 0, noise: float = 0.05) -> pd.Series:
    """Hourly clicks with a daily curve, a weekly pattern and multiplicative noise."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=days * 24, freq="h")
    hour = index.hour.to_numpy()
    daily = 1.0 + 0.8 * np.sin((hour - 6) / 24 * 2 * np.pi)
    weekly = WEEKDAY_FACTOR[index.day_of_week.to_numpy()]
    values = 200.0 * daily * weekly * np.exp(rng.normal(0.0, noise, index.size))
    return pd.Series(values, index=index, name="clicks")


def daily_spend(days: int = 180, seed: int = 1, noise: float = 0.05, level: float = 360.0) -> pd.Series:
    """Daily spend with a weekly pattern and multiplicative noise."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=days, freq="D")
    weekly = WEEKDAY_FACTOR[index.day_of_week.to_numpy()]
    return pd.Series(level * weekly * np.exp(rng.normal(0.0, noise, days)), index=index, name="spend")


def trend_weekly(days: int = 400, seed: int = 2, noise: float = 3.0) -> pd.Series:
    """Additive trend + weekly cycle + Gaussian noise (for forecast tests)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2023-01-01", periods=days, freq="D")
    t = np.arange(days)
    weekly = np.array([0.0, 5.0, 8.0, 6.0, 3.0, -10.0, -12.0])[index.day_of_week.to_numpy()]
    return pd.Series(100.0 + 0.15 * t + weekly + rng.normal(0.0, noise, days), index=index, name="y")
