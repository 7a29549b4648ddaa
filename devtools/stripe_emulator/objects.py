"""Builders of Stripe objects with the key sets of the real API (see the recorded payloads).

Each function returns a plain dict shaped like the object Stripe sends for API version
`wire.API_VERSION`; tests/billing/test_stripe_emulator_shapes.py compares the key sets with the
recorded payloads in shared/reference/payloads/stripe/.
"""

from __future__ import annotations

from typing import Any

from devtools.stripe_emulator.wire import new_id


def list_object(data: list[dict[str, Any]], url: str, *, has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def customer(
    *, created: int, email: str | None, name: str | None, description: str | None, metadata: dict[str, str]
) -> dict[str, Any]:
    cid = new_id("cus")
    return {
        "id": cid,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": description,
        "discount": None,
        "email": email,
        "invoice_prefix": cid[4:12].upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": metadata,
        "name": name,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def product(*, created: int, name: str, plan: str) -> dict[str, Any]:
    return {
        "id": new_id("prod"),
        "object": "product",
        "active": True,
        "created": created,
        "default_price": None,
        "description": None,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": {"plan": plan},
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": created,
        "url": None,
    }


def price(
    *, created: int, product_id: str, plan: str, lookup_key: str, interval: str, amount: int, currency: str
) -> dict[str, Any]:
    return {
        "id": new_id("price"),
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": {"plan": plan},
        "nickname": None,
        "product": product_id,
        "recurring": {
            "interval": interval,
            "interval_count": 1,
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        },
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": amount,
        "unit_amount_decimal": str(amount),
    }


def plan_of(price_obj: dict[str, Any]) -> dict[str, Any]:
    """The legacy `plan` view of a recurring price that subscriptions still carry."""
    recurring = price_obj["recurring"]
    return {
        "id": price_obj["id"],
        "object": "plan",
        "active": price_obj["active"],
        "amount": price_obj["unit_amount"],
        "amount_decimal": price_obj["unit_amount_decimal"],
        "billing_scheme": "per_unit",
        "created": price_obj["created"],
        "currency": price_obj["currency"],
        "interval": recurring["interval"],
        "interval_count": recurring["interval_count"],
        "livemode": False,
        "metadata": dict(price_obj["metadata"]),
        "meter": None,
        "nickname": None,
        "product": price_obj["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def subscription_item(
    *, sub_id: str, price_obj: dict[str, Any], created: int, period_start: int, period_end: int
) -> dict[str, Any]:
    return {
        "id": new_id("si"),
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": created,
        "current_period_end": period_end,
        "current_period_start": period_start,
        "discounts": [],
        "metadata": {},
        "plan": plan_of(price_obj),
        "price": dict(price_obj),
        "quantity": 1,
        "subscription": sub_id,
        "tax_rates": [],
    }


def subscription(
    *,
    customer_id: str,
    price_obj: dict[str, Any],
    created: int,
    period_end: int,
    trial_end: int | None,
    automatic_tax: bool,
    metadata: dict[str, str],
) -> dict[str, Any]:
    sub_id = new_id("sub")
    item = subscription_item(
        sub_id=sub_id, price_obj=price_obj, created=created, period_start=created, period_end=period_end
    )
    return {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": automatic_tax, "liability": None},
        "billing_cycle_anchor": period_end if trial_end else created,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": {"proration_discounts": "included"}, "type": "flexible", "updated_at": created},
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": created,
        "currency": price_obj["currency"],
        "customer": customer_id,
        "customer_account": None,
        "days_until_due": None,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {
            "object": "list",
            "data": [item],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "latest_invoice": None,
        "livemode": False,
        "managed_payments": {"enabled": False},
        "metadata": metadata,
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "plan": plan_of(price_obj),
        "quantity": 1,
        "schedule": None,
        "start_date": created,
        "status": "trialing" if trial_end else "active",
        "test_clock": None,
        "transfer_data": None,
        "trial_end": trial_end,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": created if trial_end else None,
    }


def invoice_line(
    *,
    price_obj: dict[str, Any],
    amount: int,
    description: str,
    period_start: int,
    period_end: int,
    proration: bool,
    sub_id: str,
) -> dict[str, Any]:
    return {
        "id": new_id("il"),
        "object": "line_item",
        "amount": amount,
        "currency": price_obj["currency"],
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice_item": None,
        "livemode": False,
        "metadata": {},
        "period": {"end": period_end, "start": period_start},
        "plan": plan_of(price_obj),
        "price": dict(price_obj),
        "proration": proration,
        "proration_details": {"credited_items": None},
        "quantity": 1,
        "subscription": sub_id,
        "tax_amounts": [],
        "tax_rates": [],
        "type": "subscription",
    }


def invoice(
    *,
    base_url: str,
    customer_obj: dict[str, Any],
    sub: dict[str, Any],
    lines: list[dict[str, Any]],
    created: int,
    billing_reason: str,
    number: str,
) -> dict[str, Any]:
    inv_id = new_id("in")
    total = sum(line["amount"] for line in lines)
    period_start = min(line["period"]["start"] for line in lines)
    period_end = max(line["period"]["end"] for line in lines)
    return {
        "id": inv_id,
        "object": "invoice",
        "account_country": "DE",
        "account_name": "Bosco (emulated Stripe)",
        "account_tax_ids": None,
        "amount_due": total,
        "amount_paid": 0,
        "amount_remaining": total,
        "application_fee_amount": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {"enabled": sub["automatic_tax"]["enabled"], "status": None},
        "billing_reason": billing_reason,
        "charge": None,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": sub["currency"],
        "custom_fields": None,
        "customer": customer_obj["id"],
        "customer_address": customer_obj["address"],
        "customer_email": customer_obj["email"],
        "customer_name": customer_obj["name"],
        "customer_phone": customer_obj["phone"],
        "customer_shipping": customer_obj["shipping"],
        "customer_tax_exempt": customer_obj["tax_exempt"],
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discount": None,
        "discounts": [],
        "due_date": None,
        "ending_balance": 0,
        "footer": None,
        "hosted_invoice_url": f"{base_url}/invoice/{inv_id}",
        "invoice_pdf": f"{base_url}/invoice/{inv_id}/pdf",
        "last_finalization_error": None,
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "total_count": len(lines),
            "url": f"/v1/invoices/{inv_id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": number,
        "on_behalf_of": None,
        "paid": False,
        "paid_out_of_band": False,
        "payment_intent": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None},
        "period_end": period_end,
        "period_start": period_start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "quote": None,
        "receipt_number": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "open",
        "status_transitions": {
            "finalized_at": created,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subscription": sub["id"],
        "subtotal": total,
        "tax": None,
        "test_clock": None,
        "total": total,
        "total_discount_amounts": [],
        "total_tax_amounts": [],
        "transfer_data": None,
        "webhooks_delivered_at": created,
    }


def checkout_session(
    *,
    base_url: str,
    created: int,
    customer_obj: dict[str, Any],
    price_obj: dict[str, Any],
    success_url: str,
    cancel_url: str | None,
    client_reference_id: str | None,
    metadata: dict[str, str],
    automatic_tax: bool,
    trial_days: int | None,
) -> dict[str, Any]:
    cs_id = new_id("cs_test")
    return {
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": price_obj["unit_amount"],
        "amount_total": price_obj["unit_amount"],
        "automatic_tax": {
            "enabled": automatic_tax,
            "liability": {"type": "self"} if automatic_tax else None,
            "status": "requires_location_inputs" if automatic_tax else None,
            "provider": "stripe" if automatic_tax else None,
        },
        "billing_address_collection": None,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "client_secret": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": price_obj["currency"],
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": customer_obj["id"],
        "customer_creation": None,
        "customer_details": None,
        "customer_email": None,
        "expires_at": created + 24 * 3600,
        "id": cs_id,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": None,
        "metadata": metadata,
        "mode": "subscription",
        "object": "checkout.session",
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": {
            "allow_redisplay_filters": ["always"],
            "payment_method_remove": None,
            "payment_method_save": None,
        },
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": f"{base_url}/checkout/pay/{cs_id}",
        "adaptive_pricing": {"enabled": False},
        "discounts": [],
        "collected_information": None,
        "permissions": None,
        "wallet_options": None,
        "origin_context": None,
        "currency_conversion": None,
        "customer_account": None,
        "integration_identifier": None,
        "managed_payments": {"enabled": False},
    }


def portal_session(
    *, base_url: str, created: int, customer_id: str, return_url: str | None, configuration_id: str
) -> dict[str, Any]:
    bps_id = new_id("bps")
    return {
        "configuration": configuration_id,
        "created": created,
        "customer": customer_id,
        "flow": None,
        "id": bps_id,
        "livemode": False,
        "locale": None,
        "object": "billing_portal.session",
        "on_behalf_of": None,
        "return_url": return_url,
        "url": f"{base_url}/portal/{bps_id}",
        "customer_account": None,
    }


def event(
    *,
    event_type: str,
    obj: dict[str, Any],
    created: int,
    api_version: str,
    previous_attributes: dict[str, Any] | None,
    request_id: str | None,
    idempotency_key: str | None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }
