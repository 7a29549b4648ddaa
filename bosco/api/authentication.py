"""API keys (`Authorization: Bearer bsk_…`) and browser sessions (with CSRF enforced)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts import services
from accounts.models import ApiKey
from bosco.api.failed_auth import failed_authentication_record, failed_authentication_wait


class ApiKeyUser(AnonymousUser):
    """The principal of a request made with an API key: no person, one workspace, one scope."""

    def __init__(self, key: ApiKey) -> None:
        super().__init__()
        self.api_key = key

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKeyUser, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        raw = None
        if header:
            parts = header.split()
            if len(parts) != 2 or parts[0] != self.keyword:
                raise exceptions.AuthenticationFailed("Use the header `Authorization: Bearer <api key>`.")
            raw = parts[1]
        elif request.headers.get("X-Api-Key"):
            raw = request.headers["X-Api-Key"].strip()
        if raw is None:
            return None
        # An address that failed too often is refused before its key is looked at: no guess,
        # right or wrong, is checked until its minute is over.
        wait = failed_authentication_wait(request)
        if wait is not None:
            raise exceptions.Throttled(wait=wait, detail="Too many failed API-key checks from this address.")
        key = services.api_key_authenticate(raw_key=raw)
        tenant = getattr(request._request, "tenant", None)
        # A key is valid only on its own workspace's host: anywhere else it is simply wrong.
        if key is None or tenant is None or key.workspace_id != tenant.pk:
            failed_authentication_record(request)
            raise exceptions.AuthenticationFailed("Invalid or revoked API key for this workspace.")
        services.api_key_touch(key=key)
        return ApiKeyUser(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class CsrfSessionAuthentication(authentication.SessionAuthentication):
    """Session auth for the browser (HTMX / docs "try it out"); DRF enforces CSRF on unsafe methods."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        # Membership first: a signed-in non-member (a staff user, another workspace's member)
        # gets the same 401 as no credentials on every method, never a CSRF 403 that would
        # tell them the route accepts their session.
        if getattr(request._request, "membership", None) is None:
            return None
        return super().authenticate(request)
