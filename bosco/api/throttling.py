"""Requests per minute per API key (or per signed-in member), at the rate of the workspace's plan."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from billing.plans import entitlements_for
from bosco.api.authentication import ApiKeyUser


class PlanRateThrottle(SimpleRateThrottle):
    scope = "plan"

    def __init__(self) -> None:  # the rate depends on the request's workspace, set in allow_request
        self.rate = None
        self.num_requests, self.duration = 0, 60

    def allow_request(self, request: Request, view: Any) -> bool:
        tenant = getattr(request._request, "tenant", None)
        if tenant is None:
            return True
        self.num_requests = entitlements_for(tenant.plan).api_requests_per_minute
        self.duration = 60
        self.rate = f"{self.num_requests}/min"
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        user = request.user
        if isinstance(user, ApiKeyUser):
            ident = f"key:{user.api_key.pk}"
        elif user and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return f"throttle:plan:{ident}"
