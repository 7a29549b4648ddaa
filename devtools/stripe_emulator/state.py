"""The emulated Stripe account: objects, a movable clock, the subscription life cycle and its events.

Everything that changes state runs under one lock. Webhook events are recorded here and handed to
the deliverer, which sends them on its own thread. Subscriptions follow Stripe's statuses:
`trialing` → `active` at the trial's end (paid) or `past_due` (payment failed) → retried on a
schedule → `active` (paid) or `unpaid` / `canceled` (retries exhausted); `cancel_at_period_end`
ends a subscription (`canceled`) when its period ends.
"""

from __future__ import annotations

import calendar
import copy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devtools.stripe_emulator import objects
from devtools.stripe_emulator.catalogue import DEFAULT_CATALOGUE, INTERVALS, CataloguePlan, lookup_key
from devtools.stripe_emulator.webhooks import DEFAULT_RETRY_DELAYS, Delivery, WebhookDeliverer, signature_header
from devtools.stripe_emulator.wire import API_VERSION, StripeError, missing, new_id

DAY = 86400
TRIAL_WILL_END_NOTICE = 3 * DAY  # Stripe sends trial_will_end three days before the trial ends
OPEN_STATUSES = ("trialing", "active", "past_due", "unpaid", "incomplete")


@dataclass(frozen=True)
class StripeEmulatorConfig:
    """How the emulated account behaves. Every field has a test-friendly default."""

    api_key: str | None = None  # None: any `sk_test_...` key is accepted
    webhook_secret: str = "whsec_emulator_secret"  # noqa: S105 - a fake secret for a local emulator
    catalogue: tuple[CataloguePlan, ...] = DEFAULT_CATALOGUE
    webhook_retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    payment_retry_days: tuple[int, ...] = (3, 5, 7)  # after the first failure, like Smart Retries
    dunning_final_status: str = "unpaid"  # or "canceled", as the Billing settings allow


@dataclass
class _SubscriptionExtra:
    """What Stripe keeps about a subscription that its object does not show."""

    pending_price: str | None = None  # a downgrade waiting for the period's end
    trial_will_end_sent: bool = False


@dataclass
class _RequestContext:
    request_id: str | None = None
    idempotency_key: str | None = None


@dataclass
class _Idempotent:
    fingerprint: str
    status: int
    body: Any


def add_interval(ts: int, interval: str) -> int:
    """One calendar month or year later, keeping the day where the month allows (like Stripe)."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    months = 12 if interval == "year" else 1
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def monthly_amount(price: dict[str, Any]) -> float:
    months = 12 if price["recurring"]["interval"] == "year" else 1
    return price["unit_amount"] / months


class StripeState:
    """The account's data and the control operations tests and developers use."""

    def __init__(self, config: StripeEmulatorConfig, *, webhook_url: str | None = None) -> None:
        self.config = config
        self.base_url = ""
        self.lock = threading.RLock()
        self.deliverer = WebhookDeliverer(
            url=webhook_url, secret=config.webhook_secret, retry_delays=config.webhook_retry_delays
        )
        self._reset_data()

    # --- lifecycle of the emulator itself ---------------------------------------------------
    def _reset_data(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.order: dict[str, list[str]] = {}
        self.events_log: list[dict[str, Any]] = []
        self.idempotency: dict[tuple[str, str], _Idempotent] = {}
        self.extras: dict[str, _SubscriptionExtra] = {}
        self.checkout_price: dict[str, tuple[str, int | None, dict[str, str]]] = {}
        self.portal_configuration = new_id("bpc")
        self.clock_offset = 0
        self._frozen_now: int | None = None
        self.failing_payments = 0
        self.failing_requests: list[int] = []
        self.request_count = 0
        self._context = _RequestContext()
        self._invoice_numbers = 0
        self._seed_catalogue()

    def reset(self) -> None:
        """Forget every customer, subscription and event; keep the catalogue and the webhook endpoint."""
        with self.lock:
            self.deliverer.clear()
            self._reset_data()

    def shutdown(self) -> None:
        self.deliverer.stop()

    # --- the clock ----------------------------------------------------------------------------
    def now(self) -> int:
        if self._frozen_now is not None:
            return self._frozen_now
        return int(time.time()) + self.clock_offset

    def advance(self, *, days: float = 0, seconds: float = 0) -> list[dict[str, Any]]:
        """Move time forward, running every renewal, trial end and payment retry that falls due.

        Returns the events this created, in order. Each happens at its own moment (events carry
        those `created` times), as a Stripe test clock does.
        """
        delta = int(days * DAY + seconds)
        if delta < 0:
            raise ValueError("the clock only moves forward")
        with self.lock:
            first_event = len(self.events_log)
            target = self.now() + delta
            for _ in range(100_000):
                due = self._next_due(target)
                if due is None:
                    break
                moment, sub_id, action = due
                self._frozen_now = moment
                try:
                    action(self.objects[sub_id])
                finally:
                    self._frozen_now = None
            self.clock_offset = target - int(time.time())
            return self.events_log[first_event:]

    def _next_due(self, target: int) -> tuple[int, str, Any] | None:
        candidates: list[tuple[int, str, Any]] = []
        for sub_id in self.order.get("subscription", []):
            sub = self.objects[sub_id]
            if sub["status"] not in OPEN_STATUSES:
                continue
            extra = self.extras[sub_id]
            if sub["status"] == "trialing" and not extra.trial_will_end_sent:
                candidates.append((sub["trial_end"] - TRIAL_WILL_END_NOTICE, sub_id, self._send_trial_will_end))
            if sub["status"] != "unpaid":
                candidates.append((self._period_end(sub), sub_id, self._end_period))
            invoice = self.objects.get(sub["latest_invoice"] or "")
            if sub["status"] == "past_due" and invoice and invoice["next_payment_attempt"]:
                candidates.append((invoice["next_payment_attempt"], sub_id, self._retry_payment))
        due = [c for c in candidates if c[0] <= target]
        return min(due, key=lambda c: c[0]) if due else None

    # --- control ----------------------------------------------------------------------------
    def fail_next_payments(self, count: int = 1) -> None:
        """The next `count` charges are declined (0 clears)."""
        with self.lock:
            self.failing_payments = count

    def fail_next_requests(self, count: int = 1, status: int = 500) -> None:
        """The next `count` API requests answer `status` with Stripe's api_error envelope."""
        with self.lock:
            self.failing_requests = [status] * count

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(e) for e in self.events_log if event_type in (None, e["type"])]

    def event(self, event_id: str) -> dict[str, Any]:
        with self.lock:
            for e in self.events_log:
                if e["id"] == event_id:
                    return copy.deepcopy(e)
        raise missing("event", event_id)

    def deliveries(self) -> list[Delivery]:
        return list(self.deliverer.deliveries)

    def redeliver(self, event_id: str) -> Delivery:
        """Send an event again now (or for the first time, if held): duplicates and reordering."""
        return self.deliverer.deliver_now(event_id)

    def pause_webhooks(self) -> None:
        self.deliverer.pause()

    def resume_webhooks(self) -> None:
        self.deliverer.resume()

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        return self.deliverer.wait_idle(timeout)

    def set_webhook_endpoint(self, url: str | None, secret: str | None = None) -> None:
        self.deliverer.url = url
        if secret is not None:
            self.deliverer.secret = secret

    def sign(self, payload: bytes, timestamp: int | None = None) -> str:
        """A `Stripe-Signature` header for `payload` with the endpoint's secret (tests craft deliveries)."""
        return signature_header(payload, self.deliverer.secret, timestamp)

    # --- object store -----------------------------------------------------------------------
    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = obj
        self.order.setdefault(obj["object"], []).append(obj["id"])
        return obj

    def get(self, kind: str, object_id: str, *, param: str = "id") -> dict[str, Any]:
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise missing(kind.split(".")[-1].replace("_", " "), object_id, param)
        return obj

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [self.objects[i] for i in self.order.get(kind, [])]

    @contextmanager
    def request_context(self, request_id: str, idempotency_key: str | None) -> Iterator[None]:
        previous = self._context
        self._context = _RequestContext(request_id, idempotency_key)
        try:
            yield
        finally:
            self._context = previous

    def _seed_catalogue(self) -> None:
        created = self.now()
        for entry in self.config.catalogue:
            product = self.add(objects.product(created=created, name=entry.name, plan=entry.plan))
            for interval_name, interval in INTERVALS.items():
                amount = entry.monthly_amount if interval == "month" else entry.yearly_amount
                self.add(
                    objects.price(
                        created=created,
                        product_id=product["id"],
                        plan=entry.plan,
                        lookup_key=lookup_key(entry.plan, interval_name),
                        interval=interval,
                        amount=amount,
                        currency=entry.currency,
                    )
                )

    def price_by_lookup_key(self, key: str) -> dict[str, Any] | None:
        return next((p for p in self.all("price") if p["lookup_key"] == key), None)

    # --- events -----------------------------------------------------------------------------
    def emit(self, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        event = objects.event(
            event_type=event_type,
            obj=copy.deepcopy(obj),
            created=self.now(),
            api_version=API_VERSION,
            previous_attributes=copy.deepcopy(previous) if previous is not None else None,
            request_id=self._context.request_id,
            idempotency_key=self._context.idempotency_key,
        )
        self.events_log.append(event)
        self.deliverer.enqueue(event)
        return event

    def change(self, obj: dict[str, Any], changes: dict[str, Any], event_type: str) -> None:
        """Apply `changes` and send `event_type` with the old values as `previous_attributes`."""
        previous = {k: copy.deepcopy(obj[k]) for k, v in changes.items() if obj.get(k) != v}
        if not previous:
            return
        obj.update(copy.deepcopy(changes))
        self.emit(event_type, obj, previous)

    # --- customers --------------------------------------------------------------------------
    def create_customer(
        self, *, email: str | None, name: str | None, description: str | None, metadata: dict[str, str]
    ) -> dict[str, Any]:
        customer = self.add(
            objects.customer(created=self.now(), email=email, name=name, description=description, metadata=metadata)
        )
        self.emit("customer.created", customer)
        return customer

    def update_customer(self, customer: dict[str, Any], changes: dict[str, Any]) -> None:
        if "metadata" in changes:
            changes["metadata"] = {**customer["metadata"], **changes["metadata"]} if changes["metadata"] else {}
        self.change(customer, changes, "customer.updated")

    # --- checkout ---------------------------------------------------------------------------
    def create_checkout_session(
        self,
        *,
        customer: dict[str, Any],
        price: dict[str, Any],
        trial_days: int | None,
        subscription_metadata: dict[str, str],
        **fields: Any,
    ) -> dict[str, Any]:
        session = self.add(
            objects.checkout_session(
                base_url=self.base_url,
                created=self.now(),
                customer_obj=customer,
                price_obj=price,
                trial_days=trial_days,
                **fields,
            )
        )
        if trial_days:
            session["amount_total"] = 0
        self.checkout_price[session["id"]] = (price["id"], trial_days, subscription_metadata)
        return session

    def complete_checkout(self, session_id: str) -> str:
        """The person clicked "Pay": subscribe, charge, send the events; returns where to send them."""
        with self.lock:
            session = self.get("checkout.session", session_id)
            if session["status"] != "open":
                raise StripeError("This Checkout Session is no longer open.", code="checkout_session_not_open")
            if session["expires_at"] <= self.now():
                session["status"] = "expired"
                self.emit("checkout.session.expired", session)
                raise StripeError("This Checkout Session has expired.", code="checkout_session_expired")
            price_id, trial_days, subscription_metadata = self.checkout_price[session_id]
            customer = self.objects[session["customer"]]
            sub = self._create_subscription(
                customer=customer,
                price=self.objects[price_id],
                trial_days=trial_days,
                automatic_tax=session["automatic_tax"]["enabled"],
                metadata=subscription_metadata,
            )
            invoice = self.objects[sub["latest_invoice"]]
            session.update(
                {
                    "status": "complete",
                    "payment_status": "paid" if invoice["amount_due"] else "no_payment_required",
                    "subscription": sub["id"],
                    "invoice": invoice["id"],
                    "customer_details": _customer_details(customer),
                }
            )
            self.emit("checkout.session.completed", session)
            return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)

    # --- subscriptions ----------------------------------------------------------------------
    def _create_subscription(
        self,
        *,
        customer: dict[str, Any],
        price: dict[str, Any],
        trial_days: int | None,
        automatic_tax: bool,
        metadata: dict[str, str],
    ) -> dict[str, Any]:
        now = self.now()
        trial_end = now + trial_days * DAY if trial_days else None
        period_end = trial_end or add_interval(now, price["recurring"]["interval"])
        sub = self.add(
            objects.subscription(
                customer_id=customer["id"],
                price_obj=price,
                created=now,
                period_end=period_end,
                trial_end=trial_end,
                automatic_tax=automatic_tax,
                metadata=metadata,
            )
        )
        self.extras[sub["id"]] = _SubscriptionExtra()
        amount = 0 if trial_end else price["unit_amount"]
        description = f"{'Trial period for ' if trial_end else '1 × '}{_product_name(self, price)}"
        line = self._line(sub, price, amount, description, now, period_end, proration=False)
        invoice = self._invoice(customer, sub, [line], "subscription_create")
        sub["latest_invoice"] = invoice["id"]
        self._charge(invoice, card_entered=True)
        self.emit("customer.subscription.created", sub)
        self._emit_invoice_outcome(invoice)
        return sub

    def _period_end(self, sub: dict[str, Any]) -> int:
        return sub["items"]["data"][0]["current_period_end"]

    def _send_trial_will_end(self, sub: dict[str, Any]) -> None:
        self.extras[sub["id"]].trial_will_end_sent = True
        self.emit("customer.subscription.trial_will_end", sub)

    def _end_period(self, sub: dict[str, Any]) -> None:
        if sub["cancel_at_period_end"]:
            self._cancel_now(sub, ended_at=self._period_end(sub))
            return
        extra = self.extras[sub["id"]]
        price = self.objects[extra.pending_price or sub["items"]["data"][0]["price"]["id"]]
        extra.pending_price = None
        start = self._period_end(sub)
        end = add_interval(start, price["recurring"]["interval"])
        items = self._items_with(sub, price, start, end)
        line = self._line(sub, price, price["unit_amount"], f"1 × {_product_name(self, price)}", start, end, False)
        invoice = self._invoice(self.objects[sub["customer"]], sub, [line], "subscription_cycle")
        paid = self._charge(invoice)
        changes: dict[str, Any] = {
            "items": items,
            "plan": objects.plan_of(price),
            "latest_invoice": invoice["id"],
            "status": "active" if paid else "past_due",
        }
        if sub["status"] == "trialing":
            changes["billing_cycle_anchor"] = start
        self._emit_invoice_outcome(invoice)
        self.change(sub, changes, "customer.subscription.updated")

    def _retry_payment(self, sub: dict[str, Any]) -> None:
        invoice = self.objects[sub["latest_invoice"]]
        if self._charge(invoice):
            self._emit_invoice_outcome(invoice)
            self.change(sub, {"status": "active"}, "customer.subscription.updated")
            return
        self._emit_invoice_outcome(invoice)
        if invoice["next_payment_attempt"] is None:  # retries exhausted
            if self.config.dunning_final_status == "canceled":
                self._cancel_now(sub, ended_at=self.now())
            else:
                self.change(sub, {"status": "unpaid"}, "customer.subscription.updated")

    def pay_open_invoice(self, sub: dict[str, Any]) -> bool:
        """A new card in the portal: charge the open invoice now; a paid one revives the subscription."""
        invoice = self.objects.get(sub["latest_invoice"] or "")
        if invoice is None or invoice["status"] != "open":
            return False
        paid = self._charge(invoice, card_entered=True)
        self._emit_invoice_outcome(invoice)
        if paid and sub["status"] in ("past_due", "unpaid"):
            self.change(sub, {"status": "active"}, "customer.subscription.updated")
        return paid

    def change_price(
        self, sub: dict[str, Any], price: dict[str, Any], *, proration_behavior: str, downgrade_at_period_end: bool
    ) -> None:
        """Switch plan. Upgrades apply at once with a prorated invoice; downgrades may wait for the period end."""
        if sub["status"] not in OPEN_STATUSES:
            raise StripeError(
                "A canceled subscription can only update its cancellation_details and metadata.", param="items"
            )
        current = self.objects[sub["items"]["data"][0]["price"]["id"]]
        if current["id"] == price["id"]:
            self.extras[sub["id"]].pending_price = None
            return
        if price["currency"] != current["currency"]:
            raise StripeError("The price's currency must match the subscription's currency.", param="items")
        is_upgrade = monthly_amount(price) > monthly_amount(current)
        if not is_upgrade and downgrade_at_period_end and sub["status"] != "trialing":
            self.extras[sub["id"]].pending_price = price["id"]
            return
        self.extras[sub["id"]].pending_price = None
        now = self.now()
        start, end = sub["items"]["data"][0]["current_period_start"], self._period_end(sub)
        changes: dict[str, Any] = {}
        if sub["status"] == "trialing" or proration_behavior == "none":
            lines: list[dict[str, Any]] = []
        elif price["recurring"]["interval"] != current["recurring"]["interval"]:
            start, end = now, add_interval(now, price["recurring"]["interval"])
            changes["billing_cycle_anchor"] = now
            lines = self._proration_lines(sub, current, price, now, self._period_end(sub), new_full=True, new_end=end)
        else:
            lines = self._proration_lines(sub, current, price, now, end, new_full=False, new_end=end)
        changes.update({"items": self._items_with(sub, price, start, end), "plan": objects.plan_of(price)})
        invoice = None
        if lines and sum(line["amount"] for line in lines) > 0:
            invoice = self._invoice(self.objects[sub["customer"]], sub, lines, "subscription_update")
            changes["latest_invoice"] = invoice["id"]
            if not self._charge(invoice):
                changes["status"] = "past_due"
        self.change(sub, changes, "customer.subscription.updated")
        if invoice is not None:
            self._emit_invoice_outcome(invoice)

    def _proration_lines(
        self,
        sub: dict[str, Any],
        old: dict[str, Any],
        new: dict[str, Any],
        now: int,
        old_end: int,
        *,
        new_full: bool,
        new_end: int,
    ) -> list[dict[str, Any]]:
        start = sub["items"]["data"][0]["current_period_start"]
        unused = max(0.0, (old_end - now) / max(1, old_end - start))
        credit = -round(old["unit_amount"] * unused)
        charge = new["unit_amount"] if new_full else round(new["unit_amount"] * unused)
        return [
            self._line(sub, old, credit, f"Unused time on {_product_name(self, old)}", now, old_end, True),
            self._line(sub, new, charge, f"Remaining time on {_product_name(self, new)}", now, new_end, True),
        ]

    def set_cancel_at_period_end(self, sub: dict[str, Any], cancel: bool) -> None:
        if sub["status"] not in OPEN_STATUSES:
            raise StripeError("A canceled subscription can only update its cancellation_details and metadata.")
        now = self.now()
        self.change(
            sub,
            {
                "cancel_at_period_end": cancel,
                "cancel_at": self._period_end(sub) if cancel else None,
                "canceled_at": now if cancel else None,
                "cancellation_details": {
                    "comment": None,
                    "feedback": None,
                    "reason": "cancellation_requested" if cancel else None,
                },
            },
            "customer.subscription.updated",
        )

    def cancel(self, sub: dict[str, Any]) -> None:
        if sub["status"] == "canceled":
            raise StripeError(
                f"No such subscription: '{sub['id']}'; a similar object exists but it is already canceled.",
                status=404,
                code="resource_missing",
                param="id",
            )
        self._cancel_now(sub, ended_at=self.now())

    def _cancel_now(self, sub: dict[str, Any], *, ended_at: int) -> None:
        sub.update({"status": "canceled", "ended_at": ended_at, "canceled_at": sub["canceled_at"] or ended_at})
        if sub["cancellation_details"]["reason"] is None:
            sub["cancellation_details"] = {"comment": None, "feedback": None, "reason": "cancellation_requested"}
        self.extras[sub["id"]].pending_price = None
        self.emit("customer.subscription.deleted", sub)

    def _items_with(self, sub: dict[str, Any], price: dict[str, Any], start: int, end: int) -> dict[str, Any]:
        items = copy.deepcopy(sub["items"])
        item = items["data"][0]
        item.update(
            {
                "price": dict(price),
                "plan": objects.plan_of(price),
                "current_period_start": start,
                "current_period_end": end,
            }
        )
        return items

    # --- invoices and charges ---------------------------------------------------------------
    def _line(
        self,
        sub: dict[str, Any],
        price: dict[str, Any],
        amount: int,
        description: str,
        start: int,
        end: int,
        proration: bool,
    ) -> dict[str, Any]:
        return objects.invoice_line(
            price_obj=price,
            amount=amount,
            description=description,
            period_start=start,
            period_end=end,
            proration=proration,
            sub_id=sub["id"],
        )

    def _invoice(
        self, customer: dict[str, Any], sub: dict[str, Any], lines: list[dict[str, Any]], reason: str
    ) -> dict[str, Any]:
        self._invoice_numbers += 1
        number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
        customer["next_invoice_sequence"] += 1
        return self.add(
            objects.invoice(
                base_url=self.base_url,
                customer_obj=customer,
                sub=sub,
                lines=lines,
                created=self.now(),
                billing_reason=reason,
                number=number,
            )
        )

    def _charge(self, invoice: dict[str, Any], *, card_entered: bool = False) -> bool:
        """Try to collect an open invoice. A card just typed in (checkout, portal) is never declined."""
        now = self.now()
        if invoice["amount_due"] > 0:
            invoice["attempt_count"] += 1
            invoice["attempted"] = True
            if self.failing_payments > 0 and not card_entered:
                self.failing_payments -= 1
                retries = self.config.payment_retry_days
                failures = invoice["attempt_count"]
                first_attempt = invoice["created"]
                invoice["next_payment_attempt"] = (
                    first_attempt + retries[failures - 1] * DAY if failures <= len(retries) else None
                )
                return False
            invoice["charge"] = new_id("ch")
            invoice["payment_intent"] = new_id("pi")
        invoice.update(
            {
                "amount_paid": invoice["amount_due"],
                "amount_remaining": 0,
                "paid": True,
                "status": "paid",
                "next_payment_attempt": None,
            }
        )
        invoice["status_transitions"]["paid_at"] = now
        return True

    def _emit_invoice_outcome(self, invoice: dict[str, Any]) -> None:
        self.emit("invoice.paid" if invoice["paid"] else "invoice.payment_failed", invoice)


def _product_name(state: StripeState, price: dict[str, Any]) -> str:
    product = state.objects.get(price["product"])
    interval = price["recurring"]["interval"]
    return f"{product['name'] if product else 'Subscription'} (per {interval})"


def _customer_details(customer: dict[str, Any]) -> dict[str, Any]:
    address = customer["address"] or {}
    return {
        "address": {k: address.get(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")},
        "email": customer["email"],
        "name": customer["name"],
        "phone": customer["phone"],
        "tax_exempt": customer["tax_exempt"],
        "tax_ids": [],
        "business_name": None,
        "individual_name": None,
    }
