"""Adding the real faker source in chromium: the generated form, check + discover, streams, the sync."""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from connectors.airbyte.registry import SOURCES
from connectors.airbyte.venvs import VenvError, venv_ensure
from connectors.models import AirbyteSource, Connection, SyncRun


@pytest.mark.browser
@pytest.mark.celery_worker
def test_add_the_faker_source_through_its_generated_form_and_watch_it_sync(web, celery_worker, tenant) -> None:
    from playwright.sync_api import expect

    try:
        venv_ensure(SOURCES["faker"])  # built once per machine (tests reuse var/airbyte); not a page's job
    except VenvError as exc:
        pytest.fail(f"the faker source's virtualenv could not be built: {exc}")
    owner = User.objects.get(email="owner@conn.example")
    web.login(owner, tenant)
    page = web.page

    web.goto("/data-sources/", tenant)
    page.click("#add-airbyte")
    expect(page.locator("#airbyte-source-linkedin_ads")).to_contain_text("LinkedIn Ads")
    web.screenshot("data-sources-airbyte-sources")
    page.click("#add-airbyte-faker")

    # The worker prepares the source (its spec) and the page turns into the form by itself.
    expect(page.locator("#id_count")).to_be_visible(timeout=90_000)
    page.fill("#id_bosco_label", "Sample shop")
    page.fill("#id_bosco_time_zone", "Europe/Berlin")
    page.fill("#id_count", "60")
    page.fill("#id_seed", "3")
    page.fill("#id_records_per_slice", "10")
    page.fill("#id_parallelism", "1")
    web.screenshot("data-sources-airbyte-form")
    page.click("#airbyte-submit")

    page.wait_for_url(re.compile(r".*/data-sources/\d+/$"))
    connection = Connection.objects.get()
    assert AirbyteSource.objects.get(connection=connection).config["count"] == 60
    # check + discover run on the worker; the card polls until the streams are there
    expect(page.locator("#airbyte-check")).to_contain_text("connection test passed", timeout=90_000)
    expect(page.locator("#stream-users")).to_contain_text("incremental")
    page.uncheck("#stream-products input")
    web.screenshot("data-sources-airbyte-streams")
    page.click("#airbyte-save-streams")
    page.wait_for_url(re.compile(rf".*/data-sources/{connection.pk}/$"))
    expect(page.get_by_text("Streams saved. Sync started.")).to_be_visible()

    web.goto("/data-sources/", tenant)
    row = page.locator(f"#connection-{connection.pk}")
    expect(row).to_contain_text("Sample shop")
    run = SyncRun.objects.get(connection=connection)
    expect(page.locator(f"#run-{run.pk}")).to_have_attribute("data-status", "succeeded", timeout=120_000)
    run.refresh_from_db()
    assert run.rows >= 60 and run.pages >= 1
    web.goto("/data-sources/", tenant)
    expect(page.locator(f"#connection-{connection.pk}")).to_contain_text("Sample shop")
    web.screenshot("data-sources-airbyte")
    web.goto(f"/data-sources/{connection.pk}/", tenant)
    expect(page.locator("#stream-users")).to_contain_text("60")
    web.screenshot("data-sources-airbyte-detail")
