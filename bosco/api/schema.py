"""The OpenAPI description: authentication schemes, and the problem responses every operation has.

`ProblemAutoSchema` is set on the base views (`bosco.api.viewsets`), so every endpoint documents
the RFC 9457 problem documents it can answer (400/401/403/404/406/429, 409 and 415 where they
apply) without each `extend_schema` repeating them. Schemathesis checks real responses against
this description, so it has to be exact.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "bosco.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "bsk_<prefix>_<secret>",
            "description": "A workspace API key, created in Settings → API keys.",
        }


class SessionScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "bosco.api.authentication.CsrfSessionAuthentication"
    name = "Session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "A signed-in member's browser session; unsafe methods need the X-CSRFToken header.",
        }


class ProblemFieldError(serializers.Serializer):
    field = serializers.CharField(help_text="The parameter or body field, dotted for nested ones.")
    message = serializers.CharField()


class Problem(serializers.Serializer):
    """An RFC 9457 problem document: what went wrong, for people and for programs."""

    type = serializers.CharField(help_text="A URI naming the kind of problem; stable, compare on it.")
    title = serializers.CharField(help_text="The HTTP status phrase.")
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="What is wrong with this request, in words.")
    instance = serializers.CharField(required=False, help_text="The request path.")
    errors = ProblemFieldError(  # type: ignore[assignment]  # a declared field, not Serializer.errors
        many=True, required=False, help_text="One entry per invalid parameter."
    )
    sync_run = serializers.IntegerField(
        required=False, help_text="409 on a sync request: the id of the run that is already queued or running."
    )


#: status → when it happens; added to every operation unless the operation documents it itself
_COMMON = {
    "400": "The request's parameters are invalid; `errors` says which and why.",
    "401": "No credentials, or an API key that is revoked, unknown or for another workspace.",
    "403": "The key is read-only or the member's role does not allow this (or the CSRF token is missing).",
    "404": "No such resource in this workspace (the same answer whether it never existed or is another's).",
    "406": "The Accept header asks for a format this endpoint does not produce.",
    "429": "Too many requests for this key or member; retry after `Retry-After` seconds.",
}
_UNSAFE = {
    "409": "The resource's state does not allow this now.",
    "415": "The request body is not JSON.",
}


class ProblemAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        extra = {**_COMMON, **(_UNSAFE if self.method not in ("GET", "HEAD", "OPTIONS") else {})}
        for code, description in extra.items():
            if code not in responses:
                entry = self._get_response_for_code(Problem, code, media_types=[PROBLEM_MEDIA_TYPE])
                entry["description"] = description
                if code == "429":
                    entry["headers"] = {
                        "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
                    }
                responses[code] = entry
        return responses
