"""allauth hooks: where a signed-in user goes next."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest
from django.urls import reverse
from django_tenants.utils import get_public_schema_name

from accounts.selectors import workspaces_for_user


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request: HttpRequest) -> str:
        tenant = getattr(request, "tenant", None)
        if tenant is not None and tenant.schema_name != get_public_schema_name():
            return "/"
        if not workspaces_for_user(user=request.user).exists():  # type: ignore[arg-type]
            return reverse("workspace_create")
        return reverse("workspace_home")

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Sign-up happens on the public site; a workspace host only signs members in.
        tenant = getattr(request, "tenant", None)
        return tenant is None or tenant.schema_name == get_public_schema_name()
