"""Command line: `python -m devtools.stripe_emulator --port 12111 --webhook-url ...`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from devtools.stripe_emulator.catalogue import INTERVALS, lookup_key
from devtools.stripe_emulator.server import start_stripe_emulator
from devtools.stripe_emulator.state import StripeEmulatorConfig


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.stripe_emulator", description="Run a local Stripe.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=12111, help="port (default 12111; 0 picks a free one)")
    parser.add_argument("--webhook-url", default=None, help="where signed events are POSTed")
    parser.add_argument("--webhook-secret", default=StripeEmulatorConfig.webhook_secret, help="signing secret")
    parser.add_argument("--api-key", default=None, help="the only secret key accepted (default: any sk_test_...)")
    parser.add_argument(
        "--retry-delays",
        default="1,5,30,120",
        help="seconds between webhook attempts to a failing endpoint (default 1,5,30,120)",
    )
    options = parser.parse_args(argv)
    try:
        delays = tuple(float(d) for d in options.retry_delays.split(",") if d.strip())
    except ValueError:
        parser.error("--retry-delays takes comma-separated seconds, e.g. 1,5,30")
    config = StripeEmulatorConfig(api_key=options.api_key, webhook_retry_delays=delays)
    emulator = start_stripe_emulator(
        host=options.host,
        port=options.port,
        webhook_url=options.webhook_url,
        webhook_secret=options.webhook_secret,
        config=config,
    )
    base = emulator.base_url
    out = sys.stdout
    out.write(
        f"Stripe emulator on {base}\n"
        f"  API            {base}/v1/...   (STRIPE_API_BASE={base})\n"
        f"  Control        {base}/_emulator/\n"
        f"  Webhooks       {options.webhook_url or '(none)'}   secret {options.webhook_secret}\n"
    )
    for entry in config.catalogue:
        for interval in INTERVALS:
            out.write(f"  price          {lookup_key(entry.plan, interval)}\n")
    out.flush()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    emulator.shutdown()
    out.write("stripe emulator stopped\n")
    return 0
