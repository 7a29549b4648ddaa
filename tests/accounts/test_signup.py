"""Self-serve sign-up: e-mail + password → verify → create workspace → inside it as owner."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_exists

from accounts.models import Domain, Membership, Workspace
from accounts.roles import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _confirm_link(body: str) -> str:
    match = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", body)
    assert match, body
    return urlsplit(match.group(0)).path


def test_signup_verify_create_workspace_lands_owner_inside_it() -> None:
    public = Client(HTTP_HOST=settings.BOSCO_DOMAIN)
    response = public.post(
        "/accounts/signup/", {"email": "founder@shop.example", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    # Unverified: no workspace yet, and the verification mail went out.
    assert len(mail.outbox) == 1
    confirm_path = _confirm_link(mail.outbox[0].body)
    response = public.post(confirm_path)
    assert response.status_code == 302

    response = public.get("/workspaces/", follow=False)
    assert response.status_code == 302 and response["Location"].endswith("/workspaces/new/")

    # The number format starts from the browser's languages (de-CH → the German format).
    page = public.get("/workspaces/new/", HTTP_ACCEPT_LANGUAGE="de-CH,de;q=0.9,en;q=0.8").content.decode()
    assert re.search(r'<option value="de-DE"[^>]*selected', page)
    response = public.post(
        "/workspaces/new/",
        {
            "name": "Shop & Co",
            "slug": "shop-co",
            "reporting_currency": "USD",
            "time_zone": "America/New_York",
            "number_format": "de-DE",
        },
    )
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.hostname == f"shop-co.{settings.BOSCO_DOMAIN}"
    assert target.path == "/auth/handoff/"

    workspace = Workspace.objects.get(slug="shop-co")
    assert workspace.schema_name == "ws_shop_co"
    assert schema_exists("ws_shop_co")
    assert workspace.reporting_currency == "USD" and workspace.time_zone == "America/New_York"
    assert workspace.number_format == "de-DE"
    assert Domain.objects.filter(tenant=workspace, domain=f"shop-co.{settings.BOSCO_DOMAIN}").exists()
    assert Membership.objects.get(workspace=workspace).role == Role.OWNER

    inside = Client(HTTP_HOST=target.hostname)
    response = inside.get(f"{target.path}?{target.query}")
    assert response.status_code == 302 and response["Location"] == "/"
    response = inside.get("/")
    assert response.status_code == 200
    assert b"Shop &amp; Co" in response.content
    assert b"Connect your first data source" in response.content

    # The handoff ticket works once.
    again = Client(HTTP_HOST=target.hostname)
    response = again.get(f"{target.path}?{target.query}")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    connection.set_schema_to_public()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-FR,fr;q=0.9", "fr-FR"),
        ("en-GB,en;q=0.9", "en-GB"),
        ("pt-BR,de;q=0.5", "de-DE"),
        ("nl", "nl-NL"),
        ("pt-BR", "en-US"),
        ("", "en-US"),
    ],
)
def test_the_number_format_guess_follows_the_browser_languages(header: str, expected: str) -> None:
    from accounts.forms import number_format_for

    assert number_format_for(header) == expected


def test_unverified_user_cannot_sign_in() -> None:
    public = Client(HTTP_HOST=settings.BOSCO_DOMAIN)
    public.post("/accounts/signup/", {"email": "new@shop.example", "password1": PASSWORD, "password2": PASSWORD})
    fresh = Client(HTTP_HOST=settings.BOSCO_DOMAIN)
    response = fresh.post("/accounts/login/", {"login": "new@shop.example", "password": PASSWORD})
    # allauth sends unverified users to the "verify your e-mail" page instead of signing them in.
    assert response.status_code == 302 and "confirm-email" in response["Location"]
    assert fresh.get("/workspaces/").status_code == 302


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("www", b"reserved"),
        ("admin", b"reserved"),
        ("api", b"reserved"),
        ("-bad", b"lowercase letters"),
        ("UPPER", b""),  # lower-cased and accepted: addresses are case-insensitive
        ("a", b"lowercase letters"),
        ("has space", b"lowercase letters"),
        ("dou--ble", b"two hyphens"),
        ("x" * 41, b"at most 40"),
    ],
)
def test_bad_workspace_addresses_are_refused_with_a_reason(make_user, workspace_client, slug, message) -> None:
    client = workspace_client(make_user("someone@example.com"))
    response = client.post(
        "/workspaces/new/", {"name": "Thing", "slug": slug, "reporting_currency": "EUR", "time_zone": "UTC"}
    )
    if slug == "UPPER":
        assert response.status_code == 302
        assert Workspace.objects.filter(slug="upper").exists()
        connection.set_schema_to_public()
        return
    assert response.status_code == 400
    assert message in response.content
    assert not Workspace.objects.filter(name="Thing").exists()


def test_taken_address_is_refused(make_workspace, make_user, workspace_client) -> None:
    make_workspace("taken")
    client = workspace_client(make_user("late@example.com"))
    response = client.post(
        "/workspaces/new/", {"name": "Taken again", "slug": "taken", "reporting_currency": "EUR", "time_zone": "UTC"}
    )
    assert response.status_code == 400
    assert b"already taken" in response.content


def test_unknown_currency_or_time_zone_is_refused(make_user, workspace_client) -> None:
    client = workspace_client(make_user("c@example.com"))
    response = client.post(
        "/workspaces/new/", {"name": "X", "slug": "xcur", "reporting_currency": "XYZ", "time_zone": "Mars/Base"}
    )
    assert response.status_code == 400
    assert not Workspace.objects.filter(slug="xcur").exists()


def test_slug_suggestion_fragment_says_whether_address_is_free(make_workspace) -> None:
    make_workspace("acme")
    public = Client(HTTP_HOST=settings.BOSCO_DOMAIN)
    free = public.get("/workspaces/new/address/", {"name": "Globex Corp"}, HTTP_HX_REQUEST="true")
    assert free.status_code == 200 and b"globex-corp" in free.content and b"is available" in free.content
    taken = public.get("/workspaces/new/address/", {"slug": "acme"}, HTTP_HX_REQUEST="true")
    assert b"already taken" in taken.content
    assert b"<html" not in taken.content  # a fragment, not a page
