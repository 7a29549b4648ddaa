"""`make run`'s Stripe: devenv's wiring and the emulator's command line, run as a real process."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import stripe

ROOT = Path(__file__).resolve().parents[2]


def devenv() -> ModuleType:
    spec = importlib.util.spec_from_file_location("devenv_under_test", ROOT / "scripts" / "devenv.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_run_points_billing_at_the_emulator_when_no_stripe_is_configured() -> None:
    env: dict[str, str] = {"STRIPE_EMULATOR_PORT": "12999"}
    command = devenv().stripe_emulator_command(env, web_port="8000")
    assert command is not None
    assert env["STRIPE_API_BASE"] == "http://127.0.0.1:12999"
    assert env["STRIPE_SECRET_KEY"].startswith("sk_test_")
    assert command[command.index("--webhook-url") + 1] == "http://localhost:8000/billing/stripe/webhook/"
    assert command[command.index("--webhook-secret") + 1] == env["STRIPE_WEBHOOK_SECRET"]


def test_make_run_leaves_a_configured_stripe_alone() -> None:
    env = {"STRIPE_SECRET_KEY": "sk_test_from_the_developer"}
    assert devenv().stripe_emulator_command(env, web_port="8000") is None
    assert env == {"STRIPE_SECRET_KEY": "sk_test_from_the_developer"}


def test_the_command_line_serves_until_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.stripe_emulator", "--port", "0", "--api-key", "sk_test_cli"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert first_line.startswith("Stripe emulator on http://127.0.0.1:")
        base_url = first_line.split()[-1]
        client = stripe.StripeClient("sk_test_cli", base_addresses={"api": base_url}, max_network_retries=0)
        keys = {p.lookup_key for p in client.v1.prices.list(params={"limit": 100}).data}
        assert "bosco_growth_yearly" in keys
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "stripe emulator stopped" in out
