"""Workspace isolation: the cross-workspace matrix, credential portability and CSRF.

The routes come from the live OpenAPI document, so an endpoint added later is in the matrix
without anyone editing this file. For every operation, every actor of one workspace (its
read-write key, its owner's session, a Bosco staff user who is a member there) calls it
- on its own host with the other workspace's ids: object routes must answer exactly what a
  missing id answers (404; no existence oracle), collections only its own data;
- on the other workspace's host: 401 everywhere (a key or session is worth nothing elsewhere);
and no response may contain any of the other workspace's canary strings. Both directions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils.crypto import get_random_string
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from tests.api.conftest import Tenant, World
from tests.conftest import login_client

REQUIRED_QUERY = {
    "metrics": "spend,clicks,roas",
    "date_from": "2026-08-01",
    "date_to": "2026-08-31",
}
UNSAFE = ("post", "put", "patch", "delete")


def api_operations(tenant: Tenant) -> list[tuple[str, str, dict[str, Any]]]:
    """(path template, method, operation) of every operation in the live schema."""
    spec = Client(HTTP_HOST=tenant.host).get("/api/v1/schema/?format=json").json()
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def _path_ids(tenant: Tenant) -> dict[str, str]:
    connection_id = tenant.connection_ids[0]
    return {
        "campaign_id": tenant.campaign_ids[0],
        "connection_id": str(connection_id),
        "run_id": str(tenant.run_ids[connection_id][0]),
        "rule_id": str(tenant.alert_rule_id),
        "incident_id": str(tenant.alert_incident_id),
    }


MISSING_IDS = {
    "campaign_id": "google_ads:9999999999:999999",
    "connection_id": "6999999",
    "run_id": "6999999",
    "rule_id": "6999999",
    "incident_id": "6999999",
}


def _url(path: str, ids: dict[str, str], operation: dict[str, Any]) -> str:
    url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
    required = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query" and p.get("required")]
    query = "&".join(f"{name}={REQUIRED_QUERY[name]}" for name in required)
    return f"{url}?{query}" if query else url


def _call(
    client: Client, method: str, url: str, operation: dict[str, Any]
) -> tuple[int, str, dict[str, Any] | None, str]:
    if "requestBody" in operation:
        # An operation with a JSON body gets the smallest one its schema allows (every field has a default).
        response = getattr(client, method)(url, {}, content_type="application/json")
    else:
        response = getattr(client, method)(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", errors="replace")
    problem = None
    if response["Content-Type"] == "application/problem+json":
        problem = {k: v for k, v in response.json().items() if k != "instance"}  # instance echoes the path
    return response.status_code, response["Content-Type"], problem, text


@dataclass
class Tally:
    requests: int = 0
    leaks: list[str] = field(default_factory=list)
    oracles: list[str] = field(default_factory=list)
    wrong_status: list[str] = field(default_factory=list)


def _actors(attacker: Tenant, host_of: Tenant) -> dict[str, Client]:
    """The attacker's credentials, presented on `host_of`'s host."""
    key = Client(HTTP_HOST=host_of.host, HTTP_AUTHORIZATION=f"Bearer {attacker.write_key}")
    owner = login_client(Client(), attacker.owner, attacker.workspace)
    staff = login_client(Client(), attacker.staff, attacker.workspace)
    actors = {"key": key, "owner-session": owner, "staff-session": staff}
    for client in (owner, staff):
        client.defaults["HTTP_HOST"] = host_of.host
    if host_of is not attacker:
        # A staff user who signs in on the victim's host itself is still not a member there.
        actors["staff-signed-in-there"] = login_client(Client(), attacker.staff, host_of.workspace)
        actors["anonymous"] = Client(HTTP_HOST=host_of.host)
    return actors


def _runs_in(tenant: Tenant) -> int:
    from connectors.models import SyncRun

    with schema_context(tenant.workspace.schema_name):
        return SyncRun.objects.count()


def _matrix(attacker: Tenant, victim: Tenant, tally: Tally) -> None:
    operations = api_operations(attacker)
    assert len(operations) >= 11
    victim_runs = _runs_in(victim)
    for host_owner in (attacker, victim):
        for actor, client in _actors(attacker, host_owner).items():
            for path, method, operation in operations:
                has_ids = "{" in path
                answers = {}
                for label, ids in (("foreign", _path_ids(victim)), ("missing", MISSING_IDS)):
                    url = _url(path, ids, operation)
                    status, content_type, problem, text = _call(client, method, url, operation)
                    tally.requests += 1
                    where = f"{actor}@{host_owner.workspace.slug} {method.upper()} {url}"
                    tally.leaks += [f"{where}: {c}" for c in victim.canaries if c in text]
                    answers[label] = (status, content_type, problem)
                    if host_owner is victim:
                        expected_ok = status == 401
                    elif has_ids:
                        expected_ok = status == 404
                    else:
                        # a create route called without a JSON body answers 415 (or 400: nothing to create)
                        expected_ok = status < 300 or (method in UNSAFE and status in (400, 404, 415))
                    if not expected_ok:
                        tally.wrong_status.append(f"{where}: {status}")
                    if not has_ids:
                        break  # a collection route has no id to vary
                if has_ids and answers["foreign"] != answers["missing"]:
                    tally.oracles.append(f"{actor}@{host_owner.workspace.slug} {method.upper()} {path}")
    assert _runs_in(victim) == victim_runs, "a foreign request changed the other workspace"


@pytest.mark.parametrize("direction", ["b-attacks-a", "a-attacks-b"])
def test_cross_workspace_matrix_answers_404_or_401_and_leaks_nothing(world: World, db: None, direction: str) -> None:
    attacker, victim = (world.b, world.a) if direction == "b-attacks-a" else (world.a, world.b)
    tally = Tally()
    _matrix(attacker, victim, tally)
    print(
        f"\nisolation {direction}: {tally.requests} requests, {len(tally.leaks)} canary leaks,"
        f" {len(tally.oracles)} foreign≠missing, {len(tally.wrong_status)} unexpected statuses"
    )
    assert tally.requests >= 100
    assert not tally.leaks, tally.leaks[:10]
    assert not tally.oracles, tally.oracles[:10]
    assert not tally.wrong_status, tally.wrong_status[:10]


@settings_(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(["/api/v1/campaigns/{}", "/api/v1/connections/{}", "/api/v1/connections/{}/runs"]),
    raw_id=st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/?#%"), min_size=1, max_size=40),
    ),
)
def test_generated_ids_never_reveal_anything_beyond_a_missing_id(a: Tenant, b: Tenant, route: str, raw_id: str) -> None:
    """Any id B did not create answers exactly like a missing one, whatever its shape."""
    from urllib.parse import quote

    own = {str(i) for i in b.connection_ids} | set(b.campaign_ids)
    if raw_id in own or raw_id.strip() != raw_id:
        return
    client = b.client(b.read_key)
    status, content_type, problem, text = _call(client, "get", route.format(quote(raw_id, safe=":")), {})
    assert status == 404 and content_type == "application/problem+json", (raw_id, status, text[:200])
    assert problem == _call(client, "get", route.format("6999999"), {})[2]
    assert not any(c in text for c in a.canaries)


def test_every_api_route_of_the_urlconf_is_in_the_schema(a: Tenant) -> None:
    """The matrix and schemathesis read the schema: a route missing from it would escape them."""
    from django.urls import URLPattern

    from bosco.urls_api import urlpatterns

    documented = {path for path, _, _ in api_operations(a)}
    routes = {
        "/api/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(p.pattern))
        for p in urlpatterns
        if isinstance(p, URLPattern) and p.name not in {"api-schema", "api-docs", "api-redoc"}
    }
    assert routes and routes <= documented, routes - documented


def test_foreign_ids_in_filters_find_nothing(a: Tenant, b: Tenant) -> None:
    client = b.client(b.read_key)
    dates = "date_from=2026-07-01&date_to=2026-10-31"
    metrics = client.get(f"/api/v1/metrics?metrics=spend&dimensions=campaign&campaign={a.campaign_ids[0]}&{dates}")
    assert metrics.status_code == 200 and metrics.json()["rows"] == []
    accounts = client.get(f"/api/v1/metrics?metrics=spend&dimensions=account&account={a.account_ids[0]}&{dates}")
    assert accounts.json()["rows"] == []
    assert client.get(f"/api/v1/campaigns?account={a.account_ids[0]}").json()["count"] == 0
    for body in (metrics.content, accounts.content):
        assert not any(c.encode() in body for c in a.canaries)


def test_cache_keys_all_carry_a_workspace_schema(a: Tenant, b: Tenant) -> None:
    """Both workspaces ask the same question: two cache entries, each under its own schema."""
    import redis as redis_lib

    from bosco.redis_urls import cache_url_for

    url = "/api/v1/metrics?metrics=spend&date_from=2026-08-01&date_to=2026-08-31"
    answers = {t.workspace.slug: t.client(t.read_key).get(url).json()["rows"] for t in (a, b)}
    assert answers["northwind"] != answers["contoso"]
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    client = redis_lib.Redis.from_url(cache_url_for(settings.REDIS_URL))
    try:
        keys = [k.decode() for k in client.scan_iter(match=f"*:{prefix}:*", count=1000)]
    finally:
        client.close()
    schemas = {a.workspace.schema_name, b.workspace.schema_name}
    assert keys and all(k.split(":", 1)[0] in schemas for k in keys), keys
    metric_keys = [k for k in keys if ":wh:metrics:" in k]
    assert {k.split(":", 1)[0] for k in metric_keys} == schemas


# --------------------------------------------------------------------------- CSRF


def _unsafe_routes(tenant: Tenant) -> list[tuple[str, str]]:
    ids = _path_ids(tenant)
    return [
        (method, _url(path, ids, operation)) for path, method, operation in api_operations(tenant) if method in UNSAFE
    ]


def test_every_unsafe_route_refuses_a_session_without_csrf_token(a: Tenant) -> None:
    routes = _unsafe_routes(a)
    assert routes, "no unsafe route found: the schema lost its POSTs?"
    for method, url in routes:
        client = a.session(a.owner, csrf=True)
        response = getattr(client, method)(url)
        assert response.status_code == 403, (method, url, response.status_code)
        assert "CSRF" in response.json()["detail"]


def test_every_unsafe_route_accepts_a_session_with_csrf_token_and_keys_need_none(a: Tenant) -> None:
    routes = _unsafe_routes(a)
    for method, url in routes:
        client = a.session(a.owner, csrf=True)
        secret = get_random_string(32)
        client.cookies[settings.CSRF_COOKIE_NAME] = secret
        response = getattr(client, method)(url, HTTP_X_CSRFTOKEN=secret)
        assert response.status_code != 403 and response.status_code < 500, (method, url, response.content)
        with_key = getattr(a.client(a.write_key, enforce_csrf_checks=True), method)(url)
        assert with_key.status_code != 403 and with_key.status_code < 500, (method, url, with_key.content)
