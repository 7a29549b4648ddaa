"""billing.stripe_client against the Stripe emulator over real HTTP (no database needed)."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest

from billing import stripe_client
from devtools.stripe_emulator import StripeEmulator


def emulated_customers(emulator: StripeEmulator) -> list[dict[str, Any]]:
    with emulator.state.lock:
        return list(emulator.state.all("customer"))


def test_is_configured_follows_the_secret_key(settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = ""
    assert stripe_client.is_configured() is False
    with pytest.raises(stripe_client.StripeUnavailable, match="not configured"):
        stripe_client.create_portal_session(customer_id="cus_x", return_url="https://bosco.example/")
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    assert stripe_client.is_configured() is True


# --- customers ------------------------------------------------------------------------------
def test_ensure_customer_creates_one_customer_per_workspace(stripe_emulator: StripeEmulator) -> None:
    first = stripe_client.ensure_customer(workspace_schema="acme", workspace_name="Acme", email="owner@acme.example")
    # A retry after a lost answer (Bosco never stored the id) gets the same customer.
    again = stripe_client.ensure_customer(workspace_schema="acme", workspace_name="Acme", email="owner@acme.example")
    other = stripe_client.ensure_customer(workspace_schema="beta", workspace_name="Beta", email="owner@beta.example")
    assert first == again != other
    customers = emulated_customers(stripe_emulator)
    assert len(customers) == 2
    assert customers[0]["metadata"] == {"workspace_schema": "acme"}
    assert (customers[0]["email"], customers[0]["name"]) == ("owner@acme.example", "Acme")


def test_ensure_customer_keeps_a_known_customer_and_replaces_a_missing_one(stripe_emulator: StripeEmulator) -> None:
    known = stripe_client.ensure_customer(workspace_schema="acme", workspace_name="Acme", email="o@acme.example")
    kept = stripe_client.ensure_customer(
        workspace_schema="acme", workspace_name="Acme", email="o@acme.example", existing_id=known
    )
    assert kept == known
    replaced = stripe_client.ensure_customer(
        workspace_schema="acme", workspace_name="Acme", email="o@acme.example", existing_id="cus_gone"
    )
    assert replaced != known and replaced.startswith("cus_")
    assert len(emulated_customers(stripe_emulator)) == 2


def test_ensure_customer_for_a_second_owner_does_not_fail_on_the_reused_key(stripe_emulator: StripeEmulator) -> None:
    first = stripe_client.ensure_customer(workspace_schema="acme", workspace_name="Acme", email="a@acme.example")
    second = stripe_client.ensure_customer(workspace_schema="acme", workspace_name="Acme", email="b@acme.example")
    assert second.startswith("cus_") and second != first


# --- prices ---------------------------------------------------------------------------------
def test_price_id_for_finds_the_price_by_lookup_key_once(stripe_emulator: StripeEmulator) -> None:
    expected = stripe_emulator.state.price_by_lookup_key("bosco_growth_yearly")
    assert expected is not None
    assert stripe_client.price_id_for(plan="growth", interval="yearly") == expected["id"]
    requests_so_far = stripe_emulator.state.request_count
    monthly = stripe_client.price_id_for(plan="agency", interval="monthly")
    assert monthly == stripe_emulator.state.price_by_lookup_key("bosco_agency_monthly")["id"]
    assert stripe_emulator.state.request_count == requests_so_far  # served from the cache


@pytest.mark.parametrize(("plan", "interval"), [("growth", "weekly"), ("trial", "monthly"), ("platinum", "monthly")])
def test_price_id_for_refuses_what_is_not_a_paid_plan_and_interval(
    stripe_emulator: StripeEmulator, plan: str, interval: str
) -> None:
    with pytest.raises(ValueError, match=plan if plan != "growth" else interval):
        stripe_client.price_id_for(plan=plan, interval=interval)


def test_a_price_missing_in_stripe_is_a_clear_error(stripe_emulator: StripeEmulator) -> None:
    with stripe_emulator.state.lock:
        stripe_emulator.state.price_by_lookup_key("bosco_starter_monthly")["lookup_key"] = None
    with pytest.raises(stripe_client.StripeRequestRejected, match="bosco_starter_monthly"):
        stripe_client.price_id_for(plan="starter", interval="monthly")


# --- hosted pages ---------------------------------------------------------------------------
def test_checkout_session_names_the_workspace_everywhere(stripe_emulator: StripeEmulator, settings: Any) -> None:
    settings.BILLING_AUTOMATIC_TAX = True
    customer_id = stripe_client.ensure_customer(workspace_schema="acme", workspace_name="Acme", email="o@acme.example")
    url = stripe_client.create_checkout_session(
        customer_id=customer_id,
        price_id=stripe_client.price_id_for(plan="growth", interval="monthly"),
        workspace_schema="acme",
        success_url="https://acme.bosco.example/settings/billing/?done=1",
        cancel_url="https://acme.bosco.example/settings/billing/",
        trial_days=14,
    )
    assert url.startswith(f"{stripe_emulator.base_url}/checkout/pay/cs_test_")
    session_id = url.rsplit("/", 1)[1]
    stripe_emulator.state.complete_checkout(session_id)
    with stripe_emulator.state.lock:
        session = stripe_emulator.state.get("checkout.session", session_id)
        subscription = stripe_emulator.state.get("subscription", session["subscription"])
    assert session["client_reference_id"] == "acme"
    assert session["metadata"] == {"workspace_schema": "acme"}
    assert session["automatic_tax"]["enabled"] is True
    assert (session["customer"], session["mode"]) == (customer_id, "subscription")
    assert subscription["metadata"] == {"workspace_schema": "acme"}
    assert subscription["status"] == "trialing"


def test_checkout_without_tax_or_trial(stripe_emulator: StripeEmulator) -> None:
    customer_id = stripe_client.ensure_customer(workspace_schema="acme", workspace_name="Acme", email="o@acme.example")
    url = stripe_client.create_checkout_session(
        customer_id=customer_id,
        price_id=stripe_client.price_id_for(plan="starter", interval="yearly"),
        workspace_schema="acme",
        success_url="https://acme.bosco.example/ok",
        cancel_url="https://acme.bosco.example/",
    )
    session_id = url.rsplit("/", 1)[1]
    stripe_emulator.state.complete_checkout(session_id)
    subscription = stripe_client.retrieve_subscription(stripe_emulator.state.objects[session_id]["subscription"])
    assert subscription["status"] == "active"
    assert subscription["automatic_tax"]["enabled"] is False
    assert subscription["items"]["data"][0]["price"]["lookup_key"] == "bosco_starter_yearly"


def test_checkout_for_an_unknown_customer_is_rejected(stripe_emulator: StripeEmulator) -> None:
    with pytest.raises(stripe_client.StripeRequestRejected, match="No such customer"):
        stripe_client.create_checkout_session(
            customer_id="cus_unknown",
            price_id=stripe_client.price_id_for(plan="starter", interval="monthly"),
            workspace_schema="acme",
            success_url="https://acme.bosco.example/ok",
            cancel_url="https://acme.bosco.example/",
        )


def test_portal_session_url_returns_to_bosco(stripe_emulator: StripeEmulator) -> None:
    customer_id = stripe_client.ensure_customer(workspace_schema="acme", workspace_name="Acme", email="o@acme.example")
    url = stripe_client.create_portal_session(customer_id=customer_id, return_url="https://acme.bosco.example/back")
    assert url.startswith(f"{stripe_emulator.base_url}/portal/bps_")
    with stripe_emulator.state.lock:
        session = stripe_emulator.state.get("billing_portal.session", url.rsplit("/", 1)[1])
    assert (session["customer"], session["return_url"]) == (customer_id, "https://acme.bosco.example/back")


def test_retrieve_subscription_returns_plain_data(stripe_emulator: StripeEmulator) -> None:
    customer_id = stripe_client.ensure_customer(workspace_schema="acme", workspace_name="Acme", email="o@acme.example")
    url = stripe_client.create_checkout_session(
        customer_id=customer_id,
        price_id=stripe_client.price_id_for(plan="growth", interval="monthly"),
        workspace_schema="acme",
        success_url="https://acme.bosco.example/ok",
        cancel_url="https://acme.bosco.example/",
    )
    session_id = url.rsplit("/", 1)[1]
    stripe_emulator.state.complete_checkout(session_id)
    subscription = stripe_client.retrieve_subscription(stripe_emulator.state.objects[session_id]["subscription"])
    assert type(subscription) is dict
    assert type(subscription["items"]["data"][0]) is dict
    json.dumps(subscription)  # plain data all the way down


# --- Stripe unavailable ---------------------------------------------------------------------
def test_server_errors_become_stripe_unavailable_after_the_retries(
    stripe_emulator: StripeEmulator, settings: Any
) -> None:
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    stripe_emulator.state.fail_next_requests(2, status=500)
    before = stripe_emulator.state.request_count
    with pytest.raises(stripe_client.StripeUnavailable, match="not reachable") as caught:
        stripe_client.create_portal_session(customer_id="cus_x", return_url="https://bosco.example/")
    assert not isinstance(caught.value, stripe_client.StripeRequestRejected)
    assert stripe_emulator.state.request_count - before == 2  # the first try and one retry


def test_a_retry_that_succeeds_hides_a_passing_server_error(stripe_emulator: StripeEmulator, settings: Any) -> None:
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    stripe_emulator.state.fail_next_requests(1, status=503)
    customer_id = stripe_client.ensure_customer(workspace_schema="acme", workspace_name="Acme", email="o@acme.example")
    assert customer_id.startswith("cus_")
    assert len(emulated_customers(stripe_emulator)) == 1


def test_an_unreachable_stripe_becomes_stripe_unavailable(settings: Any) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{port}"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    with pytest.raises(stripe_client.StripeUnavailable, match="not reachable"):
        stripe_client.retrieve_subscription("sub_x")


def test_a_rejected_api_key_becomes_stripe_unavailable(stripe_emulator: StripeEmulator, settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = "sk_live_not_for_the_emulator"
    with pytest.raises(stripe_client.StripeUnavailable, match="API key"):
        stripe_client.retrieve_subscription("sub_x")


# --- webhook signatures ---------------------------------------------------------------------
def signed_event(emulator: StripeEmulator, *, timestamp: int | None = None) -> tuple[bytes, str]:
    """A real event of the emulator as it is delivered: body and Stripe-Signature header."""
    stripe_client.ensure_customer(workspace_schema="acme", workspace_name="Acme", email="o@acme.example")
    event = emulator.state.events("customer.created")[0]
    payload = json.dumps(event).encode()
    return payload, emulator.state.sign(payload, timestamp=timestamp)


def test_a_good_signature_is_accepted(stripe_emulator: StripeEmulator) -> None:
    payload, header = signed_event(stripe_emulator)
    event = stripe_client.construct_event(payload=payload, signature_header=header)
    assert type(event) is dict
    assert event["type"] == "customer.created"
    assert event["data"]["object"]["metadata"] == {"workspace_schema": "acme"}


def test_a_delivered_event_is_accepted(stripe_emulator: StripeEmulator, webhook_receiver: Any) -> None:
    stripe_client.ensure_customer(workspace_schema="acme", workspace_name="Acme", email="o@acme.example")
    headers, body = webhook_receiver.wait_for(1)[0]
    event = stripe_client.construct_event(payload=body, signature_header=headers["Stripe-Signature"])
    assert event["type"] == "customer.created"


def test_a_missing_signature_is_refused(stripe_emulator: StripeEmulator) -> None:
    payload, _ = signed_event(stripe_emulator)
    with pytest.raises(stripe_client.SignatureError, match="no Stripe-Signature"):
        stripe_client.construct_event(payload=payload, signature_header="")


def test_a_forged_signature_is_refused(stripe_emulator: StripeEmulator, settings: Any) -> None:
    payload, header = signed_event(stripe_emulator)
    settings.STRIPE_WEBHOOK_SECRET = "whsec_the_real_one"
    with pytest.raises(stripe_client.SignatureError):
        stripe_client.construct_event(payload=payload, signature_header=header)


def test_a_tampered_body_is_refused(stripe_emulator: StripeEmulator) -> None:
    payload, header = signed_event(stripe_emulator)
    tampered = payload.replace(b'"acme"', b'"evil"')
    assert tampered != payload
    with pytest.raises(stripe_client.SignatureError):
        stripe_client.construct_event(payload=tampered, signature_header=header)


def test_a_stale_signature_is_refused(stripe_emulator: StripeEmulator) -> None:
    payload, header = signed_event(stripe_emulator, timestamp=int(time.time()) - 301)
    with pytest.raises(stripe_client.SignatureError, match="tolerance"):
        stripe_client.construct_event(payload=payload, signature_header=header)
    fresh_enough, header = signed_event(stripe_emulator, timestamp=int(time.time()) - 240)
    assert stripe_client.construct_event(payload=fresh_enough, signature_header=header)["object"] == "event"


def test_a_header_without_a_v1_signature_is_refused(stripe_emulator: StripeEmulator) -> None:
    payload, header = signed_event(stripe_emulator)
    v0_only = header.replace("v1=", "v0=")
    with pytest.raises(stripe_client.SignatureError):
        stripe_client.construct_event(payload=payload, signature_header=v0_only)


def test_a_signed_body_that_is_not_an_event_is_refused(stripe_emulator: StripeEmulator) -> None:
    for body in (b"{not json", b'{"object": "customer", "id": "cus_x"}'):
        with pytest.raises(stripe_client.MalformedEvent):
            stripe_client.construct_event(payload=body, signature_header=stripe_emulator.state.sign(body))


def test_without_a_webhook_secret_nothing_is_accepted(stripe_emulator: StripeEmulator, settings: Any) -> None:
    payload, header = signed_event(stripe_emulator)
    settings.STRIPE_WEBHOOK_SECRET = ""
    with pytest.raises(stripe_client.SignatureError, match="not set"):
        stripe_client.construct_event(payload=payload, signature_header=header)
