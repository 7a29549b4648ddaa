"""Support's facts that workspace pages show (templates compose apps by name, Python does not)."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.roles import Role
from support.selectors import impersonations_for_workspace

register = template.Library()


@register.inclusion_tag("support/visits.html", takes_context=True)
def support_visits(context: dict[str, Any]) -> dict[str, Any]:
    """For the workspace's owners: when, who and why Bosco support looked at it as a member."""
    request = context.get("request")
    membership = getattr(request, "membership", None)
    tenant = getattr(request, "tenant", None)
    if membership is None or tenant is None or membership.role != Role.OWNER:
        return {"show": False}
    return {"show": True, "visits": list(impersonations_for_workspace(workspace=tenant, limit=20))}
