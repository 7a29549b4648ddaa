"""Shopify over real HTTP against the emulator: bulk backfill, incremental reads by `updated_at`
that bring refunds back, throttling, broken bulk files, forged install answers and webhooks.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from connectors import services, shopify_oauth, shopify_webhooks
from connectors.errors import ConnectionFlowError, ConnectorError
from connectors.models import Connection, ConnectionAccount, OAuthState, StreamCursor, SyncRun
from connectors.sync import engine, run_execute
from devtools.emulators import shopify_api
from tests.connectors.conftest import TODAY

pytestmark = pytest.mark.django_db

SHOP = "bosco-demo.myshopify.com"
ZONE = ZoneInfo("America/New_York")
SINCE = TODAY - timedelta(days=59)


@pytest.fixture
def shopify(emulator: Any, settings: Any) -> Any:
    settings.SHOPIFY_API_URL = ""
    settings.SHOPIFY_API_KEY = emulator.state.config.shopify_api_key
    settings.SHOPIFY_API_SECRET = emulator.state.config.shopify_api_secret
    settings.SHOPIFY_BULK_POLL_INTERVAL = 0.01
    settings.SHOPIFY_BULK_PAGE_ORDERS = 150
    settings.SHOPIFY_PAGE_SIZE = 40
    settings.SHOPIFY_BULK_MIN_DAYS = 7
    settings.CONNECTORS_CHUNK_DAYS = {**settings.CONNECTORS_CHUNK_DAYS, "shopify": 20}
    return emulator


def _connect(emulator: Any, **fields: Any) -> Connection:
    connection = Connection.objects.create(
        platform="shopify",
        label=SHOP,
        access_token=shopify_api.issue_token(emulator.state, SHOP),
        lookback_days=3,
        backfill_days=fields.pop("backfill_days", 60),
        **fields,
    )
    ConnectionAccount.objects.create(
        connection=connection, external_id=SHOP, name="Bosco Demo", currency="USD", time_zone=str(ZONE), selected=True
    )
    return connection


def _sync(connection: Connection) -> SyncRun:
    run = SyncRun.objects.create(connection=connection, kind="manual")
    run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


def _landed() -> dict[str, dict[str, Any]]:
    from warehouse.models import RawRecord

    return {r.record_key: r.payload for r in RawRecord.objects.filter(stream="shopify.order")}


def _expected(emulator: Any, since_day: Any = SINCE) -> dict[str, str]:
    """Order key → updatedAt of every order the emulator shows as changed since `since_day`."""
    data = shopify_api.shop_data(emulator.state, SHOP)
    since = datetime.combine(since_day, time(0), tzinfo=ZONE).astimezone(UTC)
    now = data.now()
    return {
        f"{SHOP}|{o.id}": o.updated_at(now).strftime("%Y-%m-%dT%H:%M:%SZ")
        for o in data.orders_between("updated_at", since, None)
    }


def test_the_backfill_reads_every_order_through_bulk_operations(tenant, shopify, handoffs) -> None:
    connection = _connect(shopify)

    run = _sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    landed = _landed()
    expected = _expected(shopify)
    assert landed.keys() == expected.keys() and len(landed) > 500
    assert {k: p["updatedAt"] for k, p in landed.items()} == expected
    stats = shopify.state.stats()["requests"]
    assert stats["shopify.bulk.file"] == 3, "60 days in chunks of 20: three bulk files"
    assert "graphql" in str(stats)
    sample = next(iter(landed.values()))
    assert sample["lineItems"] and sample["totalPriceSet"]["shopMoney"]["currencyCode"] == "USD"
    # The warehouse hears about the order days, which start before the updated_at window.
    assert handoffs and handoffs[-1]["platform"] == "shopify" and handoffs[-1]["account_ids"] == [SHOP]
    from warehouse.models import RawRecord

    oldest = min(RawRecord.objects.filter(stream="shopify.order").values_list("date", flat=True))
    assert handoffs[-1]["date_from"] == oldest < SINCE
    assert ConnectionAccount.objects.get(connection=connection).time_zone == "America/New_York"


def test_refunds_that_arrive_later_come_back_with_the_next_incremental_sync(
    tenant, shopify, handoffs, settings
) -> None:
    connection = _connect(shopify)
    assert _sync(connection).status == SyncRun.Status.SUCCEEDED
    before = _landed()
    later = TODAY + timedelta(days=6)
    shopify.state.update_config(today=later)
    settings.CONNECTORS_FIXED_TODAY = later.isoformat()
    settings.SHOPIFY_BULK_MIN_DAYS = 30  # the incremental window pages by cursor

    run = _sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    after = _landed()
    refunded = [k for k in before if len(after[k]["refunds"]) > len(before[k]["refunds"])]
    assert refunded, "orders of the first sync were refunded since and read again"
    assert all(after[k]["updatedAt"] > before[k]["updatedAt"] for k in refunded)
    assert {k: p["updatedAt"] for k, p in after.items() if k in _expected(shopify, TODAY - timedelta(days=3))} == (
        _expected(shopify, TODAY - timedelta(days=3))
    )
    assert shopify.state.stats()["requests"].get("shopify.bulk.file", 0) == 3, "no bulk file for the short window"
    oldest_refunded = min(datetime.fromisoformat(after[k]["createdAt"].replace("Z", "+00:00")) for k in refunded)
    assert handoffs[-1]["date_from"] <= oldest_refunded.astimezone(ZONE).date()


def test_throttled_queries_wait_for_the_bucket_and_succeed(tenant, shopify, handoffs) -> None:
    shopify.state.add_fault(platform="shopify", kind="throttled", endpoint="graphql", after=2, count=2)
    connection = _connect(shopify)

    run = _sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.retries >= 2
    assert _landed().keys() == _expected(shopify).keys()


@pytest.mark.parametrize("kind", ["bulk_truncated", "bulk_malformed"])
def test_a_broken_bulk_file_lands_nothing_of_it_and_fails_visibly(tenant, shopify, handoffs, kind) -> None:
    shopify.state.add_fault(platform="shopify", kind=kind, endpoint="bulk.file", count=1)
    connection = _connect(shopify)

    run = _sync(connection)

    assert run.status == SyncRun.Status.FAILED and run.error_code == "bad_response"
    assert "Nothing from it was saved" in run.error_message
    assert _landed() == {}, "the newest chunk's file was broken: none of its orders landed"
    shopify.state.clear_faults()
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.ACTIVE)
    assert _sync(connection).status == SyncRun.Status.SUCCEEDED
    assert _landed().keys() == _expected(shopify).keys()


class Crash(BaseException):
    """Not an Exception: nothing in Bosco catches it, as nothing survives a SIGKILL."""


@pytest.mark.parametrize("k", [0, 2, 4, 7])
def test_a_crash_after_any_page_resumes_to_the_clean_result(tenant, shopify, handoffs, monkeypatch, k) -> None:
    connection = _connect(shopify)
    original = engine.SyncEngine._commit_page
    seen = {"pages": 0}

    def commit(self, cursor, stream, page, *, account):
        original(self, cursor, stream, page, account=account)
        seen["pages"] += 1
        if seen["pages"] == k + 1:
            raise Crash()

    monkeypatch.setattr(engine.SyncEngine, "_commit_page", commit)
    run = SyncRun.objects.create(connection=connection, kind="backfill")
    with pytest.raises(Crash):
        run_execute(run_id=run.pk)
    monkeypatch.setattr(engine.SyncEngine, "_commit_page", original)
    # The broker redelivers the task: the same run resumes from its committed cursors.
    assert run_execute(run_id=run.pk) == SyncRun.Status.SUCCEEDED
    assert {k: p["updatedAt"] for k, p in _landed().items()} == _expected(shopify)
    assert StreamCursor.objects.filter(connection=connection, stream="shopify.order").get().done


# ---------------------------------------------------------------------------------------------- install
@pytest.mark.parametrize(
    "shop", ["evil.com", "https://bosco-demo.myshopify.com", "bosco-demo.myshopify.com/admin", "-x.myshopify.com", ""]
)
def test_a_shop_that_is_not_a_myshopify_host_is_refused(tenant, shopify, shop) -> None:
    with pytest.raises(ConnectorError) as caught:
        services.oauth_begin(platform="shopify", user_id=1, session={}, shop=shop)
    assert "myshopify.com" in caught.value.user_message
    assert not OAuthState.objects.exists()


def _begin_and_install(shopify: Any, session: dict[str, Any]) -> dict[str, str]:
    import httpx

    url = services.oauth_begin(platform="shopify", user_id=1, session=session, shop=SHOP.upper())
    assert url.startswith(f"{shopify.base_url}/shopify/{SHOP}/admin/oauth/authorize?")
    page = httpx.get(url)
    allow = page.text.split('id=allow href="')[1].split('"')[0].replace("&amp;", "&")
    answer = httpx.get(f"{shopify.base_url}{allow}")
    assert answer.status_code == 302
    location = httpx.URL(answer.headers["location"])
    return dict(location.params)


def test_installing_connects_the_shop_and_starts_its_backfill(tenant, shopify, handoffs) -> None:
    session: dict[str, Any] = {}
    params = _begin_and_install(shopify, session)
    assert set(params) == {"code", "hmac", "host", "shop", "state", "timestamp"}

    outcome = services.oauth_complete(params=params, user_id=1, session=session)

    connection = outcome.connection
    assert outcome.created and outcome.sync_started
    assert connection.label == SHOP and connection.access_token.startswith("shpat_")
    assert list(connection.accounts.values_list("external_id", "selected", "currency")) == [(SHOP, True, "USD")]
    assert connection.runs.get().kind == SyncRun.Kind.BACKFILL


@pytest.mark.parametrize("tamper", ["hmac", "shop", "code"])
def test_a_forged_or_altered_install_answer_connects_nothing(tenant, shopify, tamper) -> None:
    session: dict[str, Any] = {}
    params = _begin_and_install(shopify, session)
    if tamper == "hmac":
        params["hmac"] = "0" * 64
    elif tamper == "shop":  # re-signed by someone who does not have the secret: the hmac no longer matches
        params["shop"] = "other-shop.myshopify.com"
    else:
        params["code"] = params["code"][:-1] + "x"

    with pytest.raises(ConnectionFlowError) as caught:
        services.oauth_complete(params=params, user_id=1, session=session)

    assert "signature" in caught.value.user_message
    assert not Connection.objects.exists()


def test_the_shared_callback_passes_shopifys_signed_parameters_on(shopify, settings) -> None:
    from connectors.views_public import PLATFORM_PARAMS

    assert {"hmac", "shop", "host", "timestamp", "code", "state"} <= set(PLATFORM_PARAMS)
    signed = {"code": "c", "shop": SHOP, "state": "s", "timestamp": "1", "host": "h"}
    signed["hmac"] = shopify_api.query_hmac(signed, settings.SHOPIFY_API_SECRET)
    assert shopify_oauth.query_is_signed(signed)
    assert not shopify_oauth.query_is_signed({**signed, "timestamp": "2"})


# ---------------------------------------------------------------------------------------------- webhooks
WEBHOOK = "/shopify/webhooks/"


def _post(client: Client, shopify: Any, topic: str, payload: dict[str, Any], *, forge: bool = False) -> Any:
    body, headers = shopify_api.webhook_request(shopify.state, topic=topic, shop=SHOP, payload=payload, forge=forge)
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"}
    return client.post(WEBHOOK, body, content_type="application/json", **meta)


def test_forged_webhooks_are_refused_and_signed_ones_accepted(shopify, settings) -> None:
    client = Client(HTTP_HOST=settings.BOSCO_DOMAIN)
    forged = _post(client, shopify, "orders/updated", {"id": 1}, forge=True)
    unsigned = client.post(WEBHOOK, b"{}", content_type="application/json", HTTP_X_SHOPIFY_TOPIC="shop/redact")
    signed = _post(client, shopify, "orders/updated", {"id": 1})
    assert (forged.status_code, unsigned.status_code, signed.status_code) == (401, 401, 200)
    assert signed.json() == {"status": "queued"}


def test_an_updated_order_queues_a_resync_and_an_uninstall_disconnects(tenant, shopify, handoffs) -> None:
    connection = _connect(shopify)

    assert shopify_webhooks.webhook_apply(topic="refunds/create", shop=SHOP, payload={}) == "resync queued (1)"
    assert connection.runs.filter(status=SyncRun.Status.QUEUED).count() == 1
    assert shopify_webhooks.webhook_apply(topic="app/uninstalled", shop=SHOP, payload={}) == "disconnected"

    connection.refresh_from_db()
    assert connection.status == Connection.Status.DISCONNECTED and not connection.access_token
    assert "uninstalled" in connection.status_message
    assert not connection.runs.filter(status__in=SyncRun.ACTIVE_STATUSES).exists()


def test_gdpr_redaction_anonymises_a_customer_and_deletes_a_shop(tenant, shopify, handoffs, caplog) -> None:
    connection = _connect(shopify)
    assert _sync(connection).status == SyncRun.Status.SUCCEEDED
    landed = _landed()
    _, order = next((k, p) for k, p in landed.items() if p["customerJourneySummary"]["customerOrderIndex"] > 1)
    customer_id = int(order["customer"]["id"].rsplit("/", 1)[1])
    theirs = [k for k, p in landed.items() if p["customer"] and p["customer"]["id"] == order["customer"]["id"]]

    with caplog.at_level("INFO", logger="connectors.shopify"):
        done = shopify_webhooks.webhook_apply(
            topic="customers/data_request", shop=SHOP, payload={"customer": {"id": customer_id}}
        )
    assert done == f"logged ({len(theirs)} orders)" and order["id"] in caplog.text

    shopify_webhooks.webhook_apply(topic="customers/redact", shop=SHOP, payload={"customer": {"id": customer_id}})
    after = _landed()
    for k in theirs:
        assert after[k]["customer"] is None and after[k]["redacted"] is True and "name" not in after[k]
        assert after[k]["totalPriceSet"] == landed[k]["totalPriceSet"], "amounts stay: they are the shop's sales"
    assert sum(1 for p in after.values() if p.get("redacted")) == len(theirs)
    assert handoffs[-1]["account_ids"] == [SHOP]

    shopify_webhooks.webhook_apply(topic="shop/redact", shop=SHOP, payload={"shop_domain": SHOP})
    from warehouse.models import RawRecord

    assert not RawRecord.objects.filter(account_id=SHOP).exists()


def test_the_app_url_checks_shopifys_signature_and_explains_how_to_connect(shopify, settings) -> None:
    import time as clock

    client = Client(HTTP_HOST=settings.BOSCO_DOMAIN)
    query = {"shop": SHOP, "timestamp": str(int(clock.time())), "host": "aG9zdA"}
    signed = {**query, "hmac": shopify_api.query_hmac(query, settings.SHOPIFY_API_SECRET)}
    stale = {**query, "timestamp": "1000"}
    stale["hmac"] = shopify_api.query_hmac(stale, settings.SHOPIFY_API_SECRET)

    ok = client.get("/shopify/install/", signed)
    forged = client.get("/shopify/install/", {**signed, "shop": "other.myshopify.com"})
    expired = client.get("/shopify/install/", stale)

    assert ok.status_code == 200 and f"Connect {SHOP} from your workspace" in ok.content.decode()
    assert forged.status_code == 401 and "signature" in forged.content.decode()
    assert expired.status_code == 401 and "expired" in expired.content.decode()
