"""The support admin: reached through allauth's sign-in and limits, then a second factor (TOTP)."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.test import Client

from accounts.models import User
from tests.conftest import PASSWORD, host_of, login_client
from tests.totp import totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_user) -> User:
    return make_user("support@bosco.example", is_staff=True, is_superuser=True)


def _public() -> Client:
    return Client(HTTP_HOST=settings.BOSCO_DOMAIN)


def _secret_on(page: str) -> str:
    field = re.search(r"<input[^>]*authenticator_secret[^>]*>", page)
    assert field, "the activation page shows the secret"
    match = re.search(r'value="([A-Z2-7]+)"', field.group(0))
    assert match
    return match.group(1)


def _last_path(response) -> str:
    return response.redirect_chain[-1][0] if response.redirect_chain else ""


def test_staff_sign_in_to_the_admin_sets_up_and_then_asks_for_a_second_factor(staff) -> None:
    client = _public()
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"] == "/admin/login/?next=/admin/"
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    response = client.post(response["Location"], {"login": staff.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/admin/"

    # A password alone does not open the admin: the account first gets an authenticator app
    # (allauth asks for the password once more before adding one).
    response = client.get("/admin/", follow=True)
    assert _last_path(response) == "/accounts/reauthenticate/?next=%2Faccounts%2F2fa%2Ftotp%2Factivate%2F"
    assert client.get("/admin/accounts/user/").status_code == 302
    response = client.post(_last_path(response), {"password": PASSWORD}, follow=True)
    assert _last_path(response) == "/accounts/2fa/totp/activate/"
    secret = _secret_on(response.content.decode())
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/recovery-codes/"
    totp = Authenticator.objects.get(user=staff, type=Authenticator.Type.TOTP)
    assert secret not in str(totp.data), "the TOTP secret is stored encrypted"
    recovery = Authenticator.objects.get(user=staff, type=Authenticator.Type.RECOVERY_CODES).wrap()

    # This session signed in before the authenticator existed: it must show a code too.
    response = client.get("/admin/", follow=True)
    assert _last_path(response) == "/accounts/2fa/reauthenticate/?next=%2Fadmin%2F"
    response = client.post("/accounts/2fa/reauthenticate/?next=/admin/", {"code": totp_code(secret)})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/accounts/user/").status_code == 200

    # The next sign-in asks for the second factor right after the password; a wrong code fails,
    # and a recovery code works once.
    fresh = _public()
    response = fresh.post("/accounts/login/?next=/admin/", {"login": staff.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/"
    assert fresh.get("/admin/").status_code == 302
    assert fresh.post("/accounts/2fa/authenticate/", {"code": "000000"}).status_code == 200
    code = recovery.get_unused_codes()[0]
    response = fresh.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert fresh.get("/admin/accounts/workspace/").status_code == 200
    assert code not in Authenticator.objects.get(pk=recovery.instance.pk).wrap().get_unused_codes()


def test_a_staff_session_that_skipped_the_second_factor_is_refused(staff) -> None:
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(staff, generate_totp_secret())
    client = login_client(Client(), staff)  # signed in without any second factor
    response = client.get("/admin/accounts/workspace/", follow=True)
    assert response.status_code == 200
    assert _last_path(response).startswith("/accounts/2fa/reauthenticate/")
    assert b"Workspaces, people and subscriptions" not in response.content


def test_the_admin_has_no_password_form_of_its_own(staff) -> None:
    client = _public()
    response = client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    # Its `next` is judged like every other: off-site targets become the admin's index.
    response = client.get("/admin/login/?next=https://evil.example/")
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_admin_sign_in_shares_the_sign_in_failure_limit(staff, make_workspace) -> None:
    acme = make_workspace("acme")
    for host in (host_of(acme), settings.BOSCO_DOMAIN, settings.BOSCO_DOMAIN, host_of(acme), host_of(acme)):
        Client(HTTP_HOST=host).post("/accounts/login/", {"login": staff.email, "password": "wrong-guess-123"})
    client = _public()
    login = client.get(client.get("/admin/")["Location"])["Location"]
    response = client.post(login, {"login": staff.email, "password": PASSWORD})
    assert response.status_code == 200 and b"Too many failed login attempts" in response.content
    assert client.get("/admin/").status_code == 302


def test_signed_in_non_staff_get_403_not_a_loop(make_user) -> None:
    client = login_client(Client(), make_user("regular@example.com"))
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert len(response.redirect_chain) == 1


def test_a_totp_code_used_on_one_host_is_refused_on_every_other(make_workspace) -> None:
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    acme = make_workspace("acme")
    member = acme.memberships.get().user
    secret = generate_totp_secret()
    TOTP.activate(member, secret)
    code = totp_code(secret)

    signed_in = []
    for host in (host_of(acme), settings.BOSCO_DOMAIN):
        client = Client(HTTP_HOST=host)
        response = client.post("/accounts/login/", {"login": member.email, "password": PASSWORD})
        assert response["Location"] == "/accounts/2fa/authenticate/"
        client.post("/accounts/2fa/authenticate/", {"code": code})
        signed_in.append("_auth_user_id" in client.session)
    assert signed_in == [True, False], "the used-code mark is global, not per workspace schema"
