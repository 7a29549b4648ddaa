"""Every API error as an RFC 9457 problem document (`application/problem+json`)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

PROBLEM_TYPE_BASE = "https://docs.bosco.invalid/problems/"


class Conflict(exceptions.APIException):
    """409: the request is valid but clashes with the resource's state (a sync already running).

    `extensions` become extra members of the problem document (RFC 9457 §3.2), e.g. the id of
    the run that is already going, so a client can follow it instead of retrying.
    """

    status_code = 409
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"

    def __init__(self, detail: str | None = None, *, code: str | None = None, **extensions: Any) -> None:
        super().__init__(detail, code)
        self.problem_code = code or self.default_code
        self.extensions = extensions


class ProblemResponse(JsonResponse):
    def __init__(
        self, status: int, detail: str, *, code: str | None = None, errors: Any = None, instance: str = ""
    ) -> None:
        super().__init__(problem_body(status, detail, code=code, errors=errors, instance=instance), status=status)
        self["Content-Type"] = "application/problem+json"


def problem_body(
    status: int, detail: str, *, code: str | None = None, errors: Any = None, instance: str = ""
) -> dict[str, Any]:
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    slug = code or title.lower().replace(" ", "-")
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return body


def _flatten(detail: Any, path: str = "") -> list[dict[str, str]]:
    if isinstance(detail, dict):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            out += _flatten(value, f"{path}.{key}" if path else str(key))
        return out
    if isinstance(detail, list):
        out = []
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                out += _flatten(value, f"{path}[{index}]")
            else:
                out.append({"field": path or "non_field_errors", "message": str(value)})
        return out
    return [{"field": path or "non_field_errors", "message": str(detail)}]


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("No such resource in this workspace.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's 500 handling (logged, Sentry)
    request = context.get("request")
    instance = request.path if request is not None else ""
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        body = problem_body(response.status_code, detail, code="invalid-request", errors=errors, instance=instance)
    else:
        raw: Any = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        if isinstance(raw, (list, dict)):
            raw = "; ".join(e["message"] for e in _flatten(raw))
        code = getattr(exc, "problem_code", None) or getattr(exc, "default_code", None)
        body = problem_body(
            response.status_code, str(raw), code=str(code).replace("_", "-") if code else None, instance=instance
        )
        body.update(getattr(exc, "extensions", None) or {})
    response.data = body
    response.content_type = "application/problem+json"
    return response


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """404 for /api/ paths that match no route (Django's handler, not DRF's)."""
    return ProblemResponse(404, "No such API endpoint.", instance=request.path)


def api_server_error(request: HttpRequest) -> JsonResponse:
    return ProblemResponse(500, "The server failed to answer; the error has been logged.", instance=request.path)
