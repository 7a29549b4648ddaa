"""Failed API-key checks, throttled per client address.

Key guessing is refused before the key is even looked up: after API_AUTH_FAILURES_PER_MINUTE
failed checks within a minute of the first one, every request from that address that presents a
key gets 429 (with Retry-After) until the minute is over. The counter is global (a `global:` key,
see bosco.cache.make_key), so failures on every workspace host add up, and it lives in Redis, so
every worker process sees the same count.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

WINDOW_SECONDS = 60


def client_ip(request: Any) -> str:
    """The caller's address: REMOTE_ADDR, or the X-Forwarded-For entry added by the last of
    REST_FRAMEWORK["NUM_PROXIES"] trusted proxies (BOSCO_TRUSTED_PROXY_COUNT; 0 = no proxy,
    the header is ignored, so a client cannot pick its own address)."""
    return BaseThrottle().get_ident(request) or "unknown"


def _failed_auth_key(request: Any) -> str:
    return cache.make_and_validate_key(f"global:throttle:api-auth-failed:{client_ip(request)}")


def failed_authentication_wait(request: Any) -> int | None:
    """Seconds until this address may present a key again, or None when it may now."""
    pipe = cache.raw_client(write=False).pipeline(transaction=False)  # type: ignore[attr-defined]
    key = _failed_auth_key(request)
    pipe.get(key)
    pipe.pttl(key)
    count, pttl = pipe.execute()
    if int(count or 0) < settings.API_AUTH_FAILURES_PER_MINUTE:
        return None
    # Redis rounds TTL to the nearest second; a Retry-After that ends before the window does
    # would send the client back too early, so round the milliseconds up.
    return max(math.ceil(int(pttl) / 1000), 1)


def failed_authentication_record(request: Any) -> None:
    """Count one failed key check; the first failure starts the address's one-minute window."""
    key = _failed_auth_key(request)
    pipe = cache.raw_client(write=True).pipeline(transaction=True)  # type: ignore[attr-defined]
    pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)
    pipe.incr(key)
    pipe.execute()
