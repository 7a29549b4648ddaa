"""Impersonation is read-only everywhere, not just on the form the browser test submits: every
route of the workspace site (pages, HTMX actions, the API under the member's session, sign-in and
hand-off routes) answers a write with 403 while support looks, and no row changes in the
workspace's schema or in the public tables. Ending the impersonation is the one write it allows."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import Membership, Workspace
from accounts.roles import Role
from support.middleware import END_PATH
from tests.conftest import host_of
from tests.support.conftest import action_url, add_connection, add_run

pytestmark = pytest.mark.django_db

REASON = "Customer cannot find last week's spend (ticket #7001)"
WRITES = ("post", "put", "patch", "delete")


def _sample_path(pattern: str) -> str:
    """A concrete path for a URL pattern (route or regex), with 1 / x / a UUID for its parameters."""
    path = pattern.lstrip("^").rstrip("$")
    path = re.sub(r"<int:\w+>", "1", path)
    path = re.sub(r"<uuid:\w+>", str(uuid.uuid4()), path)
    path = re.sub(r"<(?:\w+:)?\w+>", "x", path)
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "1", path)  # DRF's router writes regexes
    path = path.replace("\\", "").replace("/?", "/")
    return "/" + path


def _workspace_paths() -> list[str]:
    paths: set[str] = set()

    def walk(patterns: list[Any], prefix: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern) and "format" not in route:
                paths.add(_sample_path(route))

    walk(get_resolver("bosco.urls_tenants").url_patterns, "")
    return sorted(paths)


def _fingerprint(schemas: list[str]) -> dict[str, str]:
    """A hash of every row of every table in these schemas (sessions aside: signing in writes them)."""
    out = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE' AND table_name <> 'django_session'",
            [schemas],
        )
        for schema, table in cursor.fetchall():
            cursor.execute(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{schema}\".\"{table}\" t"
            )
            out[f"{schema}.{table}"] = cursor.fetchone()[0]
    return out


def test_while_support_impersonates_every_write_to_the_workspace_is_refused_and_changes_nothing(
    make_workspace: Any, admin_client: Client
) -> None:
    shop: Workspace = make_workspace("imro")
    owner = Membership.objects.get(workspace=shop, role=Role.OWNER).user
    add_run(shop, add_connection(shop), status="failed", error_message="Meta answered 500")

    response = admin_client.post(action_url(shop, "impersonate"), {"member": owner.pk, "reason": REASON})
    assert response.status_code == 302
    token = parse_qs(urlsplit(response["Location"]).query)["token"][0]
    borrowed = Client(HTTP_HOST=host_of(shop))
    assert borrowed.get(f"/auth/handoff/support/?token={token}").status_code == 302
    page = borrowed.get("/")
    assert page.status_code == 200 and b'id="impersonation-banner"' in page.content

    paths = _workspace_paths()
    assert len(paths) > 30 and any(p.startswith("/api/v1/") for p in paths), paths
    before = _fingerprint([shop.schema_name, "public"])
    refused = []
    for path in paths:
        if path == END_PATH:
            continue
        for method in WRITES if path.startswith("/api/") else ("post",):
            answer = getattr(borrowed, method)(
                path, data={"name": "Changed by support"}, content_type="application/json"
            )
            refused.append((method, path, answer.status_code))
    assert {status for *_, status in refused} == {403}, [r for r in refused if r[2] != 403][:10]
    assert _fingerprint([shop.schema_name, "public"]) == before, "nothing changed while support looked"

    # The refusal says why, and the session still reads as the member.
    answer = borrowed.post("/settings/", {"name": "Changed by support"})
    assert answer.status_code == 403 and b"nothing can be changed" in answer.content
    assert borrowed.get("/settings/").status_code == 200
    assert Workspace.objects.get(pk=shop.pk).name == "Imro"
