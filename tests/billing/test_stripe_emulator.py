"""The Stripe emulator over real HTTP, driven by the official `stripe` library like Bosco drives Stripe."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
import stripe

from devtools.stripe_emulator import StripeEmulator, StripeEmulatorConfig, start_stripe_emulator
from devtools.stripe_emulator.state import DAY
from tests.billing.conftest import STRIPE_TEST_SECRET_KEY, STRIPE_TEST_WEBHOOK_SECRET, WebhookReceiver

REFERENCE = "/work/shared/reference/payloads/stripe"


@pytest.fixture
def api(stripe_emulator: StripeEmulator) -> stripe.StripeClient:
    return stripe.StripeClient(
        STRIPE_TEST_SECRET_KEY, base_addresses={"api": stripe_emulator.base_url}, max_network_retries=0
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http(
    method: str, url: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP request, redirects not followed: (status, headers, body)."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310 - local emulator URLs
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {STRIPE_TEST_SECRET_KEY}"}


def price_id(emulator: StripeEmulator, key: str) -> str:
    price = emulator.state.price_by_lookup_key(key)
    assert price is not None
    return price["id"]


def subscribe(
    api: stripe.StripeClient,
    emulator: StripeEmulator,
    *,
    key: str = "bosco_growth_monthly",
    trial_days: int | None = None,
) -> tuple[str, str]:
    """A customer who went through Checkout and clicked Pay: (customer id, subscription id)."""
    customer = api.v1.customers.create(params={"email": "owner@example.com", "name": "Acme"})
    params: dict[str, Any] = {
        "mode": "subscription",
        "customer": customer.id,
        "line_items": [{"price": price_id(emulator, key), "quantity": 1}],
        "success_url": "https://bosco.example/billing/done?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://bosco.example/billing/",
        "client_reference_id": "acme",
        "metadata": {"workspace_schema": "acme"},
        "subscription_data": {"metadata": {"workspace_schema": "acme"}},
    }
    if trial_days:
        params["subscription_data"]["trial_period_days"] = trial_days
    session = api.v1.checkout.sessions.create(params=params)
    status, headers, _ = http("POST", session.url, data={})
    assert status == 303, headers
    subscription_id = api.v1.checkout.sessions.retrieve(session.id).subscription
    assert isinstance(subscription_id, str)
    return customer.id, subscription_id


def event_types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


# --- wire format ------------------------------------------------------------------------------
def test_nested_form_parameters_round_trip_through_the_stripe_library(api: stripe.StripeClient) -> None:
    created = api.v1.customers.create(
        params={"email": "owner@example.com", "name": "Acme GmbH", "metadata": {"workspace_schema": "acme"}}
    )
    fetched = api.v1.customers.retrieve(created.id)
    assert created.id.startswith("cus_")
    assert fetched.email == "owner@example.com"
    assert fetched.metadata.to_dict() == {"workspace_schema": "acme"}


def test_requests_without_a_valid_test_key_get_401(stripe_emulator: StripeEmulator) -> None:
    url = f"{stripe_emulator.base_url}/v1/customers"
    status, _, body = http("GET", url)
    assert status == 401
    assert json.loads(body)["error"]["message"].startswith("You did not provide an API key")
    status, _, body = http("GET", url, headers={"Authorization": "Bearer sk_live_realkey1234"})
    assert status == 401
    assert json.loads(body)["error"]["type"] == "invalid_request_error"
    with start_stripe_emulator(config=StripeEmulatorConfig(api_key="sk_test_only_this_one")) as strict:
        wrong = stripe.StripeClient("sk_test_another", base_addresses={"api": strict.base_url}, max_network_retries=0)
        with pytest.raises(stripe.AuthenticationError):
            wrong.v1.customers.list()


def test_same_idempotency_key_and_params_replay_the_first_response(
    api: stripe.StripeClient, stripe_emulator: StripeEmulator
) -> None:
    params = {"email": "owner@example.com", "metadata": {"workspace_schema": "acme"}}
    first = api.v1.customers.create(params=params, options={"idempotency_key": "customer-acme"})
    again = api.v1.customers.create(params=params, options={"idempotency_key": "customer-acme"})
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert len(stripe_emulator.state.all("customer")) == 1
    with pytest.raises(stripe.IdempotencyError, match="same parameters"):
        api.v1.customers.create(
            params={**params, "email": "other@example.com"}, options={"idempotency_key": "customer-acme"}
        )
    assert event_types(stripe_emulator.state.events()) == ["customer.created"]


def test_error_envelope_matches_stripes_recorded_error(api: stripe.StripeClient) -> None:
    with open(f"{REFERENCE}/error_resource_missing_checkout_customer.json") as f:
        recorded = json.load(f)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        api.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": "5",
                "line_items": [{"price": "price_x", "quantity": 1}],
                "success_url": "https://bosco.example/ok",
            }
        )
    assert caught.value.http_status == 400
    assert caught.value.json_body == recorded


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"email": "a@example.com", "colour": "red"}, "colour", "parameter_unknown"),
        ({"metadata": "not-a-hash"}, "metadata", "parameter_invalid"),
    ],
)
def test_bad_parameters_get_400_naming_the_parameter(
    api: stripe.StripeClient, params: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        api.v1.customers.create(params=params)
    assert (caught.value.http_status, caught.value.param, caught.value.code) == (400, param, code)


def test_checkout_without_line_items_or_with_an_unknown_price_is_refused(api: stripe.StripeClient) -> None:
    customer = api.v1.customers.create(params={"email": "owner@example.com"})
    base = {"mode": "subscription", "customer": customer.id, "success_url": "https://bosco.example/ok"}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        api.v1.checkout.sessions.create(params=base)
    assert (caught.value.code, caught.value.param) == ("parameter_missing", "line_items")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        api.v1.checkout.sessions.create(params={**base, "line_items": [{"price": "price_nope", "quantity": 1}]})
    assert (caught.value.code, caught.value.param) == ("resource_missing", "line_items[0][price]")


def test_unknown_objects_and_urls_are_404(api: stripe.StripeClient, stripe_emulator: StripeEmulator) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        api.v1.subscriptions.retrieve("sub_missing")
    assert (caught.value.http_status, caught.value.code) == (404, "resource_missing")
    status, _, body = http("GET", f"{stripe_emulator.base_url}/v1/charges", headers=bearer())
    assert status == 404
    assert "Unrecognized request URL" in json.loads(body)["error"]["message"]


def test_injected_server_errors_use_stripes_api_error(
    api: stripe.StripeClient, stripe_emulator: StripeEmulator
) -> None:
    stripe_emulator.state.fail_next_requests(1, status=503)
    with pytest.raises(stripe.APIError) as caught:
        api.v1.customers.list()
    assert caught.value.http_status == 503
    assert caught.value.error.type == "api_error"
    assert api.v1.customers.list().data == []


# --- prices, lists, expand --------------------------------------------------------------------
def test_prices_are_found_by_lookup_key_with_a_yearly_discount(
    api: stripe.StripeClient, stripe_emulator: StripeEmulator
) -> None:
    prices = api.v1.prices.list(params={"lookup_keys": ["bosco_growth_monthly", "bosco_growth_yearly"]}).data
    by_key = {p.lookup_key: p for p in prices}
    assert set(by_key) == {"bosco_growth_monthly", "bosco_growth_yearly"}
    monthly, yearly = by_key["bosco_growth_monthly"], by_key["bosco_growth_yearly"]
    assert isinstance(monthly.unit_amount, int) and monthly.unit_amount > 0
    assert yearly.unit_amount < 12 * monthly.unit_amount
    assert (monthly.recurring.interval, yearly.recurring.interval) == ("month", "year")
    assert monthly.currency == yearly.currency == "eur"
    # The `lookup_keys[]=` spelling of other clients works too.
    query = urllib.parse.urlencode([("lookup_keys[]", "bosco_agency_yearly")])
    status, _, body = http("GET", f"{stripe_emulator.base_url}/v1/prices?{query}", headers=bearer())
    assert status == 200
    assert [p["lookup_key"] for p in json.loads(body)["data"]] == ["bosco_agency_yearly"]


def test_lists_page_with_has_more_and_starting_after(api: stripe.StripeClient) -> None:
    ids = [api.v1.customers.create(params={"email": f"u{i}@example.com"}).id for i in range(3)]
    first = api.v1.customers.list(params={"limit": 2})
    assert (first.object, first.url, first.has_more) == ("list", "/v1/customers", True)
    assert [c.id for c in first.data] == [ids[2], ids[1]]
    rest = api.v1.customers.list(params={"limit": 2, "starting_after": first.data[-1].id})
    assert ([c.id for c in rest.data], rest.has_more) == ([ids[0]], False)


def test_expand_replaces_ids_with_objects(api: stripe.StripeClient, stripe_emulator: StripeEmulator) -> None:
    _, subscription_id = subscribe(api, stripe_emulator)
    sub = api.v1.subscriptions.retrieve(subscription_id, params={"expand": ["customer", "latest_invoice"]})
    assert sub.customer.object == "customer"
    assert sub.latest_invoice.object == "invoice"
    prices = api.v1.prices.list(params={"lookup_keys": ["bosco_starter_monthly"], "expand": ["data.product"]})
    assert prices.data[0].product.metadata["plan"] == "starter"
    with pytest.raises(stripe.InvalidRequestError, match="cannot be expanded"):
        api.v1.subscriptions.retrieve(subscription_id, params={"expand": ["status"]})


# --- Checkout and the subscription life cycle -------------------------------------------------
def test_paying_on_the_checkout_page_subscribes_and_redirects_to_success(
    api: stripe.StripeClient, stripe_emulator: StripeEmulator
) -> None:
    customer = api.v1.customers.create(params={"email": "owner@example.com"})
    session = api.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": price_id(stripe_emulator, "bosco_starter_yearly"), "quantity": 1}],
            "success_url": "https://bosco.example/done?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://bosco.example/billing/",
            "client_reference_id": "acme",
            "metadata": {"workspace_schema": "acme"},
            "automatic_tax": {"enabled": True},
        }
    )
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "subscription")
    status, _, page = http("GET", session.url)
    assert status == 200
    assert b"id=pay" in page and b"https://bosco.example/billing/" in page
    status, headers, _ = http("POST", session.url, data={})
    assert status == 303
    assert headers["Location"] == f"https://bosco.example/done?session={session.id}"
    done = api.v1.checkout.sessions.retrieve(session.id, params={"expand": ["subscription"]})
    assert (done.status, done.payment_status) == ("complete", "paid")
    assert done.subscription.status == "active"
    assert done.subscription.automatic_tax.enabled is True
    assert done.client_reference_id == "acme" and done.metadata["workspace_schema"] == "acme"
    assert event_types(stripe_emulator.state.events())[-3:] == [
        "customer.subscription.created",
        "invoice.paid",
        "checkout.session.completed",
    ]
    status, _, _ = http("POST", session.url, data={})
    assert status == 400  # a session is paid once


def test_trial_ends_with_a_charge_and_notice_three_days_before(
    api: stripe.StripeClient, stripe_emulator: StripeEmulator
) -> None:
    _, subscription_id = subscribe(api, stripe_emulator, trial_days=14)
    sub = api.v1.subscriptions.retrieve(subscription_id)
    assert sub.status == "trialing"
    assert sub.trial_end - sub.trial_start == 14 * DAY
    assert api.v1.invoices.retrieve(sub.latest_invoice).amount_due == 0
    events = stripe_emulator.state.advance(days=12)
    assert event_types(events) == ["customer.subscription.trial_will_end"]
    events = stripe_emulator.state.advance(days=3)
    assert event_types(events) == ["invoice.paid", "customer.subscription.updated"]
    assert events[1]["data"]["previous_attributes"]["status"] == "trialing"
    after = api.v1.subscriptions.retrieve(subscription_id)
    assert after.status == "active"
    assert api.v1.invoices.retrieve(after.latest_invoice).amount_paid == 19900


def test_failed_renewal_goes_past_due_and_unpaid_after_the_last_retry(
    api: stripe.StripeClient, stripe_emulator: StripeEmulator
) -> None:
    _, subscription_id = subscribe(api, stripe_emulator)
    stripe_emulator.state.fail_next_payments(4)
    events = stripe_emulator.state.advance(days=32)
    assert event_types(events) == ["invoice.payment_failed", "customer.subscription.updated"]
    assert api.v1.subscriptions.retrieve(subscription_id).status == "past_due"
    invoice = api.v1.invoices.retrieve(events[0]["data"]["object"]["id"])
    assert (invoice.status, invoice.paid, invoice.attempt_count) == ("open", False, 1)
    assert invoice.next_payment_attempt is not None
    events = stripe_emulator.state.advance(days=8)
    assert event_types(events) == ["invoice.payment_failed"] * 3 + ["customer.subscription.updated"]
    assert api.v1.subscriptions.retrieve(subscription_id).status == "unpaid"


def test_a_retry_that_succeeds_makes_the_subscription_active_again(
    api: stripe.StripeClient, stripe_emulator: StripeEmulator
) -> None:
    _, subscription_id = subscribe(api, stripe_emulator)
    stripe_emulator.state.fail_next_payments(1)
    stripe_emulator.state.advance(days=32)
    events = stripe_emulator.state.advance(days=3)
    assert event_types(events) == ["invoice.paid", "customer.subscription.updated"]
    assert api.v1.subscriptions.retrieve(subscription_id).status == "active"


def test_cancel_at_period_end_ends_the_subscription_when_the_period_ends(
    api: stripe.StripeClient, stripe_emulator: StripeEmulator
) -> None:
    _, subscription_id = subscribe(api, stripe_emulator)
    sub = api.v1.subscriptions.update(subscription_id, params={"cancel_at_period_end": True})
    assert (sub.status, sub.cancel_at_period_end) == ("active", True)
    events = stripe_emulator.state.advance(days=32)
    assert event_types(events) == ["customer.subscription.deleted"]
    assert api.v1.subscriptions.retrieve(subscription_id).status == "canceled"


def test_api_upgrade_invoices_the_prorated_difference_at_once(
    api: stripe.StripeClient, stripe_emulator: StripeEmulator
) -> None:
    _, subscription_id = subscribe(api, stripe_emulator, key="bosco_starter_monthly")
    stripe_emulator.state.advance(days=10)
    item_id = api.v1.subscriptions.retrieve(subscription_id)["items"].data[0].id
    sub = api.v1.subscriptions.update(
        subscription_id,
        params={
            "items": [{"id": item_id, "price": price_id(stripe_emulator, "bosco_agency_monthly")}],
            "proration_behavior": "always_invoice",
        },
    )
    assert sub["items"].data[0].price.lookup_key == "bosco_agency_monthly"
    invoice = api.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.billing_reason == "subscription_update" and invoice.paid
    assert 0 < invoice.amount_paid < 49900 - 4900  # only the rest of the period is charged
    assert all(line.proration for line in invoice.lines.data)


def test_portal_switches_plan_cancels_and_returns(api: stripe.StripeClient, stripe_emulator: StripeEmulator) -> None:
    customer_id, subscription_id = subscribe(api, stripe_emulator, key="bosco_growth_monthly")
    portal = api.v1.billing_portal.sessions.create(
        params={"customer": customer_id, "return_url": "https://bosco.example/settings/billing"}
    )
    status, _, page = http("GET", portal.url)
    assert status == 200
    assert b"https://bosco.example/settings/billing" in page and b"id=switch-plan" in page
    action = f"{portal.url}/subscription/{subscription_id}"
    # A downgrade waits for the period's end ...
    status, _, _ = http("POST", f"{action}/update", data={"price": price_id(stripe_emulator, "bosco_starter_monthly")})
    assert status == 303
    assert api.v1.subscriptions.retrieve(subscription_id)["items"].data[0].price.lookup_key == "bosco_growth_monthly"
    stripe_emulator.state.advance(days=32)
    assert api.v1.subscriptions.retrieve(subscription_id)["items"].data[0].price.lookup_key == "bosco_starter_monthly"
    # ... an upgrade applies at once; cancelling keeps the plan until the period ends.
    http("POST", f"{action}/update", data={"price": price_id(stripe_emulator, "bosco_agency_monthly")})
    assert api.v1.subscriptions.retrieve(subscription_id)["items"].data[0].price.lookup_key == "bosco_agency_monthly"
    http("POST", f"{action}/cancel", data={})
    sub = api.v1.subscriptions.retrieve(subscription_id)
    assert (sub.status, sub.cancel_at_period_end) == ("active", True)
    status, _, _ = http("POST", f"{portal.url}/subscription/sub_someone_else/cancel", data={})
    assert status == 400


def test_customer_updates_send_customer_updated_with_previous_attributes(
    api: stripe.StripeClient, stripe_emulator: StripeEmulator
) -> None:
    customer = api.v1.customers.create(params={"email": "old@example.com"})
    api.v1.customers.update(customer.id, params={"email": "new@example.com"})
    event = stripe_emulator.state.events("customer.updated")[-1]
    assert event["data"]["object"]["email"] == "new@example.com"
    assert event["data"]["previous_attributes"] == {"email": "old@example.com"}


def test_invoices_have_a_hosted_page_and_a_pdf(api: stripe.StripeClient, stripe_emulator: StripeEmulator) -> None:
    customer_id, _ = subscribe(api, stripe_emulator)
    invoice = api.v1.invoices.list(params={"customer": customer_id}).data[0]
    assert http("GET", invoice.hosted_invoice_url)[0] == 200
    status, headers, body = http("GET", invoice.invoice_pdf)
    assert (status, headers["Content-Type"]) == (200, "application/pdf")
    assert body.startswith(b"%PDF-") and body.rstrip().endswith(b"%%EOF")


def test_the_clock_moves_over_http_too(api: stripe.StripeClient, stripe_emulator: StripeEmulator) -> None:
    _, subscription_id = subscribe(api, stripe_emulator, trial_days=7)
    status, _, body = http("POST", f"{stripe_emulator.base_url}/_emulator/advance", data={"days": "8"})
    assert status == 200
    assert "customer.subscription.updated" in [e["type"] for e in json.loads(body)["events"]]
    assert api.v1.subscriptions.retrieve(subscription_id).status == "active"


# --- webhooks ---------------------------------------------------------------------------------
def test_deliveries_are_signed_so_the_stripe_library_verifies_them(
    api: stripe.StripeClient, stripe_emulator: StripeEmulator, webhook_receiver: WebhookReceiver
) -> None:
    api.v1.customers.create(params={"email": "owner@example.com"})
    headers, body = webhook_receiver.wait_for(1)[0]
    event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], STRIPE_TEST_WEBHOOK_SECRET)
    assert (event.type, event.object) == ("customer.created", "event")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], "whsec_someone_else")


def test_failed_deliveries_are_retried_until_the_endpoint_answers_2xx(
    api: stripe.StripeClient, stripe_emulator: StripeEmulator, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.statuses = [500, 503]
    api.v1.customers.create(params={"email": "owner@example.com"})
    deliveries = webhook_receiver.wait_for(3)
    assert len({body for _, body in deliveries}) == 1  # the same event each time
    assert stripe_emulator.state.wait_for_webhooks()
    attempts = [(d.attempt, d.status) for d in stripe_emulator.state.deliveries()]
    assert attempts == [(1, 500), (2, 503), (3, 200)]


def test_held_events_can_be_delivered_out_of_order_and_twice(
    api: stripe.StripeClient, stripe_emulator: StripeEmulator, webhook_receiver: WebhookReceiver
) -> None:
    stripe_emulator.state.pause_webhooks()
    customer = api.v1.customers.create(params={"email": "a@example.com"})
    api.v1.customers.update(customer.id, params={"email": "b@example.com"})
    created, updated = stripe_emulator.state.events()
    assert webhook_receiver.deliveries == []
    stripe_emulator.state.redeliver(updated["id"])
    stripe_emulator.state.redeliver(created["id"])
    stripe_emulator.state.redeliver(updated["id"])
    received = [json.loads(body)["id"] for _, body in webhook_receiver.wait_for(3)]
    assert received == [updated["id"], created["id"], updated["id"]]
    stripe_emulator.state.resume_webhooks()  # nothing is held any more: no fourth delivery
    assert stripe_emulator.state.wait_for_webhooks()
    assert len(webhook_receiver.deliveries) == 3


def test_an_unreachable_endpoint_gets_a_bounded_number_of_attempts(webhook_receiver: WebhookReceiver) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    config = StripeEmulatorConfig(webhook_retry_delays=(0.05, 0.05))
    with start_stripe_emulator(webhook_url=dead, config=config) as emulator:
        api = stripe.StripeClient(STRIPE_TEST_SECRET_KEY, base_addresses={"api": emulator.base_url})
        api.v1.customers.create(params={"email": "a@example.com"})
        assert emulator.state.wait_for_webhooks()
        attempts = [(d.attempt, d.status) for d in emulator.state.deliveries()]
        assert attempts == [(1, None), (2, None), (3, None)]
        # The delivery thread lives on: after a reset, a reachable endpoint gets the next event.
        emulator.state.reset()
        emulator.state.set_webhook_endpoint(webhook_receiver.url)
        api.v1.customers.create(params={"email": "b@example.com"})
        assert json.loads(webhook_receiver.wait_for(1)[0][1])["type"] == "customer.created"


def test_a_reset_during_a_delivery_does_not_stop_later_deliveries(
    api: stripe.StripeClient, stripe_emulator: StripeEmulator, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.gate = threading.Event()
    api.v1.customers.create(params={"email": "a@example.com"})
    assert webhook_receiver.arrived.wait(timeout=10)  # the delivery is in flight ...
    stripe_emulator.state.reset()  # ... when its event is forgotten
    webhook_receiver.gate.set()
    api.v1.customers.create(params={"email": "b@example.com"})
    received = [json.loads(body)["data"]["object"]["email"] for _, body in webhook_receiver.wait_for(2)]
    assert received == ["a@example.com", "b@example.com"]
