"""Fixtures of the end-to-end browser tests: a small platform emulator whose "today" is today.

The dashboards pick their default range from the workspace's own date, so the emulator serves
data up to today (UTC) instead of a pinned day; a few campaigns and a 70-day backfill keep the
sync to seconds while "last 30 days vs the previous 30" still has both periods.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from devtools.emulators import EmulatorServer, start_emulator_server
from tests.connectors.conftest import EMULATOR_CONFIG, TEST_SETTINGS

BACKFILL_DAYS = 70


def utc_today() -> Any:
    return datetime.now(tz=UTC).date()


@pytest.fixture(scope="session")
def dashboard_emulator_server() -> Iterator[EmulatorServer]:
    config = replace(EMULATOR_CONFIG, today=utc_today())
    server = start_emulator_server(host="127.0.0.1", port=0, config=config)
    yield server
    server.shutdown()


@pytest.fixture
def dashboard_emulator(dashboard_emulator_server: EmulatorServer, settings: Any) -> EmulatorServer:
    """The emulator, reset, with Bosco's connector settings pointing at it."""
    dashboard_emulator_server.state.reset()
    settings.BOSCO_EMULATOR_URL = dashboard_emulator_server.base_url
    for name, value in TEST_SETTINGS.items():
        setattr(settings, name, value)
    settings.CONNECTORS_FIXED_TODAY = utc_today().isoformat()
    settings.CONNECTORS_BACKFILL_DAYS = BACKFILL_DAYS
    return dashboard_emulator_server
