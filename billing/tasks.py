"""Celery entry points of billing: webhook events handled off the request, trial notices, a sweeper."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from billing import services, stripe_client
from billing.selectors import unprocessed_events
from billing.services import trial_notices_send
from bosco.metrics import WEBHOOK_FAILURES
from bosco.tasks import TransientError, public_task

#: an event still unprocessed this long after receipt is queued again by the sweeper
STUCK_AFTER = timedelta(minutes=10)


@public_task(max_retries=8)
def process_stripe_event(event_id: str) -> str:
    """Apply one stored Stripe event exactly once (see billing.services.event_process)."""
    try:
        return services.event_process(event_id=event_id).note
    except stripe_client.StripeUnavailable as exc:
        services.event_failed(event_id=event_id, error=f"Stripe unavailable: {exc}")
        raise TransientError(str(exc)) from exc
    except Exception as exc:
        WEBHOOK_FAILURES.labels("stripe", "processing").inc()
        services.event_failed(event_id=event_id, error=f"{type(exc).__name__}: {exc}")
        raise


@public_task()
def send_trial_notices() -> int:
    """Beat: e-mail owners whose trial ends in 7 or 1 days (idempotent per workspace and milestone)."""
    return trial_notices_send()


@public_task()
def requeue_stuck_events() -> int:
    """Beat: events whose handling crashed past all retries are tried again (still exactly once)."""

    ids = list(unprocessed_events(timezone.now() - STUCK_AFTER).values_list("id", flat=True)[:500])
    for event_id in ids:
        process_stripe_event.delay(event_id)
    return len(ids)
