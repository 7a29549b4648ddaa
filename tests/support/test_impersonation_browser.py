"""Impersonation in chromium: support starts it in the admin (real staff session with the second
factor), the browser opens the workspace as the member, every page shows the banner, writes are
refused, ending it signs the session out, and the owner sees in Settings when and why."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Membership, Workspace
from accounts.roles import Role
from support.models import AuditEntry, Impersonation
from support.services import health_refresh
from tests.support.conftest import action_url

pytestmark = pytest.mark.django_db(transaction=True)

REASON = "Customer says the Overview is empty (ticket #5120)"
FORBIDDEN = "console error: Failed to load resource: the server responded with a status of 403 (Forbidden)"


def test_impersonation_shows_the_banner_everywhere_is_read_only_and_is_shown_to_the_owner(
    web: Any, make_workspace: Any, admin_client: Client, staff: Any
) -> None:
    acme: Workspace = make_workspace("acme")
    owner = Membership.objects.get(workspace=acme, role=Role.OWNER).user

    # The console's pages, in the browser with the staff session (it passed the second factor).
    with schema_context(acme.schema_name):
        health_refresh()
    cookie = admin_client.cookies[settings.SESSION_COOKIE_NAME]
    web.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": web.url("/")}])
    web.goto("/admin/support/workspacehealth/")
    assert "Acme" in web.page.inner_text("#result_list")
    web.screenshot("support-health-list")
    web.goto(f"/admin/support/workspacehealth/workspace/{acme.pk}/")
    assert "Audit log" in web.page.inner_text("#content-main")
    web.screenshot("support-workspace")

    response = admin_client.post(action_url(acme, "impersonate"), {"member": owner.pk, "reason": REASON})
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.hostname == f"acme.{web.url().split('//')[1].split(':')[0]}"
    token = parse_qs(location.query)["token"][0]
    assert AuditEntry.objects.filter(workspace=acme, action="impersonate", reason=REASON).count() == 1

    page = web.page
    web.goto(f"/auth/handoff/support/?token={token}", acme)
    for path in ("/", "/data-sources/", "/settings/", "/settings/team/"):
        web.goto(path, acme)
        banner = page.locator("#impersonation-banner")
        assert banner.count() == 1, path
        text = banner.inner_text()
        assert staff.email in text and owner.email in text and REASON in text and "read-only" in text
    web.screenshot("support-impersonation")

    # Read-only: the owner's own settings form is refused, and nothing changes.
    web.goto("/settings/", acme)
    page.fill("input[name=name]", "Renamed by support")
    page.click("main form:not([action]) button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "nothing can be changed" in page.inner_text("main")
    assert Workspace.objects.get(pk=acme.pk).name == "Acme"
    assert web.errors == [FORBIDDEN]
    web.errors.clear()

    # Ending it signs the borrowed session out; the ticket cannot be used twice.
    web.goto("/", acme)
    page.click("#impersonation-banner button[type=submit]")
    page.wait_for_load_state("networkidle")
    impersonation = Impersonation.objects.get(workspace=acme)
    assert impersonation.ended_at is not None and impersonation.used_at is not None
    web.goto("/", acme)
    assert "/accounts/login/" in page.url
    web.goto(f"/auth/handoff/support/?token={token}", acme)
    assert "/accounts/login/" in page.url and "expired or was already used" in page.inner_text("body")

    # The owner, signed in for real, sees when and why support looked.
    web.login(owner, acme)
    web.goto("/settings/", acme)
    assert page.locator("#impersonation-banner").count() == 0
    visits = page.inner_text("#support-visits")
    assert REASON in visits and staff.email in visits and owner.email in visits
    web.screenshot("support-visits-in-settings")
