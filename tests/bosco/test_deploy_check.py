"""Production settings pass Django's deployment checklist with no warnings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
# Production names its platforms explicitly (tests use placeholders, never real secrets).
PLATFORM_ENV = {
    "GOOGLE_ADS_CLIENT_ID": "client.apps.example",
    "GOOGLE_ADS_CLIENT_SECRET": "placeholder",
    "GOOGLE_ADS_DEVELOPER_TOKEN": "placeholder",
    "META_APP_ID": "1",
    "META_APP_SECRET": "placeholder",
    "GOOGLE_OAUTH_AUTHORIZE_URL": "https://accounts.example/o/oauth2/v2/auth",
    "GOOGLE_OAUTH_TOKEN_URL": "https://oauth2.example/token",
    "GOOGLE_OAUTH_REVOKE_URL": "https://oauth2.example/revoke",
    "GOOGLE_ADS_API_URL": "https://googleads.example",
    "META_OAUTH_DIALOG_URL": "https://www.facebook.example/v24.0/dialog/oauth",
    "META_GRAPH_URL": "https://graph.facebook.example",
}


def test_check_deploy_is_clean_with_production_settings() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},  # set for browser tests only
        "DJANGO_SETTINGS_MODULE": "bosco.settings.production",
        "SECRET_KEY": Fernet.generate_key().decode() + Fernet.generate_key().decode(),
        "BOSCO_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "BOSCO_DOMAIN": "bosco.example",
        **PLATFORM_ENV,
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
    env.update(PLATFORM_ENV, DJANGO_SETTINGS_MODULE="bosco.settings.production")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_settings_refuse_emulator_platform_credentials() -> None:
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_ENV}
    env.update(
        DJANGO_SETTINGS_MODULE="bosco.settings.production",
        SECRET_KEY=Fernet.generate_key().decode() * 2,
        BOSCO_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "GOOGLE_ADS_CLIENT_ID" in result.stderr


def _production(**extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BOSCO_PORT", "CONNECTORS_OAUTH_REDIRECT_URI")}
    env.update(
        PLATFORM_ENV,
        DJANGO_SETTINGS_MODULE="bosco.settings.production",
        SECRET_KEY=Fernet.generate_key().decode() * 2,
        BOSCO_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        BOSCO_DOMAIN="bosco.example",
        **extra,
    )
    code = "from connectors import conf; print(conf.oauth_redirect_uri())"
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_derives_the_one_oauth_redirect_uri_from_the_domain_and_refuses_plain_http() -> None:
    derived = _production()
    assert derived.returncode == 0, derived.stderr
    assert derived.stdout.strip() == "https://bosco.example/oauth/callback/"
    explicit = _production(CONNECTORS_OAUTH_REDIRECT_URI="https://app.bosco.example/oauth/callback/")
    assert explicit.stdout.strip() == "https://app.bosco.example/oauth/callback/", explicit.stderr
    plain = _production(CONNECTORS_OAUTH_REDIRECT_URI="http://bosco.example/oauth/callback/")
    assert plain.returncode != 0 and "CONNECTORS_OAUTH_REDIRECT_URI must be an https:// URL" in plain.stderr
