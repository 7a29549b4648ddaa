"""Signed webhook deliveries: Stripe's `Stripe-Signature` scheme, retries with backoff, manual redelivery.

Deliveries run on one background thread and never hold the emulator's lock while they wait for
the receiver, so a receiver may call the emulator's API back while handling an event (Bosco
re-reads the subscription). The signature timestamp is the real wall clock, not the emulator's
movable clock: the receiver checks it against its own clock with a tolerance.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("devtools.stripe_emulator.webhooks")

# Real Stripe retries for three days; tests want seconds. Configurable per emulator.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0)


def signature_header(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """`t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<payload>">`, as Stripe signs each delivery."""
    ts = int(time.time()) if timestamp is None else timestamp
    signed = f"{ts}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


@dataclass
class Delivery:
    """One attempt to deliver one event."""

    event_id: str
    event_type: str
    attempt: int
    status: int | None  # None: the connection failed
    error: str | None
    at: float


@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    event_id: str = field(compare=False)
    attempt: int = field(compare=False)


class WebhookDeliverer:
    """Sends events to the endpoint in the order they were created; retries failures with backoff."""

    def __init__(
        self,
        *,
        url: str | None,
        secret: str,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.secret = secret
        self.retry_delays = retry_delays
        self.timeout = timeout
        self.paused = False
        self.deliveries: list[Delivery] = []
        self._payloads: dict[str, bytes] = {}
        self._types: dict[str, str] = {}
        self._queue: list[_Pending] = []
        self._held: list[str] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._busy = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="stripe-emulator-webhooks", daemon=True)
        self._thread.start()

    # --- enqueueing -------------------------------------------------------------------------
    def enqueue(self, event: dict[str, Any]) -> None:
        payload = json.dumps(event, indent=2).encode()
        with self._cond:
            self._payloads[event["id"]] = payload
            self._types[event["id"]] = event["type"]
            if self.url is None:
                return
            if self.paused:
                self._held.append(event["id"])
            else:
                self._push(event["id"], attempt=1, delay=0.0)

    def _push(self, event_id: str, *, attempt: int, delay: float) -> None:
        heapq.heappush(self._queue, _Pending(time.monotonic() + delay, next(self._seq), event_id, attempt))
        self._cond.notify_all()

    def pause(self) -> None:
        """Hold new events (they are recorded, not sent) until `resume` or a manual `deliver`."""
        with self._cond:
            self.paused = True

    def resume(self) -> None:
        with self._cond:
            self.paused = False
            held, self._held = self._held, []
            for event_id in held:
                self._push(event_id, attempt=1, delay=0.0)

    def held(self) -> list[str]:
        with self._cond:
            return list(self._held)

    def deliver_now(self, event_id: str) -> Delivery:
        """Send one event at once on the caller's thread (redelivery, out-of-order delivery)."""
        with self._cond:
            if event_id not in self._payloads:
                raise KeyError(event_id)
            if event_id in self._held:
                self._held.remove(event_id)
            attempt = 1 + sum(1 for d in self.deliveries if d.event_id == event_id)
        return self._send(event_id, attempt)

    # --- the delivery thread ----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and (not self._queue or self._queue[0].due > time.monotonic()):
                    wait = self._queue[0].due - time.monotonic() if self._queue else None
                    self._cond.wait(timeout=wait)
                if self._stop:
                    return
                pending = heapq.heappop(self._queue)
                self._busy += 1
            delivery: Delivery | None = None
            try:
                delivery = self._send(pending.event_id, pending.attempt)
            except Exception:  # a bug or a reset mid-delivery must not end the delivery thread
                logger.exception("webhook delivery of %s failed", pending.event_id)
            finally:
                with self._cond:
                    # The retry is queued before the delivery stops counting as busy, so
                    # wait_idle never sees a moment with neither.
                    retry = delivery is not None and not _succeeded(delivery)
                    if retry and pending.attempt <= len(self.retry_delays) and pending.event_id in self._payloads:
                        delay = self.retry_delays[pending.attempt - 1]
                        self._push(pending.event_id, attempt=pending.attempt + 1, delay=delay)
                    self._busy -= 1
                    self._cond.notify_all()

    def _send(self, event_id: str, attempt: int) -> Delivery:
        with self._cond:
            payload, event_type, url = self._payloads[event_id], self._types[event_id], self.url
        status: int | None = None
        error: str | None = None
        if url is None:
            error = "no webhook endpoint configured"
        else:
            request = urllib.request.Request(  # noqa: S310 - the endpoint is the developer's own URL
                url,
                data=payload,
                method="POST",
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": signature_header(payload, self.secret),
                    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # nosec B310 # the endpoint is the developer's own http(s) URL
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (OSError, ValueError) as exc:
                error = str(exc)
        delivery = Delivery(event_id, event_type, attempt, status, error, time.time())
        with self._cond:
            self.deliveries.append(delivery)
        logger.debug("webhook %s attempt %d -> %s %s", event_id, attempt, status, error or "")
        return delivery

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued for now or being sent (retries scheduled later count too)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(timeout=min(left, 0.05))
        return True

    def clear(self) -> None:
        with self._cond:
            self._queue.clear()
            self._held.clear()
            self._payloads.clear()
            self._types.clear()
            self.deliveries.clear()
            self.paused = False

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=5)


def _succeeded(delivery: Delivery) -> bool:
    return delivery.status is not None and 200 <= delivery.status < 300
