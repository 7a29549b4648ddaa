"""The API base: keys, scoping to the key's workspace, problem documents, throttling, docs."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import services
from accounts.models import ApiKey, Membership
from tests.conftest import host_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(make_workspace):
    return make_workspace("acme")


@pytest.fixture
def globex(make_workspace):
    return make_workspace("globex")


def _key(workspace, scope="read"):
    owner = Membership.objects.get(workspace=workspace)
    _, raw = services.api_key_create(workspace=workspace, actor=owner, name="test", scope=scope)
    return raw


def _api(workspace, key=None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return Client(HTTP_HOST=host_of(workspace), **headers, **extra)


def test_key_reads_its_own_workspace(acme) -> None:
    response = _api(acme, _key(acme)).get("/api/v1/workspace")
    assert response.status_code == 200
    assert response.json()["slug"] == "acme"
    assert ApiKey.objects.get(workspace=acme).last_used_at is not None


def test_key_of_another_workspace_is_refused_with_a_problem_document(acme, globex) -> None:
    response = _api(globex, _key(acme)).get("/api/v1/workspace")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 401 and "Invalid or revoked" in body["detail"]
    assert "acme" not in response.content.decode()


def test_revoked_key_and_missing_key_are_refused(acme) -> None:
    raw = _key(acme)
    owner = Membership.objects.get(workspace=acme)
    services.api_key_revoke(key_id=ApiKey.objects.get(workspace=acme).pk, workspace=acme, actor=owner)
    assert _api(acme, raw).get("/api/v1/workspace").status_code == 401
    response = _api(acme).get("/api/v1/workspace")
    assert response.status_code == 401
    assert response.json()["type"].endswith("/not-authenticated")
    assert _api(acme, "bsk_nothing_here").get("/api/v1/workspace").status_code == 401
    assert _api(acme, extra_header := "garbage").get("/api/v1/workspace").status_code == 401, extra_header


def test_malformed_authorization_header_is_a_clear_401(acme) -> None:
    response = Client(HTTP_HOST=host_of(acme), HTTP_AUTHORIZATION="Token abc def").get("/api/v1/workspace")
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]


def test_api_is_not_served_on_the_public_site(acme) -> None:
    from django.conf import settings

    response = Client(HTTP_HOST=settings.BOSCO_DOMAIN, HTTP_AUTHORIZATION=f"Bearer {_key(acme)}").get(
        "/api/v1/workspace"
    )
    assert response.status_code == 404


def test_unknown_api_route_is_a_problem_document(acme) -> None:
    response = _api(acme, _key(acme)).get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_member_session_works_and_non_member_session_does_not(acme, globex, workspace_client) -> None:
    owner = Membership.objects.get(workspace=acme).user
    assert workspace_client(owner, acme).get("/api/v1/workspace").json()["slug"] == "acme"
    stranger = Membership.objects.get(workspace=globex).user
    client = workspace_client(stranger, globex)
    client.defaults["HTTP_HOST"] = host_of(acme)
    assert client.get("/api/v1/workspace").status_code == 401


def test_throttle_answers_429_with_retry_after(acme, monkeypatch) -> None:
    from billing import plans

    limited = plans.Entitlements(0, 5, 3, 3, 24)
    monkeypatch.setitem(plans.ENTITLEMENTS, plans.Plan.TRIAL, limited)
    client = _api(acme, _key(acme))
    codes = [client.get("/api/v1/workspace").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get("/api/v1/workspace")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["type"].endswith("/throttled")


def test_openapi_schema_and_docs_are_served_offline(acme) -> None:
    client = Client(HTTP_HOST=host_of(acme))
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    spec = schema.json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/workspace" in spec["paths"]
    assert "ApiKey" in spec["components"]["securitySchemes"]
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui-bundle.js" in html
    assert "http://" not in html.replace(f"http://{host_of(acme)}", "") and "https://" not in html
    redoc = client.get("/api/v1/redoc/").content.decode()
    assert "redoc.standalone.js" in redoc and "googleapis" not in redoc


def test_api_keys_page_creates_shows_once_and_revokes(acme, make_user, workspace_client) -> None:
    owner = Membership.objects.get(workspace=acme).user
    client = workspace_client(owner, acme)
    page = client.post("/settings/api-keys/new/", {"name": "Warehouse sync", "scope": "read"})
    assert page.status_code == 200
    key = ApiKey.objects.get(workspace=acme)
    raw = page.context["new_key"]
    assert raw.startswith(f"bsk_{key.prefix}_")
    assert raw.encode() in page.content
    assert raw.encode() not in client.get("/settings/api-keys/").content  # shown once
    assert key.key_hash != raw and raw not in key.key_hash
    client.post(f"/settings/api-keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None
    viewer = make_user("viewer@example.com")
    Membership.objects.create(user=viewer, workspace=acme, role="viewer")
    response = workspace_client(viewer, acme).post("/settings/api-keys/new/", {"name": "nope", "scope": "read"})
    assert response.status_code == 400
    assert ApiKey.objects.filter(workspace=acme).count() == 1
