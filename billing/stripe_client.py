"""Bosco's only door to Stripe: a thin layer over the official `stripe` library.

Everything billing needs from Stripe goes through these functions, with keyword-only arguments and
plain-dict results, so the rest of Bosco never sees the library's types or errors:

- network failures, timeouts, 5xx, rate limits and a rejected API key become `StripeUnavailable`
  (a message a page can show); a request Stripe refuses becomes `StripeRequestRejected`, a
  subclass, so callers that only catch `StripeUnavailable` still fail cleanly;
- webhook payloads are verified here (`construct_event`), and a bad signature is `SignatureError`.

`settings.STRIPE_API_BASE` points the library at devtools/stripe_emulator in tests and `make run`;
empty means Stripe itself.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import stripe
from django.conf import settings
from stripe.params import CustomerCreateParams
from stripe.params.checkout import SessionCreateParams, SessionCreateParamsSubscriptionData

from billing.plans import Plan

SIGNATURE_TOLERANCE_SECONDS = 300
PRICE_CACHE_SECONDS = 600
INTERVALS = ("monthly", "yearly")

T = TypeVar("T")


class StripeUnavailable(Exception):
    """Stripe could not be reached or did not answer usefully; the message is fit for a page."""


class StripeRequestRejected(StripeUnavailable):
    """Stripe refused the request (4xx): a configuration or programming error, not a network one."""


class SignatureError(Exception):
    """A webhook delivery without a valid, fresh `Stripe-Signature`: never act on it."""


class MalformedEvent(SignatureError):
    """A correctly signed body that is not a Stripe event (cannot happen with Stripe; still refused)."""


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


# --- the client -------------------------------------------------------------------------------
_clients: dict[tuple[str, str, int, float], stripe.StripeClient] = {}
_clients_lock = threading.Lock()


def _client() -> stripe.StripeClient:
    """One StripeClient per configuration (thread-safe; settings change in tests)."""
    if not is_configured():
        raise StripeUnavailable("Payments are not configured on this Bosco installation.")
    key = (
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_MAX_NETWORK_RETRIES,
        settings.STRIPE_TIMEOUT_SECONDS,
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = stripe.StripeClient(
                settings.STRIPE_SECRET_KEY,
                base_addresses={"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None,
                max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
                http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
            )
            _clients[key] = client
    return client


def _call(what: str, request: Callable[[], T]) -> T:
    """Run one library call, turning the library's errors into Bosco's two."""
    try:
        return request()
    except stripe.StripeError as exc:
        raise _translated(what, exc) from exc


def _translated(what: str, exc: stripe.StripeError) -> StripeUnavailable:
    if isinstance(exc, stripe.APIConnectionError | stripe.APIError | stripe.RateLimitError):
        return StripeUnavailable(f"Stripe is not reachable right now ({what}); please try again shortly.")
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return StripeUnavailable(f"Stripe refused Bosco's API key ({what}); check STRIPE_SECRET_KEY.")
    return StripeRequestRejected(f"Stripe rejected {what}: {exc.user_message or exc}")


# --- customers --------------------------------------------------------------------------------
def ensure_customer(*, workspace_schema: str, workspace_name: str, email: str, existing_id: str | None = None) -> str:
    """The workspace's Stripe customer id, creating the customer once.

    The idempotency key names the workspace, so a retry after a lost answer (or two owners
    clicking at once) gets the same customer instead of a second one.
    """
    client = _client()
    if existing_id:
        try:
            customer = client.v1.customers.retrieve(existing_id)
        except stripe.InvalidRequestError as exc:
            if exc.code != "resource_missing":
                raise _translated("the customer lookup", exc) from exc
        except stripe.StripeError as exc:
            raise _translated("the customer lookup", exc) from exc
        else:
            if not customer.to_dict().get("deleted"):
                return existing_id
    params: CustomerCreateParams = {
        "email": email,
        "name": workspace_name,
        "metadata": {"workspace_schema": workspace_schema},
    }
    key = f"customer-{workspace_schema}" if not existing_id else f"customer-{workspace_schema}-after-{existing_id}"
    try:
        customer = client.v1.customers.create(params=params, options={"idempotency_key": key})
    except stripe.IdempotencyError:
        # The key was first used with other details (another owner's email): still one customer
        # per set of details, never an error page.
        digest = hashlib.sha256(f"{email}\n{workspace_name}".encode()).hexdigest()[:16]
        customer = _call(
            "creating the customer",
            lambda: client.v1.customers.create(params=params, options={"idempotency_key": f"{key}-{digest}"}),
        )
    except stripe.StripeError as exc:
        raise _translated("creating the customer", exc) from exc
    return str(customer.id)


# --- prices -----------------------------------------------------------------------------------
_prices: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}
_prices_lock = threading.Lock()


def lookup_key(*, plan: str, interval: str) -> str:
    return f"bosco_{plan}_{interval}"


def price_id_for(*, plan: str, interval: str) -> str:
    """The Stripe price for a plan and interval, found by lookup key (prices live in Stripe)."""
    if interval not in INTERVALS:
        raise ValueError(f"unknown billing interval {interval!r}")
    if plan not in Plan.values or plan == Plan.TRIAL:
        raise ValueError(f"{plan!r} is not a paid plan")
    wanted = lookup_key(plan=plan, interval=interval)
    prices = _price_table()
    if wanted not in prices:
        raise StripeRequestRejected(f"Stripe has no active price with lookup key {wanted}.")
    return prices[wanted]


def _price_table() -> dict[str, str]:
    """lookup key → price id for every paid plan, fetched in one request and kept for a while."""
    cache_key = (settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)
    with _prices_lock:
        cached = _prices.get(cache_key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
    keys = [lookup_key(plan=p, interval=i) for p in Plan.values if p != Plan.TRIAL for i in INTERVALS]
    client = _client()
    page = _call(
        "the price lookup",
        lambda: client.v1.prices.list(params={"lookup_keys": keys, "active": True, "limit": 100}),
    )
    table = {str(p.lookup_key): str(p.id) for p in page.data}
    with _prices_lock:
        _prices[cache_key] = (time.monotonic() + PRICE_CACHE_SECONDS, table)
    return table


def forget_prices() -> None:
    """Drop the cached price ids (a price changed in Stripe; tests start a fresh emulator)."""
    with _prices_lock:
        _prices.clear()


# --- hosted pages -----------------------------------------------------------------------------
def create_checkout_session(
    *,
    customer_id: str,
    price_id: str,
    workspace_schema: str,
    success_url: str,
    cancel_url: str,
    trial_days: int | None = None,
) -> str:
    """The URL of a Stripe Checkout page subscribing `customer_id` to `price_id`.

    The workspace is named in `client_reference_id` and in the session's and the subscription's
    metadata, so every later event can be tied back to it without trusting the browser.
    """
    metadata = {"workspace_schema": workspace_schema}
    subscription_data: SessionCreateParamsSubscriptionData = {"metadata": metadata}
    if trial_days:
        subscription_data["trial_period_days"] = trial_days
    params: SessionCreateParams = {
        "mode": "subscription",
        "customer": customer_id,
        "line_items": [{"price": price_id, "quantity": 1}],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": workspace_schema,
        "metadata": metadata,
        "subscription_data": subscription_data,
        "automatic_tax": {"enabled": settings.BILLING_AUTOMATIC_TAX},
    }
    if settings.BILLING_AUTOMATIC_TAX:
        # Stripe Tax needs the customer's address; Checkout collects it and saves it on the customer.
        params["customer_update"] = {"address": "auto", "name": "auto"}
    client = _client()
    session = _call("the checkout session", lambda: client.v1.checkout.sessions.create(params=params))
    if not session.url:
        raise StripeUnavailable("Stripe returned a checkout session without a page address.")
    return str(session.url)


def create_portal_session(*, customer_id: str, return_url: str) -> str:
    """The URL of the Stripe Customer Portal for `customer_id`, coming back to `return_url`."""
    client = _client()
    session = _call(
        "the billing portal session",
        lambda: client.v1.billing_portal.sessions.create(params={"customer": customer_id, "return_url": return_url}),
    )
    return str(session.url)


# --- subscriptions and events -----------------------------------------------------------------
def retrieve_subscription(subscription_id: str) -> dict[str, Any]:
    """The subscription as Stripe has it now, as plain data."""
    client = _client()
    subscription = _call("the subscription lookup", lambda: client.v1.subscriptions.retrieve(subscription_id))
    return subscription.to_dict(for_json=True)


def construct_event(*, payload: bytes, signature_header: str) -> dict[str, Any]:
    """A webhook event, only if `Stripe-Signature` proves it comes from Stripe within the last 5 minutes."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise SignatureError("STRIPE_WEBHOOK_SECRET is not set, so no delivery can be verified.")
    if not signature_header:
        raise SignatureError("The request has no Stripe-Signature header.")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SignatureError("The payload is not UTF-8 text.") from exc
    try:
        event = stripe.Webhook.construct_event(text, signature_header, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        raise SignatureError(f"Invalid Stripe-Signature: {exc.user_message or exc}") from exc
    except ValueError as exc:
        raise MalformedEvent(f"The signed payload is not a Stripe event: {exc}") from exc
    data = event.to_dict(for_json=True)
    if data.get("object") != "event" or not isinstance(data.get("type"), str):
        raise MalformedEvent("The signed payload is not a Stripe event.")
    return data
