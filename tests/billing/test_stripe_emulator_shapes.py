"""The emulator's objects and events have the shape of real Stripe payloads (shared/reference/payloads/stripe/).

Key sets are compared recursively wherever both sides hold an object (for lists, their first
element); values differ by nature (ids, times, amounts) and are not compared, except for the error
envelope, which is reproduced exactly elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import stripe

from billing.plans import Plan
from devtools.stripe_emulator import DEFAULT_CATALOGUE, StripeEmulator
from tests.billing.conftest import STRIPE_TEST_SECRET_KEY

REFERENCE = Path("/work/shared/reference/payloads/stripe")


def recorded(name: str) -> dict[str, Any]:
    return json.loads((REFERENCE / name).read_text())


def key_differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Where the key sets differ, as 'path: missing {...}' / 'path: extra {...}'.

    `metadata` holds the merchant's own keys and `previous_attributes` only what changed, so their
    contents are not compared (previous attributes are checked against the object instead).
    """
    if path.endswith((".metadata", ".previous_attributes")):
        return []
    if isinstance(ours, dict) and isinstance(theirs, dict):
        problems = []
        if missing := sorted(theirs.keys() - ours.keys()):
            problems.append(f"{path or '.'}: missing {missing}")
        if extra := sorted(ours.keys() - theirs.keys()):
            problems.append(f"{path or '.'}: extra {extra}")
        for key in ours.keys() & theirs.keys():
            problems += key_differences(ours[key], theirs[key], f"{path}.{key}")
        return problems
    if isinstance(ours, list) and isinstance(theirs, list) and ours and theirs:
        return key_differences(ours[0], theirs[0], f"{path}[0]")
    return []


def test_key_differences_notices_missing_and_extra_nested_keys() -> None:
    assert key_differences({"a": {"b": 1, "x": 2}}, {"a": {"b": 1, "c": 3}}) == [
        ".a: missing ['c']",
        ".a: extra ['x']",
    ]
    assert key_differences({"l": [{"a": 1}]}, {"l": [{"b": 1}]}) == [".l[0]: missing ['b']", ".l[0]: extra ['a']"]
    assert key_differences({"metadata": {"plan": "x"}}, {"metadata": {}}) == []


def split_invoice_line_prices(invoice: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The first line's price and plan, taken out of the invoice.

    The recorded invoice (API 2020-08-27) is a one-off: its line has no plan and an older price
    shape. Subscription lines carry today's price and plan, checked against the recorded subscription.
    """
    line = invoice["lines"]["data"][0]
    return line.pop("price"), line.pop("plan")


@pytest.fixture
def life(stripe_emulator: StripeEmulator) -> dict[str, Any]:
    """One subscription's life (trial, checkout, trial end, plan change) and what it produced."""
    api = stripe.StripeClient(
        STRIPE_TEST_SECRET_KEY, base_addresses={"api": stripe_emulator.base_url}, max_network_retries=0
    )
    state = stripe_emulator.state
    customer = api.v1.customers.create(params={"email": "owner@example.com", "name": "Acme"})
    session = api.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": state.price_by_lookup_key("bosco_growth_monthly")["id"], "quantity": 1}],
            "success_url": "https://bosco.example/done",
            "cancel_url": "https://bosco.example/billing/",
            "subscription_data": {"trial_period_days": 14},
        }
    )
    created_session = session.to_dict()
    state.complete_checkout(session.id)  # the "Pay" click (the page itself is tested elsewhere)
    completed_session = api.v1.checkout.sessions.retrieve(session.id).to_dict()
    state.advance(days=15)
    subscription_id = completed_session["subscription"]
    item = api.v1.subscriptions.retrieve(subscription_id)["items"].data[0]
    api.v1.subscriptions.update(
        subscription_id,
        params={"items": [{"id": item.id, "price": state.price_by_lookup_key("bosco_agency_monthly")["id"]}]},
    )
    portal = api.v1.billing_portal.sessions.create(params={"customer": customer.id, "return_url": "https://x.example/"})
    return {
        "created_session": created_session,
        "completed_session": completed_session,
        "subscription": api.v1.subscriptions.retrieve(subscription_id).to_dict(),
        "invoice": api.v1.invoices.list(params={"subscription": subscription_id}).data[0].to_dict(),
        "portal": portal.to_dict(),
        "events": {e["type"]: e for e in reversed(state.events())},  # the first of each type
    }


@pytest.mark.parametrize(
    ("event_type", "reference"),
    [
        ("customer.subscription.created", "event_customer_subscription_created.json"),
        ("customer.subscription.updated", "event_customer_subscription_updated.json"),
        ("invoice.paid", "event_invoice_paid.json"),
    ],
)
def test_events_have_the_recorded_shape(life: dict[str, Any], event_type: str, reference: str) -> None:
    ours = life["events"][event_type]
    theirs = recorded(reference)
    if event_type == "invoice.paid":
        split_invoice_line_prices(ours["data"]["object"])
        split_invoice_line_prices(theirs["data"]["object"])
    assert key_differences(ours, theirs) == []
    assert set(ours["data"]) == set(theirs["data"])
    assert set(ours["data"].get("previous_attributes", {})) <= set(ours["data"]["object"])
    assert ours["type"] == theirs["type"]
    assert ours["id"].startswith("evt_") and ours["object"] == "event" and ours["livemode"] is False


def test_other_event_types_have_the_same_envelope(life: dict[str, Any]) -> None:
    envelope = set(recorded("event_customer_subscription_created.json"))
    for event_type in (
        "checkout.session.completed",
        "customer.created",
        "customer.subscription.trial_will_end",
    ):
        assert set(life["events"][event_type]) == envelope, event_type


def test_api_subscription_matches_the_recorded_subscription(life: dict[str, Any]) -> None:
    theirs = recorded("event_customer_subscription_created.json")["data"]["object"]
    assert key_differences(life["subscription"], theirs) == []


def test_api_invoice_matches_the_recorded_invoice(life: dict[str, Any]) -> None:
    theirs = recorded("event_invoice_paid.json")["data"]["object"]
    ours = life["invoice"]
    line_price, line_plan = split_invoice_line_prices(ours)
    split_invoice_line_prices(theirs)
    assert key_differences(ours, theirs) == []
    sub_item = recorded("event_customer_subscription_created.json")["data"]["object"]["items"]["data"][0]
    assert key_differences(line_price, sub_item["price"]) == []
    assert key_differences(line_plan, sub_item["plan"]) == []


def test_checkout_sessions_match_the_recorded_session(life: dict[str, Any]) -> None:
    theirs = recorded("checkout_session_create_response.json")
    assert key_differences(life["created_session"], theirs) == []
    assert key_differences(life["completed_session"], theirs) == []
    assert life["completed_session"]["customer_details"].keys() == theirs["customer_details"].keys()


def test_portal_sessions_match_the_recorded_session(life: dict[str, Any]) -> None:
    assert key_differences(life["portal"], recorded("billing_portal_session_create_response.json")) == []


def test_the_catalogue_prices_every_paid_plan_of_bosco() -> None:
    paid = {p for p in Plan.values if p != Plan.TRIAL}
    assert {entry.plan for entry in DEFAULT_CATALOGUE} == paid
