"""Production settings pass Django's deployment checklist with no warnings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
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
    "TIKTOK_APP_ID": "2",
    "TIKTOK_APP_SECRET": "placeholder",
    "TIKTOK_OAUTH_AUTHORIZE_URL": "https://business-api.tiktok.example/portal/auth",
    "TIKTOK_API_URL": "https://business-api.tiktok.example/open_api",
    "GA4_ADMIN_API_URL": "https://analyticsadmin.example",
    "GA4_DATA_API_URL": "https://analyticsdata.example",
    "SHOPIFY_API_KEY": "placeholder",
    "SHOPIFY_API_SECRET": "placeholder",
    "SHOPIFY_API_URL": "https://{shop}",
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


# --------------------------------------------------------------------------- headers and cookies [26]

# Runs inside `manage.py shell` with the production settings against the test database: one
# sign-in over HTTPS on the public host, one request over plain HTTP and one health probe; prints
# what the browser would see. Only the static storage is swapped (the manifest needs collectstatic).
HEADERS_PROBE = """
import json
from allauth.account.models import EmailAddress
from django.test import Client, override_settings
from accounts.models import User

with override_settings(STORAGES={"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}):
    user = User.objects.create_user("headers@probe.example", "correct-horse-battery-9")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    try:
        client = Client(HTTP_HOST="localhost")
        page = client.get("/accounts/login/", secure=True)
        signed_in = client.post(
            "/accounts/login/", {"login": user.email, "password": "correct-horse-battery-9"}, secure=True
        )
        plain = Client(HTTP_HOST="localhost").get("/accounts/login/")
        probe = Client(HTTP_HOST="10.0.0.7").get("/healthz")
        unknown = Client(HTTP_HOST="nobody.localhost").get("/", secure=True)
    finally:
        user.delete()

def cookies(response):
    return {name: {**{k: v for k, v in morsel.items() if v}, "value": bool(morsel.value)} for name, morsel in response.cookies.items()}

print(json.dumps({
    "page": {"status": page.status_code, "headers": dict(page.headers), "cookies": cookies(page)},
    "signed_in": {"status": signed_in.status_code, "cookies": cookies(signed_in)},
    "plain": {"status": plain.status_code, "location": plain.get("Location", "")},
    "probe": {"status": probe.status_code},
    "unknown": {"status": unknown.status_code, "headers": dict(unknown.headers)},
}))
"""


@pytest.fixture(scope="module")
def production_responses(django_db_setup: None, django_db_blocker: Any) -> dict[str, Any]:
    from accounts.services import public_workspace_ensure
    from tests.conftest import test_database_url

    with django_db_blocker.unblock():
        # A committed test that ran before this module's first test emptied the public tables,
        # and this module-scoped fixture runs before the per-test fixture that puts them back.
        public_workspace_ensure()
        env = {k: v for k, v in os.environ.items() if k not in ("BOSCO_PORT", "DJANGO_ALLOW_ASYNC_UNSAFE")}
        env.update(
            PLATFORM_ENV,
            DJANGO_SETTINGS_MODULE="bosco.settings.production",
            SECRET_KEY=Fernet.generate_key().decode() * 2,
            BOSCO_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
            BOSCO_DOMAIN="localhost",  # the public tenant's domain in the test database
            DATABASE_URL=test_database_url(),
        )
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", HEADERS_PROBE],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db(transaction=True)
def test_production_responses_carry_hsts_nosniff_referrer_policy_and_a_csp_with_frame_ancestors(
    production_responses: dict[str, Any],
) -> None:
    page = production_responses["page"]
    assert page["status"] == 200
    headers = page["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "object-src 'none'" in csp


@pytest.mark.django_db(transaction=True)
def test_production_session_and_csrf_cookies_are_host_prefixed_secure_and_samesite(
    production_responses: dict[str, Any],
) -> None:
    csrf = production_responses["page"]["cookies"]["__Host-csrftoken"]
    session = production_responses["signed_in"]["cookies"]["__Host-sessionid"]
    for cookie in (csrf, session):
        # __Host-: Secure, Path=/ and no Domain, so the cookie stays on the exact workspace host.
        assert cookie["secure"] is True and cookie["path"] == "/" and "domain" not in cookie
        assert cookie["samesite"] == "Lax"
    assert session["httponly"] is True and csrf["httponly"] is True
    assert production_responses["signed_in"]["status"] == 302  # signed in, the cookie is real


@pytest.mark.django_db(transaction=True)
def test_production_redirects_plain_http_to_https_but_answers_health_probes(
    production_responses: dict[str, Any],
) -> None:
    assert production_responses["plain"]["status"] == 301
    assert production_responses["plain"]["location"] == "https://localhost/accounts/login/"
    # Load balancers probe the pod by IP over plain HTTP: a redirect would mark it unhealthy.
    assert production_responses["probe"]["status"] == 200


@pytest.mark.django_db(transaction=True)
def test_responses_made_before_tenant_routing_carry_the_security_headers_too(
    production_responses: dict[str, Any],
) -> None:
    unknown = production_responses["unknown"]
    assert unknown["status"] == 404
    assert unknown["headers"]["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in unknown["headers"]["Content-Security-Policy"]
    assert unknown["headers"]["Strict-Transport-Security"].startswith("max-age=31536000")
