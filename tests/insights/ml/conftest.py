"""Fixtures for the insight-model tests: synthetic series with known answers."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.insights.ml.synthetic import daily_spend, hourly_traffic


@pytest.fixture
def hourly() -> pd.Series:
    return hourly_traffic()


@pytest.fixture
def daily() -> pd.Series:
    return daily_spend()
