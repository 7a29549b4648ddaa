"""Fixtures of the support console's tests: a staff member past the second factor, a workspace
with connections and runs in its schema."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User, Workspace
from tests.conftest import staff_admin_client


@pytest.fixture
def staff(make_user: Any) -> User:
    return make_user("support@bosco.example", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(staff: User) -> Client:
    """The admin on the public host, signed in with the second factor (TOTP recovery code)."""
    return staff_admin_client(staff)


def add_connection(workspace: Workspace, *, status: str = "active", selected: bool = True, **fields: Any) -> int:
    from connectors.models import Connection, ConnectionAccount

    with schema_context(workspace.schema_name):
        connection = Connection.objects.create(
            platform="meta", label="Meta main", lookback_days=3, backfill_days=30, status=status, **fields
        )
        ConnectionAccount.objects.create(connection=connection, external_id="act_1", name="Main", selected=selected)
        _checks_now()
        return connection.pk


def add_run(workspace: Workspace, connection_id: int, *, status: str, error_message: str = "") -> int:
    from django.utils import timezone

    from connectors.models import SyncRun

    with schema_context(workspace.schema_name):
        pk = SyncRun.objects.create(
            connection_id=connection_id,
            kind="scheduled",
            status=status,
            finished_at=timezone.now(),
            error_code="server_error" if error_message else "",
            error_message=error_message,
        ).pk
        _checks_now()
        return pk


def _checks_now() -> None:
    """Inside a test's transaction: run the deferred FK checks now, so the schema can be dropped later."""
    from django.db import connection

    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def action_url(workspace: Workspace, action: str) -> str:
    return f"/admin/support/workspacehealth/workspace/{workspace.pk}/{action}/"
