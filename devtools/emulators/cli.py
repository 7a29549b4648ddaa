"""Command line: `python -m devtools.emulators` and the `run_emulators` management command."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from devtools.emulators.config import EmulatorConfig
from devtools.emulators.server import start_emulator_server


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument("--campaigns", type=int, default=None, help="campaigns per ad account")
    parser.add_argument("--seed", type=int, default=None, help="data seed")
    parser.add_argument("--today", default=None, help="last day with data, YYYY-MM-DD (default: today UTC)")
    parser.add_argument("--latency", type=float, default=None, help="seconds added to every platform response")
    parser.add_argument("--config", default=None, help="JSON file with EmulatorConfig fields")


def config_from_options(options: dict[str, Any]) -> EmulatorConfig:
    changes: dict[str, Any] = {}
    if options.get("config"):
        changes.update(json.loads(Path(options["config"]).read_text()))
    if options.get("campaigns") is not None:
        changes["campaigns_per_account"] = options["campaigns"]
    if options.get("seed") is not None:
        changes["seed"] = options["seed"]
    if options.get("today"):
        changes["today"] = date.fromisoformat(options["today"])
    if options.get("latency") is not None:
        changes["latency_seconds"] = options["latency"]
    return EmulatorConfig.from_mapping(changes)


class Writer(Protocol):
    """Where the banner goes: sys.stdout, or a Django command's OutputWrapper."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


def serve(host: str, port: int, config: EmulatorConfig, out: Writer) -> None:
    """Run until SIGINT/SIGTERM, printing where each platform lives."""
    srv = start_emulator_server(host=host, port=port, config=config)
    base = srv.base_url
    out.write(
        f"Bosco platform emulators on {base}\n"
        f"  Google OAuth   {base}/google/o/oauth2/v2/auth   token {base}/google/token\n"
        f"  Google Ads     {base}/googleads/v21/...\n"
        f"  Meta OAuth     {base}/meta/dialog/oauth   token {base}/meta/graph/v24.0/oauth/access_token\n"
        f"  Meta Graph     {base}/meta/graph/v24.0/...\n"
        f"  Control        {base}/_emulator/\n"
        f"  Google client  {config.google_client_id} / {config.google_client_secret}\n"
        f"  Meta app       {config.meta_app_id} / {config.meta_app_secret}\n"
    )
    for platform in ("google_ads", "meta"):
        for a in config.accounts(platform):
            out.write(f"  {platform:10s} {a.account_id}  {a.currency}  {a.time_zone:20s} {a.name}\n")
    out.flush()
    stop = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        stop.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        srv.shutdown()
        out.write("emulators stopped\n")


def main(argv: Sequence[str] | None = None, out: Writer | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.emulators", description="Run the Bosco platform API emulators."
    )
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    serve(options["host"], options["port"], config_from_options(options), out or sys.stdout)
    return 0
