"""Read-only workspaces (trial over, unpaid) refuse every page write in one place.

The API does the same in its base view (bosco.api.viewsets), after authentication, so a caller
who is not a member learns nothing about the workspace's billing.

Reads keep working, so people still see their data; what stays writable is what a person needs
to get out of the state: billing itself (subscribe, manage), signing out, and the host handoff.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django_tenants.utils import get_public_schema_name

from billing.entitlements import UPGRADE_HINT, for_workspace

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
ALWAYS_WRITABLE = ("/settings/billing/", "/accounts/", "/auth/")


class ReadOnlyWorkspaceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if (
            request.method in SAFE_METHODS
            or tenant is None
            or tenant.schema_name == get_public_schema_name()
            or request.path.startswith(ALWAYS_WRITABLE)
            or request.path.startswith("/api/")
            or getattr(request, "membership", None) is None
        ):
            return self.get_response(request)
        plan = for_workspace(tenant.schema_name)
        if not plan.read_only:
            return self.get_response(request)
        message = f"{plan.read_only_reason} Your data is kept and shown; changes are paused. {UPGRADE_HINT}"
        return TemplateResponse(request, "billing/read_only.html", {"message": message}, status=403).render()
