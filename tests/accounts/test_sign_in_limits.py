"""Sign-in: one failure budget across every host, and workspace hosts that sign in members only."""

from __future__ import annotations

from unittest import mock

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Membership, User
from tests.conftest import PASSWORD, host_of

pytestmark = pytest.mark.django_db

TOO_MANY = "Too many failed login attempts"
WRONG = "The email address and/or password you specified are not correct."


def _sign_in(host: str, email: str, password: str, **extra: str) -> tuple[Client, str]:
    client = Client(HTTP_HOST=host, **extra)
    response = client.post("/accounts/login/", {"login": email, "password": password})
    return client, response.content.decode() if response.status_code == 200 else ""


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_failed_sign_ins_on_every_host_share_one_counter_per_email(make_workspace, make_user) -> None:
    victim = make_user("victim@example.com")
    acme, globex = make_workspace("acme"), make_workspace("globex")
    for workspace in (acme, globex):
        Membership.objects.create(user=victim, workspace=workspace, role="viewer")
    hosts = [host_of(acme), host_of(acme), host_of(globex), host_of(globex), settings.BOSCO_DOMAIN]
    for host in hosts:
        client, page = _sign_in(host, victim.email, "wrong-guess-123")
        assert WRONG in page and not _signed_in(client)

    # The sixth attempt, even with the right password and on a host that saw only two failures.
    client, page = _sign_in(host_of(acme), victim.email, PASSWORD)
    assert TOO_MANY in page
    assert not _signed_in(client)


def test_failed_sign_ins_from_one_address_share_one_counter_across_hosts(make_workspace, make_user) -> None:
    acme, globex = make_workspace("acme"), make_workspace("globex")
    hosts = [host_of(acme), host_of(globex), settings.BOSCO_DOMAIN]
    # Ten different e-mails (so the per-e-mail limit never trips), spread over three hosts.
    for n in range(10):
        _, page = _sign_in(hosts[n % 3], f"guess{n}@example.com", "wrong-guess-123", REMOTE_ADDR="203.0.113.7")
        assert WRONG in page, n
    owner = make_user("someone@example.com")
    Membership.objects.create(user=owner, workspace=globex, role="viewer")
    client, page = _sign_in(host_of(globex), owner.email, PASSWORD, REMOTE_ADDR="203.0.113.7")
    assert TOO_MANY in page and not _signed_in(client)
    # Another address is not held back by this one's failures.
    client, _ = _sign_in(host_of(globex), owner.email, PASSWORD, REMOTE_ADDR="198.51.100.9")
    assert _signed_in(client)


def test_non_member_is_refused_on_a_workspace_host_like_a_wrong_password(make_workspace, make_user) -> None:
    acme = make_workspace("acme")
    member = Membership.objects.get(workspace=acme).user
    stranger = make_user("stranger@example.com")

    _, wrong_password_page = _sign_in(host_of(acme), member.email, "wrong-guess-123")
    with mock.patch.object(User, "check_password", autospec=True, wraps=User.check_password) as check:
        client, stranger_page = _sign_in(host_of(acme), stranger.email, PASSWORD)
    assert not _signed_in(client)
    assert check.call_count == 0, "the password must not be checked for a non-member"
    assert WRONG in stranger_page and WRONG in wrong_password_page
    assert client.get("/").status_code == 302  # still anonymous: sent back to sign in

    # The same person signs in on the public site, and on the workspace once they are a member.
    public, _ = _sign_in(settings.BOSCO_DOMAIN, stranger.email, PASSWORD)
    assert _signed_in(public)
    Membership.objects.create(user=stranger, workspace=acme, role="viewer")
    client, _ = _sign_in(host_of(acme), stranger.email, PASSWORD)
    assert _signed_in(client)
    assert client.get("/").status_code == 200


def test_non_member_refusals_count_against_the_same_limit(make_workspace, make_user) -> None:
    acme = make_workspace("acme")
    stranger = make_user("stranger@example.com")
    for _ in range(5):
        _, page = _sign_in(host_of(acme), stranger.email, PASSWORD)
        assert WRONG in page
    _, page = _sign_in(host_of(acme), stranger.email, PASSWORD)
    assert TOO_MANY in page
