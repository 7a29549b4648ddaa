"""The snippet in real chromium, on a shop page served from another origin than Bosco's: page views
with campaign parameters and click ids, identify, orders, events flushed as the page unloads, and
consent mode (no cookie or storage before consent). A real worker lands what the endpoint accepted."""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import schema_context

from tests.conftest import CHROMIUM_ARGS
from tests.conftest import _chromium_path as browser_path
from tests.tracking.conftest import CHROME
from tracking import snippet
from tracking.collect import buffer
from tracking.models import Event
from tracking.services.settings import tracking_settings_update

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<script>window.bosco=window.bosco||function(){{(bosco.q=bosco.q||[]).push(arguments)}};</script>
<script async src="{src}" integrity="{integrity}" crossorigin="anonymous" data-key="{key}"{consent}></script>
</head><body><h1>{title}</h1><a id="next" href="/next.html">next</a></body></html>"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def shop_site(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """A tiny static web server on another port: the customer's shop."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"

    (tmp_path / "favicon.ico").write_bytes(b"")

    def publish(*, bosco_origin: str, key: str, consent: bool) -> str:
        for name, title in (("index.html", "Shop"), ("next.html", "Next page")):
            (tmp_path / name).write_text(
                PAGE.format(
                    title=title,
                    src=f"{bosco_origin}/t/v1/bosco.js",
                    integrity=snippet.integrity("1"),
                    key=key,
                    consent=' data-consent="required"' if consent else "",
                )
            )
        return origin

    yield publish
    server.shutdown()


class ShopPage:
    """A chromium page with a desktop Chrome user agent (headless Chrome's own is filtered as a bot)."""

    def __init__(self, browser: Any, live_server: Any) -> None:
        self.bosco_origin = live_server.url.replace("127.0.0.1", "localhost")
        # A browser of its own whose every request (beacons sent after the page is gone too) says so.
        self.browser = browser.browser_type.launch(
            executable_path=browser_path(), args=[*CHROMIUM_ARGS, f"--user-agent={CHROME}"], headless=True
        )
        self.context = self.browser.new_context(user_agent=CHROME)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))


@pytest.fixture
def shop_page(browser: Any, live_server: Any) -> Iterator[ShopPage]:
    page = ShopPage(browser, live_server)
    yield page
    page.context.close()
    page.browser.close()
    assert not page.errors, "browser reported errors:\n" + "\n".join(page.errors)


def _events(schema: str, count: int, timeout: float = 60) -> list[Event]:
    deadline = time.monotonic() + timeout
    rows: list[Event] = []
    while time.monotonic() < deadline:
        with schema_context(schema):
            rows = list(Event.objects.order_by("occurred_at", "id"))
        if len(rows) >= count:
            return rows
        time.sleep(0.5)
    found = [(r.kind, r.name) for r in rows]
    raise AssertionError(f"expected {count} events, found {found}; counters {buffer.counts(schema)}")


def _setup(tracked_workspace: Callable[..., Any], origin: str, *, consent: bool) -> tuple[Any, Any]:
    workspace, tracking = tracked_workspace(origins=(origin,), consent_mode=consent)
    return workspace, tracking


def test_snippet_records_a_visit_identify_order_and_unload(
    shop_page: ShopPage, shop_site: Callable[..., str], tracked_workspace: Callable[..., Any], celery_worker: Any
) -> None:
    bosco_origin = shop_page.bosco_origin
    workspace, tracking = tracked_workspace()
    origin = shop_site(bosco_origin=bosco_origin, key=tracking.public_key, consent=False)
    tracking_settings_update(
        workspace=workspace,
        allowed_origins=[origin],
        consent_mode=False,
        retention_months=13,
        lookback_days=30,
        enabled=True,
    )
    page = shop_page.page
    page.goto(
        f"{origin}/index.html?utm_source=facebook&utm_medium=paid&utm_campaign=spring&fbclid=FB123", wait_until="load"
    )
    page.wait_for_function("typeof window.bosco === 'function' && !window.bosco.q")
    page.evaluate("bosco('identify', {customer_id: 'cust-7', email: 'Ana@Example.com'})")
    page.evaluate(
        "bosco('order', {order_id: 'A-1001', revenue: 84.5, currency: 'EUR', checkout_token: 'chk-1', customer_id: 'cust-7'})"
    )
    # never throws into the page, whatever it is given
    page.evaluate("bosco('order', null); bosco('no-such-command'); bosco('identify', 42); bosco()")
    # an event queued right before leaving the page goes out with the unload flush
    page.evaluate("bosco('track', 'clicked_next', {position: 1})")
    page.click("#next")
    page.wait_for_load_state("load")

    rows = _events(workspace.schema_name, 6)  # 2 page views, 2 identifies, order, event
    kinds = [(row.kind, row.name) for row in rows]
    assert ("event", "clicked_next") in kinds
    assert [k for k, _ in kinds].count("page_view") == 2
    view = next(row for row in rows if row.kind == "page_view" and row.utm_source)
    assert (view.utm_source, view.utm_medium, view.utm_campaign) == ("facebook", "paid", "spring")
    assert (view.click_id_type, view.click_id) == ("fbclid", "FB123")
    assert view.browser == "Chrome"
    identify = next(row for row in rows if row.kind == "identify" and row.customer_id)
    assert identify.email_sha256 == hashlib.sha256(b"ana@example.com").hexdigest()
    assert identify.customer_id == "cust-7"
    order = next(row for row in rows if row.kind == "order")
    assert (order.order_id, str(order.revenue), order.currency, order.checkout_token) == (
        "A-1001",
        "84.5000",
        "EUR",
        "chk-1",
    )
    # one visitor id across both pages, kept in a first-party cookie on the shop's own origin
    visitor_ids = {row.anonymous_id for row in rows}
    assert len(visitor_ids) == 1 and visitor_ids != {""}
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies(origin)}
    assert cookies["_bosco_id"]["value"] == visitor_ids.pop()
    assert all(row.ip_truncated.endswith(".0") for row in rows)


def test_consent_mode_counts_without_storage_until_consent(
    shop_page: ShopPage, shop_site: Callable[..., str], tracked_workspace: Callable[..., Any], celery_worker: Any
) -> None:
    bosco_origin = shop_page.bosco_origin
    workspace, tracking = tracked_workspace(consent_mode=True)
    origin = shop_site(bosco_origin=bosco_origin, key=tracking.public_key, consent=True)
    tracking_settings_update(
        workspace=workspace,
        allowed_origins=[origin],
        consent_mode=True,
        retention_months=13,
        lookback_days=30,
        enabled=True,
    )
    page = shop_page.page
    page.goto(f"{origin}/index.html?gclid=G-1", wait_until="load")
    page.wait_for_function("typeof window.bosco === 'function' && !window.bosco.q")
    page.evaluate("bosco('track', 'before_consent')")
    page.wait_for_timeout(1500)  # the batch is sent
    assert page.context.cookies(origin) == []
    assert page.evaluate("window.localStorage.length") == 0
    assert page.evaluate("window.sessionStorage.length") == 0
    before = _events(workspace.schema_name, 2)
    assert {row.anonymous_id for row in before} == {""}
    assert len({row.session_hint for row in before}) == 1  # counted by the page load's own id
    assert before[0].click_id == "G-1"

    page.evaluate("bosco('consent', true); bosco('track', 'after_consent')")
    page.wait_for_timeout(1500)
    stored = page.evaluate("window.localStorage.getItem('_bosco_id')")
    assert stored and {c["name"]: c["value"] for c in page.context.cookies(origin)}["_bosco_id"] == stored
    after = [row for row in _events(workspace.schema_name, 3) if row.name == "after_consent"]
    assert after and after[0].anonymous_id == stored

    page.evaluate("bosco('consent', false)")
    assert page.context.cookies(origin) == []
    assert page.evaluate("window.localStorage.getItem('_bosco_id')") is None
