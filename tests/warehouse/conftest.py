"""Fixtures for the warehouse tests: a workspace schema to work in, FX rates, raw rows.

Raw rows come three ways: from the platform emulators over real HTTP (`emulated.py`), from the
synthetic generator (many rows, fast), or hand-made in the real wire shapes (bad input).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import Workspace
from warehouse.services import fx
from warehouse.services.landing import RawRow, raw_records_land

SAMPLE_FROM = date(2025, 6, 1)
SAMPLE_CURRENCIES = {"USD", "GBP", "JPY", "SEK", "CHF"}


@pytest.fixture(scope="session")
def sample_rates() -> list[fx.FxRateRow]:
    """The synthetic sample's rates the tests need (fewer rows load faster)."""
    return [
        r
        for r in fx.fx_rates_read(source=str(fx.SAMPLE_FILE))
        if r.date >= SAMPLE_FROM and r.currency in SAMPLE_CURRENCIES
    ]


@pytest.fixture
def workspace(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace("warehouse", reporting_currency="EUR", time_zone="Europe/Berlin")


@pytest.fixture
def in_workspace(workspace: Workspace) -> Iterator[Workspace]:
    with schema_context(workspace.schema_name):
        yield workspace
        # Fire the deferred foreign-key checks of the test's writes now: the schema is dropped
        # inside the same transaction, which PostgreSQL refuses while trigger events are pending.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.fixture
def with_rates(in_workspace: Workspace, sample_rates: list[fx.FxRateRow]) -> Workspace:
    fx.fx_rates_load(rates=sample_rates)
    return in_workspace


@pytest.fixture
def land() -> Callable[..., Any]:
    """land(stream, [(record_key, account_id, date | None, payload), ...], sync_run_id=1)."""

    def do(stream: str, rows: list[tuple[str, str, date | None, dict[str, Any]]], sync_run_id: int = 1) -> Any:
        return raw_records_land(
            stream=stream,
            connection_id=1,
            sync_run_id=sync_run_id,
            rows=[RawRow(record_key=k, account_id=a, date=d, payload=p) for k, a, d, p in rows],
        )

    return do


def google_customer(cid: str, currency: str = "USD", tz: str = "America/New_York") -> tuple[str, str, None, dict]:
    return (
        cid,
        cid,
        None,
        {"customer": {"id": cid, "descriptiveName": f"Customer {cid}", "currencyCode": currency, "timeZone": tz}},
    )


def google_daily(
    cid: str, day: date, campaign: str, ad_group: str, **metrics: Any
) -> tuple[str, str, date, dict[str, Any]]:
    defaults = {
        "costMicros": "1500000",
        "impressions": "100",
        "clicks": "5",
        "conversions": 1.5,
        "conversionsValue": 30.5,
    }
    return (
        f"{cid}|{day}|{campaign}|{ad_group}",
        cid,
        day,
        {
            "campaign": {"id": campaign},
            "adGroup": {"id": ad_group},
            "segments": {"date": day.isoformat()},
            "metrics": {**defaults, **metrics},
        },
    )


def meta_account(account: str, currency: str = "EUR", tz: str = "Europe/Paris") -> tuple[str, str, None, dict]:
    return (
        f"act_{account}",
        f"act_{account}",
        None,
        {
            "id": f"act_{account}",
            "account_id": account,
            "name": f"Meta {account}",
            "currency": currency,
            "timezone_name": tz,
        },
    )


def meta_daily(account: str, day: date, campaign: str, adset: str, **fields: Any) -> tuple[str, str, date, dict]:
    payload = {
        "account_id": account,
        "campaign_id": campaign,
        "adset_id": adset,
        "date_start": day.isoformat(),
        "date_stop": day.isoformat(),
        "spend": "12.34",
        "impressions": "1000",
        "clicks": "20",
        "actions": [
            {"action_type": "link_click", "value": "15"},
            {"action_type": "purchase", "value": "2"},
            {"action_type": "omni_purchase", "value": "2"},
            {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "2"},
        ],
        "action_values": [
            {"action_type": "purchase", "value": "80.50"},
            {"action_type": "omni_purchase", "value": "80.50"},
            {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "80.50"},
        ],
    }
    payload.update(fields)
    return (f"act_{account}|{day}|{campaign}|{adset}", f"act_{account}", day, payload)
