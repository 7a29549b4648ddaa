"""Pages outside connectors learn of a workspace's sources through the core (`bosco.sources`),
which the connectors app fills when it is ready: the plan page counts connections, the empty
dashboards say whether a source is connected or syncing."""

from __future__ import annotations

import pytest
from django.db import connection as db

from accounts.models import User
from bosco.sources import SourcesSummary, sources_summary
from connectors.models import Connection, SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(tenant, workspace_client):
    client = workspace_client(User.objects.get(email="owner@conn.example"), tenant)
    db.set_tenant(tenant)
    return client


def test_the_connectors_app_registers_the_summary_of_the_workspace_sources(tenant, connect, new_run) -> None:
    assert sources_summary() == SourcesSummary(connections_used=0, has_connection=False, syncing=False)
    google = connect("google_ads")
    gone = connect("meta")
    Connection.objects.filter(pk=gone.pk).update(status=Connection.Status.DISCONNECTED)
    assert sources_summary() == SourcesSummary(connections_used=1, has_connection=True, syncing=False)
    SyncRun.objects.filter(pk=new_run(google).pk).update(status="running")
    assert sources_summary().syncing


def test_plan_page_and_empty_dashboards_show_the_sources(owner, connect, new_run) -> None:
    assert "<strong>0</strong> of" in owner.get("/settings/billing/").content.decode()
    connection = connect("google_ads")
    assert "<strong>1</strong> of" in owner.get("/settings/billing/").content.decode()
    SyncRun.objects.filter(pk=new_run(connection).pk).update(status="running")
    empty = owner.get("/").content.decode()
    assert 'id="dashboard-empty"' in empty
    assert "Your first sync is running" in empty
