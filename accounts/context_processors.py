from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name

from accounts.selectors import public_url, workspaces_for_user


def workspace(request: HttpRequest) -> dict[str, Any]:
    """The current workspace and the member's role, for the layout (nav, switcher)."""
    tenant = getattr(request, "tenant", None)
    is_workspace = tenant is not None and tenant.schema_name != get_public_schema_name()
    context: dict[str, Any] = {
        "current_workspace": tenant if is_workspace else None,
        "membership": getattr(request, "membership", None),
    }
    if is_workspace and request.user.is_authenticated:
        context["user_workspaces"] = workspaces_for_user(user=request.user)  # type: ignore[arg-type]
        context["public_workspaces_url"] = public_url(path="/workspaces/", request=request)
    return context
