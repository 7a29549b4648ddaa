"""allauth hooks: where a signed-in user goes next, who may sign in where, how failures are counted."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.urls import reverse
from django_tenants.utils import get_public_schema_name

from accounts.selectors import is_member_by_email, workspaces_for_user
from bosco import crypto
from bosco.redirects import is_same_host_url


def _workspace_of(request: HttpRequest) -> Any:
    """The workspace whose host this request came to, or None on the public site."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return None
    return tenant


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request: HttpRequest) -> str:
        if _workspace_of(request) is not None:
            return "/"
        if not workspaces_for_user(user=request.user).exists():  # type: ignore[arg-type]
            return reverse("workspace_create")
        return reverse("workspace_home")

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Sign-up happens on the public site; a workspace host only signs members in.
        return _workspace_of(request) is None

    def is_safe_url(self, url: str) -> bool:
        # allauth accepts any host in ALLOWED_HOSTS, and `.<BOSCO_DOMAIN>` matches every workspace
        # host, one of which an attacker can own: `next` may only stay on the host it came to.
        return is_same_host_url(context.request, url)

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth puts the request's host in the key, so each `<slug>.` host would count its own
        # failures; one e-mail has one counter everywhere (the cache key itself is global too,
        # see bosco.cache.make_key).
        return str(credentials.get("email", credentials.get("username", ""))).strip().lower()

    def authenticate(self, request: HttpRequest, **credentials: Any) -> AbstractBaseUser | None:
        """On a workspace host, refuse a non-member before the password is checked.

        The refusal is indistinguishable from a wrong password: it counts against the same rate
        limits, gives the same form error, and still hashes the password once so the answer
        takes as long (as Django's ModelBackend does for an unknown user).
        """
        workspace = _workspace_of(request)
        if workspace is not None and not self._may_sign_in_on(workspace, credentials):
            self.pre_authenticate(request, **credentials)
            get_user_model()().set_password(credentials.get("password") or "")
            self.authentication_failed(request, **credentials)
            return None
        return super().authenticate(request, **credentials)

    @staticmethod
    def _may_sign_in_on(workspace: Any, credentials: dict[str, Any]) -> bool:
        email = credentials.get("email") or credentials.get("username") or ""
        return bool(email) and is_member_by_email(email=str(email), workspace=workspace)


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets and recovery-code seeds are stored encrypted, like OAuth tokens (bosco.crypto)."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)
