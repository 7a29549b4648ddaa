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

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils.datastructures import MultiValueDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Membership, Workspace
from insights.services.paths_csv import SAMPLE_CSV

pytestmark = pytest.mark.django_db

URLCONF = "bosco.urls_tenants"

HOSTILE = {
    "nul": "a\x00b",
    "long": "x" * 100_000,
    "rtl": "\u202eevil\u202c مرحبا بالعالم",
    "emoji": "💸🚀👩\u200d👩\u200d👧 ZWJ",
    "combining": "e\u0301\u0308\u20dd" * 200,
    "bad-date": "2026-02-30",
    "odd-date": "31/12/2026",
    "far-date": "99999-01-01",
    "negative": "-1",
    "huge-float": "1e308",
    "huge-int": str(2**63),
    "nan": "NaN",
    "markup": "<script>alert(1)</script>'\"--",
    "blank": "   ",
}

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
}
# Pages no link on a workspace host leads to (redirect targets, allauth settings), crawled too.
SEEDS = [
    "/auth/handoff/?token=x",
    "/data-sources/oauth/callback/?state=x&code=y",
    "/switch/hardening/",
    "/accounts/email/",
    "/accounts/password/change/",
]
SKIP_LINKS = ("/api/", "/accounts/logout/", "/static/")


# --------------------------------------------------------------------------- discovery


@dataclass
class Form:
    action: str
    fields: dict[str, str]
    files: list[str]

    @property
    def route(self) -> str:
        return resolve(urlsplit(self.action).path, URLCONF).url_name or self.action


@dataclass
class Site:
    pages: dict[str, set[str]] = field(default_factory=dict)  # path → query parameters it reads
    forms: list[Form] = field(default_factory=list)

    def routes(self) -> set[str]:
        pages = {resolve(urlsplit(p).path, URLCONF).url_name for p in self.pages}
        return {name for name in pages if name} | {form.route for form in self.forms}


class _PageParser(HTMLParser):
    """The same-host links, GET-form field names and POST forms (with defaults) of one page."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.links: set[str] = set()
        self.get_fields: set[str] = set()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._get_form = False
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.add(a["href"].split("#")[0])
        elif tag == "form":
            if a.get("method", "get").lower() == "post":
                self._form = Form(a.get("action") or self.base, {}, [])
            else:
                self._get_form = True
        elif tag in ("input", "select", "textarea") and a.get("name"):
            self._field(tag, a)
        elif (
            tag == "option"
            and self._select
            and self._form is not None
            and (self._select not in self._form.fields or "selected" in a)
        ):
            self._form.fields[self._select] = a.get("value", "")

    def _field(self, tag: str, a: dict[str, str]) -> None:
        name = a["name"]
        if self._get_form:
            self.get_fields.add(name)
        if self._form is None or name == "csrfmiddlewaretoken":
            return
        kind = a.get("type", "text").lower()
        if kind == "file":
            self._form.files.append(name)
        elif tag == "select":
            self._select = name
        elif tag == "textarea":
            self._textarea = name
            self._form.fields[name] = ""
        elif kind not in ("checkbox", "radio"):
            self._form.fields.setdefault(name, a.get("value", ""))
        elif "checked" in a:
            self._form.fields[name] = a.get("value", "on")
        else:  # unchecked: still a field to fuzz; empty is what a browser's absence means here
            self._form.fields.setdefault(name, "")

    def handle_data(self, data: str) -> None:
        if self._textarea and self._form is not None:
            self._form.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            if self._form is not None:
                self.forms.append(self._form)
            self._form, self._get_form = None, False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


@contextmanager
def recording_reads() -> Iterator[set[str]]:
    """Record the names a view reads from request.GET (get, getlist, [ ])."""
    names: set[str] = set()
    originals = {name: getattr(MultiValueDict, name) for name in ("get", "getlist", "__getitem__")}

    def recorder(original: Any) -> Any:
        def read(self: MultiValueDict, key: str, *args: Any, **kwargs: Any) -> Any:
            if isinstance(self, QueryDict) and isinstance(key, str):
                names.add(key)
            return original(self, key, *args, **kwargs)

        return read

    for name, original in originals.items():
        setattr(MultiValueDict, name, recorder(original))
    try:
        yield names
    finally:
        for name, original in originals.items():
            setattr(MultiValueDict, name, original)


def crawl(client: Client, *, limit: int = 80) -> Site:
    site = Site()
    queue, crawled = ["/", *SEEDS], {}  # route name → the URL crawled for it
    while queue and len(site.pages) < limit:
        url = queue.pop(0)
        route = resolve(urlsplit(url).path, URLCONF).url_name if not url.startswith(SKIP_LINKS) else None
        if route is None:
            continue
        if route in crawled:  # one page per route; other links to it still tell its parameters
            site.pages[crawled[route]] |= set(dict(_query_pairs(url)))
            continue
        crawled[route] = url
        with recording_reads() as reads:
            response = client.get(url)
        assert response.status_code < 500, url
        site.pages[url] = {name for name in reads if name != "csrfmiddlewaretoken"} | set(dict(_query_pairs(url)))
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            parser = _PageParser(urlsplit(url).path)
            parser.feed(response.content.decode())
            site.pages[url] |= parser.get_fields
            site.forms += [f for f in parser.forms if not any(_same_form(f, g) for g in site.forms)]
            queue += sorted(parser.links)
    return site


def _query_pairs(url: str) -> list[tuple[str, str]]:
    query = urlsplit(url).query
    return [tuple(pair.split("=", 1)) if "=" in pair else (pair, "") for pair in query.split("&") if pair]  # type: ignore[misc]


def _same_form(a: Form, b: Form) -> bool:
    return a.route == b.route and sorted(a.fields) == sorted(b.fields)


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
        _SITE["site"] = crawl(owner)
    return _SITE["site"]


def _get(client: Client, url: str, params: dict[str, str]) -> Any:
    return client.get(urlsplit(url).path, {**dict(_query_pairs(url)), **params})


def _post(client: Client, form: Form, values: dict[str, str]) -> Any:
    data: dict[str, Any] = {**form.fields, **values}
    for name in form.files:
        data[name] = SimpleUploadedFile("paths.csv", SAMPLE_CSV.encode(), content_type="text/csv")
    return client.post(form.action, data)


def _no_server_error(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what} answered {response.status_code}"


# --------------------------------------------------------------------------- tests


def _route_names(patterns: list[Any]) -> Iterator[tuple[str, str]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            for route, name in _route_names(p.url_patterns):
                yield str(p.pattern) + route, name
        elif isinstance(p, URLPattern):
            yield str(p.pattern), p.name or ""


def test_the_crawl_reaches_every_page_and_form_of_the_workspace_urlconf(site: Site) -> None:
    routes = {name for route, name in _route_names(get_resolver(URLCONF).url_patterns) if not route.startswith("api/")}
    missing = routes - site.routes() - set(NOT_CRAWLED)
    assert not missing, f"routes neither crawled nor justified in NOT_CRAWLED: {sorted(missing)}"
    assert len(site.forms) >= 15 and sum(len(p) for p in site.pages.values()) >= 30


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_page_parameter_survives_hostile_values(owner: Client, site: Site, kind: str) -> None:
    value = HOSTILE[kind]
    for url, params in site.pages.items():
        if params:
            _no_server_error(_get(owner, url, dict.fromkeys(params, value)), f"GET {url} with {kind} in {params}")


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_form_field_survives_hostile_values(owner: Client, site: Site, kind: str) -> None:
    """One field at a time: a form that refuses its first bad field would hide the others."""
    value = HOSTILE[kind]
    for form in site.forms:
        for name in form.fields:
            _no_server_error(_post(owner, form, {name: value}), f"POST {form.action} with {kind} in {name}")


def test_a_malformed_utf8_query_string_is_no_server_error(owner: Client, site: Site) -> None:
    for url, params in site.pages.items():
        for name in sorted(params)[:3]:
            response = owner.generic("GET", urlsplit(url).path + f"?{name}=%ff%fe%C0%AF")
            _no_server_error(response, f"GET {url} with invalid UTF-8 in {name}")


_values = st.one_of(st.sampled_from(sorted(HOSTILE.values())), st.text(max_size=40), st.integers().map(str))


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_single_field_mixes_never_answer_5xx(owner: Client, site: Site, data: st.DataObject) -> None:
    pages = sorted((url, sorted(params)) for url, params in site.pages.items() if params)
    forms = [f for f in site.forms if f.fields]
    if data.draw(st.booleans(), label="form"):
        form = data.draw(st.sampled_from(forms), label="form")
        name = data.draw(st.sampled_from(sorted(form.fields)), label="field")
        value = data.draw(_values, label="value")
        _no_server_error(_post(owner, form, {name: value}), f"POST {form.action} {name}={value[:60]!r}")
    else:
        url, params = data.draw(st.sampled_from(pages), label="page")
        chosen = data.draw(st.lists(st.sampled_from(params), min_size=1, unique=True), label="params")
        values = {name: data.draw(_values, label=name) for name in chosen}
        _no_server_error(_get(owner, url, values), f"GET {url} {values!r:.200}")


def test_campaign_ids_in_the_path_are_fuzzed_too(owner: Client) -> None:
    for value in ("x" * 5000, "google_ads:1:2\u202e", "💸:💸:💸", "-1:-1:-1", f"meta:{2**63}:{2**63}"):
        _no_server_error(owner.get(f"/campaigns/{value}/"), f"campaign id {value[:40]!r}")
