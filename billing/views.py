"""Billing's HTTP entry points: the Stripe webhook (public host) and the owner's checkout / portal
actions (workspace host). Pages read the plan through `billing.entitlements`."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import services, stripe_client
from billing.tasks import process_stripe_event
from bosco.metrics import WEBHOOK_FAILURES

logger = logging.getLogger(__name__)

#: Stripe sends events of a few kB; anything much larger is not Stripe
MAX_EVENT_BYTES = 512 * 1024


def _problem(status: int, detail: str) -> JsonResponse:
    WEBHOOK_FAILURES.labels("stripe", "received").inc()  # every refusal here is a webhook delivery's
    return JsonResponse({"error": detail}, status=status)


# Stripe cannot send a CSRF token; the signature over the raw body is this view's proof of origin.
@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Verify, store once, answer; the effect is applied by a Celery task after commit."""
    if not stripe_client.is_configured():
        return _problem(503, "billing is not configured")
    body = request.body
    if len(body) > MAX_EVENT_BYTES:
        logger.warning("stripe webhook refused: body of %d bytes", len(body))
        return _problem(400, "payload too large")
    signature = request.headers.get("Stripe-Signature", "")
    try:
        event = stripe_client.construct_event(payload=body, signature_header=signature)
    except stripe_client.SignatureError as exc:
        logger.warning("stripe webhook refused: %s", exc, extra={"remote_addr": request.META.get("REMOTE_ADDR")})
        return _problem(400, "invalid signature")
    except (ValueError, TypeError, AttributeError) as exc:
        # A correctly signed body that is not an event object (e.g. a JSON list) trips the stripe
        # library's parser; it is still only a bad request.
        logger.warning("stripe webhook refused: malformed payload: %s", exc)
        return _problem(400, "malformed payload")
    if not isinstance(event, dict) or not str(event.get("id") or "").startswith("evt_") or not event.get("type"):
        logger.warning("stripe webhook refused: not an event")
        return _problem(400, "malformed event")
    try:
        with transaction.atomic():
            record, created = services.event_record(event)
            if record.processed_at is None:
                # A redelivery of an event not yet applied (its task crashed) is queued again;
                # the task's row lock makes sure only one copy applies it.
                transaction.on_commit(lambda: process_stripe_event.delay(record.id))
    except IntegrityError:
        # Two deliveries of one new event at once: the other insert won and queued it.
        return JsonResponse({"received": True, "duplicate": True})
    except services.BillingError as exc:
        return _problem(400, exc.message)
    return JsonResponse({"received": True, "duplicate": not created})


def _membership(request: HttpRequest):  # type: ignore[no-untyped-def]
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404
    return membership


def _absolute(request: HttpRequest, name: str) -> str:
    return request.build_absolute_uri(reverse(name))


@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    """Create a Checkout session for THIS workspace (the host decides, never a form field)."""
    membership = _membership(request)
    try:
        url = services.checkout_start(
            workspace=request.tenant,  # type: ignore[attr-defined]
            membership=membership,
            plan=request.POST.get("plan", ""),
            interval=request.POST.get("interval", ""),
            success_url=_absolute(request, "settings_billing") + "?checkout=done",
            cancel_url=_absolute(request, "settings_billing") + "?checkout=cancelled",
        )
    except services.BillingError as exc:
        if exc.status == 403:
            return HttpResponse(exc.message, status=403)
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("settings_billing"))
    except stripe_client.StripeUnavailable:
        messages.error(request, "Payments cannot be reached right now; nothing was charged. Please try again.")
        return HttpResponseRedirect(reverse("settings_billing"))
    return HttpResponseRedirect(url)


@require_POST
def portal(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    try:
        url = services.portal_start(
            workspace=request.tenant,  # type: ignore[attr-defined]
            membership=membership,
            return_url=_absolute(request, "settings_billing"),
        )
    except services.BillingError as exc:
        if exc.status == 403:
            return HttpResponse(exc.message, status=403)
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("settings_billing"))
    except stripe_client.StripeUnavailable:
        messages.error(request, "Payments cannot be reached right now. Please try again.")
        return HttpResponseRedirect(reverse("settings_billing"))
    return HttpResponseRedirect(url)
