"""Every `next` the accounts flows accept stays on the host it came to."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from accounts import services
from accounts.models import LoginHandoff, Membership
from tests.conftest import PASSWORD, host_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("target", ["/\\evil.example/", "//evil.example/", "https://evil.example/", "/\t/evil.example"])
def test_handoff_ticket_never_carries_an_off_site_next_path(make_workspace, target) -> None:
    acme = make_workspace("acme")
    owner = Membership.objects.get(workspace=acme).user
    services.handoff_create(user=owner, workspace=acme, next_path=target)
    assert LoginHandoff.objects.get().next_path == "/"


def test_handoff_ticket_keeps_a_local_next_path(make_workspace) -> None:
    acme = make_workspace("acme")
    owner = Membership.objects.get(workspace=acme).user
    token = services.handoff_create(user=owner, workspace=acme, next_path="/settings/team/")
    response = Client(HTTP_HOST=host_of(acme)).get(f"/auth/handoff/?token={token}")
    assert response["Location"] == "/settings/team/"


@pytest.mark.parametrize("on_workspace_host", [True, False])
def test_sign_in_next_may_not_leave_the_host(make_workspace, on_workspace_host) -> None:
    acme, evil = make_workspace("acme"), make_workspace("evil")
    owner = Membership.objects.get(workspace=acme).user
    host = host_of(acme) if on_workspace_host else settings.BOSCO_DOMAIN
    # Another workspace's host matches ALLOWED_HOSTS' `.<BOSCO_DOMAIN>`, and anyone can own one.
    for target in (f"http://{host_of(evil)}/", "https://evil.example/", "//evil.example/", "/\\evil.example/"):
        client = Client(HTTP_HOST=host)
        response = client.post(f"/accounts/login/?next={target}", {"login": owner.email, "password": PASSWORD})
        assert response.status_code == 302
        assert "evil" not in response["Location"], target
    client = Client(HTTP_HOST=host)
    response = client.post("/accounts/login/?next=/pricing/", {"login": owner.email, "password": PASSWORD})
    assert response["Location"] == "/pricing/"
