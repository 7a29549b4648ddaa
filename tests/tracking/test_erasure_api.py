"""POST /api/v1/tracking/erasure: one person's events erased through the API (the service the
Settings form uses), answered with what went; bad input is a 400 that erases nothing, and a
read-only key, an analyst or another workspace's key is refused."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Membership
from tests.conftest import host_of, login_client
from tests.tracking.conftest import beacon, event, fresh_ip, post_beacon
from tracking.models import Event

pytestmark = pytest.mark.django_db

URL = "/api/v1/tracking/erasure"
PROBLEM = "application/problem+json"


def _keys(workspace: Any) -> tuple[str, str]:
    from accounts import services

    owner = Membership.objects.get(workspace=workspace, role="owner")
    _, read = services.api_key_create(workspace=workspace, actor=owner, name="read", scope="read")
    _, write = services.api_key_create(workspace=workspace, actor=owner, name="write", scope="read_write")
    return read, write


def _api(workspace: Any, key: str) -> Client:
    return Client(HTTP_HOST=host_of(workspace), HTTP_AUTHORIZATION=f"Bearer {key}")


def _visits(client: Client, public_key: str) -> None:
    """Ana browses anonymously, signs in and orders; Ben signs in; one cookieless view is nobody's."""
    ana = [
        event(aid="anon-ana", url="https://shop.example/?utm_source=google"),
        event("identify", aid="anon-ana", data={"customer_id": "c-ana", "email": "ana@example.com"}),
        event("order", aid="anon-ana", data={"order_id": "1", "revenue": 10, "currency": "EUR"}),
    ]
    ben = [event(aid="anon-ben"), event("identify", aid="anon-ben", data={"customer_id": "c-ben"})]
    for batch in (ana, ben, [event(aid="")]):
        assert post_beacon(client, public_key, beacon(*batch), ip=fresh_ip()).status_code == 204


def _events(workspace: Any) -> list[str]:
    with schema_context(workspace.schema_name):
        return sorted(Event.objects.values_list("anonymous_id", flat=True))


def test_erasure_by_email_answers_what_was_deleted(client: Client, tracked_workspace: Any) -> None:
    workspace, tracking = tracked_workspace()
    _, write = _keys(workspace)
    _visits(client, tracking.public_key)
    api = _api(workspace, write)

    response = api.post(URL, {"email": " ANA@example.com"}, content_type="application/json")
    assert response.status_code == 200, response.content
    # her anonymous page view went with her identify and order (still buffered: landed first)
    assert response.json() == {"events_deleted": 3, "visitors": 1}
    assert _events(workspace) == ["", "anon-ben", "anon-ben"]
    again = api.post(URL, {"email": "ana@example.com"}, content_type="application/json")
    assert again.json() == {"events_deleted": 0, "visitors": 0}

    digest = hashlib.sha256(b"nobody@example.com").hexdigest()
    assert api.post(URL, {"email_sha256": digest}, content_type="application/json").json()["events_deleted"] == 0
    response = api.post(URL, {"customer_id": "c-ben"}, content_type="application/json")
    assert response.json() == {"events_deleted": 2, "visitors": 1}
    assert _events(workspace) == [""]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "non_field_errors"),
        ({"customer_id": "  ", "email": ""}, "non_field_errors"),
        ({"email": "not-an-address"}, "email"),
        ({"email_sha256": "abc"}, "email_sha256"),
        ({"customer_id": "c" * 201}, "customer_id"),
        ({"customer_id": 12, "visitor": "anon-ana"}, "visitor"),
        (["c-ana"], "non_field_errors"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_erases_nothing(
    client: Client, tracked_workspace: Any, body: Any, field: str
) -> None:
    workspace, tracking = tracked_workspace()
    _, write = _keys(workspace)
    _visits(client, tracking.public_key)
    response = _api(workspace, write).post(URL, body, content_type="application/json")
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM, response.content
    assert field in {e["field"] for e in response.json()["errors"]}
    with schema_context(workspace.schema_name):
        from tracking.services.landing import land_pending

        land_pending(schema=workspace.schema_name)
    assert len(_events(workspace)) == 6


def test_malformed_json_is_a_400_and_a_query_parameter_is_refused(tracked_workspace: Any) -> None:
    workspace, _ = tracked_workspace()
    _, write = _keys(workspace)
    api = _api(workspace, write)
    assert api.post(URL, "{not json", content_type="application/json").status_code == 400
    response = api.post(URL + "?dry_run=1", {"customer_id": "c-ana"}, content_type="application/json")
    assert response.status_code == 400 and "dry_run" in {e["field"] for e in response.json()["errors"]}


def test_read_only_keys_analysts_and_other_workspaces_are_refused(
    client: Client, tracked_workspace: Any, make_user: Any
) -> None:
    workspace, tracking = tracked_workspace()
    other, _ = tracked_workspace("other")
    read, _ = _keys(workspace)
    _, other_write = _keys(other)
    _visits(client, tracking.public_key)
    body = {"customer_id": "c-ana"}

    refused = _api(workspace, read).post(URL, body, content_type="application/json")
    assert refused.status_code == 403 and "read-only" in refused.json()["detail"]
    assert _api(workspace, other_write).post(URL, body, content_type="application/json").status_code == 401
    assert Client(HTTP_HOST=host_of(workspace)).post(URL, body, content_type="application/json").status_code in (
        401,
        403,
    )
    analyst = make_user("analyst@erasure.example")
    Membership.objects.create(user=analyst, workspace=workspace, role="analyst")
    session = login_client(Client(), analyst, workspace)
    assert session.post(URL, body, content_type="application/json").status_code == 403
    with schema_context(workspace.schema_name):
        from tracking.services.landing import land_pending

        land_pending(schema=workspace.schema_name)
    assert len(_events(workspace)) == 6, "nothing erased by a refused request"

    owner = Membership.objects.get(workspace=workspace, role="owner").user
    allowed = login_client(Client(), owner, workspace).post(URL, body, content_type="application/json")
    assert allowed.status_code == 200 and allowed.json()["events_deleted"] == 3
