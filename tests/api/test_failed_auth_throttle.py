"""Failed API-key checks are throttled per client address, across every workspace host."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from accounts import services
from accounts.models import Membership
from tests.conftest import host_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("failed_auth_limit")]

URL = "/api/v1/workspace"
ATTACKER = "203.0.113.7"


def _call(host: str, key: str, address: str = ATTACKER, **extra: str) -> object:
    return Client(HTTP_HOST=host, REMOTE_ADDR=address, **extra).get(URL, HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def acme_key(make_workspace) -> tuple[str, str]:
    acme = make_workspace("acme")
    owner = Membership.objects.get(workspace=acme)
    _, raw = services.api_key_create(workspace=acme, actor=owner, name="ci", scope="read")
    return host_of(acme), raw


def test_guessing_keys_gets_429_after_twenty_failures_on_any_host(make_workspace, acme_key) -> None:
    acme_host, valid_key = acme_key
    hosts = [acme_host, host_of(make_workspace("globex"))]

    codes = [_call(hosts[n % 2], f"bsk_guess{n:03d}_0123456789abcdef").status_code for n in range(75)]

    assert codes == [401] * 20 + [429] * 55
    # Refused before the key is looked at: even the right key waits out the minute.
    response = _call(acme_host, valid_key)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert 0 < int(response["Retry-After"]) <= 60
    body = response.json()
    assert body["status"] == 429 and body["type"].endswith("/throttled")
    assert "Too many failed API-key checks" in body["detail"]
    # Naming another address in X-Forwarded-For does not help (no trusted proxy configured).
    assert _call(acme_host, valid_key, HTTP_X_FORWARDED_FOR="198.51.100.77").status_code == 429
    # Another client is not held back by this one's failures.
    assert _call(acme_host, valid_key, address="198.51.100.9").status_code == 200


def test_the_address_may_try_again_when_its_window_is_over(acme_key, monkeypatch, settings) -> None:
    from bosco.api import failed_auth

    # A short window and budget keep the test quick; the rule is the same.
    monkeypatch.setattr(failed_auth, "WINDOW_SECONDS", 3)
    settings.API_AUTH_FAILURES_PER_MINUTE = 3
    acme_host, valid_key = acme_key
    codes = [_call(acme_host, "bsk_guess_0123456789abcdef").status_code for _ in range(3)]
    refused = _call(acme_host, valid_key)
    assert codes == [401] * 3 and refused.status_code == 429
    time.sleep(int(refused["Retry-After"]) + 0.2)
    assert _call(acme_host, valid_key).status_code == 200


def test_requests_without_a_key_and_with_valid_keys_are_not_counted(acme_key) -> None:
    acme_host, valid_key = acme_key
    for _ in range(25):
        assert _call(acme_host, valid_key).status_code == 200
        assert Client(HTTP_HOST=acme_host, REMOTE_ADDR=ATTACKER).get(URL).status_code == 401
    assert _call(acme_host, "bsk_guess_0123456789abcdef").status_code == 401
