"""Fuzzing every page and form of the public site (the bare BOSCO_DOMAIN): no 5xx on hostile input.

Like test_fuzz_pages.py for a workspace host, with the helpers of tests/bosco/fuzzing.py: the
public site is crawled twice, as an anonymous visitor (landing, pricing, sign-up, sign-in,
password reset) and signed in as the owner of one workspace (the workspace list, the create form
and its address suggestion, e-mail and password settings, the shared OAuth callback). A test
checks that the two crawls together reach every route of `bosco.urls_public`, except those
listed below with the reason; every parameter and form field then gets each hostile value.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Membership, Workspace
from tests.bosco.fuzzing import HOSTILE, VALUES, Site, crawl, get, no_server_error, post, route_names

pytestmark = pytest.mark.django_db

URLCONF = "bosco.urls_public"

# Whole sub-sites the crawl leaves out, by path prefix, each with the reason.
NOT_CRAWLED_PREFIXES = {
    "admin/": "staff only, behind sign-in and the second factor: tests/accounts/test_staff_admin.py",
    "billing/": "the signed Stripe webhook, fuzzed by tests/billing/test_webhooks.py",
}
# Single routes neither crawl reaches, each with the reason.
NOT_CRAWLED = {
    "account_logout": "ends the crawl's session; no input but the CSRF token",
    "metrics": "the Prometheus scrape, behind a bearer token: tests/ops/test_metrics.py",
    "shopify_webhook": "POST only, HMAC-signed by Shopify: forged and unsigned bodies in tests/connectors/test_shopify.py",
    "tracking_collect": "the snippet's beacons, from other sites' pages: bad bodies, origins and keys in tests/tracking/test_collect.py",
    "tracking_snippet": "the snippet file, linked from customers' pages: tests/tracking/test_snippet_file.py",
    "account_inactive": "shown to deactivated users only",
    "account_reauthenticate": "reached only from a sensitive allauth action",
    "account_request_reauthentication_code": "login-by-code is off",
    "account_confirm_reauthentication_code": "login-by-code is off",
    "account_confirm_login_code": "login-by-code is off",
    "account_email_verification_sent": "shown after sign-up only",
    "account_set_password": "for users without a password only",
    "account_reset_password_from_key": "needs a reset key mailed to the user",
    "account_reset_password_from_key_done": "shown after a reset with a mailed key only",
    "account_confirm_email": "needs a confirmation key mailed to the user",
    "mfa_index": "staff second factor: tests/accounts/test_staff_admin.py",
    "mfa_activate_totp": "staff second factor: tests/accounts/test_staff_admin.py",
    "mfa_deactivate_totp": "staff second factor: tests/accounts/test_staff_admin.py",
    "mfa_authenticate": "staff second factor: tests/accounts/test_staff_admin.py",
    "mfa_reauthenticate": "staff second factor: tests/accounts/test_staff_admin.py",
    "mfa_view_recovery_codes": "staff second factor: tests/accounts/test_staff_admin.py",
    "mfa_generate_recovery_codes": "staff second factor: tests/accounts/test_staff_admin.py",
    "mfa_download_recovery_codes": "staff second factor: tests/accounts/test_staff_admin.py",
}
# Pages no link leads to (sent by e-mail, by Google/Meta, or redirect targets), crawled too.
SEEDS = [
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/accounts/password/reset/done/",
    "/oauth/callback/?state=x&code=y&error=access_denied",
    "/invitations/not-a-token/",
    "/digests/unsubscribe/not-a-token/",  # sent by e-mail; a bad token answers 400, with its form
    "/shopify/install/?shop=x.myshopify.com&hmac=0&timestamp=1",
]
SIGNED_IN_SEEDS = [
    *SEEDS,
    "/workspaces/hardening/open/",
    "/workspaces/new/address/?name=Acme",
    "/accounts/email/",
    "/accounts/password/change/",
]
SKIP_LINKS = ("/admin/", "/billing/", "/accounts/logout/", "/static/")

_SITES: dict[str, Site] = {}


@pytest.fixture
def visitor(hardened: Workspace) -> Client:
    client = Client(HTTP_HOST=django_settings.BOSCO_DOMAIN)
    client.raise_request_exception = False
    return client


@pytest.fixture
def member(hardened: Workspace, workspace_client: Any) -> Client:
    """The owner of the one fixture workspace, signed in on the public site."""
    client = workspace_client(Membership.objects.get(workspace=hardened, role="owner").user, None)
    client.raise_request_exception = False
    return client


@pytest.fixture(params=["visitor", "member"])
def as_whom(request: pytest.FixtureRequest, hardening_workspace: Workspace) -> tuple[Client, Site]:
    """A client and its crawl; the crawls are read-only, so each is made once per session.

    `hardening_workspace` is named here, not only reached through `getfixturevalue` below: pytest
    then builds the session's workspace before the test's transaction opens. Built inside it (when
    a worker's first test of the workspace was one of these), it was rolled back with that test
    and every later test of the worker found no owner (seen in a CI-like run)."""
    client = request.getfixturevalue(request.param)
    if request.param not in _SITES:
        seeds = SIGNED_IN_SEEDS if request.param == "member" else SEEDS
        _SITES[request.param] = crawl(client, urlconf=URLCONF, seeds=seeds, skip=SKIP_LINKS)
    return client, _SITES[request.param]


def test_the_crawls_reach_every_page_and_form_of_the_public_urlconf(visitor: Client, member: Client) -> None:
    for whom, client in (("visitor", visitor), ("member", member)):
        seeds = SIGNED_IN_SEEDS if whom == "member" else SEEDS
        _SITES.setdefault(whom, crawl(client, urlconf=URLCONF, seeds=seeds, skip=SKIP_LINKS))
    routes = {
        name
        for route, name in route_names(get_resolver(URLCONF).url_patterns)
        if not route.startswith(tuple(NOT_CRAWLED_PREFIXES))
    }
    reached = _SITES["visitor"].routes() | _SITES["member"].routes()
    missing = routes - reached - set(NOT_CRAWLED)
    assert not missing, f"routes neither crawled nor justified in NOT_CRAWLED: {sorted(missing)}"
    assert {"workspace_create", "account_signup", "account_login", "account_reset_password"} <= {
        form.route for site in _SITES.values() for form in site.forms
    }


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_public_page_parameter_survives_hostile_values(as_whom: tuple[Client, Site], kind: str) -> None:
    client, site = as_whom
    for url, params in site.pages.items():
        if params:
            no_server_error(get(client, url, dict.fromkeys(params, HOSTILE[kind])), f"GET {url} with {kind}")


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_public_form_field_survives_hostile_values(as_whom: tuple[Client, Site], kind: str) -> None:
    """One field at a time, so a form that refuses its first bad field cannot hide the others."""
    client, site = as_whom
    for form in site.forms:
        for name in form.fields:
            no_server_error(post(client, form, {name: HOSTILE[kind]}), f"POST {form.action} with {kind} in {name}")


def test_a_malformed_utf8_query_string_on_the_public_site_is_no_server_error(as_whom: tuple[Client, Site]) -> None:
    client, site = as_whom
    for url, params in site.pages.items():
        for name in sorted(params)[:3]:
            response = client.generic("GET", urlsplit(url).path + f"?{name}=%ff%fe%C0%AF")
            no_server_error(response, f"GET {url} with invalid UTF-8 in {name}")


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_single_field_mixes_on_the_public_site_never_answer_5xx(
    as_whom: tuple[Client, Site], data: st.DataObject
) -> None:
    client, site = as_whom
    if data.draw(st.booleans(), label="form") and site.forms:
        form = data.draw(st.sampled_from([f for f in site.forms if f.fields]), label="form")
        name = data.draw(st.sampled_from(sorted(form.fields)), label="field")
        value = data.draw(VALUES, label="value")
        no_server_error(post(client, form, {name: value}), f"POST {form.action} {name}={value[:60]!r}")
    else:
        url, params = data.draw(st.sampled_from(sorted((u, sorted(p)) for u, p in site.pages.items() if p)))
        chosen = data.draw(st.lists(st.sampled_from(params), min_size=1, unique=True), label="params")
        values = {name: data.draw(VALUES, label=name) for name in chosen}
        no_server_error(get(client, url, values), f"GET {url} {values!r:.200}")


def test_workspace_slugs_and_invitation_tokens_in_the_path_are_fuzzed_too(member: Client, visitor: Client) -> None:
    for value in ("x" * 5000, "a\u202eb", "💸", "-1", str(2**63), "%ff%fe", "a%00b"):
        no_server_error(member.get(f"/workspaces/{value}/open/"), f"workspace slug {value[:40]!r}")
        for client in (member, visitor):
            no_server_error(client.get(f"/invitations/{value}/"), f"invitation token {value[:40]!r}")
            no_server_error(client.post(f"/invitations/{value}/"), f"invitation token {value[:40]!r} (POST)")
