# ---------------------------------------------------------------------------------------------
# Stripe emulator fixtures (helper b1). Billing-app fixtures go below this block.
# ---------------------------------------------------------------------------------------------
"""Fixtures of the billing tests: a local Stripe (devtools/stripe_emulator) over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from billing import stripe_client
from devtools.stripe_emulator import StripeEmulator, start_stripe_emulator

STRIPE_TEST_SECRET_KEY = "sk_test_bosco_emulator"
STRIPE_TEST_PUBLISHABLE_KEY = "pk_test_bosco_emulator"
STRIPE_TEST_WEBHOOK_SECRET = "whsec_bosco_emulator_tests"


@pytest.fixture
def stripe_emulator(settings: Any) -> Iterator[StripeEmulator]:
    """A fresh emulated Stripe account, with Bosco's Stripe settings pointing at it.

    No webhook endpoint is set: a test that wants deliveries calls
    `stripe_emulator.state.set_webhook_endpoint(url)` (e.g. live_server.url + "/billing/stripe/webhook/").
    Network retries are off so an injected failure surfaces at once; a test of retries sets them.
    """
    emulator = start_stripe_emulator(port=0, webhook_secret=STRIPE_TEST_WEBHOOK_SECRET)
    settings.STRIPE_SECRET_KEY = STRIPE_TEST_SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = STRIPE_TEST_PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_TEST_WEBHOOK_SECRET
    settings.STRIPE_API_BASE = emulator.base_url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.BILLING_AUTOMATIC_TAX = False
    stripe_client.forget_prices()
    yield emulator
    stripe_client.forget_prices()
    emulator.shutdown()


class WebhookReceiver:
    """A real HTTP endpoint that records each delivery and answers the statuses it is told to."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []  # answered in turn; 200 once exhausted
        self.arrived = threading.Event()  # set when a delivery arrives
        self.gate: threading.Event | None = None  # when set to an Event, answers wait for it
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.arrived.set()
                if receiver.gate is not None:
                    receiver.gate.wait(timeout=10)
                with receiver._lock:
                    receiver.deliveries.append((dict(self.headers.items()), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/billing/stripe/webhook/"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.deliveries) >= count:
                    return list(self.deliveries)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} deliveries, got {len(self.deliveries)}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def webhook_receiver(stripe_emulator: StripeEmulator) -> Iterator[WebhookReceiver]:
    """An endpoint the emulator delivers its signed events to."""
    receiver = WebhookReceiver()
    stripe_emulator.state.set_webhook_endpoint(receiver.url)
    yield receiver
    stripe_emulator.state.set_webhook_endpoint(None)
    receiver.close()


# ---------------------------------------------------------------------------------------------
# End of the Stripe emulator fixtures.
# ---------------------------------------------------------------------------------------------
