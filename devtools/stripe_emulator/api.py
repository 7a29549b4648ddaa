"""The `/v1` API: the calls Bosco makes, validated and answered the way Stripe answers them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from devtools.stripe_emulator import objects
from devtools.stripe_emulator.state import StripeState
from devtools.stripe_emulator.wire import (
    StripeError,
    as_bool,
    as_int,
    as_metadata,
    as_str,
    invalid,
    missing,
    reject_unknown,
    required,
)

Params = dict[str, Any]
ApiHandler = Callable[..., dict[str, Any]]

MAX_TRIAL_DAYS = 730


# --- customers ------------------------------------------------------------------------------
def create_customer(state: StripeState, params: Params) -> dict[str, Any]:
    reject_unknown(params, {"email", "name", "description", "metadata", "preferred_locales", "phone"})
    return state.create_customer(
        email=as_str(params, "email"),
        name=as_str(params, "name"),
        description=as_str(params, "description"),
        metadata=as_metadata(params) or {},
    )


def retrieve_customer(state: StripeState, params: Params, customer_id: str) -> dict[str, Any]:
    reject_unknown(params, set())
    return state.get("customer", customer_id)


def update_customer(state: StripeState, params: Params, customer_id: str) -> dict[str, Any]:
    reject_unknown(params, {"email", "name", "description", "metadata", "phone"})
    customer = state.get("customer", customer_id)
    changes: dict[str, Any] = {
        k: as_str(params, k) or None for k in ("email", "name", "description", "phone") if k in params
    }
    if "metadata" in params:
        changes["metadata"] = as_metadata(params)
    state.update_customer(customer, changes)
    return customer


def list_customers(state: StripeState, params: Params) -> dict[str, Any]:
    reject_unknown(params, {"email", "limit", "starting_after"})
    email = as_str(params, "email")
    found = [c for c in state.all("customer") if email in (None, c["email"])]
    return _page(found, params, "/v1/customers")


# --- products and prices --------------------------------------------------------------------
def retrieve_product(state: StripeState, params: Params, product_id: str) -> dict[str, Any]:
    reject_unknown(params, set())
    return state.get("product", product_id)


def list_prices(state: StripeState, params: Params) -> dict[str, Any]:
    reject_unknown(params, {"lookup_keys", "active", "currency", "product", "type", "limit", "starting_after"})
    keys = params.get("lookup_keys")
    if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)):
        raise invalid("lookup_keys", "Invalid array: lookup_keys must be a list of strings")
    if keys is not None and len(keys) > 10:
        raise invalid("lookup_keys", "lookup_keys accepts at most 10 keys")
    active = as_bool(params, "active") if "active" in params else None
    found = [
        p
        for p in state.all("price")
        if (keys is None or p["lookup_key"] in keys)
        and (active is None or p["active"] == active)
        and params.get("currency") in (None, p["currency"])
        and params.get("product") in (None, p["product"])
        and params.get("type") in (None, p["type"])
    ]
    return _page(found, params, "/v1/prices")


def retrieve_price(state: StripeState, params: Params, price_id: str) -> dict[str, Any]:
    reject_unknown(params, set())
    return state.get("price", price_id)


# --- checkout and the customer portal -------------------------------------------------------
CHECKOUT_PARAMS = {
    "mode",
    "customer",
    "line_items",
    "success_url",
    "cancel_url",
    "client_reference_id",
    "metadata",
    "automatic_tax",
    "subscription_data",
    "allow_promotion_codes",
    "billing_address_collection",
    "customer_update",
    "tax_id_collection",
    "locale",
    "payment_method_types",
}


def create_checkout_session(state: StripeState, params: Params) -> dict[str, Any]:
    reject_unknown(params, CHECKOUT_PARAMS)
    mode = as_str(params, "mode")
    if mode is None:
        raise required("mode")
    if mode != "subscription":
        raise invalid("mode", f"The emulator serves mode=subscription only, not {mode!r}.")
    customer_id = as_str(params, "customer")
    if not customer_id:
        raise invalid("customer", "The emulator needs an existing customer for a subscription Checkout Session.")
    customer = state.objects.get(customer_id)
    if customer is None or customer["object"] != "customer":
        raise StripeError(f"No such customer: '{customer_id}'", code="resource_missing", param="customer")
    success_url = _url(params, "success_url", required_param=True)
    cancel_url = _url(params, "cancel_url", required_param=False)
    price = _single_recurring_price(state, params.get("line_items"))
    automatic_tax = params.get("automatic_tax") or {}
    if not isinstance(automatic_tax, dict):
        raise invalid("automatic_tax", "Invalid hash: automatic_tax")
    subscription_data = params.get("subscription_data") or {}
    if not isinstance(subscription_data, dict):
        raise invalid("subscription_data", "Invalid hash: subscription_data")
    reject_unknown(
        {f"subscription_data[{k}]": v for k, v in subscription_data.items()},
        {"subscription_data[trial_period_days]", "subscription_data[metadata]", "subscription_data[description]"},
    )
    trial_days = as_int(subscription_data, "trial_period_days")
    if trial_days is not None and not 1 <= trial_days <= MAX_TRIAL_DAYS:
        raise invalid(
            "subscription_data[trial_period_days]", f"trial_period_days must be between 1 and {MAX_TRIAL_DAYS}."
        )
    client_reference_id = as_str(params, "client_reference_id")
    if client_reference_id is not None and len(client_reference_id) > 200:
        raise invalid("client_reference_id", "client_reference_id must be at most 200 characters.")
    return state.create_checkout_session(
        customer=customer,
        price=price,
        trial_days=trial_days,
        subscription_metadata=as_metadata(subscription_data) or {},
        success_url=success_url,
        cancel_url=cancel_url,
        client_reference_id=client_reference_id,
        metadata=as_metadata(params) or {},
        automatic_tax=as_bool(automatic_tax, "enabled"),
    )


def _single_recurring_price(state: StripeState, line_items: Any) -> dict[str, Any]:
    if line_items is None:
        raise required("line_items")
    if not isinstance(line_items, list) or len(line_items) != 1 or not isinstance(line_items[0], dict):
        raise invalid("line_items", "The emulator's subscriptions take exactly one line item with a price.")
    item = line_items[0]
    reject_unknown(
        {f"line_items[0][{k}]": v for k, v in item.items()}, {"line_items[0][price]", "line_items[0][quantity]"}
    )
    price_id = as_str(item, "price")
    if not price_id:
        raise required("line_items[0][price]")
    price = state.objects.get(price_id)
    if price is None or price["object"] != "price":
        raise StripeError(f"No such price: '{price_id}'", code="resource_missing", param="line_items[0][price]")
    if as_int(item, "quantity", 1) != 1:
        raise invalid("line_items[0][quantity]", "The emulator's subscriptions have quantity 1.")
    if price["type"] != "recurring" or not price["active"]:
        raise invalid("line_items[0][price]", "A subscription needs an active recurring price.")
    return price


def retrieve_checkout_session(state: StripeState, params: Params, session_id: str) -> dict[str, Any]:
    reject_unknown(params, set())
    return state.get("checkout.session", session_id)


def create_portal_session(state: StripeState, params: Params) -> dict[str, Any]:
    reject_unknown(params, {"customer", "return_url", "configuration", "locale"})
    customer_id = as_str(params, "customer")
    if not customer_id:
        raise required("customer")
    customer = state.objects.get(customer_id)
    if customer is None or customer["object"] != "customer":
        raise StripeError(f"No such customer: '{customer_id}'", code="resource_missing", param="customer")
    session = objects.portal_session(
        base_url=state.base_url,
        created=state.now(),
        customer_id=customer_id,
        return_url=_url(params, "return_url", required_param=False),
        configuration_id=as_str(params, "configuration") or state.portal_configuration,
    )
    return state.add(session)


# --- subscriptions --------------------------------------------------------------------------
def list_subscriptions(state: StripeState, params: Params) -> dict[str, Any]:
    reject_unknown(params, {"customer", "status", "price", "limit", "starting_after"})
    status = as_str(params, "status")
    found = [
        s
        for s in state.all("subscription")
        if params.get("customer") in (None, s["customer"])
        and (status == "all" or (status is None and s["status"] != "canceled") or s["status"] == status)
    ]
    return _page(found, params, "/v1/subscriptions")


def retrieve_subscription(state: StripeState, params: Params, subscription_id: str) -> dict[str, Any]:
    reject_unknown(params, set())
    return state.get("subscription", subscription_id)


def update_subscription(state: StripeState, params: Params, subscription_id: str) -> dict[str, Any]:
    reject_unknown(params, {"items", "proration_behavior", "cancel_at_period_end", "metadata", "payment_behavior"})
    sub = state.get("subscription", subscription_id)
    proration = as_str(params, "proration_behavior") or "create_prorations"
    if proration not in ("create_prorations", "always_invoice", "none"):
        raise invalid("proration_behavior", f"Invalid proration_behavior: {proration}")
    if "items" in params:
        state.change_price(
            sub, _new_price(state, sub, params["items"]), proration_behavior=proration, downgrade_at_period_end=False
        )
    if "cancel_at_period_end" in params:
        state.set_cancel_at_period_end(sub, as_bool(params, "cancel_at_period_end"))
    if "metadata" in params:
        metadata = as_metadata(params) or {}
        state.change(
            sub, {"metadata": {**sub["metadata"], **metadata} if metadata else {}}, "customer.subscription.updated"
        )
    return sub


def _new_price(state: StripeState, sub: dict[str, Any], items: Any) -> dict[str, Any]:
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        raise invalid("items", "The emulator's subscriptions have exactly one item; pass items[0][price].")
    item = items[0]
    reject_unknown({f"items[0][{k}]": v for k, v in item.items()}, {"items[0][id]", "items[0][price]"})
    item_id = as_str(item, "id")
    if item_id is not None and item_id != sub["items"]["data"][0]["id"]:
        raise StripeError(f"No such subscription item: '{item_id}'", code="resource_missing", param="items[0][id]")
    price_id = as_str(item, "price")
    if not price_id:
        raise required("items[0][price]")
    price = state.objects.get(price_id)
    if price is None or price["object"] != "price":
        raise StripeError(f"No such price: '{price_id}'", code="resource_missing", param="items[0][price]")
    return price


def cancel_subscription(state: StripeState, params: Params, subscription_id: str) -> dict[str, Any]:
    reject_unknown(params, {"invoice_now", "prorate", "cancellation_details"})
    sub = state.get("subscription", subscription_id)
    state.cancel(sub)
    return sub


# --- invoices and events --------------------------------------------------------------------
def list_invoices(state: StripeState, params: Params) -> dict[str, Any]:
    reject_unknown(params, {"customer", "subscription", "status", "limit", "starting_after"})
    found = [
        i
        for i in state.all("invoice")
        if params.get("customer") in (None, i["customer"])
        and params.get("subscription") in (None, i["subscription"])
        and params.get("status") in (None, i["status"])
    ]
    return _page(found, params, "/v1/invoices")


def retrieve_invoice(state: StripeState, params: Params, invoice_id: str) -> dict[str, Any]:
    reject_unknown(params, set())
    return state.get("invoice", invoice_id)


def list_events(state: StripeState, params: Params) -> dict[str, Any]:
    reject_unknown(params, {"type", "limit", "starting_after"})
    return _page(state.events(as_str(params, "type")), params, "/v1/events")


def retrieve_event(state: StripeState, params: Params, event_id: str) -> dict[str, Any]:
    reject_unknown(params, set())
    return state.event(event_id)


# --- helpers --------------------------------------------------------------------------------
def _page(found: list[dict[str, Any]], params: Params, url: str) -> dict[str, Any]:
    """Newest first, `limit` (1–100, default 10) after `starting_after`, as Stripe pages lists."""
    limit = as_int(params, "limit", 10)
    if limit is None or not 1 <= limit <= 100:
        raise invalid("limit", "This value must be greater than or equal to 1 and less than or equal to 100.")
    newest_first = list(reversed(found))
    after = as_str(params, "starting_after")
    if after:
        ids = [o["id"] for o in newest_first]
        if after not in ids:
            raise missing("object", after, "starting_after")
        newest_first = newest_first[ids.index(after) + 1 :]
    page = newest_first[:limit]
    return objects.list_object(page, url, has_more=len(newest_first) > limit)


def _url(params: Params, name: str, *, required_param: bool) -> str | None:
    value = as_str(params, name)
    if not value:
        if required_param:
            raise required(name)
        return None
    if not value.startswith(("http://", "https://")):
        raise StripeError("Not a valid URL", code="url_invalid", param=name)
    return value


def expand(state: StripeState, body: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Replace ids by their objects along each `expand[]` path (`customer`, `data.product`, ...)."""
    body = copy.deepcopy(body)
    for path in paths:
        _expand(state, body, path.split("."), path)
    return body


def _expand(state: StripeState, node: Any, parts: list[str], path: str) -> None:
    if not parts:
        return
    if isinstance(node, list):
        for element in node:
            _expand(state, element, parts, path)
        return
    key = parts[0]
    if not isinstance(node, dict) or key not in node:
        raise StripeError(f"This property cannot be expanded ({path}).", param="expand")
    value = node[key]
    if isinstance(value, str) and value in state.objects:
        node[key] = value = copy.deepcopy(state.objects[value])
    elif len(parts) == 1 and value is not None and not isinstance(value, dict | list):
        raise StripeError(f"This property cannot be expanded ({path}).", param="expand")
    _expand(state, value, parts[1:], path)


ROUTES: list[tuple[str, str, ApiHandler]] = [
    ("POST", r"/v1/customers", create_customer),
    ("GET", r"/v1/customers", list_customers),
    ("GET", r"/v1/customers/(?P<customer_id>[^/]+)", retrieve_customer),
    ("POST", r"/v1/customers/(?P<customer_id>[^/]+)", update_customer),
    ("GET", r"/v1/products/(?P<product_id>[^/]+)", retrieve_product),
    ("GET", r"/v1/prices", list_prices),
    ("GET", r"/v1/prices/(?P<price_id>[^/]+)", retrieve_price),
    ("POST", r"/v1/checkout/sessions", create_checkout_session),
    ("GET", r"/v1/checkout/sessions/(?P<session_id>[^/]+)", retrieve_checkout_session),
    ("POST", r"/v1/billing_portal/sessions", create_portal_session),
    ("GET", r"/v1/subscriptions", list_subscriptions),
    ("GET", r"/v1/subscriptions/(?P<subscription_id>[^/]+)", retrieve_subscription),
    ("POST", r"/v1/subscriptions/(?P<subscription_id>[^/]+)", update_subscription),
    ("DELETE", r"/v1/subscriptions/(?P<subscription_id>[^/]+)", cancel_subscription),
    ("GET", r"/v1/invoices", list_invoices),
    ("GET", r"/v1/invoices/(?P<invoice_id>[^/]+)", retrieve_invoice),
    ("GET", r"/v1/events", list_events),
    ("GET", r"/v1/events/(?P<event_id>[^/]+)", retrieve_event),
]
