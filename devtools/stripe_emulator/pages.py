"""The pages a person sees on Stripe: Checkout ("Pay" / "Cancel"), the Customer Portal, invoices.

Plain server-rendered HTML with stable element ids for browser tests: `#pay`, `#cancel`,
`#price`, `#switch-plan`, `#cancel-subscription`, `#renew-subscription`, `#update-payment-method`,
`#billing-email`, `#save-billing`, `#return`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from devtools.stripe_emulator.state import OPEN_STATUSES, StripeState
from devtools.stripe_emulator.wire import StripeError

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;color:#1a1f36}"
    "h1{font-size:1.4rem}.box{border:1px solid #e3e8ee;border-radius:8px;padding:1rem;margin:1rem 0}"
    "button{background:#635bff;color:#fff;border:0;border-radius:6px;padding:.6rem 1.2rem;font-size:1rem}"
    ".muted{color:#697386}.notice{background:#fff8e1;padding:.5rem;border-radius:6px}"
)


def page(title: str, body: str, status: int = 200) -> Response:
    html = (
        f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><p class=muted>Stripe emulator · test mode</p>{body}</body></html>"
    )
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency.upper()}"


def day(ts: int | None) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d") if ts else "—"


def price_label(state: StripeState, price: dict[str, Any]) -> str:
    product = state.objects.get(price["product"]) or {"name": "Subscription"}
    return f"{product['name']} — {money(price['unit_amount'], price['currency'])} per {price['recurring']['interval']}"


# --- Checkout -----------------------------------------------------------------------------
def checkout_page(state: StripeState, request: Request, session_id: str) -> Response:
    with state.lock:
        session = state.objects.get(session_id)
        if session is None or session["object"] != "checkout.session":
            return page("Not found", "<h1>This checkout page does not exist.</h1>", 404)
        if request.method == "POST":
            try:
                target = state.complete_checkout(session_id)
            except StripeError as exc:
                return page("Checkout", f"<h1>{escape(exc.message)}</h1>", 400)
            return redirect(target, code=303)
        return page("Checkout", _checkout_body(state, session))


def _checkout_body(state: StripeState, session: dict[str, Any]) -> str:
    if session["status"] == "complete":
        return (
            "<h1>This payment is complete.</h1>"
            f"<p><a id=return href='{escape(session['success_url'])}'>Back to the merchant</a></p>"
        )
    if session["status"] == "expired" or session["expires_at"] <= state.now():
        return "<h1>This checkout session has expired.</h1>"
    price_id, trial_days, _ = state.checkout_price[session["id"]]
    price = state.objects[price_id]
    customer = state.objects[session["customer"]]
    trial = f"<p id=trial>{trial_days} days free, then billed per period.</p>" if trial_days else ""
    tax = "<p class=muted>Tax is calculated by Stripe Tax.</p>" if session["automatic_tax"]["enabled"] else ""
    cancel = f"<p><a id=cancel href='{escape(session['cancel_url'])}'>Cancel</a></p>" if session["cancel_url"] else ""
    return (
        f"<h1>Subscribe to {escape(price_label(state, price))}</h1>{trial}{tax}"
        f"<div class=box><p>Email: {escape(customer['email'] or '')}</p>"
        "<p>Card: 4242 4242 4242 4242 · 12/34 · 123 (test card)</p></div>"
        f"<form method=post action='/checkout/pay/{escape(session['id'])}'>"
        f"<button id=pay type=submit>{'Start trial' if trial_days else 'Pay'}</button></form>{cancel}"
    )


# --- Customer portal ----------------------------------------------------------------------
def portal_page(
    state: StripeState, request: Request, session_id: str, action: str | None = None, subscription_id: str | None = None
) -> Response:
    with state.lock:
        session = state.objects.get(session_id)
        if session is None or session["object"] != "billing_portal.session":
            return page("Not found", "<h1>This portal link does not exist.</h1>", 404)
        if request.method == "POST":
            try:
                _portal_action(state, request, session, action, subscription_id)
            except StripeError as exc:
                return page("Billing", f"<h1>{escape(exc.message)}</h1>", 400)
            return redirect(f"/portal/{session_id}", code=303)
        return page("Billing", _portal_body(state, session))


def _portal_action(
    state: StripeState, request: Request, session: dict[str, Any], action: str | None, subscription_id: str | None
) -> None:
    customer = state.objects[session["customer"]]
    if action == "customer":
        email = request.form.get("email", "").strip()
        if "@" not in email:
            raise StripeError("Enter a valid email address.")
        changes = {"email": email, "name": request.form.get("name", "").strip() or None}
        state.update_customer(customer, changes)
        return
    sub = state.objects.get(subscription_id or "")
    if sub is None or sub["object"] != "subscription" or sub["customer"] != customer["id"]:
        raise StripeError("This subscription does not belong to this customer.")
    if action == "update":
        price = state.objects.get(request.form.get("price", ""))
        if price is None or price["object"] != "price":
            raise StripeError("Choose a plan.")
        state.change_price(sub, price, proration_behavior="always_invoice", downgrade_at_period_end=True)
    elif action == "cancel":
        state.set_cancel_at_period_end(sub, True)
    elif action == "renew":
        state.set_cancel_at_period_end(sub, False)
    elif action == "pay":
        if not state.pay_open_invoice(sub):
            raise StripeError("There is no open invoice to pay.")
    else:
        raise StripeError("Unknown portal action.")


def _portal_body(state: StripeState, session: dict[str, Any]) -> str:
    customer = state.objects[session["customer"]]
    subs = [s for s in state.all("subscription") if s["customer"] == customer["id"] and s["status"] in OPEN_STATUSES]
    parts = [f"<h1>Billing for {escape(customer['name'] or customer['email'] or customer['id'])}</h1>"]
    parts += [_subscription_box(state, session, sub) for sub in subs] or ["<p id=no-subscription>No active plan.</p>"]
    parts.append(
        f"<div class=box><h2>Billing information</h2><form method=post action='/portal/{session['id']}/customer'>"
        f"<label>Email <input id=billing-email name=email value='{escape(customer['email'] or '')}'></label> "
        f"<label>Name <input id=billing-name name=name value='{escape(customer['name'] or '')}'></label> "
        "<button id=save-billing type=submit>Save</button></form></div>"
    )
    invoices = [i for i in reversed(state.all("invoice")) if i["customer"] == customer["id"]]
    rows = "".join(
        f"<li><a href='{escape(i['hosted_invoice_url'])}'>{escape(i['number'])}</a> {day(i['created'])} "
        f"{money(i['total'], i['currency'])} {i['status']}</li>"
        for i in invoices
    )
    parts.append(f"<div class=box><h2>Invoices</h2><ul id=invoices>{rows}</ul></div>")
    if session["return_url"]:
        parts.append(f"<p><a id=return href='{escape(session['return_url'])}'>Return to the merchant</a></p>")
    return "".join(parts)


def _subscription_box(state: StripeState, session: dict[str, Any], sub: dict[str, Any]) -> str:
    item = sub["items"]["data"][0]
    price = item["price"]
    action = f"/portal/{session['id']}/subscription/{sub['id']}"
    notes = []
    if sub["cancel_at_period_end"]:
        notes.append(f"Cancels on {day(sub['cancel_at'])}.")
    pending = state.extras[sub["id"]].pending_price
    if pending:
        notes.append(
            f"Changes to {escape(price_label(state, state.objects[pending]))} on {day(item['current_period_end'])}."
        )
    if sub["status"] == "trialing":
        notes.append(f"Trial ends on {day(sub['trial_end'])}.")
    options = "".join(
        f"<option value='{p['id']}'{' selected' if p['id'] == price['id'] else ''}>{escape(price_label(state, p))}</option>"
        for p in state.all("price")
        if p["active"] and p["currency"] == price["currency"]
    )
    toggle = (
        f"<form method=post action='{action}/renew'><button id=renew-subscription type=submit>Renew plan</button></form>"
        if sub["cancel_at_period_end"]
        else f"<form method=post action='{action}/cancel'><button id=cancel-subscription type=submit>Cancel plan</button></form>"
    )
    open_invoice = state.objects.get(sub["latest_invoice"] or "")
    pay = (
        f"<form method=post action='{action}/pay'><button id=update-payment-method type=submit>"
        "Update payment method and pay</button></form>"
        if open_invoice and open_invoice["status"] == "open"
        else ""
    )
    note_html = "".join(f"<p class=notice>{n}</p>" for n in notes)
    return (
        f"<div class=box id='subscription-{sub['id']}'><h2>{escape(price_label(state, price))}</h2>"
        f"<p>Status: <span id=status>{sub['status']}</span> · current period ends {day(item['current_period_end'])}</p>"
        f"{note_html}<form method=post action='{action}/update'><select id=price name=price>{options}</select> "
        f"<button id=switch-plan type=submit>Update plan</button></form>{toggle}{pay}</div>"
    )


# --- Invoices -----------------------------------------------------------------------------
def invoice_page(state: StripeState, request: Request, invoice_id: str, pdf: bool = False) -> Response:
    with state.lock:
        invoice = state.objects.get(invoice_id)
        if invoice is None or invoice["object"] != "invoice":
            return page("Not found", "<h1>This invoice does not exist.</h1>", 404)
        lines = [(line["description"], money(line["amount"], line["currency"])) for line in invoice["lines"]["data"]]
        total = money(invoice["total"], invoice["currency"])
        number, status = invoice["number"], invoice["status"]
    if pdf:
        text = [f"Invoice {number} ({status})", *(f"{d}: {a}" for d, a in lines), f"Total: {total}"]
        return Response(
            _tiny_pdf(text),
            content_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="Invoice-{number}.pdf"'},
        )
    rows = "".join(f"<li>{escape(d)}: {a}</li>" for d, a in lines)
    return page(
        f"Invoice {number}",
        f"<h1>Invoice {escape(number)}</h1><p>Status: {status}</p><ul>{rows}</ul>"
        f"<p>Total: {total}</p><p><a href='/invoice/{invoice_id}/pdf'>Download PDF</a></p>",
    )


def _tiny_pdf(lines: list[str]) -> bytes:
    """A valid one-page PDF listing `lines` (Helvetica, ASCII only)."""

    def esc(s: str) -> str:
        return s.encode("ascii", "replace").decode().replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    stream = "BT /F1 12 Tf 72 760 Td 16 TL " + " ".join(f"({esc(t)}) Tj T*" for t in lines) + " ET"
    bodies = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(bodies) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(bodies) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out
