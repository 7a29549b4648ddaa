"""Celery entry points of the digests: the beat fan-out and one send (both on shared data)."""

from __future__ import annotations

from bosco.tasks import public_task
from digests import services


@public_task()
def send_due_digests() -> int:
    """Every 15 minutes: claim the digests whose local hour has come (idempotent per member and period)."""
    return len(services.sends_claim_due())


@public_task(max_retries=services.MAX_ATTEMPTS)
def send_digest(send_id: int) -> str:
    """Send one claimed digest; a redelivered or doubled task finds it sending or sent and stops."""
    return services.send_deliver(send_id=send_id)
