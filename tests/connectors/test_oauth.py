"""Connecting through OAuth against the emulators' consent pages and token endpoints, over real HTTP.

The Django test client plays the Bosco side; httpx plays the person's browser on the platform's
consent page (the browser test does the same with chromium). Every workspace sends the one
shared redirect URI (the public site's /oauth/callback/), which sends the answer on to the
workspace's own callback; `_finish` follows that hop.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.db import connection as db
from django.test import Client
from django.utils import timezone

from accounts.models import Membership, OAuthRoute, User
from connectors.models import Connection, ConnectionAccount, OAuthState
from connectors.services import SESSION_STATES_KEY
from tests.connectors.conftest import EMULATOR_CONFIG, through_shared_callback

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared_callback(settings) -> str:
    """The derived shared redirect URI (CONNECTORS_OAUTH_REDIRECT_URI unset), as in development."""
    settings.CONNECTORS_OAUTH_REDIRECT_URI = ""
    settings.BOSCO_SCHEME = "http"
    settings.BOSCO_PORT = "8000"
    return f"http://{settings.BOSCO_DOMAIN}:8000/oauth/callback/"


@pytest.fixture
def owner_client(tenant, workspace_client, shared_callback):
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


def _finish(url: str, workspace) -> str:
    """The platform's redirect to the shared callback → the workspace callback's local URL."""
    return through_shared_callback(url, workspace)


def _public(path: str, params: dict[str, str] | None = None):
    """A request to the public site (the bare domain), keeping this thread in its workspace schema."""
    from django.conf import settings

    previous = db.tenant
    try:
        return Client(HTTP_HOST=settings.BOSCO_DOMAIN).get(path, params or {})
    finally:
        db.set_tenant(previous)


def _start(client, platform: str) -> str:
    response = client.get(f"/data-sources/connect/{platform}/")
    assert response.status_code == 302
    return response["Location"]


def test_google_connect_flow_uses_state_and_pkce_and_stores_tokens_encrypted(
    owner_client, emulator, tenant, shared_callback
) -> None:
    authorize = _start(owner_client, "google_ads")
    params = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{emulator.base_url}/google/o/oauth2/v2/auth?")
    assert params["redirect_uri"] == [shared_callback], "the one URI registered with Google, not the workspace host"
    assert params["code_challenge_method"] == ["S256"] and len(params["code_challenge"][0]) == 43
    assert params["access_type"] == ["offline"] and params["scope"] == ["https://www.googleapis.com/auth/adwords"]
    assert len(params["state"][0]) >= 40
    assert OAuthState.objects.get().redirect_uri == shared_callback, "the exchange repeats it exactly"
    assert OAuthRoute.objects.get().workspace == tenant

    callback = _consent(authorize)
    assert callback.startswith(shared_callback + "?")
    response = owner_client.get(_finish(callback, tenant))

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
    assert not OAuthRoute.objects.exists(), "the route goes when the workspace spends the state"


def test_meta_connect_flow_gets_a_long_lived_token(owner_client, emulator, tenant, shared_callback) -> None:
    authorize = _start(owner_client, "meta")
    assert parse_qs(urlsplit(authorize).query)["redirect_uri"] == [shared_callback]
    callback = _consent(authorize)
    response = owner_client.get(_finish(callback, tenant))
    assert response.status_code == 302
    connection = Connection.objects.get()
    assert connection.platform == "meta" and connection.access_token.startswith("EAA")
    assert (connection.token_expires_at - connection.created_at).days >= 59, "exchanged for a long-lived token"
    assert sorted(a.currency for a in connection.accounts.all()) == ["JPY", "USD"]
    assert all(a.external_id.startswith("act_") for a in connection.accounts.all())


def test_tiktok_connect_flow_gets_a_long_lived_token_and_its_advertisers(
    owner_client, emulator, tenant, shared_callback
) -> None:
    authorize = _start(owner_client, "tiktok")
    params = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{emulator.base_url}/tiktok/portal/auth?")
    assert params["app_id"] == [EMULATOR_CONFIG.tiktok_app_id] and params["redirect_uri"] == [shared_callback]
    callback = _consent(authorize)
    assert "auth_code=" in callback
    response = owner_client.get(_finish(callback, tenant))

    connection = Connection.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/data-sources/{connection.pk}/accounts/"
    assert connection.platform == "tiktok" and connection.status == Connection.Status.ACTIVE
    assert len(connection.access_token) == 40 and not connection.refresh_token
    assert connection.token_expires_at is None, "TikTok advertiser tokens do not expire"
    assert connection.lookback_days == 7
    accounts = {a.external_id: (a.currency, a.time_zone) for a in connection.accounts.all()}
    assert accounts == {
        "7301000000000000011": ("USD", "America/New_York"),
        "7302000000000000022": ("EUR", "Europe/Berlin"),
    }
    assert emulator.state.stats()["code_exchanges"] == {"tiktok": 1}


def test_a_replayed_callback_is_rejected_and_changes_nothing(owner_client, emulator, tenant) -> None:
    shared = _consent(_start(owner_client, "google_ads"))
    callback = _finish(shared, tenant)
    assert owner_client.get(callback).status_code == 302
    tokens_before = Connection.objects.get().access_token

    replay = owner_client.get(callback)
    assert replay.status_code == 400
    assert "already used" in replay.content.decode()
    # Replayed at the shared callback, the answer no longer has a workspace to go to.
    public_replay = _public(urlsplit(shared).path + "?" + urlsplit(shared).query)
    assert public_replay.status_code == 400 and "start connecting again" in public_replay.content.decode()
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
    callback = _finish(_consent(_start(owner_client, "google_ads")), tenant)
    other = make_user("admin2@conn.example")
    Membership.objects.create(user=other, workspace=tenant, role="admin")
    response = workspace_client(other, tenant).get(callback)
    assert response.status_code == 400 and not Connection.objects.exists()


def test_denied_consent_connects_nothing_and_says_so(owner_client, emulator, tenant) -> None:
    callback = _consent(_start(owner_client, "meta"), decision="deny")
    response = owner_client.get(_finish(callback, tenant))
    assert response.status_code == 200
    assert "You declined access on Meta, so nothing was connected or changed." in response.content.decode()
    assert not Connection.objects.exists()


def test_pkce_is_enforced_by_the_token_endpoint(owner_client, emulator, tenant) -> None:
    callback = _finish(_consent(_start(owner_client, "google_ads")), tenant)
    OAuthState.objects.update(code_verifier="a-different-verifier-" + "x" * 30)
    response = owner_client.get(callback)
    assert response.status_code == 400
    assert "did not accept the sign-in" in response.content.decode()
    assert not Connection.objects.exists()


def test_reauthorising_restores_a_needs_reauth_connection_and_resumes_syncing(
    owner_client, emulator, connect, tenant, shared_callback
) -> None:
    from connectors.models import SyncRun

    connection = connect("google_ads")
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.NEEDS_REAUTH, status_message="revoked")
    start = owner_client.get(f"/data-sources/{connection.pk}/reauthorize/")
    assert parse_qs(urlsplit(start["Location"]).query)["redirect_uri"] == [shared_callback]
    response = owner_client.get(_finish(_consent(start["Location"]), tenant))

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


# --------------------------------------------------------------------------- the shared callback
def test_the_shared_callback_sends_the_answer_to_its_workspace_with_the_platforms_parameters(
    owner_client, emulator, tenant
) -> None:
    state = parse_qs(urlsplit(_start(owner_client, "meta")).query)["state"][0]
    answer = {
        "error": "access_denied",
        "error_code": "200",
        "error_description": "Permissions error",
        "error_reason": "user_denied",
        "state": state,
    }
    response = _public("/oauth/callback/", {**answer, "next": "https://evil.example/", "token": "x"})

    assert response.status_code == 302
    onward = urlsplit(response["Location"])
    assert (onward.scheme, onward.netloc, onward.path) == ("http", "conn.localhost", "/data-sources/oauth/callback/")
    assert parse_qs(onward.query) == {name: [value] for name, value in answer.items()}, "only the platform's own"
    assert "no-store" in response["Cache-Control"]
    assert OAuthState.objects.get().used_at is None and OAuthRoute.objects.count() == 1, "nothing spent on the way"
    # The workspace's callback reads the same answer.
    final = owner_client.get(f"{onward.path}?{onward.query}")
    assert final.status_code == 200 and "You declined access on Meta" in final.content.decode()


def test_the_shared_callback_keeps_a_google_code_answer_intact(owner_client, emulator, tenant) -> None:
    callback = _consent(_start(owner_client, "google_ads"))
    onward = _finish(callback, tenant)
    assert parse_qs(urlsplit(onward).query) == parse_qs(urlsplit(callback).query)
    assert set(parse_qs(urlsplit(onward).query)) == {"state", "code", "scope"}


@pytest.mark.parametrize("state", [None, "", "forged-state-value", "x" * 43])
def test_the_shared_callback_refuses_a_state_nobody_issued_without_naming_a_workspace(
    owner_client, emulator, tenant, state
) -> None:
    _start(owner_client, "google_ads")  # a real attempt is pending; the forged answer is not it
    response = _public("/oauth/callback/", {"code": "4/0Aforged"} | ({} if state is None else {"state": state}))

    assert response.status_code == 400 and not response.has_header("Location")
    page = response.content.decode()
    assert "start connecting again from Data sources" in page
    assert "conn.localhost" not in page and tenant.schema_name not in page, "no hint of whose state it might be"
    assert emulator.state.stats()["code_exchanges"] == {}


def test_the_shared_callback_refuses_an_expired_state(owner_client, emulator, tenant) -> None:
    callback = _consent(_start(owner_client, "google_ads"))
    OAuthRoute.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = _public(urlsplit(callback).path + "?" + urlsplit(callback).query)

    assert response.status_code == 400 and "expired" in response.content.decode()
    assert not Connection.objects.exists() and emulator.state.stats()["code_exchanges"] == {}


def test_expired_routes_are_pruned_when_an_attempt_begins(owner_client, emulator) -> None:
    _start(owner_client, "google_ads")
    OAuthRoute.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    _start(owner_client, "meta")
    assert OAuthRoute.objects.count() == 1 and OAuthRoute.objects.get().expires_at > timezone.now()


def test_disconnecting_drops_pending_attempts_and_their_routes(owner_client, emulator, connect) -> None:
    from connectors import services

    connection = connect("google_ads")
    start = owner_client.get(f"/data-sources/{connection.pk}/reauthorize/")
    assert OAuthRoute.objects.count() == 1

    services.connection_disconnect(connection=connection)

    assert not OAuthState.objects.exists() and not OAuthRoute.objects.exists()
    callback = _consent(start["Location"])
    assert _public(urlsplit(callback).path + "?" + urlsplit(callback).query).status_code == 400


def test_a_state_begun_in_one_workspace_cannot_be_completed_in_another(
    owner_client, emulator, tenant, make_workspace, workspace_client
) -> None:
    owner = User.objects.get(email="owner@conn.example")
    other = make_workspace("other", owner=owner)
    db.set_tenant(tenant)
    authorize = _start(owner_client, "google_ads")
    callback = _consent(authorize)
    meant_for_conn = _finish(callback, tenant)  # the shared callback routes it to where it began
    # Even a session on the other workspace that claims the state (same person, owner there too)
    # gets nowhere: the attempt is in the first workspace's schema, not in the other's.
    other_client = workspace_client(owner, other)
    session = other_client.session
    session[SESSION_STATES_KEY] = [hashlib.sha256(parse_qs(urlsplit(authorize).query)["state"][0].encode()).hexdigest()]
    session.save()

    rejected = other_client.get(meant_for_conn)

    assert rejected.status_code == 400 and "ignored it" in rejected.content.decode()
    assert emulator.state.stats()["code_exchanges"] == {}
    db.set_tenant(other)
    assert not Connection.objects.exists()
    db.set_tenant(tenant)
    assert OAuthRoute.objects.get().workspace == tenant, "the other workspace spent nothing"
    # ... and the workspace it began in still completes it.
    assert owner_client.get(meant_for_conn).status_code == 302
    assert Connection.objects.count() == 1


def test_the_shared_redirect_uri_is_derived_from_the_public_site_or_set(settings) -> None:
    from connectors import conf

    settings.CONNECTORS_OAUTH_REDIRECT_URI = ""
    settings.BOSCO_DOMAIN = "bosco.example"
    settings.BOSCO_SCHEME, settings.BOSCO_PORT = "https", ""
    assert conf.oauth_redirect_uri() == "https://bosco.example/oauth/callback/"
    settings.BOSCO_SCHEME, settings.BOSCO_PORT = "http", "8000"
    assert conf.oauth_redirect_uri() == "http://bosco.example:8000/oauth/callback/"
    settings.CONNECTORS_OAUTH_REDIRECT_URI = "https://app.bosco.example/oauth/callback/"
    assert conf.oauth_redirect_uri() == "https://app.bosco.example/oauth/callback/"


def _granted(emulator: Any, platform: str) -> Any:
    from connectors.oauth import TokenSet

    minted = emulator.state.issue_tokens(platform)
    return TokenSet(
        access_token=minted["access_token"],
        refresh_token=minted.get("refresh_token") or "",
        expires_at=timezone.now() + timedelta(seconds=int(minted["expires_in"])),
        scopes=minted.get("scope", ""),
    )


def test_a_grant_minted_outside_the_consent_page_connects_every_account_then_renews(emulator, tenant) -> None:
    """The demo's way in (devtools): the service, not the demo, writes the connection and its accounts."""
    from connectors.services import connection_connect_granted

    first = connection_connect_granted(
        platform="meta", tokens=_granted(emulator, "meta"), user_id=None, label="Demo", backfill_days=400
    )
    accounts = list(first.accounts.order_by("external_id").values_list("external_id", "selected"))
    assert len(accounts) == len(EMULATOR_CONFIG.meta_accounts) and all(selected for _, selected in accounts)
    assert (first.label, first.backfill_days, first.token_version) == ("Demo", 400, 1)

    Connection.objects.filter(pk=first.pk).update(status=Connection.Status.NEEDS_REAUTH)
    ConnectionAccount.objects.filter(connection=first).update(selected=False)
    renewed = connection_connect_granted(platform="meta", tokens=_granted(emulator, "meta"), user_id=None)

    assert renewed.pk == first.pk and renewed.token_version == 2
    assert renewed.status == Connection.Status.ACTIVE and renewed.access_token != first.access_token
    assert not renewed.accounts.filter(selected=True).exists(), "a renewed grant keeps the chosen accounts"
    assert Connection.objects.count() == 1
