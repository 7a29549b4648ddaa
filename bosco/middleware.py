"""Project-wide middleware that is not about a particular app."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from bosco import health
from bosco.formatting import using_number_format


class HealthCheckMiddleware:
    """Answers /healthz and /readyz before tenant routing.

    Probes come from load balancers and orchestrators that address the pod by IP, not by a
    workspace host; the answers hold no workspace data, so they skip host validation.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            if request.path == "/healthz":
                return health.healthz(request)
            if request.path == "/readyz":
                return health.readyz(request)
        return self.get_response(request)


class NumberFormatMiddleware:
    """Pages on a workspace host write numbers in the workspace's number format (1.234,50 €)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        with using_number_format(getattr(tenant, "number_format", None)):
            return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Sets a strict CSP: every script, style, font and image comes from Bosco itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        domain = settings.BOSCO_DOMAIN
        form_targets = ["'self'", f"http://*.{domain}:*", f"https://*.{domain}", *settings.CSP_FORM_ACTION_EXTRA]
        self.policy = "; ".join(
            [
                "default-src 'self'",
                "script-src 'self'",
                # Plotly and htmx set element styles at run time.
                "style-src 'self' 'unsafe-inline'",
                "img-src 'self' data: blob:",
                "font-src 'self' data:",
                "connect-src 'self'",
                "object-src 'none'",
                "base-uri 'self'",
                "frame-ancestors 'none'",
                "form-action " + " ".join(form_targets),
            ]
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The API docs pages (Swagger UI, ReDoc) bring their own inline bootstrap script.
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response
