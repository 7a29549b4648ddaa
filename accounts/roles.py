"""Workspace roles and what each may do. Views and the API ask `role_can`, never compare roles."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    ANALYST = "analyst", "Analyst"
    VIEWER = "viewer", "Viewer"


class Permission(models.TextChoices):
    VIEW_DATA = "view_data"
    EXPORT_DATA = "export_data"
    EDIT_INSIGHTS = "edit_insights"  # alerts, budgets, attribution imports
    MANAGE_CONNECTIONS = "manage_connections"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_API_KEYS = "manage_api_keys"
    MANAGE_WORKSPACE = "manage_workspace"
    MANAGE_BILLING = "manage_billing"


_VIEWER = {Permission.VIEW_DATA}
_ANALYST = _VIEWER | {Permission.EXPORT_DATA, Permission.EDIT_INSIGHTS}
_ADMIN = _ANALYST | {
    Permission.MANAGE_CONNECTIONS,
    Permission.MANAGE_MEMBERS,
    Permission.MANAGE_API_KEYS,
    Permission.MANAGE_WORKSPACE,
}
_OWNER = _ADMIN | {Permission.MANAGE_BILLING}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(_OWNER),
    Role.ADMIN: frozenset(_ADMIN),
    Role.ANALYST: frozenset(_ANALYST),
    Role.VIEWER: frozenset(_VIEWER),
}

# Who may hand out which role: an admin cannot mint owners.
ASSIGNABLE_ROLES: dict[str, tuple[str, ...]] = {
    Role.OWNER: (Role.OWNER, Role.ADMIN, Role.ANALYST, Role.VIEWER),
    Role.ADMIN: (Role.ADMIN, Role.ANALYST, Role.VIEWER),
}


def role_can(role: str, permission: str) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
