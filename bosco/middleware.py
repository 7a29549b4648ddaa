"""Project-wide middleware that is not about a particular app."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DataError
from django.http import HttpRequest, HttpResponse
from django.template import loader

from bosco import health
from bosco import logging as bosco_logging
from bosco.api.exceptions import ProblemResponse
from bosco.formatting import using_number_format
from bosco.metrics import REQUEST_LATENCY

# A request id from the load balancer is kept if it looks like one; anything else is replaced, so a
# client cannot write arbitrary text into every log line of its request.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_PROBES = {"/healthz": "healthz", "/readyz": "readyz"}


def view_label(request: HttpRequest) -> str:
    """A bounded label for metrics: the URL name (namespaced), else what answered before routing."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or f"{match.func.__module__}.{match.func.__name__}"
    return _PROBES.get(request.path, "unresolved")


class RequestContextMiddleware:
    """Gives each request an id (X-Request-ID in and out), binds it and the request for the logs,
    and records the request's latency by view, method and status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = bosco_logging.bind(request_id=request_id, request=request)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            bosco_logging.unbind(token)
        method = request.method if request.method in _METHODS else "other"
        REQUEST_LATENCY.labels(view_label(request), method, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        response["X-Request-ID"] = request_id
        return response


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


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


NUL = "\x00"


def nul_bytes_refused(request: HttpRequest, detail: str) -> HttpResponse:
    """400 saying why: a problem document under /api/, a plain error page elsewhere."""
    if request.path.startswith("/api/"):
        return ProblemResponse(400, detail, code="nul-character", instance=request.path.replace(NUL, ""))
    body = loader.render_to_string("400_nul.html", {"detail": detail})
    return HttpResponse(body, status=400)


def _nul_outside_the_body(request: HttpRequest) -> str | None:
    """Where a NUL hides outside a form body: the path, a query parameter, a header or a cookie.

    The API's paths and parameters are left to the API: it validates them after authentication,
    so a caller without a valid key always gets 401 first, and its validation refuses NUL.
    """
    if not request.path.startswith("/api/"):
        if NUL in request.path:
            return "The address contains a NUL character."
        for name, values in request.GET.lists():
            if NUL in name or any(NUL in value for value in values):
                return f"The parameter “{name.replace(NUL, '')}” contains a NUL character."
    for name, value in request.headers.items():
        if NUL in value:
            return f"The header “{name}” contains a NUL character."
    for name, value in request.COOKIES.items():
        if NUL in name or NUL in value:
            return "A cookie contains a NUL character."
    return None


class RejectNulBytesMiddleware:
    """Answers 400 for a NUL character anywhere Bosco reads text outside a form body.

    PostgreSQL text cannot hold NUL, so a NUL that reaches a query fails it with a DataError
    (a 500). Page paths and query strings, headers and cookies are refused here, before tenant routing
    and any database access. Form fields are left to the services behind each form, which answer
    a field error and keep the rest of the input; a NUL that still reaches the database is
    answered 400 by `process_exception` instead of 500.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = _nul_outside_the_body(request)
        if problem:
            return nul_bytes_refused(request, problem)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DataError) and "NUL" in str(exception):
            return nul_bytes_refused(request, "A field contains a NUL character, which Bosco cannot store.")
        return None


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

    #: where the plan page's forms go (Stripe Checkout and the billing portal, by redirect)
    STRIPE_PAGE_ORIGINS = ("https://checkout.stripe.com", "https://billing.stripe.com")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._policies: dict[str, str] = {}

    @classmethod
    def _stripe_origins(cls, api_base: str) -> tuple[str, ...]:
        """Stripe's hosted pages, or the local emulator's origin when STRIPE_API_BASE points at one."""
        if not api_base:
            return cls.STRIPE_PAGE_ORIGINS

        parts = urlsplit(api_base)
        return (f"{parts.scheme}://{parts.netloc}",)

    def policy(self) -> str:
        # Built once per Stripe API base (tests point it at an emulator on a fresh port).
        api_base = getattr(settings, "STRIPE_API_BASE", "") or ""
        policy = self._policies.get(api_base)
        if policy is None:
            domain = settings.BOSCO_DOMAIN
            form_targets = [
                "'self'",
                f"http://*.{domain}:*",
                f"https://*.{domain}",
                *self._stripe_origins(api_base),
                *settings.CSP_FORM_ACTION_EXTRA,
            ]
            policy = self._policies[api_base] = "; ".join(
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
        return policy

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The API docs pages (Swagger UI, ReDoc) bring their own inline bootstrap script.
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy()
        return response
