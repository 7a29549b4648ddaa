"""Support's impersonation on a workspace host: read-only, and only while it is live.

A session opened by `support.views.impersonation_enter` carries the impersonation's id. On every
request this middleware checks it is still live (support can end it, and it ends by itself after
an hour): if not, the session is signed out. While it is live every write is refused (403), except
ending the impersonation, and `request.impersonation` lets every page show the banner.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django_tenants.utils import get_public_schema_name

from support.services import IMPERSONATION_SESSION_KEY, impersonation_live

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
END_PATH = "/auth/handoff/support/end/"


class ImpersonationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.impersonation = None  # type: ignore[attr-defined]
        tenant = getattr(request, "tenant", None)
        session = getattr(request, "session", None)
        pk = session.get(IMPERSONATION_SESSION_KEY) if session is not None else None
        if pk is None or tenant is None or tenant.schema_name == get_public_schema_name():
            return self.get_response(request)
        impersonation = impersonation_live(pk=pk, schema_name=tenant.schema_name)
        if impersonation is None:
            logout(request)  # ended or expired: the borrowed session is worth nothing
            return HttpResponseRedirect(request.get_full_path())
        request.impersonation = impersonation  # type: ignore[attr-defined]
        if request.method not in SAFE_METHODS and request.path != END_PATH:
            return TemplateResponse(
                request,
                "support/impersonation_refused.html",
                {"impersonation": impersonation},
                status=403,
            ).render()
        return self.get_response(request)
