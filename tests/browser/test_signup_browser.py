"""A new user, in a real browser: sign up, verify, create a workspace, land inside it."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import Membership, Workspace
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_to_workspace_in_the_browser(web, make_workspace) -> None:
    page = web.page
    web.goto("/")
    web.screenshot("public-landing")
    web.goto("/pricing/")
    web.screenshot("public-pricing")
    web.goto("/accounts/signup/")
    web.screenshot("public-signup")
    page.fill("input[name=email]", "founder@example.com")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    web.screenshot("public-verify-sent")

    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link.replace("http://localhost/", web.url("/")).replace("http://testserver/", web.url("/")))
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/workspaces/new/" in page.url
    web.screenshot("public-create-workspace")

    page.fill("input[name=name]", "Acme Outdoor")
    page.wait_for_timeout(600)  # the address is suggested from the name as one types
    assert page.input_value("input[name=slug]") == "acme-outdoor"
    assert page.is_visible("text=is available")
    page.select_option("select[name=reporting_currency]", "USD")
    page.select_option("select[name=time_zone]", "America/New_York")
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")

    assert page.url.startswith(web.url("/", Workspace.objects.get(slug="acme-outdoor")))
    assert page.is_visible("text=Connect your first data source")
    assert page.is_visible(".switcher >> text=Acme Outdoor")
    web.screenshot("workspace-overview-empty")
    assert Membership.objects.get(workspace__slug="acme-outdoor").role == "owner"

    web.goto("/settings/", Workspace.objects.get(slug="acme-outdoor"))
    web.screenshot("workspace-settings")
    web.goto("/settings/team/", Workspace.objects.get(slug="acme-outdoor"))
    web.screenshot("workspace-team")
    page.fill("input[name=email]", "colleague@example.com")
    page.click("text=Send invitation")
    page.wait_for_load_state("networkidle")
    assert page.is_visible("td >> text=colleague@example.com")
    web.goto("/settings/api-keys/", Workspace.objects.get(slug="acme-outdoor"))
    page.fill("input[name=name]", "Warehouse")
    page.click("text=Create key")
    page.wait_for_load_state("networkidle")
    assert page.input_value("#new-key").startswith("bsk_")
    web.screenshot("workspace-api-keys")
    Workspace.objects.get(slug="acme-outdoor").delete(force_drop=True)


def test_sign_in_page_of_a_workspace_host_and_phone_navigation(web, make_workspace) -> None:
    acme = make_workspace("acme")
    owner = Membership.objects.get(workspace=acme).user
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=owner).update(verified=True)
    web.goto("/", acme)
    assert "/accounts/login/" in web.page.url
    web.screenshot("workspace-login")
    web.login(owner, acme)
    assert web.page.is_visible("text=Connect your first data source")
    web.page.set_viewport_size({"width": 390, "height": 844})
    web.page.wait_for_timeout(400)  # the drawer's closing transition
    assert not web.page.is_visible("nav.nav >> text=Settings")
    web.page.click("[data-nav-toggle]")
    web.page.wait_for_timeout(300)
    assert web.page.is_visible("nav.nav >> text=Settings")
