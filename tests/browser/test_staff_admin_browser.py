"""Support staff reach the admin in a real browser: sign-in, authenticator app, then the code."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator

from tests.conftest import PASSWORD
from tests.totp import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _submit(page, selector: str, value: str) -> None:
    page.fill(selector, value)
    page.press(selector, "Enter")
    page.wait_for_load_state("networkidle")


def test_staff_set_up_an_authenticator_and_sign_in_to_the_admin_with_it(web, make_user) -> None:
    staff = make_user("support@bosco.example", is_staff=True, is_superuser=True)
    page = web.page

    web.goto("/admin/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=login]", staff.email)
    _submit(page, "input[name=password]", PASSWORD)

    # No authenticator yet: allauth asks for the password again, then shows the secret to add.
    assert "/accounts/reauthenticate/" in page.url
    _submit(page, "input[name=password]", PASSWORD)
    assert page.url.endswith("/accounts/2fa/totp/activate/")
    web.screenshot("admin-mfa-activate")
    secret = page.input_value("input[id$=authenticator_secret]")
    _submit(page, "input[name=code]", totp_code(secret))
    assert page.url.endswith("/accounts/2fa/recovery-codes/")

    # This session began before the authenticator existed: the admin asks for a code.
    web.goto("/admin/")
    assert "/accounts/2fa/reauthenticate/" in page.url
    _submit(page, "input[name=code]", totp_code(secret))
    assert page.url == web.url("/admin/")
    assert page.is_visible("text=Workspaces, people and subscriptions")

    # Signed out, the next sign-in asks for the second factor before the admin opens; a recovery
    # code stands in for the app.
    page.context.clear_cookies()
    web.goto("/admin/")
    page.fill("input[name=login]", staff.email)
    _submit(page, "input[name=password]", PASSWORD)
    assert page.url.endswith("/accounts/2fa/authenticate/")
    web.screenshot("admin-mfa-authenticate")
    code = Authenticator.objects.get(user=staff, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()[0]
    _submit(page, "input[name=code]", code)
    assert page.url == web.url("/admin/")
    assert page.is_visible("text=Workspaces, people and subscriptions")
