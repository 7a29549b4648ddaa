"""A workspace's whole billing life in a real browser (chromium), against the Stripe emulator over
HTTP, the live server and a real Celery worker applying the signed webhooks:

trial → checkout (the owner clicks Pay on the emulator's page) → active → downgrade in the portal →
the renewal payment fails → past due (banner) → the grace period passes → read-only → the owner pays
in the portal → active again, nothing lost.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Membership
from accounts.roles import Role
from billing import entitlements
from billing.models import BillingAccount
from tests.billing.test_webhooks import WEBHOOK, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_trial_checkout_downgrade_failure_read_only_and_back(
    make_workspace: Any, stripe_emulator: Any, live_server: Any, celery_worker: Any, web: Any
) -> None:
    state = stripe_emulator.state
    state.set_webhook_endpoint(f"{live_server.url}{WEBHOOK}")
    acme = make_workspace("acme")
    owner = Membership.objects.get(workspace=acme, role=Role.OWNER).user

    def account() -> BillingAccount:
        return BillingAccount.objects.get(workspace=acme)

    def applied(**expected: Any) -> BillingAccount:
        state.wait_for_webhooks()
        return wait_until(
            lambda: all(getattr(a := account(), k) == v for k, v in expected.items()) and a, what=str(expected)
        )

    # --- the trial: Growth, no card
    web.login(owner, acme)
    web.goto("/settings/billing/", acme)
    page = web.page
    assert "Free trial of Growth" in page.inner_text("#billing-summary")

    # --- checkout: the owner picks Agency, yearly, and pays on Stripe's page
    page.select_option("#plan-choice", "agency")
    page.select_option("#interval-choice", "yearly")
    page.click("#checkout-form button[type=submit]")
    page.wait_for_url(f"{stripe_emulator.base_url}/checkout/pay/**")
    page.click("#pay")
    page.wait_for_url("**/settings/billing/?checkout=done")
    assert "Thank you" in page.inner_text("main")
    applied(status="active", plan="agency", interval="yearly")
    web.goto("/settings/billing/", acme)
    assert page.inner_text("#current-plan") == "Agency"
    web.screenshot("billing-active")

    # --- downgrade in the portal: Starter monthly, at the period's end
    page.click("#portal-form button[type=submit]")
    page.wait_for_url(f"{stripe_emulator.base_url}/portal/**")
    starter = state.price_by_lookup_key("bosco_starter_monthly")
    page.select_option("#price", starter["id"])
    page.click("#switch-plan")
    page.wait_for_load_state("networkidle")
    assert "Changes to" in page.inner_text("body")

    # --- the period ends, the renewal at the lower price is declined
    state.fail_next_payments(1)
    period_end = int(account().current_period_end.timestamp())
    state.advance(seconds=period_end - state.now() + 60)
    failed = applied(status="past_due", plan="starter")
    assert failed.grace_until is not None
    web.goto("/settings/billing/", acme)
    assert "A payment failed" in page.inner_text("#billing-banner")
    assert not entitlements.for_workspace(acme.schema_name).read_only  # still in the grace period

    # --- the grace period passes: read-only, data kept
    BillingAccount.objects.filter(pk=failed.pk).update(grace_until=timezone.now() - timedelta(minutes=1))
    entitlements._redis().delete(entitlements._cache_key(acme.schema_name))
    web.goto("/settings/", acme)
    assert "read-only" in page.inner_text("#billing-banner")
    page.click("main form button[type=submit]")  # saving workspace settings is refused, clearly
    page.wait_for_load_state("networkidle")
    assert "changes are paused" in page.inner_text("main")
    # the refusal is a 403, which the browser reports; it is the expected answer here, not an error
    refusal = "console error: Failed to load resource: the server responded with a status of 403 (Forbidden)"
    assert web.errors == [refusal]
    web.errors.clear()
    web.screenshot("billing-read-only")

    # --- the owner pays the open invoice in the portal: everything comes back
    web.goto("/settings/billing/", acme)
    page.click("#portal-form button[type=submit]")
    page.wait_for_url(f"{stripe_emulator.base_url}/portal/**")
    page.click("#update-payment-method")
    page.wait_for_load_state("networkidle")
    back = applied(status="active", plan="starter")
    assert back.grace_until is None
    assert not entitlements.for_workspace(acme.schema_name).read_only
    web.goto("/settings/billing/", acme)
    assert page.locator("#billing-banner").count() == 0
    assert page.inner_text("#current-plan") == "Starter"
