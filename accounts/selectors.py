"""Reads of shared account data. Other apps read accounts through here."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
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


def workspace_schemas_behind(*, template: str, chunk: int = 200) -> list[str]:
    """Workspace schemas missing any migration the (just migrated) template has applied.

    One query per `chunk` schemas instead of a `migrate` per schema: on a deploy without new
    migrations, bootstrap then touches no workspace at all. A schema without a migrations table
    counts as behind.
    """
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{template}".django_migrations')  # nosec B608 # settings identifier
        applied = cursor.fetchall()
        apps, names = [a for a, _ in applied], [n for _, n in applied]
        cursor.execute(
            "SELECT w.schema_name, (t.table_name IS NOT NULL) FROM accounts_workspace w"
            " LEFT JOIN information_schema.tables t"
            " ON t.table_schema = w.schema_name AND t.table_name = 'django_migrations'"
            " WHERE w.schema_name <> %s ORDER BY w.schema_name",
            [get_public_schema_name()],
        )
        schemas = cursor.fetchall()
        behind = [name for name, has_table in schemas if not has_table]
        present = [name for name, has_table in schemas if has_table]
        for start in range(0, len(present), chunk):
            part = present[start : start + chunk]
            union = " UNION ALL ".join(
                f"SELECT %s, count(*) FROM {connection.ops.quote_name(name)}.django_migrations m"  # nosec B608 # schema names from accounts_workspace, quoted
                " JOIN unnest(%s::text[], %s::text[]) AS t(app, name) ON t.app = m.app AND t.name = m.name"
                for name in part
            )
            cursor.execute(union, [value for name in part for value in (name, apps, names)])
            behind += [name for name, count in cursor.fetchall() if count < len(applied)]
    return sorted(behind)


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
