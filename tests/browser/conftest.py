"""Fixtures of the end-to-end browser tests: a small platform emulator whose "today" is today.

The dashboards pick their default range from the workspace's own date, so the emulator serves
data up to today (UTC) instead of a pinned day; a few campaigns and a 70-day backfill keep the
sync to seconds while "last 30 days vs the previous 30" still has both periods.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from connectors.models import SyncRun
from devtools.emulators import EmulatorServer, start_emulator_server
from tests.connectors.conftest import EMULATOR_CONFIG, GOOGLE_EUR, GOOGLE_USD, TEST_SETTINGS
from warehouse.models import TransformRun

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


def connect_google_ads_and_wait_for_the_warehouse(page: Any, workspace: Any) -> Any:
    """From the Data sources page: connect Google Ads on the (emulated) consent page, choose both
    accounts, wait for the worker's backfill and for the warehouse to transform it; the SyncRun."""
    page.click("#connect-google_ads")
    page.wait_for_url(re.compile(r".*/google/o/oauth2/v2/auth\?.*"))
    page.click("#allow")
    page.wait_for_url(re.compile(r".*/data-sources/\d+/accounts/"))
    page.check(f"#account-{GOOGLE_EUR}")
    page.check(f"#account-{GOOGLE_USD}")
    page.click("#save-accounts")
    page.wait_for_url(re.compile(r".*/data-sources/$"))
    with schema_context(workspace.schema_name):
        run = SyncRun.objects.get()
    expect(page.locator(f"#run-{run.pk}")).to_have_attribute("data-status", "succeeded", timeout=90_000)
    with schema_context(workspace.schema_name):
        for _ in range(120):  # the worker's hand-off: the warehouse transforms the landed window
            if TransformRun.objects.filter(status="success", sync_run_id=run.pk).exists():
                break
            page.wait_for_timeout(500)
        else:
            pytest.fail("the warehouse did not transform the backfill")
    return run
