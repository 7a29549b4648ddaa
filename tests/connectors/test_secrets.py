"""No token in plain text: not in any database column, not in any log line, and keys rotate."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import httpx
import pytest
from django.core.management import call_command
from django.db import connection as db

from accounts.models import User
from bosco import crypto
from connectors.models import Connection
from connectors.sync import run_execute
from tests.connectors.conftest import GOOGLE_EUR, through_shared_callback

pytestmark = pytest.mark.django_db


def _all_secrets(emulator) -> set[str]:
    """Every access token, refresh token and authorization code the emulator ever issued."""
    tokens = emulator.state.tokens
    with emulator.state.locked():
        return set(tokens.tokens) | set(tokens.by_refresh) | set(tokens.codes)


def _database_text(schemas: list[str]) -> str:
    """Every row of every table in `schemas`, as text."""
    chunks: list[str] = []
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE'",
            [schemas],
        )
        for schema, table in cursor.fetchall():
            cursor.execute(f'SELECT t::text FROM "{schema}"."{table}" t')
            chunks.extend(row[0] for row in cursor.fetchall())
    return "\n".join(chunks)


def _connect_through_oauth(client, platform: str, workspace) -> None:
    start = client.get(f"/data-sources/connect/{platform}/")["Location"]
    # The person's browser on the consent page is not Bosco: its traffic is not Bosco's log.
    logging.disable(logging.CRITICAL)
    try:
        page = httpx.get(start, timeout=10).text
        allow = re.search(r'id=allow href="([^"]+)"', page).group(1).replace("&amp;", "&")
        base = f"{urlsplit(start).scheme}://{urlsplit(start).netloc}"
        callback = httpx.get(base + allow, follow_redirects=False, timeout=10).headers["location"].split("#")[0]
    finally:
        logging.disable(logging.NOTSET)
    assert client.get(through_shared_callback(callback, workspace)).status_code == 302


def test_no_token_appears_in_plaintext_in_the_database_or_the_logs(
    tenant, workspace_client, emulator, new_run, handoffs, caplog
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level, before any redaction filter
    for noisy in ("httpx", "httpcore", "urllib3", "authlib", "celery"):
        caplog.set_level(logging.DEBUG, logger=noisy)  # quiet in production settings; not here
    client = workspace_client(User.objects.get(email="owner@conn.example"), tenant)
    db.set_tenant(tenant)
    _connect_through_oauth(client, "google_ads", tenant)
    _connect_through_oauth(client, "meta", tenant)
    google, meta = Connection.objects.order_by("platform")
    for connection in (google, meta):
        connection.accounts.update(selected=True)
    # A token that expires mid-sync, so a refreshed token is written and logged about too.
    emulator.state.add_fault(
        kind="token_expiry", platform="google_ads", endpoint="search", account=GOOGLE_EUR, after=4, count=1
    )
    for connection in (google, meta):
        assert run_execute(run_id=new_run(connection).pk) == "succeeded"
    # And a failure whose message is shown and logged.
    emulator.state.add_fault(kind="revoked_grant", platform="google_ads", endpoint="search", count=1)
    run_execute(run_id=new_run(google).pk)
    client.post(f"/data-sources/{meta.pk}/disconnect/")

    secrets = _all_secrets(emulator)
    assert len(secrets) >= 6 and emulator.state.stats()["token_refreshes"].get("google_ads") == 1
    stored = _database_text([tenant.schema_name, "public"])
    assert "gAAAAA" in stored, "tokens are stored, encrypted"
    leaked = [s[:12] for s in secrets if s in stored]
    assert not leaked, f"tokens in plain text in the database: {leaked}"
    logged = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert "HTTP Request" in logged or caplog.records, "the logs were captured"
    leaked = [s[:12] for s in secrets if s in logged]
    assert not leaked, f"tokens in the logs: {leaked}"


def test_keys_rotate_without_losing_a_token(tenant, emulator, connect, settings) -> None:
    from cryptography.fernet import Fernet

    connection = connect("google_ads")
    token = connection.access_token
    old_key = settings.BOSCO_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()

    settings.BOSCO_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_connector_credentials", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.BOSCO_ENCRYPTION_KEYS = [new_key]  # the old key is retired
    crypto.reset_key_cache()
    try:
        assert Connection.objects.get(pk=connection.pk).access_token == token
    finally:
        settings.BOSCO_ENCRYPTION_KEYS = [old_key]
        crypto.reset_key_cache()
