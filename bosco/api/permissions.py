"""Who may call what: API-key scopes and workspace roles, decided in one place."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from accounts.roles import Permission, role_can
from bosco.api.authentication import ApiKeyUser


class WorkspaceAccess(permissions.BasePermission):
    """Authenticated for this workspace; writes need a read-write key or a role with `write_permission`."""

    message = "Authentication credentials for this workspace are required."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            needed = getattr(view, "read_permission", Permission.VIEW_DATA)
        else:
            needed = getattr(view, "write_permission", Permission.MANAGE_CONNECTIONS)
        if isinstance(user, ApiKeyUser):
            if request.method in permissions.SAFE_METHODS:
                return True
            self.message = "This API key is read-only; create a read-write key to make changes."
            return user.api_key.can_write
        membership = getattr(request._request, "membership", None)
        if membership is None or not role_can(membership.role, needed):
            self.message = "Your role in this workspace does not allow this."
            return False
        return True
