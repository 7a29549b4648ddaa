"""Connecting through OAuth against the emulators' consent pages and token endpoints, over real HTTP.

The Django test client plays the Bosco side; httpx plays the person's browser on the platform's
consent page (the browser test does the same with chromium).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.db import connection as db

from accounts.models import Membership, User
from connectors.models import Connection, OAuthState

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(tenant, workspace_client):
    owner = User.objects.get(email="owner@conn.example")
    client = workspace_client(owner, tenant)
    # The client's requests run in the workspace schema; keep this thread there too.
    db.set_tenant(tenant)
    return client


def _consent(url: str, decision: str = "allow") -> str:
    """Open the platform's consent page and click Allow or Deny; returns where it sends the browser."""
    page = httpx.get(url, timeout=10)
    assert page.status_code == 200, page.text
    href = re.search(rf'id={decision} href="([^"]+)"', page.text)
    assert href, "the consent page has the button"
    base = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
    answer = httpx.get(base + href.group(1).replace("&amp;", "&"), follow_redirects=False, timeout=10)
    assert answer.status_code == 302
    return answer.headers["location"].split("#", 1)[0]  # Meta appends "#_=_"; browsers never send fragments


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _start(client, platform: str) -> str:
    response = client.get(f"/data-sources/connect/{platform}/")
    assert response.status_code == 302
    return response["Location"]


def test_google_connect_flow_uses_state_and_pkce_and_stores_tokens_encrypted(owner_client, emulator) -> None:
    authorize = _start(owner_client, "google_ads")
    params = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{emulator.base_url}/google/o/oauth2/v2/auth?")
    assert params["redirect_uri"] == ["http://conn.localhost/data-sources/oauth/callback/"]
    assert params["code_challenge_method"] == ["S256"] and len(params["code_challenge"][0]) == 43
    assert params["access_type"] == ["offline"] and params["scope"] == ["https://www.googleapis.com/auth/adwords"]
    assert len(params["state"][0]) >= 40

    callback = _consent(authorize)
    response = owner_client.get(_local(callback))

    connection = Connection.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/data-sources/{connection.pk}/accounts/"
    assert connection.platform == "google_ads" and connection.status == Connection.Status.ACTIVE
    assert connection.access_token.startswith("ya29.") and connection.refresh_token.startswith("1//")
    assert {a.external_id for a in connection.accounts.all()} == {"1234567890", "2345678901"}
    assert not connection.accounts.filter(selected=True).exists(), "the person chooses"
    with db.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM connectors_connection")
        stored = cursor.fetchone()
    assert all(value.startswith("gAAAAA") for value in stored), "Fernet ciphertext at rest"
    assert connection.access_token not in stored[0]
    assert emulator.state.stats()["code_exchanges"] == {"google_ads": 1}


def test_meta_connect_flow_gets_a_long_lived_token(owner_client, emulator) -> None:
    callback = _consent(_start(owner_client, "meta"))
    response = owner_client.get(_local(callback))
    assert response.status_code == 302
    connection = Connection.objects.get()
    assert connection.platform == "meta" and connection.access_token.startswith("EAA")
    assert (connection.token_expires_at - connection.created_at).days >= 59, "exchanged for a long-lived token"
    assert sorted(a.currency for a in connection.accounts.all()) == ["JPY", "USD"]
    assert all(a.external_id.startswith("act_") for a in connection.accounts.all())


def test_a_replayed_callback_is_rejected_and_changes_nothing(owner_client, emulator) -> None:
    callback = _local(_consent(_start(owner_client, "google_ads")))
    assert owner_client.get(callback).status_code == 302
    tokens_before = Connection.objects.get().access_token

    replay = owner_client.get(callback)

    assert replay.status_code == 400
    assert "already used" in replay.content.decode()
    assert Connection.objects.count() == 1 and Connection.objects.get().access_token == tokens_before
    assert emulator.state.stats()["code_exchanges"] == {"google_ads": 1}, "the code was not exchanged twice"


@pytest.mark.parametrize("state", ["", "forged-state-value", "x" * 43])
def test_a_callback_with_a_wrong_state_is_rejected(owner_client, emulator, state) -> None:
    _start(owner_client, "google_ads")  # a real attempt is pending; the forged answer is not it
    response = owner_client.get("/data-sources/oauth/callback/", {"state": state, "code": "4/0Aforged"})
    assert response.status_code == 400
    assert "ignored it" in response.content.decode()
    assert not Connection.objects.exists()
    assert emulator.state.stats()["code_exchanges"] == {}


def test_a_state_from_another_browser_session_is_rejected(
    owner_client, emulator, workspace_client, tenant, make_user
) -> None:
    callback = _local(_consent(_start(owner_client, "google_ads")))
    other = make_user("admin2@conn.example")
    Membership.objects.create(user=other, workspace=tenant, role="admin")
    response = workspace_client(other, tenant).get(callback)
    assert response.status_code == 400 and not Connection.objects.exists()


def test_denied_consent_connects_nothing_and_says_so(owner_client, emulator) -> None:
    callback = _consent(_start(owner_client, "meta"), decision="deny")
    response = owner_client.get(_local(callback))
    assert response.status_code == 200
    assert "You declined access on Meta, so nothing was connected or changed." in response.content.decode()
    assert not Connection.objects.exists()


def test_pkce_is_enforced_by_the_token_endpoint(owner_client, emulator) -> None:
    callback = _local(_consent(_start(owner_client, "google_ads")))
    OAuthState.objects.update(code_verifier="a-different-verifier-" + "x" * 30)
    response = owner_client.get(callback)
    assert response.status_code == 400
    assert "did not accept the sign-in" in response.content.decode()
    assert not Connection.objects.exists()


def test_reauthorising_restores_a_needs_reauth_connection_and_resumes_syncing(owner_client, emulator, connect) -> None:
    from connectors.models import SyncRun

    connection = connect("google_ads")
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.NEEDS_REAUTH, status_message="revoked")
    start = owner_client.get(f"/data-sources/{connection.pk}/reauthorize/")
    response = owner_client.get(_local(_consent(start["Location"])))

    assert response.status_code == 302 and response["Location"] == "/data-sources/"
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE and connection.status_message == ""
    assert Connection.objects.count() == 1
    assert SyncRun.objects.filter(connection=connection, status="queued").exists(), "syncing resumes"


def test_only_owners_and_admins_can_connect(tenant, workspace_client, make_user, emulator) -> None:
    viewer = make_user("viewer@conn.example")
    Membership.objects.create(user=viewer, workspace=tenant, role="viewer")
    response = workspace_client(viewer, tenant).get("/data-sources/connect/google_ads/")
    assert response.status_code == 403
