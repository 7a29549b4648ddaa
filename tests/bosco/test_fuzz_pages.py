"""Fuzzing every page and every HTML form of a workspace host: hostile input never answers 5xx.

The pages and forms are not listed by hand. A crawl signed in as the owner starts at the home
page and follows every link of the workspace host; while each page renders, the query
parameters it reads are recorded; every `<form method="post">` on the crawled pages is parsed
with its fields and defaults. A test checks that the crawl reached every route of the
URLconf (`bosco.urls_tenants`) except the API, which Schemathesis fuzzes
(tests/api/test_schemathesis.py), and the allauth routes listed below with the reason.

Then each page gets every parameter it reads set to one hostile value at a time (NUL, 100k
characters, RTL / emoji / combining marks, malformed dates, -1, 1e308, 2**63, ...), each form is
posted with every field set to it, and Hypothesis adds random single-field mixes on top.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Membership, Workspace
from tests.bosco.fuzzing import HOSTILE, VALUES, Site, crawl, get, no_server_error, post, route_names

pytestmark = pytest.mark.django_db

URLCONF = "bosco.urls_tenants"

# Routes the crawl cannot reach as the signed-in owner, each with the reason. Every other route
# of the workspace URLconf must be crawled (GET) or be the target of a crawled form (POST).
NOT_CRAWLED = {
    "account_login": "anonymous only: a signed-in owner is redirected away",
    "account_signup": "anonymous only: a signed-in owner is redirected away",
    "account_inactive": "shown to deactivated users only",
    "account_reauthenticate": "reached only from a sensitive allauth action",
    "account_request_reauthentication_code": "login-by-code is off",
    "account_confirm_reauthentication_code": "login-by-code is off",
    "account_confirm_login_code": "login-by-code is off",
    "account_email_verification_sent": "shown after sign-up only",
    "account_set_password": "for users without a password only",
    "account_reset_password": "anonymous only",
    "account_reset_password_done": "anonymous only",
    "account_reset_password_from_key": "needs a reset key mailed to the user",
    "account_reset_password_from_key_done": "anonymous only",
    "account_confirm_email": "needs a confirmation key mailed to the user",
    # The second factor is the support staff's (the admin on the public site); its pages are
    # driven, with their forms, by tests/accounts/test_staff_admin.py and the staff admin browser test.
    "mfa_index": "staff second factor: tests/accounts/test_staff_admin.py",
    "mfa_activate_totp": "staff second factor: tests/accounts/test_staff_admin.py",
    "mfa_deactivate_totp": "staff second factor: tests/accounts/test_staff_admin.py",
    "mfa_authenticate": "staff second factor: tests/accounts/test_staff_admin.py",
    "mfa_reauthenticate": "staff second factor: tests/accounts/test_staff_admin.py",
    "mfa_view_recovery_codes": "staff second factor: tests/accounts/test_staff_admin.py",
    "mfa_generate_recovery_codes": "staff second factor: tests/accounts/test_staff_admin.py",
    "mfa_download_recovery_codes": "staff second factor: tests/accounts/test_staff_admin.py",
    # Shown only when Stripe is configured (the test settings have no keys); their forms' bad
    # input is tested against the Stripe emulator in tests/billing/test_webhooks.py.
    "billing_checkout": "needs Stripe configured: tests/billing/test_webhooks.py",
    "billing_portal": "needs Stripe configured: tests/billing/test_webhooks.py",
    # Built-in rules cannot be deleted, and the fixture workspace has no other; deleting is
    # submitted in tests/browser/test_alerts_browser.py and refused cases in tests/alerts/.
    "rule_delete": "no deletable rule in the fixture: tests/alerts/",
    "incident_resolve": "no open incident in the fixture: tests/alerts/test_channel_setup.py",
    # White-label digests are an Agency-plan form; the fixture workspace is on the trial.
    "digests_branding": "Agency plan only: tests/digests/test_pages.py posts good and bad input",
    # Its form shows only while support impersonates a member (the banner's button).
    "support_impersonation_end": "only while support impersonates: tests/support/test_impersonation_browser.py",
    # Airbyte sources: the add form appears once the source's environment is built (minutes, by a
    # worker); it and an Airbyte connection's pages are driven in tests/connectors/airbyte/.
    "airbyte_add": "builds the source's virtualenv first: tests/connectors/airbyte/test_views.py",
    "airbyte_card": "no Airbyte connection in the fixture: tests/connectors/airbyte/test_views.py",
    "airbyte_streams": "no Airbyte connection in the fixture: tests/connectors/airbyte/test_views.py",
    "airbyte_recheck": "no Airbyte connection in the fixture: tests/connectors/airbyte/test_views.py",
    "airbyte_schema_ack": "no Airbyte connection in the fixture: tests/connectors/airbyte/test_views.py",
    "airbyte_export": "no Airbyte connection in the fixture: tests/connectors/airbyte/test_views.py",
    # One upload's pages and actions need an uploaded file; the fixture workspace has none. They
    # are driven with good and bad input in tests/uploads/ (test_flow.py, test_views.py, the browser test).
    "upload_detail": "needs an uploaded file: tests/uploads/",
    "upload_mapping": "needs an uploaded file: tests/uploads/",
    "upload_accept": "needs an upload with rows in error: tests/uploads/",
    "upload_discard": "needs an uploaded file: tests/uploads/",
    "upload_restart": "needs an upload in progress: tests/uploads/",
    "upload_skipped": "needs an upload with rows in error: tests/uploads/",
}
# Pages no link on a workspace host leads to (redirect targets, allauth settings), crawled too.
SEEDS = [
    "/auth/handoff/?token=x",
    "/auth/handoff/support/?token=x",
    "/data-sources/oauth/callback/?state=x&code=y",
    "/switch/hardening/",
    "/accounts/email/",
    "/accounts/password/change/",
    "/settings/digests/preview/",  # the Digests tab's preview fragment (htmx hx-get, no href)
    "/insights/forecasts/events/?edit=1",  # the fixture's one event, opened for editing (its form)
]
SKIP_LINKS = ("/api/", "/accounts/logout/", "/static/", "/data-sources/airbyte/add/")


# --------------------------------------------------------------------------- fixtures


_SITE: dict[str, Site] = {}


@pytest.fixture
def owner(hardened: Workspace, workspace_client: Any) -> Client:
    client = workspace_client(Membership.objects.get(workspace=hardened, role="owner").user, hardened)
    client.raise_request_exception = False
    return client


@pytest.fixture
def site(owner: Client) -> Site:
    """The crawl is read-only, so it is made once per session."""
    if "site" not in _SITE:
        _SITE["site"] = crawl(owner, urlconf=URLCONF, seeds=SEEDS, skip=SKIP_LINKS)
    return _SITE["site"]


# --------------------------------------------------------------------------- tests


def test_the_crawl_reaches_every_page_and_form_of_the_workspace_urlconf(site: Site) -> None:
    routes = {name for route, name in route_names(get_resolver(URLCONF).url_patterns) if not route.startswith("api/")}
    missing = routes - site.routes() - set(NOT_CRAWLED)
    assert not missing, f"routes neither crawled nor justified in NOT_CRAWLED: {sorted(missing)}"
    assert len(site.forms) >= 15 and sum(len(p) for p in site.pages.values()) >= 30


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_page_parameter_survives_hostileVALUES(owner: Client, site: Site, kind: str) -> None:
    value = HOSTILE[kind]
    for url, params in site.pages.items():
        if params:
            no_server_error(get(owner, url, dict.fromkeys(params, value)), f"GET {url} with {kind} in {params}")


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_form_field_survives_hostileVALUES(owner: Client, site: Site, kind: str) -> None:
    """One field at a time: a form that refuses its first bad field would hide the others."""
    value = HOSTILE[kind]
    for form in site.forms:
        for name in form.fields:
            no_server_error(post(owner, form, {name: value}), f"POST {form.action} with {kind} in {name}")


def test_a_malformed_utf8_query_string_isno_server_error(owner: Client, site: Site) -> None:
    for url, params in site.pages.items():
        for name in sorted(params)[:3]:
            response = owner.generic("GET", urlsplit(url).path + f"?{name}=%ff%fe%C0%AF")
            no_server_error(response, f"GET {url} with invalid UTF-8 in {name}")


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_single_field_mixes_never_answer_5xx(owner: Client, site: Site, data: st.DataObject) -> None:
    pages = sorted((url, sorted(params)) for url, params in site.pages.items() if params)
    forms = [f for f in site.forms if f.fields]
    if data.draw(st.booleans(), label="form"):
        form = data.draw(st.sampled_from(forms), label="form")
        name = data.draw(st.sampled_from(sorted(form.fields)), label="field")
        value = data.draw(VALUES, label="value")
        no_server_error(post(owner, form, {name: value}), f"POST {form.action} {name}={value[:60]!r}")
    else:
        url, params = data.draw(st.sampled_from(pages), label="page")
        chosen = data.draw(st.lists(st.sampled_from(params), min_size=1, unique=True), label="params")
        values = {name: data.draw(VALUES, label=name) for name in chosen}
        no_server_error(get(owner, url, values), f"GET {url} {values!r:.200}")


def test_campaign_ids_in_the_path_are_fuzzed_too(owner: Client) -> None:
    for value in ("x" * 5000, "google_ads:1:2\u202e", "💸:💸:💸", "-1:-1:-1", f"meta:{2**63}:{2**63}"):
        no_server_error(owner.get(f"/campaigns/{value}/"), f"campaign id {value[:40]!r}")
