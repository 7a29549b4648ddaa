"""Shared by the fuzz tests of the workspace host and of the public site.

Discovery (a crawl that records pages, the query parameters each view reads and every POST form),
the hostile values, and the requests that send them; the tests themselves live in
test_fuzz_pages.py (a workspace host) and test_fuzz_public.py (the public site).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, resolve
from django.utils.datastructures import MultiValueDict
from hypothesis import strategies as st

from insights.services.paths_csv import SAMPLE_CSV

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


VALUES = st.one_of(st.sampled_from(sorted(HOSTILE.values())), st.text(max_size=40), st.integers().map(str))


@dataclass
class Form:
    action: str
    fields: dict[str, str]
    files: list[str]
    urlconf: str

    @property
    def route(self) -> str:
        return resolve(urlsplit(self.action).path, self.urlconf).url_name or self.action


@dataclass
class Site:
    urlconf: str
    pages: dict[str, set[str]] = field(default_factory=dict)  # path → query parameters it reads
    forms: list[Form] = field(default_factory=list)

    def routes(self) -> set[str]:
        pages = {resolve(urlsplit(p).path, self.urlconf).url_name for p in self.pages}
        return {name for name in pages if name} | {form.route for form in self.forms}


class _PageParser(HTMLParser):
    """The same-host links, GET-form field names and POST forms (with defaults) of one page."""

    def __init__(self, base: str, urlconf: str) -> None:
        super().__init__()
        self.base = base
        self.urlconf = urlconf
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
                self._form = Form(a.get("action") or self.base, {}, [], self.urlconf)
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


def crawl(client: Client, *, urlconf: str, seeds: list[str], skip: tuple[str, ...], limit: int = 80) -> Site:
    """Follow the links of `client`'s host from "/" and `seeds` (minus the `skip` prefixes), one
    page per route, recording the query parameters each view reads and every POST form."""
    site = Site(urlconf)
    queue = ["/", *seeds]
    crawled: dict[str, str] = {}  # route name → the URL crawled for it
    while queue and len(site.pages) < limit:
        url = queue.pop(0)
        route = _route_of(url, urlconf) if not url.startswith(skip) else None
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
            parser = _PageParser(urlsplit(url).path, urlconf)
            parser.feed(response.content.decode())
            site.pages[url] |= parser.get_fields
            site.forms += [f for f in parser.forms if not any(_same_form(f, g) for g in site.forms)]
            queue += sorted(parser.links)
    return site


def _route_of(url: str, urlconf: str) -> str | None:
    try:
        return resolve(urlsplit(url).path, urlconf).url_name
    except Resolver404:  # a link outside the URLconf (a workspace address on the public site)
        return None


def _query_pairs(url: str) -> list[tuple[str, str]]:
    query = urlsplit(url).query
    return [tuple(pair.split("=", 1)) if "=" in pair else (pair, "") for pair in query.split("&") if pair]  # type: ignore[misc]


def _same_form(a: Form, b: Form) -> bool:
    return a.route == b.route and sorted(a.fields) == sorted(b.fields)


def get(client: Client, url: str, params: dict[str, str]) -> Any:
    return client.get(urlsplit(url).path, {**dict(_query_pairs(url)), **params})


def post(client: Client, form: Form, values: dict[str, str]) -> Any:
    data: dict[str, Any] = {**form.fields, **values}
    for name in form.files:
        data[name] = SimpleUploadedFile("paths.csv", SAMPLE_CSV.encode(), content_type="text/csv")
    return client.post(form.action, data)


def no_server_error(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what} answered {response.status_code}"


def route_names(patterns: list[Any]) -> Iterator[tuple[str, str]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            for route, name in route_names(p.url_patterns):
                yield str(p.pattern) + route, name
        elif isinstance(p, URLPattern):
            yield str(p.pattern), p.name or ""
