"""Dev tooling is an app of the development and test settings only; the deploy command is everywhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from django.core.management import get_commands

from tests.bosco.test_deploy_check import PLATFORM_ENV

ROOT = Path(__file__).resolve().parents[2]
DEV_COMMANDS = {"ensure_demo", "demo_sync", "run_emulators"}


def test_production_has_the_deploy_command_and_none_of_the_dev_commands() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "bosco.settings.production",
        "SECRET_KEY": Fernet.generate_key().decode() + Fernet.generate_key().decode(),
        "BOSCO_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "BOSCO_DOMAIN": "bosco.example",
        **PLATFORM_ENV,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "help", "--commands"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    commands = set(result.stdout.split())
    assert "bootstrap" in commands
    assert not commands & DEV_COMMANDS


def test_development_and_tests_have_the_dev_commands_from_devtools() -> None:
    commands = get_commands()
    assert {name: commands[name] for name in DEV_COMMANDS} == dict.fromkeys(DEV_COMMANDS, "devtools")
    assert commands["bootstrap"] == "bosco"
