"""The Data sources page and its actions, through the Django test client on the workspace host."""

from __future__ import annotations

import re

import pytest
from django.db import connection as db

from accounts.models import Membership, User
from connectors.models import Connection, StreamCursor, SyncRun
from connectors.sync import run_execute
from tests.connectors.conftest import GOOGLE_EUR, GOOGLE_USD

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(tenant, workspace_client):
    client = workspace_client(User.objects.get(email="owner@conn.example"), tenant)
    db.set_tenant(tenant)
    return client


@pytest.fixture
def viewer(tenant, workspace_client, make_user):
    user = make_user("viewer@conn.example")
    Membership.objects.create(user=user, workspace=tenant, role="viewer")
    client = workspace_client(user, tenant)
    db.set_tenant(tenant)
    return client


def test_empty_page_invites_to_connect(owner) -> None:
    html = owner.get("/data-sources/").content.decode()
    assert "Connect your first ad platform" in html
    assert 'href="/data-sources/connect/google_ads/"' in html and 'href="/data-sources/connect/meta/"' in html


def _ids(html: str) -> list[str]:
    return re.findall(r'\sid="([^"]+)"', html)


def test_the_page_has_one_connect_form_per_state_and_no_repeated_id(owner, emulator, connect) -> None:
    empty = owner.get("/data-sources/").content.decode()
    connect("google_ads")
    connected = owner.get("/data-sources/").content.decode()
    # the empty page offers Shopify in its own form; once a source is connected, the page header does
    assert 'id="connect-shopify-form-empty"' in empty and 'id="connect-shopify-form"' not in empty
    assert 'id="connect-shopify-form"' in connected and 'id="connect-shopify-form-empty"' not in connected
    for html in (empty, connected):
        ids = _ids(html)
        assert ids and sorted({i for i in ids if ids.count(i) > 1}) == []


def test_page_shows_connections_with_status_progress_and_run_history(
    owner, emulator, connect, new_run, handoffs
) -> None:
    done = connect("google_ads")
    run_execute(run_id=new_run(done).pk)
    failing = connect("meta", accounts=[])
    Connection.objects.filter(pk=failing.pk).update(
        status=Connection.Status.NEEDS_REAUTH, status_message="Meta no longer accepts Bosco's access."
    )
    running = new_run(done)
    SyncRun.objects.filter(pk=running.pk).update(
        status="running", units_total=100, units_done=40, rows=1234, duration_seconds=20
    )

    response = owner.get("/data-sources/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Google Ads" in html and "Meta Ads" in html
    assert "2 of 2" in html and "Bosco Demo DE" in html
    assert "Needs re-authorisation" in html and "Meta no longer accepts Bosco&#x27;s access." in html
    assert f'href="/data-sources/{failing.pk}/reauthorize/"' in html
    assert 'value="40"' in html and "40%" in html and "1,234 rows" in html and "about 30 s left" in html
    assert 'hx-trigger="every 3s"' in html, "the table refreshes itself while a sync runs"
    assert "Sync history" in html and "Succeeded" in html


def test_htmx_poll_returns_only_the_connections_fragment(owner, emulator, connect, new_run) -> None:
    connection = connect("google_ads")
    SyncRun.objects.filter(pk=new_run(connection).pk).update(status="running", units_total=10, units_done=5)
    response = owner.get("/data-sources/?fragment=connections", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="connections"') and "<html" not in html


def test_a_viewer_sees_the_page_but_cannot_change_anything(viewer, emulator, connect) -> None:
    connection = connect("google_ads")
    html = viewer.get("/data-sources/").content.decode()
    assert "Google Ads" in html and "Sync now" not in html and "Connect Google Ads" not in html
    for action in ("sync", "pause", "resume", "disconnect", "settings"):
        assert viewer.post(f"/data-sources/{connection.pk}/{action}/").status_code == 403
    assert viewer.post(f"/data-sources/{connection.pk}/accounts/", {"accounts": [GOOGLE_EUR]}).status_code == 403
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE and not SyncRun.objects.exists()


def test_choosing_accounts_starts_a_backfill(owner, emulator, connect) -> None:
    connection = connect("google_ads", accounts=[])
    page = owner.get(f"/data-sources/{connection.pk}/accounts/").content.decode()
    assert "123-456-7890" in page and "Start syncing" in page

    response = owner.post(f"/data-sources/{connection.pk}/accounts/", {"accounts": [GOOGLE_EUR]})

    assert response.status_code == 302
    assert list(connection.accounts.filter(selected=True).values_list("external_id", flat=True)) == [GOOGLE_EUR]
    run = SyncRun.objects.get()
    assert run.kind == SyncRun.Kind.BACKFILL and run.status == SyncRun.Status.QUEUED


def test_choosing_no_account_is_refused_with_a_message(owner, emulator, connect) -> None:
    connection = connect("google_ads", accounts=[])
    response = owner.post(f"/data-sources/{connection.pk}/accounts/", {})
    assert response.status_code == 400
    assert "Choose at least one ad account" in response.content.decode()


def test_an_account_synced_by_another_connection_cannot_be_chosen_twice(owner, emulator, connect) -> None:
    connect("google_ads", accounts=[GOOGLE_EUR])
    second = connect("google_ads", accounts=[])
    response = owner.post(f"/data-sources/{second.pk}/accounts/", {"accounts": [GOOGLE_EUR, GOOGLE_USD]})
    assert response.status_code == 400 and "would count it twice" in response.content.decode()


def test_sync_now_pause_resume(owner, emulator, connect) -> None:
    connection = connect("google_ads")

    owner.post(f"/data-sources/{connection.pk}/sync/")
    owner.post(f"/data-sources/{connection.pk}/sync/")  # a second click while it runs
    assert SyncRun.objects.filter(status="queued").count() == 1

    owner.post(f"/data-sources/{connection.pk}/pause/")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.PAUSED
    assert SyncRun.objects.get().status == SyncRun.Status.CANCELLED
    assert owner.post(f"/data-sources/{connection.pk}/sync/").status_code == 302
    assert SyncRun.objects.count() == 1, "a paused connection does not sync"

    owner.post(f"/data-sources/{connection.pk}/resume/")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    assert SyncRun.objects.filter(status="queued").count() == 1


def test_disconnect_deletes_credentials_and_keeps_the_data(owner, emulator, connect, new_run, handoffs) -> None:
    from warehouse.models import RawRecord

    connection = connect("google_ads")
    run_execute(run_id=new_run(connection).pk)
    rows = RawRecord.objects.count()

    response = owner.post(f"/data-sources/{connection.pk}/disconnect/")

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == Connection.Status.DISCONNECTED
    assert not connection.access_token and not connection.refresh_token
    with db.cursor() as cursor:
        cursor.execute("SELECT coalesce(access_token, ''), coalesce(refresh_token, '') FROM connectors_connection")
        assert cursor.fetchone() == ("", "")
    assert RawRecord.objects.count() == rows > 0
    html = owner.get("/data-sources/").content.decode()
    assert "Disconnected" in html


def test_disconnect_can_delete_the_synced_data_too(owner, emulator, connect, new_run, handoffs) -> None:
    from warehouse.models import RawRecord

    connection = connect("google_ads")
    run_execute(run_id=new_run(connection).pk)
    handoffs.clear()

    owner.post(f"/data-sources/{connection.pk}/disconnect/", {"delete_data": "on"})

    assert not RawRecord.objects.filter(connection_id=connection.pk).exists()
    assert not StreamCursor.objects.filter(connection=connection).exists()
    assert len(handoffs) == 1 and handoffs[0]["connection_id"] == connection.pk, "the warehouse rebuilds that window"


def test_settings_are_validated(owner, emulator, connect) -> None:
    connection = connect("meta")
    owner.post(
        f"/data-sources/{connection.pk}/settings/",
        {"lookback_days": "14", "backfill_days": "400", "sync_interval_hours": "3"},
    )
    connection.refresh_from_db()
    assert (connection.lookback_days, connection.backfill_days, connection.sync_interval_hours) == (14, 400, 3)

    response = owner.post(
        f"/data-sources/{connection.pk}/settings/",
        {"lookback_days": "14", "backfill_days": "5000", "sync_interval_hours": "3"},
        follow=True,
    )
    assert "History can go back between 1 and 1125 days" in response.content.decode()
    connection.refresh_from_db()
    assert connection.backfill_days == 400


def test_connection_detail_shows_accounts_settings_and_runs(owner, emulator, connect, new_run, handoffs) -> None:
    connection = connect("meta")
    run_execute(run_id=new_run(connection).pk)
    html = owner.get(f"/data-sources/{connection.pk}/").content.decode()
    assert "act_1030405060708093" in html and "JPY" in html and "Asia/Tokyo" in html
    assert 'name="lookback_days"' in html and 'value="28"' in html
    assert "Also delete the data synced from this connection" in html
    assert "renewed automatically" in html


OFF_SITE_TARGETS = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "http://other.localhost/",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("action", ["pause", "resume", "disconnect"])
def test_connection_actions_never_redirect_off_the_workspace_host(owner, emulator, connect, action) -> None:
    for target in OFF_SITE_TARGETS:
        connection = connect("google_ads")
        response = owner.post(f"/data-sources/{connection.pk}/{action}/", {"next": target})
        assert response.status_code == 302
        assert response["Location"] == "/data-sources/", target
    # A path on the same host (what the connection page sends) is still followed.
    connection = connect("google_ads")
    response = owner.post(f"/data-sources/{connection.pk}/{action}/", {"next": f"/data-sources/{connection.pk}/"})
    assert response["Location"] == f"/data-sources/{connection.pk}/"
