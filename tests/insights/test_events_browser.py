"""The events page in chromium: a workspace adds, edits and deletes its sales and sets its holiday
country through the forms, then a scoring run on a real Celery worker forecasts with them and the
Forecasts page says so."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django_tenants.utils import schema_context

from accounts.models import User, Workspace
from insights.models import ModelVersion, WorkspaceEvent
from tests.insights.conftest import yesterday_utc

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]


def _events(workspace: Workspace) -> list[tuple[str, str, str]]:
    with schema_context(workspace.schema_name):
        return [(e.name, e.start.isoformat(), e.end.isoformat()) for e in WorkspaceEvent.objects.order_by("start")]


def _forecast_versions(workspace: Workspace) -> list[dict]:
    with schema_context(workspace.schema_name):
        return list(ModelVersion.objects.filter(kind=ModelVersion.Kind.FORECAST).values_list("params", flat=True))


def _submit(page, form: str) -> None:
    page.click(f"{form} button[type=submit]")
    page.wait_for_load_state("networkidle")


def _refused(web) -> None:
    """A refused form answers 400 (chromium logs it); nothing else went wrong."""
    assert [e for e in web.errors if "status of 400" not in e] == []
    assert len(web.errors) == 1
    web.errors.clear()


def test_events_entered_on_the_page_are_used_by_the_next_forecast_run(
    web, celery_worker, data_workspace, settings
) -> None:
    settings.INSIGHTS_CAMPAIGN_LIMIT = 2
    settings.INSIGHTS_FORECAST_CAMPAIGNS = 0
    settings.INSIGHTS_HOLIDAY_COUNTRY = ""
    workspace = data_workspace("ins-events", days=70)
    as_of = yesterday_utc()
    last_sale = as_of - timedelta(days=20)
    next_sale = as_of + timedelta(days=5)
    page = web.page
    page.set_default_timeout(20_000)
    web.login(User.objects.get(email="owner@ins-events.example"), workspace)

    # Not scored yet: the empty Forecasts page already leads to the events.
    web.goto("/insights/forecasts/", workspace)
    page.click("#events-link")
    page.wait_for_url("**/insights/forecasts/events/")
    assert page.is_visible("text=No events yet")
    assert "Forecasts know no public holidays yet." in page.inner_text("#holidays")

    # A sale that ends before it starts is refused with the form as typed; nothing is stored.
    page.fill("#ev-name", "Spring sale")
    page.fill("#ev-start", last_sale.isoformat())
    page.fill("#ev-end", (last_sale - timedelta(days=2)).isoformat())
    _submit(page, "#event-form")
    assert page.inner_text("#event-error") == "An event cannot end before it starts."
    assert page.input_value("#ev-name") == "Spring sale"
    assert _events(workspace) == []
    _refused(web)

    page.fill("#ev-end", (last_sale + timedelta(days=2)).isoformat())
    _submit(page, "#event-form")
    assert page.url.endswith("/insights/forecasts/events/")
    page.fill("#ev-name", "Spring sale")
    page.fill("#ev-start", next_sale.isoformat())
    page.fill("#ev-end", "")
    _submit(page, "#event-form")
    page.fill("#ev-name", "Launch")
    page.fill("#ev-start", (as_of - timedelta(days=40)).isoformat())
    _submit(page, "#event-form")
    rows = page.locator("#events-table tbody tr")
    assert rows.count() == 3
    assert "upcoming" in rows.nth(0).inner_text() and "Spring sale" in rows.nth(0).inner_text()
    assert "2 dates under this name" in rows.nth(0).inner_text()
    web.screenshot("insights-events")

    # The upcoming sale runs three days, not one.
    rows.nth(0).locator("text=Edit").click()
    page.wait_for_selector("#edit-form")
    page.fill("#ed-end", (next_sale + timedelta(days=2)).isoformat())
    _submit(page, "#edit-form")
    assert ("Spring sale", next_sale.isoformat(), (next_sale + timedelta(days=2)).isoformat()) in _events(workspace)
    assert page.locator("#events-table tbody tr").nth(0).locator("td").nth(2).inner_text() == "3"

    # The launch was a mistake: deleted after the confirmation.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#events-table tbody tr", has_text="Launch").locator("button", has_text="Delete").click()
    page.wait_for_load_state("networkidle")
    assert [name for name, _, _ in _events(workspace)] == ["Spring sale", "Spring sale"]

    # An unknown country is refused; a known one is kept.
    page.fill("#ev-country", "XX")
    _submit(page, "#country-form")
    assert "not a country Bosco knows" in page.inner_text("#country-error")
    assert Workspace.objects.get(pk=workspace.pk).holiday_country == ""
    _refused(web)
    page.fill("#ev-country", "us")
    _submit(page, "#country-form")
    assert page.inner_text("#holiday-country") == "US"
    assert Workspace.objects.get(pk=workspace.pk).holiday_country == "US"

    # The next scoring run, on the worker, forecasts with both.
    web.goto("/insights/forecasts/", workspace)
    page.click("text=Run the forecasts now")
    page.wait_for_load_state("networkidle")
    deadline = time.monotonic() + 300
    while not _forecast_versions(workspace) and time.monotonic() < deadline:
        time.sleep(2)
    versions = _forecast_versions(workspace)
    assert versions, "the scoring run stored no forecast"
    assert all(p["country"] == "US" and p["events"] == 2 for p in versions)
    learned = versions[0]["calendar"]["special_days"]
    assert "event: Spring sale" in learned  # the past sale's effect was fitted

    web.goto("/insights/forecasts/", workspace)
    assert page.inner_text("#forecast-events") == "2 events"
    assert "knows US holidays and 2 events" in page.inner_text(".kpis")
    web.screenshot("insights-forecasts-with-events")
