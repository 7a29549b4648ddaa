"""Production settings pass Django's deployment checklist with no warnings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_with_production_settings() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},  # set for browser tests only
        "DJANGO_SETTINGS_MODULE": "bosco.settings.production",
        "SECRET_KEY": Fernet.generate_key().decode() + Fernet.generate_key().decode(),
        "BOSCO_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "BOSCO_DOMAIN": "bosco.example",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_refuse_to_start_without_secrets() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "BOSCO_ENCRYPTION_KEYS")}
    env["DJANGO_SETTINGS_MODULE"] = "bosco.settings.production"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
