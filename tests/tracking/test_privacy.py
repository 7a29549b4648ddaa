"""Privacy: one person's events erased on request (by customer id or e-mail, with the visitor ids
linked to them), through the service and the Settings form; retention removes old events only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.conftest import host_of, login_client
from tests.tracking.conftest import beacon, event, fresh_ip, post_beacon
from tracking.models import Event
from tracking.services import privacy
from tracking.services.landing import land_pending

pytestmark = pytest.mark.django_db

Tracked = Callable[..., Any]


def _journeys(client: Client, key: str) -> None:
    ana = [
        event(aid="anon-ana", url="https://shop.example/?utm_source=google"),
        event("identify", aid="anon-ana", data={"customer_id": "c-ana", "email": "ana@example.com"}),
        event(
            "order",
            aid="anon-ana",
            data={"order_id": "1", "revenue": 10, "currency": "EUR", "email": "ana@example.com"},
        ),
    ]
    ben = [
        event(aid="anon-ben"),
        event("identify", aid="anon-ben", data={"customer_id": "c-ben", "email": "ben@example.com"}),
    ]
    assert post_beacon(client, key, beacon(*ana), ip=fresh_ip()).status_code == 204
    assert post_beacon(client, key, beacon(*ben), ip=fresh_ip()).status_code == 204
    # a cookieless page view: nobody's
    assert post_beacon(client, key, beacon(event(aid="")), ip=fresh_ip()).status_code == 204


def test_erasure_by_email_takes_the_persons_anonymous_visits_too(client: Client, tracked_workspace: Tracked) -> None:
    workspace, tracking = tracked_workspace()
    other, other_tracking = tracked_workspace("other")
    _journeys(client, tracking.public_key)
    _journeys(client, other_tracking.public_key)
    with schema_context(other.schema_name):
        land_pending(schema=other.schema_name)
    with schema_context(workspace.schema_name):
        # the beacons are still buffered: erasure lands them first, so none arrives after it
        result = privacy.customer_events_erase(email=" ANA@example.com")
        assert (result.events_deleted, result.visitors) == (3, 1)
        assert sorted(Event.objects.values_list("anonymous_id", flat=True)) == ["", "anon-ben", "anon-ben"]
        result = privacy.customer_events_erase(customer_id="c-ben")
        assert result.events_deleted == 2
        assert Event.objects.count() == 1
        with pytest.raises(privacy.ErasureError):
            privacy.customer_events_erase()
    with schema_context(other.schema_name):
        assert Event.objects.count() == 6  # another workspace's Ana is not this request's


def test_erasure_form_in_settings(client: Client, tracked_workspace: Tracked) -> None:
    workspace, tracking = tracked_workspace()
    _journeys(client, tracking.public_key)
    owner = workspace.memberships.select_related("user").first().user
    browser = login_client(Client(), owner, workspace)
    host = host_of(workspace)
    empty = browser.post("/settings/tracking/erase/", {"customer_id": "", "email": ""}, HTTP_HOST=host)
    assert empty.status_code == 400
    assert "Give a customer id or an e-mail address." in empty.content.decode()
    response = browser.post("/settings/tracking/erase/", {"customer_id": "c-ana"}, HTTP_HOST=host, follow=True)
    assert response.status_code == 200
    assert "Erased 3 events of this person (1 visitor id)." in response.content.decode()
    with schema_context(workspace.schema_name):
        assert Event.objects.filter(customer_id="c-ana").count() == 0
        assert Event.objects.count() == 3


def test_retention_deletes_only_events_older_than_the_setting(client: Client, tracked_workspace: Tracked) -> None:
    workspace, tracking = tracked_workspace()
    assert post_beacon(client, tracking.public_key, beacon(event(), event())).status_code == 204
    with schema_context(workspace.schema_name):
        land_pending(schema=workspace.schema_name)
        old, recent = Event.objects.order_by("id")
        Event.objects.filter(pk=old.pk).update(occurred_at=timezone.now() - dt.timedelta(days=14 * 31))
        Event.objects.filter(pk=recent.pk).update(occurred_at=timezone.now() - dt.timedelta(days=11 * 31))
        assert privacy.events_expire(schema=workspace.schema_name) == 1
        assert list(Event.objects.values_list("pk", flat=True)) == [recent.pk]
        tracking.retention_months = 6
        tracking.save()
        assert privacy.events_expire(schema=workspace.schema_name) == 1
        assert Event.objects.count() == 0
