"""Requests per minute per API key (or per signed-in member), at the rate of the workspace's plan.

A sliding-window counter on atomic Redis increments: each key counts its requests in the
current minute (`INCR`, so concurrent requests on any number of workers each see their own
count and no update is lost), and the previous minute's count still weighs by the share of it
that the sliding 60-second window overlaps. DRF's stock throttle keeps a list of timestamps it
reads, appends to and writes back, so two workers answering at once could both let a request
through over the limit.

A refused request is taken back off the count (it did no work), and Retry-After says when the
window will have room again.
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from billing.plans import entitlements_for
from bosco.api.authentication import ApiKeyUser

WINDOW_SECONDS = 60


def _count(current: str, previous: str) -> tuple[int, int]:
    """Count one more request under `current` and read `previous`, in one round trip.

    INCR is atomic (concurrent requests each get their own count) and creates a missing key at
    1; the key lives for two windows so the next minute can still weigh it. The keys go through
    the cache's key function (workspace schema prefix) like every other cache key.
    """
    current_key, previous_key = cache.make_and_validate_key(current), cache.make_and_validate_key(previous)
    pipe = cache.raw_client(write=True).pipeline(transaction=True)  # type: ignore[attr-defined]
    pipe.incr(current_key)
    pipe.expire(current_key, 2 * WINDOW_SECONDS)
    pipe.get(previous_key)
    count, _, before = pipe.execute()
    return int(count), int(before or 0)


class PlanRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        tenant = getattr(request._request, "tenant", None)
        if tenant is None:
            return True
        limit = entitlements_for(tenant.plan).api_requests_per_minute
        base = self.cache_key(request)
        window, elapsed = divmod(time.time(), WINDOW_SECONDS)
        current_key = f"{base}:{int(window)}"
        count, previous = _count(current_key, f"{base}:{int(window) - 1}")
        overlap = 1.0 - elapsed / WINDOW_SECONDS
        if previous * overlap + count <= limit:
            return True
        cache.decr(current_key)
        self._wait = self._seconds_until_room(limit, count - 1, previous, elapsed)
        return False

    @staticmethod
    def _seconds_until_room(limit: int, count: int, previous: int, elapsed: float) -> float:
        """When one more request fits: the previous minute's weight shrinks as the window slides;
        if this minute alone is full, the next minute (whose previous is this one) decides."""
        if count + 1 <= limit and previous > 0:
            # previous * (1 - e / W) + count + 1 <= limit  <=>  e >= W * (1 - (limit - count - 1) / previous)
            needed = WINDOW_SECONDS * (1.0 - (limit - count - 1) / previous)
            return max(needed - elapsed, 1.0)
        rest = WINDOW_SECONDS - elapsed
        if limit <= 0:
            return rest + WINDOW_SECONDS
        # next minute: count * (1 - e / W) + 1 <= limit
        needed_next = WINDOW_SECONDS * max(0.0, 1.0 - (limit - 1) / count) if count else 0.0
        return max(rest + needed_next, 1.0)

    def wait(self) -> float | None:
        return math.ceil(self._wait) if self._wait is not None else None

    def cache_key(self, request: Request) -> str:
        user = request.user
        if isinstance(user, ApiKeyUser):
            ident = f"key:{user.api_key.pk}"
        elif user and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return f"throttle:plan:{ident}"
