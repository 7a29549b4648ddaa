"""Reads of shared account data. Other apps read accounts through here."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from accounts.models import ApiKey, Invitation, Membership, OAuthRoute, User, Workspace
from accounts.roles import Role


def workspaces_for_user(*, user: User) -> QuerySet[Workspace]:
    return (
        Workspace.objects.filter(memberships__user=user).exclude(schema_name=get_public_schema_name()).order_by("name")
    )


def membership_get(*, user: User, workspace: Workspace) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, workspace=workspace).select_related("workspace").first()


def is_member_by_email(*, email: str, workspace: Workspace) -> bool:
    """Whether the person signing in with `email` belongs to `workspace` (e-mails are stored lowercase)."""
    return Membership.objects.filter(workspace=workspace, user__email=email.strip().lower()).exists()


def memberships_for_workspace(*, workspace: Workspace) -> QuerySet[Membership]:
    return Membership.objects.filter(workspace=workspace).select_related("user").order_by("user__email")


def owner_emails(*, workspace: Workspace) -> list[str]:
    return list(Membership.objects.filter(workspace=workspace, role=Role.OWNER).values_list("user__email", flat=True))


def seats_taken(*, workspace: Workspace) -> int:
    """Members plus open invitations: what a plan's member limit counts."""
    return (
        Membership.objects.filter(workspace=workspace).count()
        + open_invitations_for_workspace(workspace=workspace).count()
    )


def open_invitations_for_workspace(*, workspace: Workspace) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        workspace=workspace, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def active_workspaces() -> QuerySet[Workspace]:
    """Every customer workspace (never the public tenant) — what beat fan-outs iterate."""
    return Workspace.objects.exclude(schema_name=get_public_schema_name()).filter(status=Workspace.Status.ACTIVE)


def customer_workspaces() -> QuerySet[Workspace]:
    """Every customer workspace in any status (never the public tenant) — what support looks at."""
    return Workspace.objects.exclude(schema_name=get_public_schema_name())


def customer_workspaces_exist() -> bool:
    """Whether any workspace besides the public tenant exists, in any status (bootstrap migrates them all)."""
    return Workspace.objects.exclude(schema_name=get_public_schema_name()).exists()


def workspace_for_schema(*, schema_name: str) -> Workspace | None:
    """The customer workspace whose schema this is (None for the public schema or an unknown one)."""
    if schema_name == get_public_schema_name():
        return None
    return Workspace.objects.filter(schema_name=schema_name).first()


def oauth_route_workspace(*, state_hash: str) -> Workspace | None:
    """The workspace an unexpired OAuth attempt (by the SHA-256 of its `state`) belongs to."""
    route = (
        OAuthRoute.objects.filter(state_hash=state_hash, expires_at__gt=timezone.now())
        .select_related("workspace")
        .first()
    )
    return route.workspace if route is not None else None


def _origin_parts(request: HttpRequest | None) -> tuple[str, str]:
    """Scheme and ":port" for absolute links: from the current request when there is one."""
    if request is not None:
        port = request.get_port()
        default = "443" if request.is_secure() else "80"
        return request.scheme or "http", "" if port in ("", default) else f":{port}"
    return settings.BOSCO_SCHEME, f":{settings.BOSCO_PORT}" if settings.BOSCO_PORT else ""


def workspace_url(*, workspace: Workspace, path: str = "/", request: HttpRequest | None = None) -> str:
    scheme, port = _origin_parts(request)
    return f"{scheme}://{workspace.slug}.{settings.BOSCO_DOMAIN}{port}{path}"


def public_url(*, path: str = "/", request: HttpRequest | None = None) -> str:
    scheme, port = _origin_parts(request)
    return f"{scheme}://{settings.BOSCO_DOMAIN}{port}{path}"


def api_keys_for_workspace(*, workspace: Workspace) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(workspace=workspace).select_related("created_by")
