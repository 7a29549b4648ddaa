"""The Airbyte pages through the Django test client on the workspace host (the fake source).

The browser test (test_browser.py) submits the generated form for the real faker source; here
the views' branches: preparing, an unsupported spec, a refused form, roles, the card, streams,
the CSV export of a raw stream and its formula guard.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.core.cache import cache
from django.db import connection as db

from accounts.models import Membership, User
from connectors.models import AirbyteSource, Connection, SyncRun
from tests.connectors.airbyte.conftest import set_config

pytestmark = pytest.mark.django_db(transaction=True)


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


def test_sources_page_lists_the_offered_sources(owner) -> None:
    html = owner.get("/data-sources/airbyte/").content.decode()
    for name in (
        "Sample data (Faker)",
        "LinkedIn Ads",
        "Pinterest Ads",
        "Snapchat Ads",
        "Amazon Ads",
        "airbyte-source-bing-ads",
    ):
        assert name in html
    assert "Fake source" not in html
    assert 'href="/data-sources/airbyte/add/faker/"' in html


def test_the_add_page_prepares_the_source_first(owner, fake_source, queued) -> None:
    html = owner.get("/data-sources/airbyte/add/fake/").content.decode()
    assert "Preparing Fake source" in html
    assert [c[0] for c in queued] == ["connectors.tasks.airbyte_prepare"]
    owner.get("/data-sources/airbyte/add/fake/")
    assert len(queued) == 1, "one preparation at a time"


def test_adding_through_the_generated_form_stores_secrets_encrypted(owner, fake_source, queued) -> None:
    from connectors.airbyte.services import source_prepare

    source_prepare(source_key="fake")
    page = owner.get("/data-sources/airbyte/add/fake/").content.decode()
    assert 'name="count"' in page and 'type="password"' in page and 'name="api_key"' in page
    refused = owner.post(
        "/data-sources/airbyte/add/fake/", {"count": "-3", "bosco_currency": "EUR", "bosco_time_zone": "Mars/Base"}
    )
    assert refused.status_code == 400
    text = refused.content.decode()
    assert "greater than or equal to 0" in text and "Use a time zone name" in text
    assert not Connection.objects.exists(), "nothing is stored from a refused form"
    response = owner.post(
        "/data-sources/airbyte/add/fake/",
        {
            "bosco_label": "Events feed",
            "bosco_currency": "USD",
            "bosco_time_zone": "America/New_York",
            "count": "4",
            "state_every": "2",
            "api_key": "k3y",
        },
    )
    connection = Connection.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/data-sources/{connection.pk}/"
    row = AirbyteSource.objects.get(connection=connection)
    assert row.config == {"count": 4, "state_every": 2} and row.secrets == '{"api_key": "k3y"}'
    assert connection.accounts.get().currency == "USD"
    assert ("connectors.tasks.airbyte_check_discover", (db.schema_name,), {"connection_id": connection.pk}) in [
        (n, a, {k: v for k, v in kw.items() if k != "on_commit"}) for n, a, kw in queued
    ]
    detail = owner.get(f"/data-sources/{connection.pk}/").content.decode()
    assert "Testing the connection and reading the source" in detail and "Events feed" in detail


def test_an_unsupported_spec_is_refused_with_the_fields_named(owner, fake_source, queued) -> None:
    from connectors.airbyte.services import _spec_key

    cache.set(
        _spec_key(fake_source),
        {"type": "object", "properties": {"rules": {"type": "array", "items": {"type": "object"}}}},
    )
    response = owner.get("/data-sources/airbyte/add/fake/")
    assert response.status_code == 422
    assert "rules (a list of object)" in response.content.decode()


def test_viewers_cannot_add_or_choose_streams(viewer, fake_source) -> None:
    assert viewer.get("/data-sources/airbyte/add/fake/").status_code == 403
    assert viewer.post("/data-sources/1/airbyte/streams/", {"streams": ["events"]}).status_code == 403


def test_card_streams_and_csv_export(owner, fake_source, airbyte_connection, sync, queued) -> None:
    connection = airbyte_connection("fake", {"count": 3, "state_every": 2, "notes": 2}, ["events"])
    sync(connection)
    card = owner.get(f"/data-sources/{connection.pk}/airbyte/").content.decode()
    assert "connection test passed" in card and 'value="events"' in card and "incremental" in card
    assert f'href="/data-sources/{connection.pk}/airbyte/export/events/"' in card

    response = owner.post(f"/data-sources/{connection.pk}/airbyte/streams/", {"streams": ["events", "notes"]})
    assert response.status_code == 302
    assert connection.airbyte.__class__.objects.get(connection=connection).streams == ["events", "notes"]
    assert SyncRun.objects.filter(connection=connection, status="queued").exists()
    bad = owner.post(f"/data-sources/{connection.pk}/airbyte/streams/", {"streams": ["nope"]}, follow=True)
    assert "Unknown streams: nope" in bad.content.decode()

    set_config(connection, count=4)
    from connectors.airbyte.bridge import raw_stream_name
    from warehouse.models import RawRecord

    RawRecord.objects.filter(stream=raw_stream_name(connection.pk, "events"), record_key__endswith="|1").update(
        payload={"id": 1, "updated_at": 1, "label": '=HYPERLINK("http://x")'}
    )
    export = owner.get(f"/data-sources/{connection.pk}/airbyte/export/events/")
    assert export["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert {"id": "1", "updated_at": "1", "label": '\'=HYPERLINK("http://x")'} in rows and len(rows) == 3
    assert owner.get(f"/data-sources/{connection.pk}/airbyte/export/secret/").status_code == 404


def test_the_data_sources_page_shows_an_airbyte_connection_like_the_others(
    owner, fake_source, airbyte_connection, sync
) -> None:
    connection = airbyte_connection("fake", {"count": 5, "state_every": 2}, ["events"])
    sync(connection)
    html = owner.get("/data-sources/").content.decode()
    assert "Test fake" in html and f'id="connection-{connection.pk}"' in html
    assert "More sources" in html
    set_config(connection, count=8, fault="garbage", fault_at=0)
    sync(connection)
    html = owner.get("/data-sources/").content.decode()
    assert "not an Airbyte message" in html
