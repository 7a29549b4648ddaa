"""One new customer's whole journey in chromium, with every form in the product submitted for real.

A live server on a transactional test database, so every write is committed exactly as in
production (a `select_for_update` outside a transaction, or an `on_commit` that never fires,
fails here the way it fails for a user). Sign up → verify → create a workspace → save the
workspace settings → connect Google Ads on the emulator → the real worker syncs → open every
page → team (invite, withdraw, accept, change role, remove), API keys (create, revoke),
insights (run now, attribution import and delete, budget scenario save and delete), the
connection (sync settings, pause, resume, disconnect). Each result is checked on the next
page load, not on the answer to the POST. Screenshots: artifacts/screenshots/journey-*.png.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django_tenants.utils import schema_context

from accounts.models import Membership, Workspace
from insights.services.paths_csv import SAMPLE_CSV
from tests.browser.conftest import connect_google_ads_and_wait_for_the_warehouse
from tests.conftest import PASSWORD, SCREENSHOT_DIR

pytestmark = [
    pytest.mark.browser,
    pytest.mark.celery_worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

SLUG = "juniper-bay"


def _same_host_path(web: Any, link: str) -> str:
    """An e-mailed link on this live server (mails name the host without the test port)."""
    path = re.sub(r"^https?://[^/]+", "", link)
    return web.url(path)


def _sign_up_and_create_workspace(web: Any) -> Workspace:
    page = web.page
    web.goto("/accounts/signup/")
    page.fill("input[name=email]", "owner@juniper.example")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(_same_host_path(web, link))
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.fill("input[name=name]", "Juniper Bay")
    page.wait_for_timeout(600)  # the address is suggested from the name as one types
    assert page.input_value("input[name=slug]") == SLUG
    page.select_option("select[name=reporting_currency]", "EUR")
    page.select_option("select[name=time_zone]", "Europe/Berlin")
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    workspace = Workspace.objects.get(slug=SLUG)
    assert page.url.startswith(web.url("/", workspace))
    return workspace


def _submit(page: Any, selector: str) -> None:
    page.click(selector)
    page.wait_for_load_state("networkidle")


def _save_workspace_settings(web: Any, workspace: Workspace) -> None:
    from playwright.sync_api import expect

    page = web.page
    web.goto("/settings/", workspace)
    page.fill("input[name=name]", "Juniper Bay Outdoor")
    page.select_option("select[name=time_zone]", "Europe/Paris")
    page.select_option("select[name=number_format]", "de-DE")
    _submit(page, "main form button[type=submit]")
    web.goto("/settings/", workspace)
    assert page.input_value("input[name=name]") == "Juniper Bay Outdoor"
    assert page.input_value("select[name=time_zone]") == "Europe/Paris"
    assert page.input_value("select[name=number_format]") == "de-DE"
    expect(page.locator(".switcher")).to_contain_text("Juniper Bay Outdoor")
    web.screenshot("journey-settings-saved")


def _connect_google_ads_and_sync(web: Any, workspace: Workspace) -> Any:
    web.goto("/data-sources/", workspace)
    return connect_google_ads_and_wait_for_the_warehouse(web.page, workspace).connection_id


def _open_every_page(web: Any, workspace: Workspace, connection_id: int) -> None:
    page = web.page
    pages = {
        "/": "overview",
        "/channels/": "channels",
        "/campaigns/": "campaigns",
        "/insights/": "insights",
        "/insights/anomalies/": "anomalies",
        "/insights/forecasts/": "forecasts",
        "/insights/attribution/": "attribution",
        "/insights/models/": "models",
        "/data-sources/": "data-sources",
        f"/data-sources/{connection_id}/": "connection",
        "/settings/digests/": "settings-digests",
        "/settings/billing/": "settings-billing",
    }
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for path, name in pages.items():
        response = web.goto(path, workspace)
        assert response.status == 200, (path, response.status)
        assert page.locator("main").count() == 1, path
        # Desktop only: the dashboards' own browser tests take these pages at phone width too.
        page.screenshot(path=str(SCREENSHOT_DIR / f"journey-{name}-desktop.png"), full_page=True)
    web.goto("/campaigns/", workspace)
    page.locator("#campaign-table a.name").first.click()
    page.wait_for_url(re.compile(r".*/campaigns/google_ads:.*"))
    web.screenshot("journey-campaign")


def _team_forms(web: Any, workspace: Workspace, browser: Any) -> None:
    from playwright.sync_api import expect

    from accounts.models import User
    from tests.conftest import DESKTOP

    page = web.page
    web.goto("/settings/team/", workspace)
    page.fill("input[name=email]", "leaving@juniper.example")
    _submit(page, "text=Send invitation")
    web.goto("/settings/team/", workspace)
    row = page.locator("tr", has_text="leaving@juniper.example")
    expect(row).to_be_visible()
    _submit(page, "tr:has-text('leaving@juniper.example') >> text=Withdraw")
    web.goto("/settings/team/", workspace)
    expect(page.locator("tr", has_text="leaving@juniper.example")).to_have_count(0)

    mail.outbox.clear()
    page.fill("input[name=email]", "colleague@juniper.example")
    page.select_option("#invite-role", "analyst")
    _submit(page, "text=Send invitation")
    accept_link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)

    # The colleague signs in on the public site in a browser of their own and accepts.
    from allauth.account.models import EmailAddress

    colleague = User.objects.create_user("colleague@juniper.example", PASSWORD)
    EmailAddress.objects.create(user=colleague, email=colleague.email, verified=True, primary=True)
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    try:
        other = context.new_page()
        other.goto(web.url("/accounts/login/"), wait_until="networkidle")
        other.fill("input[name=login]", colleague.email)
        other.fill("input[name=password]", PASSWORD)
        other.click("main form button[type=submit]")
        other.wait_for_load_state("networkidle")
        other.goto(_same_host_path(web, accept_link), wait_until="networkidle")
        other.click("main form button[type=submit]")
        other.wait_for_load_state("networkidle")
        assert other.url.startswith(web.url("/", workspace)), other.url
    finally:
        context.close()

    web.goto("/settings/team/", workspace)
    membership = Membership.objects.get(workspace=workspace, user=colleague)
    assert page.input_value(f"#role-{membership.pk}") == "analyst"
    page.select_option(f"#role-{membership.pk}", "admin")
    _submit(page, f"form:has(#role-{membership.pk}) button[type=submit]")
    web.goto("/settings/team/", workspace)
    assert page.input_value(f"#role-{membership.pk}") == "admin"
    web.screenshot("journey-team")

    page.once("dialog", lambda dialog: dialog.accept())
    _submit(page, f"tr:has(#role-{membership.pk}) >> text=Remove")
    web.goto("/settings/team/", workspace)
    expect(page.locator(f"#role-{membership.pk}")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("colleague@juniper.example")


def _api_key_forms(web: Any, workspace: Workspace) -> None:
    from playwright.sync_api import expect

    page = web.page
    web.goto("/settings/api-keys/", workspace)
    page.fill("input[name=name]", "Nightly export")
    _submit(page, "text=Create key")
    assert page.input_value("#new-key").startswith("bsk_")
    web.goto("/settings/api-keys/", workspace)
    row = page.locator("tr", has_text="Nightly export")
    expect(row.get_by_role("button", name="Revoke", exact=True)).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    _submit(page, "tr:has-text('Nightly export') >> text=Revoke")
    web.goto("/settings/api-keys/", workspace)
    expect(page.locator("tr", has_text="Nightly export")).to_contain_text("revoked")
    expect(page.locator("tr", has_text="Nightly export").get_by_role("button")).to_have_count(0)
    web.screenshot("journey-api-keys")


def _insight_forms(web: Any, workspace: Workspace, tmp_path: Any) -> None:
    from playwright.sync_api import expect

    from insights.models import AttributionImport, BudgetScenario

    page = web.page
    web.goto("/insights/forecasts/", workspace)
    _submit(page, "text=Run the forecasts now")
    assert page.url.endswith("/insights/"), page.url

    web.goto("/insights/attribution/", workspace)
    paths = tmp_path / "paths.csv"
    paths.write_text(SAMPLE_CSV)
    page.set_input_files("#path-file", str(paths))
    page.fill("#import-name", "November journeys")
    _submit(page, "#upload-form button[type=submit]")
    web.goto("/insights/attribution/", workspace)
    expect(page.locator("#imports")).to_contain_text("November journeys")
    page.click("#imports >> text=November journeys")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#import-title")).to_have_text("November journeys")
    web.screenshot("journey-attribution")
    page.once("dialog", lambda dialog: dialog.accept())
    _submit(page, "text=Delete import")
    web.goto("/insights/attribution/", workspace)
    expect(page.locator("main")).not_to_contain_text("November journeys")
    with schema_context(workspace.schema_name):
        assert not AttributionImport.objects.exists()

    web.goto("/insights/budget/?scope=campaign&period=month", workspace)
    page.wait_for_selector("#save-scenario", timeout=90_000)
    page.fill("#scenario-name", "Campaign mix")
    _submit(page, "#save-scenario button[type=submit]")
    web.goto("/insights/budget/?scope=campaign&period=month", workspace)
    expect(page.locator("#scenarios")).to_contain_text("Campaign mix")
    web.screenshot("journey-budget")
    page.once("dialog", lambda dialog: dialog.accept())
    _submit(page, "#scenarios >> text=Delete")
    web.goto("/insights/budget/?scope=campaign&period=month", workspace)
    expect(page.locator("#scenarios")).to_have_count(0)
    with schema_context(workspace.schema_name):
        assert not BudgetScenario.objects.exists()


def _connection_forms(web: Any, workspace: Workspace, connection_id: int) -> None:
    from playwright.sync_api import expect

    from connectors.models import Connection

    page = web.page
    detail = f"/data-sources/{connection_id}/"
    web.goto(detail, workspace)
    page.fill("#lookback_days", "14")
    page.fill("#sync_interval_hours", "12")
    _submit(page, "form:has(#lookback_days) button[type=submit]")
    web.goto(detail, workspace)
    assert page.input_value("#lookback_days") == "14"
    assert page.input_value("#sync_interval_hours") == "12"

    _submit(page, "form[action$='/pause/'] button[type=submit]")
    web.goto(detail, workspace)
    expect(page.locator("form[action$='/resume/']")).to_be_visible()
    with schema_context(workspace.schema_name):
        assert Connection.objects.get(pk=connection_id).status == Connection.Status.PAUSED
    web.screenshot("journey-connection-paused")
    _submit(page, "form[action$='/resume/'] button[type=submit]")
    web.goto(detail, workspace)
    expect(page.locator("form[action$='/pause/']")).to_be_visible()
    with schema_context(workspace.schema_name):
        assert Connection.objects.get(pk=connection_id).status == Connection.Status.ACTIVE

    page.once("dialog", lambda dialog: dialog.accept())
    _submit(page, "form[action$='/disconnect/'] button[type=submit]")
    web.goto("/data-sources/", workspace)
    with schema_context(workspace.schema_name):
        assert Connection.objects.get(pk=connection_id).status == Connection.Status.DISCONNECTED
    web.screenshot("journey-disconnected")


def test_a_new_customer_submits_every_form_and_each_change_is_kept(
    web, browser, celery_worker, dashboard_emulator, settings, tmp_path
) -> None:
    settings.INSIGHTS_BUDGET_BOOTSTRAP = 6  # enough refits for a plan; the journey is not about curve quality
    page = web.page
    page.set_default_timeout(20_000)
    # The emulator's consent page has no favicon; chromium's automatic request would 404 there.
    page.route(f"{dashboard_emulator.base_url}/favicon.ico", lambda route: route.fulfill(status=204, body=""))
    workspace = _sign_up_and_create_workspace(web)
    try:
        _save_workspace_settings(web, workspace)
        connection_id = _connect_google_ads_and_sync(web, workspace)
        _open_every_page(web, workspace, connection_id)
        _team_forms(web, workspace, browser)
        _api_key_forms(web, workspace)
        _insight_forms(web, workspace, tmp_path)
        _connection_forms(web, workspace, connection_id)
    finally:
        workspace.delete(force_drop=True)
