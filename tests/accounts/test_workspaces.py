"""Tenancy: hosts, isolation between workspaces, half-made workspaces, the admin, handoffs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from accounts import services
from accounts.models import Domain, LoginHandoff, Membership, User, Workspace
from tests.conftest import PASSWORD, host_of, staff_admin_client

pytestmark = pytest.mark.django_db


def test_unknown_host_is_404_never_the_public_site() -> None:
    response = Client(HTTP_HOST=f"nosuch.{settings.BOSCO_DOMAIN}").get("/")
    assert response.status_code == 404
    assert b"Start your free trial" not in response.content


def test_public_host_does_not_serve_workspace_routes(make_user, workspace_client) -> None:
    client = workspace_client(make_user("p@example.com"))
    assert client.get("/settings/").status_code == 404
    assert client.get("/auth/handoff/?token=x").status_code == 404


def test_public_site_pages_render() -> None:
    public = Client(HTTP_HOST=settings.BOSCO_DOMAIN)
    assert b"Start your free trial" in public.get("/").content
    assert b"Pricing" in public.get("/pricing/").content
    assert public.get("/accounts/login/").status_code == 200
    assert public.get("/accounts/signup/").status_code == 200


def test_anonymous_visitor_of_a_workspace_gets_its_login_page(make_workspace) -> None:
    acme = make_workspace("acme")
    response = Client(HTTP_HOST=host_of(acme)).get("/settings/team/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/settings/team/")


def test_non_member_gets_404_on_another_workspace(make_workspace, make_user, workspace_client) -> None:
    acme = make_workspace("acme")
    globex = make_workspace("globex")
    stranger = make_user("stranger@example.com")
    Membership.objects.create(user=stranger, workspace=globex, role="owner")
    client = workspace_client(stranger, acme)
    for path in ("/", "/settings/", "/settings/team/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"Acme" not in response.content


def test_second_workspace_sees_none_of_the_firsts_members_or_invitations(make_workspace, workspace_client) -> None:
    acme = make_workspace("acme")
    globex = make_workspace("globex")
    acme_owner = Membership.objects.get(workspace=acme).user
    services.invitation_create(
        workspace=acme,
        invited_by=Membership.objects.get(workspace=acme),
        email="secret-hire@acme.example",
        role="viewer",
    )
    globex_owner = Membership.objects.get(workspace=globex).user
    page = workspace_client(globex_owner, globex).get("/settings/team/").content
    assert acme_owner.email.encode() not in page
    assert b"secret-hire@acme.example" not in page
    page = workspace_client(acme_owner, acme).get("/settings/team/").content
    assert b"secret-hire@acme.example" in page


def test_tenant_tables_are_per_workspace_schema(make_workspace) -> None:
    """Every model of a tenant app lives in each workspace's own schema, not in public.

    `tracking` is in both app lists; its router keeps two of its models in public only (the collect
    endpoint reads them before any workspace is known; tests/tracking/test_schema.py checks them).
    """
    from django.apps import apps

    from tracking.routers import PUBLIC_MODELS

    acme = make_workspace("acme")
    globex = make_workspace("globex")
    tenant_tables = [
        model._meta.db_table
        for app in settings.TENANT_APPS
        for model in apps.get_app_config(app.split(".")[-1]).get_models()
        if model._meta.managed
        and not model._meta.proxy
        and not (model._meta.app_label == "tracking" and model._meta.model_name in PUBLIC_MODELS)
    ]
    assert "tracking_event" in tenant_tables
    assert tenant_tables, "tenant apps define models"
    with connection.cursor() as cursor:
        for table in tenant_tables:
            cursor.execute(
                "SELECT array_agg(table_schema::text ORDER BY table_schema) FROM information_schema.tables WHERE table_name = %s",
                [table],
            )
            schemas = set(cursor.fetchone()[0])
            assert {acme.schema_name, globex.schema_name} <= schemas, table
            assert "public" not in schemas, table


def test_workspace_creation_failing_half_way_leaves_nothing(make_user, monkeypatch) -> None:
    owner = make_user("half@example.com")

    def explode(*args, **kwargs):
        raise RuntimeError("disk full while creating the membership")

    monkeypatch.setattr(Membership.objects, "create", explode)
    with pytest.raises(RuntimeError):
        services.workspace_create(owner=owner, name="Half", slug="half")
    assert not Workspace.objects.filter(slug="half").exists()
    assert not Domain.objects.filter(domain__startswith="half.").exists()
    assert not schema_exists("ws_half")
    assert not Membership.objects.filter(user=owner).exists()
    assert connection.schema_name == "public"


def test_workspace_is_cloned_from_the_template_with_its_migrations_recorded(make_workspace) -> None:
    acme = make_workspace("acme")
    with schema_context(acme.schema_name), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations")
        acme_migrations = cursor.fetchone()[0]
    with schema_context(settings.TENANT_BASE_SCHEMA), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations")
        template_migrations = cursor.fetchone()[0]
    assert acme_migrations == template_migrations > 0


def test_user_in_several_workspaces_switches_between_them(make_workspace, make_user, workspace_client) -> None:
    agency = make_user("agency@example.com")
    one = make_workspace("client-one", owner=agency)
    two = make_workspace("client-two", owner=agency)
    client = workspace_client(agency, one)
    page = client.get("/").content
    assert b"Client-One" in page and b"Client-Two" in page  # the switcher lists both
    response = client.get(f"/switch/{two.slug}/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"http://{host_of(two)}")
    path = response["Location"].split(host_of(two), 1)[1].lstrip(":0123456789")
    other_host = Client(HTTP_HOST=host_of(two))
    assert other_host.get(path).status_code == 302
    assert other_host.get("/").status_code == 200
    # Switching to a workspace one is not a member of is a 404.
    make_workspace("outsider")
    assert client.get("/switch/outsider/").status_code == 404


def test_session_signed_in_on_one_host_is_anonymous_on_another(make_workspace, workspace_client) -> None:
    acme = make_workspace("acme")
    globex = make_workspace("globex")
    owner = Membership.objects.get(workspace=acme).user
    Membership.objects.create(user=owner, workspace=globex, role="viewer")
    client = workspace_client(owner, acme)
    assert client.get("/").status_code == 200
    # The same cookie presented on another workspace's host (copied by hand, or a bug).
    client.defaults["HTTP_HOST"] = host_of(globex)
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_handoff_ticket_is_bound_to_its_host_and_expires(make_workspace) -> None:
    acme = make_workspace("acme")
    globex = make_workspace("globex")
    owner = Membership.objects.get(workspace=acme).user
    Membership.objects.create(user=owner, workspace=globex, role="viewer")
    token = services.handoff_create(user=owner, workspace=acme)
    # Presented on the wrong host, it does nothing.
    response = Client(HTTP_HOST=host_of(globex)).get(f"/auth/handoff/?token={token}")
    assert "/accounts/login/" in response["Location"]
    # Expired, it does nothing.
    LoginHandoff.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client(HTTP_HOST=host_of(acme)).get(f"/auth/handoff/?token={token}")
    assert "/accounts/login/" in response["Location"]
    # A member cannot mint a ticket for a workspace they are not in.
    outsider = make_workspace("outsider")
    with pytest.raises(services.AccountsError):
        services.handoff_create(user=owner, workspace=outsider)


def test_member_can_sign_in_directly_on_the_workspace_host(make_workspace) -> None:
    acme = make_workspace("acme")
    owner = Membership.objects.get(workspace=acme).user
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=owner).update(verified=True)
    client = Client(HTTP_HOST=host_of(acme))
    response = client.post("/accounts/login/", {"login": owner.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_admin_is_for_staff_only_and_only_on_the_public_site(make_workspace, make_user, workspace_client) -> None:
    make_workspace("acme")
    regular = workspace_client(make_user("regular@example.com"))
    response = regular.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    staff_user = make_user("support@bosco.example", is_staff=True, is_superuser=True)
    staff = staff_admin_client(staff_user)
    page = staff.get("/admin/accounts/workspace/")
    assert page.status_code == 200
    assert b"acme" in page.content
    assert b">public<" not in page.content  # the public tenant is not a customer workspace
    for path in ("/admin/accounts/user/", "/admin/accounts/membership/", "/admin/accounts/invitation/"):
        assert staff.get(path).status_code == 200, path
    acme = Workspace.objects.get(slug="acme")
    assert staff.get(f"/admin/accounts/workspace/{acme.pk}/change/").status_code == 200
    # No admin on a workspace host, even for staff.
    Membership.objects.create(user=staff_user, workspace=acme, role="viewer")
    assert workspace_client(staff_user, acme).get("/admin/").status_code == 404


def test_workspace_settings_change_by_admin_and_not_by_viewer(make_workspace, make_user, workspace_client) -> None:
    acme = make_workspace("acme")
    owner = Membership.objects.get(workspace=acme).user
    viewer = make_user("viewer@example.com")
    Membership.objects.create(user=viewer, workspace=acme, role="viewer")
    data = {"name": "Acme Europe", "reporting_currency": "GBP", "time_zone": "Europe/London"}
    assert workspace_client(viewer, acme).post("/settings/", data).status_code == 403
    acme.refresh_from_db()
    assert acme.name == "Acme"
    assert workspace_client(owner, acme).post("/settings/", data).status_code == 302
    acme.refresh_from_db()
    assert (acme.name, acme.reporting_currency, acme.time_zone) == ("Acme Europe", "GBP", "Europe/London")
    bad = workspace_client(owner, acme).post("/settings/", {**data, "reporting_currency": "ZZZ"})
    assert bad.status_code == 400


def test_users_are_stored_lowercase_and_unique(db) -> None:
    User.objects.create_user("Mixed@Example.COM", PASSWORD)
    assert User.objects.filter(email="mixed@example.com").exists()
