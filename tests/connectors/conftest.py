"""Fixtures for connector tests: the platform emulators over real HTTP, workspaces, connections, chromium.

- One emulator server per session (small, deterministic world, pinned "today"); each test gets it
  reset and Bosco's settings pointed at it, with tiny backoff so fault tests stay fast.
- `tenant` activates a fresh workspace schema for service-level tests in the test thread.
- `connect` creates a connection the way the OAuth callback would, from tokens the emulator mints.
- `through_shared_callback` is the browser's hop from the platform to the public site's shared
  OAuth callback and on to the workspace's own callback.
- The browser test uses the project-wide `web` fixture (tests/conftest.py: Debian's chromium).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest
from django.db import connection as db

from devtools.emulators import AccountSpec, EmulatorConfig, EmulatorServer, start_emulator_server
from tests.conftest import PASSWORD, committed_setup_guard

TODAY = date(2026, 11, 20)
GOOGLE_EUR = "1234567890"  # Europe/Berlin
GOOGLE_USD = "2345678901"  # America/New_York
META_USD = "1010203040506071"  # America/Los_Angeles
META_JPY = "1030405060708093"  # Asia/Tokyo
TIKTOK_USD = "7301000000000000011"  # America/New_York
TIKTOK_EUR = "7302000000000000022"  # Europe/Berlin
GA4_USD = "412345678"  # GA4 property, America/New_York

EMULATOR_CONFIG = EmulatorConfig(
    seed=11,
    today=TODAY,
    campaigns_per_account=3,
    ad_groups_per_campaign_min=1,
    ad_groups_per_campaign_max=2,
    google_page_size=40,
    google_accounts=(
        AccountSpec(GOOGLE_EUR, "Bosco Demo DE", "EUR", "Europe/Berlin", "DE"),
        AccountSpec(GOOGLE_USD, "Bosco Demo US", "USD", "America/New_York", "US"),
    ),
    meta_accounts=(
        AccountSpec(META_USD, "Bosco Demo US", "USD", "America/Los_Angeles", "US"),
        AccountSpec(META_JPY, "Bosco デモ JP", "JPY", "Asia/Tokyo", "JP"),
    ),
    tiktok_accounts=(
        AccountSpec(TIKTOK_USD, "Bosco Demo US", "USD", "America/New_York", "US"),
        AccountSpec(TIKTOK_EUR, "Bosco Demo DE", "EUR", "Europe/Berlin", "DE"),
    ),
    meta_async_polls_to_complete=2,
)

# Bosco settings for every connector test: small chunks and pages, fast backoff, pinned today.
TEST_SETTINGS: dict[str, Any] = {
    "CONNECTORS_FIXED_TODAY": TODAY.isoformat(),
    "CONNECTORS_BACKFILL_DAYS": 60,
    "CONNECTORS_CHUNK_DAYS": {"google_ads": 20, "meta": 20, "tiktok": 20, "ga4": 20},
    "CONNECTORS_TIKTOK_PAGE_SIZE": 40,
    "CONNECTORS_BACKOFF_BASE": 0.01,
    "CONNECTORS_BACKOFF_MAX": 0.05,
    "CONNECTORS_MAX_ATTEMPTS": 4,
    "CONNECTORS_MAX_INLINE_WAIT": 5.0,
    "CONNECTORS_META_POLL_INTERVAL": 0.01,
    "CONNECTORS_META_PAGE_LIMIT": 40,
    "CONNECTORS_HTTP_TIMEOUT": 5.0,
    "GOOGLE_OAUTH_AUTHORIZE_URL": "",
    "GOOGLE_OAUTH_TOKEN_URL": "",
    "GOOGLE_OAUTH_REVOKE_URL": "",
    "GOOGLE_ADS_API_URL": "",
    "META_OAUTH_DIALOG_URL": "",
    "META_GRAPH_URL": "",
    "TIKTOK_OAUTH_AUTHORIZE_URL": "",
    "TIKTOK_API_URL": "",
    "GA4_ADMIN_API_URL": "",
    "GA4_DATA_API_URL": "",
    "CONNECTORS_GA4_PAGE_SIZE": 120,
    "TIKTOK_APP_ID": EMULATOR_CONFIG.tiktok_app_id,
    "TIKTOK_APP_SECRET": EMULATOR_CONFIG.tiktok_app_secret,
    "GOOGLE_ADS_CLIENT_ID": EMULATOR_CONFIG.google_client_id,
    "GOOGLE_ADS_CLIENT_SECRET": EMULATOR_CONFIG.google_client_secret,
    "META_APP_ID": EMULATOR_CONFIG.meta_app_id,
    "META_APP_SECRET": EMULATOR_CONFIG.meta_app_secret,
}


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    srv = start_emulator_server(host="127.0.0.1", port=0, config=EMULATOR_CONFIG)
    yield srv
    srv.shutdown()


@pytest.fixture
def emulator(emulator_server: EmulatorServer, settings: Any) -> EmulatorServer:
    """The shared emulator, reset, with Bosco's settings pointing at it."""
    emulator_server.state.reset()
    settings.BOSCO_EMULATOR_URL = emulator_server.base_url
    for name, value in TEST_SETTINGS.items():
        setattr(settings, name, value)
    return emulator_server


@pytest.fixture
def handoffs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record the warehouse hand-offs instead of running the warehouse's transformation."""
    calls: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> None:
        calls.append(kwargs)

    monkeypatch.setattr("warehouse.services.pipeline.enqueue_window_transform", record)
    return calls


class _Shared:
    """The package's committed workspace, until a test whose writes commit takes its address."""

    workspace: Any = None

    def drop(self) -> None:
        from accounts.models import User
        from accounts.services import workspace_drop

        if self.workspace is not None:
            db.set_schema_to_public()
            workspace_drop(workspace=self.workspace)
            User.objects.filter(email="owner@conn.example").delete()
            self.workspace = None


@pytest.fixture(scope="package")
def tenant_committed(django_db_setup: None, django_db_blocker: Any) -> Iterator[_Shared]:
    """An empty workspace ("conn"), committed once per test process for the package's `db` tests.

    A schema clone per test was most of a service-level test's set-up; each `db` test still runs
    in its own rolled-back transaction on top of this one, so it finds it as empty as the last
    did. Only plain `db` tests use it: pytest-django runs them before any transactional test,
    whose flush would empty the public tables it depends on.
    """
    from allauth.account.models import EmailAddress

    from accounts.models import User
    from accounts.services import workspace_create

    shared = _Shared()
    with django_db_blocker.unblock():
        committed_setup_guard("tenant_committed")
        owner = User.objects.create_user("owner@conn.example", PASSWORD)
        EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
        shared.workspace = workspace_create(owner=owner, name="Conn", slug="conn")
        try:
            yield shared
        finally:
            shared.drop()


@pytest.fixture
def tenant(
    request: pytest.FixtureRequest, tenant_committed: _Shared, make_workspace: Callable[..., Any]
) -> Iterator[Any]:
    """A workspace ("conn") whose schema is active in this thread (service-level tests).

    A plain `db` test gets the package's committed one. A test whose writes commit (a worker, a
    live server, transactional_db) gets a fresh one of its own, dropped after it; the shared one
    (reached only by `db` tests, which all run first) is dropped before, to free its address.
    """
    marker = request.node.get_closest_marker("django_db")
    commits = bool({"transactional_db", "live_server"} & set(request.fixturenames)) or bool(
        marker and marker.kwargs.get("transaction")
    )
    if commits:
        tenant_committed.drop()
        workspace = make_workspace("conn")
    else:
        workspace = tenant_committed.workspace
    db.set_tenant(workspace)
    yield workspace
    if db.in_atomic_block:
        # Inside the test's transaction: fire deferred FK checks now, so the schema can be dropped.
        with db.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    db.set_schema_to_public()


@pytest.fixture
def connect(emulator: EmulatorServer) -> Callable[..., Any]:
    """Create a connection as the OAuth callback would, from tokens the emulator mints."""
    from datetime import timedelta

    from django.utils import timezone

    from connectors import conf
    from connectors.models import Connection, ConnectionAccount

    specs = {
        "google_ads": EMULATOR_CONFIG.google_accounts,
        "meta": EMULATOR_CONFIG.meta_accounts,
        "tiktok": EMULATOR_CONFIG.tiktok_accounts,
        "ga4": EMULATOR_CONFIG.ga4_properties,
    }

    def make(platform: str = "google_ads", accounts: list[str] | None = None, **fields: Any) -> Connection:
        tokens = emulator.state.issue_tokens(platform)
        connection = Connection.objects.create(
            platform=platform,
            access_token=tokens["access_token"],
            refresh_token=tokens.get("refresh_token") or "",
            # TikTok advertiser tokens never expire (the emulator gives them ten years).
            token_expires_at=None
            if platform == "tiktok"
            else timezone.now() + timedelta(seconds=int(tokens["expires_in"])),
            lookback_days=conf.lookback_days(platform),
            backfill_days=fields.pop("backfill_days", 60),
            **fields,
        )
        for spec in specs[platform]:
            external = f"act_{spec.account_id}" if platform == "meta" else spec.account_id
            ConnectionAccount.objects.create(
                connection=connection,
                external_id=external,
                name=spec.name,
                currency=spec.currency,
                time_zone=spec.time_zone,
                selected=accounts is None or spec.account_id in accounts,
            )
        return connection

    return make


@pytest.fixture
def new_run() -> Callable[..., Any]:
    """A queued run for a connection, without enqueuing a task (tests execute it themselves)."""
    from connectors.models import SyncRun

    def make(connection: Any, kind: str = "manual") -> SyncRun:
        return SyncRun.objects.create(connection=connection, kind=kind)

    return make


# ---------------------------------------------------------------------------------------------
# Comparing what landed with what the platform says
def raw_daily(stream: str, account_id: str, since: date, until: date) -> dict[tuple[str, str], dict[str, Any]]:
    """Landed daily rows keyed by (date, entity id), in the units the emulator's truth uses."""
    from warehouse.models import RawRecord

    out: dict[tuple[str, str], dict[str, Any]] = {}
    records = RawRecord.objects.filter(stream=stream, account_id=account_id, date__gte=since, date__lte=until)
    for record in records:
        p = record.payload
        if stream == "google_ads.ad_group_daily":
            m = p["metrics"]
            out[(record.date.isoformat(), p["adGroup"]["id"])] = {
                "cost_micros": int(m["costMicros"]),
                "impressions": int(m["impressions"]),
                "clicks": int(m["clicks"]),
                "conversions": Decimal(repr(m.get("conversions", 0))),
                # The API sends the value in full precision; the truth in the currency's minor unit.
                "conversions_value": Decimal(repr(m.get("conversionsValue", 0))).quantize(Decimal("0.01"), ROUND_DOWN),
            }
        elif stream == "ga4.traffic_daily":
            m = p["metrics"]
            out[(record.date.isoformat(), record.record_key.rsplit("|", 1)[1])] = {
                "sessions": int(m["sessions"]),
                "key_events": int(m["keyEvents"]),
                "purchase_revenue": Decimal(m["purchaseRevenue"]),
            }
        elif stream == "tiktok.adgroup_daily":
            m = p["metrics"]
            out[(record.date.isoformat(), p["dimensions"]["adgroup_id"])] = {
                "spend": Decimal(m["spend"]),
                "impressions": int(m["impressions"]),
                "clicks": int(m["clicks"]),
                "conversion": int(m["conversion"]),
                "value": Decimal(m["total_complete_payment_rate"]),
            }
        else:
            out[(record.date.isoformat(), p["adset_id"])] = {
                "spend": Decimal(p["spend"]),
                "impressions": int(p["impressions"]),
                "purchases": int(_action(p, "actions", "purchase")),
                "purchase_value": _action(p, "action_values", "purchase"),
            }
    return out


def _action(payload: dict[str, Any], field: str, action_type: str) -> Decimal:
    for item in payload.get(field) or []:
        if item.get("action_type") == action_type:
            return Decimal(item["value"])
    return Decimal(0)


def truth_daily(
    emulator: EmulatorServer, platform: str, account: str, since: date, until: date
) -> dict[tuple[str, str], dict[str, Any]]:
    """The emulator's truth at ad group / ad set level, rows with no delivery dropped like the APIs do."""
    if platform == "ga4":
        return _ga4_truth(emulator, account, since, until)
    truth = emulator.state.truth(platform, account, "ad_group", since, until)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in truth["rows"]:
        if platform == "google_ads":
            values = {
                "cost_micros": int(row["cost_micros"]),
                "impressions": int(row["impressions"]),
                "clicks": int(row["clicks"]),
                "conversions": Decimal(row["conversions"]),
                "conversions_value": Decimal(row["conversions_value"]).quantize(Decimal("0.01"), ROUND_DOWN),
            }
            key = (row["date"], row["ad_group_id"])
            if not any(values.values()):
                continue
        elif platform == "tiktok":
            values = {
                "spend": Decimal(row["spend"]),
                "impressions": int(row["impressions"]),
                "clicks": int(row["clicks"]),
                "conversion": int(row["conversion"]),
                "value": Decimal(row["complete_payment_value"]),
            }
            key = (row["date"], row["adgroup_id"])
        else:
            values = {
                "spend": Decimal(row["spend"]),
                "impressions": int(row["impressions"]),
                "purchases": int(row["purchases"]),
                "purchase_value": Decimal(row["purchase_value"]),
            }
            key = (row["date"], row["adset_id"])
            if not values["impressions"]:
                continue
        out[key] = values
    return out


def _ga4_truth(emulator: EmulatorServer, prop: str, since: date, until: date) -> dict[tuple[str, str], dict[str, Any]]:
    """GA4's rows at (date, traffic row digest), as the Data API reports them (finest grain)."""
    from connectors.platforms.ga4 import row_digest
    from devtools.emulators import ga4_data

    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in ga4_data.truth(emulator.state, prop, since, until)["rows"]:
        key = (row["date"], row_digest(row["channel_group"], row["source"], row["medium"], row["campaign"]))
        acc = out.setdefault(key, {"sessions": 0, "key_events": 0, "purchase_revenue": Decimal(0)})
        acc["sessions"] += row["sessions"]
        acc["key_events"] += row["key_events"]
        acc["purchase_revenue"] += Decimal(row["purchase_revenue"])
    return out


def raw_table_snapshot() -> list[tuple[Any, ...]]:
    """Every landed record (stream, key, payload) in a stable order: "the clean result"."""
    from warehouse.models import RawRecord

    return list(
        RawRecord.objects.order_by("stream", "record_key").values_list(
            "stream", "record_key", "account_id", "date", "payload"
        )
    )


def through_shared_callback(callback: str, workspace: Any) -> str:
    """The platform sent the browser to the shared callback on the public site (`callback`, as the
    consent page's redirect gave it); follow it there and return where it sends the browser on:
    the workspace's own callback (path and query), which must be on `workspace`'s host.
    """
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.test import Client

    parts = urlsplit(callback)
    assert parts.path == "/oauth/callback/" and parts.hostname == settings.BOSCO_DOMAIN, callback
    previous = db.tenant
    try:
        response = Client(HTTP_HOST=settings.BOSCO_DOMAIN).get(f"{parts.path}?{parts.query}")
    finally:
        db.set_tenant(previous)  # the public request switched this thread's connection to public
    assert response.status_code == 302, response.content.decode()
    onward = urlsplit(response["Location"])
    assert onward.hostname == f"{workspace.slug}.{settings.BOSCO_DOMAIN}", response["Location"]
    assert onward.path == "/data-sources/oauth/callback/"
    return f"{onward.path}?{onward.query}"
