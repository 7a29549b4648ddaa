"""The emulator's hosted pages in a real browser (Debian's chromium): Checkout's "Pay" and the portal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from devtools.stripe_emulator import StripeEmulator
from tests.billing.conftest import STRIPE_TEST_SECRET_KEY

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-US")
    yield context.new_page()
    context.close()


def test_a_person_pays_on_checkout_and_manages_the_plan_in_the_portal(
    page: Any, stripe_emulator: StripeEmulator
) -> None:
    state = stripe_emulator.state
    api = stripe.StripeClient(STRIPE_TEST_SECRET_KEY, base_addresses={"api": stripe_emulator.base_url})
    back = f"{stripe_emulator.base_url}/_emulator/"  # any page the browser can land on
    customer = api.v1.customers.create(params={"email": "owner@example.com", "name": "Acme"})
    session = api.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": state.price_by_lookup_key("bosco_starter_monthly")["id"], "quantity": 1}],
            "success_url": back + "?session={CHECKOUT_SESSION_ID}",
            "cancel_url": back + "?cancelled=1",
        }
    )
    page.goto(session.url)
    assert page.locator("#cancel").get_attribute("href") == back + "?cancelled=1"
    page.click("#pay")
    page.wait_for_url(f"{back}?session={session.id}")
    subscription_id = api.v1.checkout.sessions.retrieve(session.id).subscription
    assert api.v1.subscriptions.retrieve(subscription_id).status == "active"

    portal = api.v1.billing_portal.sessions.create(params={"customer": customer.id, "return_url": back})
    page.goto(portal.url)
    page.select_option("#price", state.price_by_lookup_key("bosco_agency_monthly")["id"])
    page.click("#switch-plan")
    page.wait_for_selector("#cancel-subscription")
    sub = api.v1.subscriptions.retrieve(subscription_id)
    assert sub["items"].data[0].price.lookup_key == "bosco_agency_monthly"  # an upgrade applies at once
    page.click("#cancel-subscription")
    page.wait_for_selector("#renew-subscription")
    assert api.v1.subscriptions.retrieve(subscription_id).cancel_at_period_end is True
    page.fill("#billing-email", "billing@example.com")
    page.click("#save-billing")
    page.wait_for_selector("#return")
    assert api.v1.customers.retrieve(customer.id).email == "billing@example.com"
    page.click("#return")
    page.wait_for_url(back)
    assert [e["type"] for e in state.events("customer.updated")] == ["customer.updated"]
