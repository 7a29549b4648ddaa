"""The Digests tab (settings, preview, send now, white-label) and the signed unsubscribe links
(GET shows a confirmation, POST unsubscribes without a session or CSRF token, a forged or mangled
signature is refused and changes nothing)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client

from digests import selectors, tokens
from digests.message import unsubscribe_url
from digests.models import DigestBranding, DigestSend, DigestSubscription
from tests.digests.conftest import make_agency, owner_of, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(digest_workspace: Any, workspace_client: Any) -> Client:
    return workspace_client(owner_of(digest_workspace), digest_workspace)


def test_the_tab_shows_the_form_a_preview_in_a_sandboxed_iframe_and_no_digest_yet(owner_client: Client) -> None:
    page = owner_client.get("/settings/digests/").content.decode()
    assert 'id="digest-form"' in page and 'name="time_zone"' in page and 'name="delivery"' in page
    assert "<iframe" in page and 'sandbox="allow-same-origin allow-popups' in page and "srcdoc=" in page
    assert "data:image/png;base64," in page  # the charts, inline in the preview
    assert 'id="digest-status">Off<' in page and "Not sent yet" in page
    assert 'id="branding-locked"' in page  # not on the Agency plan


def test_saving_a_schedule_in_my_time_zone_reads_back(owner_client: Client, digest_workspace: Any) -> None:
    response = owner_client.post(
        "/settings/digests/",
        {"frequency": "weekly", "weekday": "4", "hour": "7", "time_zone": "America/New_York", "delivery": "combined"},
    )
    assert response.status_code == 302
    page = owner_client.get("/settings/digests/").content.decode()
    assert "Your digest settings are saved." in page and ">Weekly<" in page
    assert "Friday" in page and "(America/New_York)" in page
    owner = owner_of(digest_workspace)
    subscription = selectors.subscription_for(user=owner, workspace=digest_workspace)
    assert (subscription.frequency, subscription.weekday, subscription.hour) == ("weekly", 4, 7)
    profile = selectors.profile_for(user=owner)
    assert (profile.time_zone, profile.delivery) == ("America/New_York", "combined")


@pytest.mark.parametrize(
    ("field", "value"),
    [("frequency", "hourly"), ("hour", "24"), ("hour", "-1"), ("weekday", "7"), ("time_zone", "Mars/Olympus"),
     ("delivery", "fax")],
)  # fmt: skip
def test_bad_settings_are_refused_at_their_field_and_nothing_is_saved(
    owner_client: Client, digest_workspace: Any, field: str, value: str
) -> None:
    subscribe(owner_of(digest_workspace), digest_workspace, frequency="daily", hour=6)
    data = {"frequency": "weekly", "weekday": "0", "hour": "8", "time_zone": "UTC", "delivery": "per_workspace"}
    response = owner_client.post("/settings/digests/", {**data, field: value})
    assert response.status_code == 400
    assert "Your settings were not saved" in response.content.decode()
    subscription = DigestSubscription.objects.get(workspace=digest_workspace)
    assert (subscription.frequency, subscription.hour) == ("daily", 6)


def test_branding_is_refused_below_the_agency_plan_and_saved_on_it(owner_client: Client, digest_workspace: Any) -> None:
    data = {"sender_name": "Acme Agency", "logo_url": "https://agency.example/logo.png",
            "primary_color": "#AA3366", "accent_color": "#112233"}  # fmt: skip
    refused = owner_client.post("/settings/digests/branding/", data)
    assert refused.status_code == 403 and "Agency plan" in refused.content.decode()
    assert not DigestBranding.objects.exists()

    make_agency(digest_workspace)
    bad = owner_client.post(
        "/settings/digests/branding/", {**data, "primary_color": "pink", "logo_url": "http://x.io/l.png"}
    )
    assert bad.status_code == 400
    body = bad.content.decode()
    assert "six hex digits" in body and "https address" in body and not DigestBranding.objects.exists()
    assert owner_client.post("/settings/digests/branding/", data).status_code == 302
    branding = DigestBranding.objects.get(workspace=digest_workspace)
    assert (branding.sender_name, branding.primary_color) == ("Acme Agency", "#aa3366")
    page = owner_client.get("/settings/digests/").content.decode()
    assert "Acme Agency" in page and 'id="branding-form"' in page


def test_a_viewer_cannot_change_the_branding(digest_workspace: Any, make_user: Any, workspace_client: Any) -> None:
    from accounts.models import Membership

    viewer = make_user("viewer@example.com")
    Membership.objects.create(user=viewer, workspace=digest_workspace, role="viewer")
    make_agency(digest_workspace)
    client = workspace_client(viewer, digest_workspace)
    assert client.get("/settings/digests/").status_code == 200  # every member has their own digest
    response = client.post("/settings/digests/branding/", {"sender_name": "x", "primary_color": "#000000",
                                                           "accent_color": "#000000"})  # fmt: skip
    assert response.status_code == 403 and not DigestBranding.objects.exists()


def test_send_now_queues_one_manual_digest_and_the_preview_fragment_renders(owner_client: Client) -> None:
    response = owner_client.post("/settings/digests/send-now/", follow=True)
    assert "Your digest is on its way to owner@dgst.example." in response.content.decode()
    again = owner_client.post("/settings/digests/send-now/", follow=True)
    assert "already on its way" in again.content.decode()
    assert DigestSend.objects.filter(kind="manual").count() == 1
    fragment = owner_client.get("/settings/digests/preview/").content.decode()
    assert fragment.strip().startswith('<div id="digest-preview">') and "<iframe" in fragment


def _public() -> Client:
    return Client(HTTP_HOST=settings.BOSCO_DOMAIN, enforce_csrf_checks=True)


def _path(url: str) -> str:
    return urlsplit(url).path


def test_the_unsubscribe_link_asks_first_then_unsubscribes_without_signing_in(digest_workspace: Any) -> None:
    owner = owner_of(digest_workspace)
    subscribe(owner, digest_workspace, frequency="weekly")
    path = _path(unsubscribe_url(user_id=owner.pk, scope=digest_workspace.schema_name))
    client = _public()
    page = client.get(path)
    assert page.status_code == 200 and "Stop receiving digests of Digest Shop?" in page.content.decode()
    assert (
        selectors.subscription_for(user=owner, workspace=digest_workspace).frequency == "weekly"
    )  # GET changes nothing
    done = client.post(path)  # the form's POST: no session, no CSRF token — the signature is the proof
    assert done.status_code == 200 and "You will receive no more digests of Digest Shop" in done.content.decode()
    assert selectors.subscription_for(user=owner, workspace=digest_workspace).frequency == "off"


def test_one_click_unsubscribe_post_of_rfc_8058_works_without_cookies(digest_workspace: Any) -> None:
    owner = owner_of(digest_workspace)
    subscribe(owner, digest_workspace, frequency="daily")
    path = _path(unsubscribe_url(user_id=owner.pk, scope=tokens.ALL))
    response = _public().post(path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert selectors.subscription_for(user=owner, workspace=digest_workspace).frequency == "off"


def test_a_forged_or_mangled_token_is_refused_and_changes_nothing(digest_workspace: Any, make_user: Any) -> None:
    owner = owner_of(digest_workspace)
    subscribe(owner, digest_workspace, frequency="daily")
    genuine = tokens.unsubscribe_token(user_id=owner.pk + 1000, scope="all")
    signature = genuine.partition(":")[2]
    # my id under another member's signature, a genuine token with a mangled signature, garbage
    other_payload = signing.dumps({"u": owner.pk, "s": "all"}, salt="not-the-salt").partition(":")[0]
    for token in (f"{other_payload}:{signature}", genuine[:-2] + "xx", "not-a-token"):
        client = _public()
        for method in (client.get, client.post):
            response = method(f"/digests/unsubscribe/{token}/")
            assert response.status_code == 400 and "does not work" in response.content.decode()
    assert selectors.subscription_for(user=owner, workspace=digest_workspace).frequency == "daily"
