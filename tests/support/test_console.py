"""The support console through the admin, with a real staff session that passed the second factor:
each action needs a reason and leaves exactly one audit entry; the audit cannot be edited or
deleted; the health list and its "anything wrong" filter; the drill-down to a workspace's runs;
suspending a workspace (read-only, syncs stop, reversible)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Membership, Workspace
from accounts.roles import Role
from billing import entitlements
from billing.models import BillingAccount
from digests.models import DigestSend
from support.models import AuditEntry, Impersonation, WorkspaceExport, WorkspaceHealth
from support.services import health_refresh
from tests.conftest import host_of, login_client
from tests.support.conftest import action_url, add_connection, add_run

pytestmark = pytest.mark.django_db

REASON = "Customer asked in ticket #4711"


@pytest.fixture
def acme(make_workspace: Any) -> Workspace:
    return make_workspace("acme")


def _entries(workspace: Workspace) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(workspace_slug=workspace.slug).order_by("pk"))


def _post(client: Client, workspace: Workspace, action: str, data: dict[str, Any]) -> Any:
    return client.post(action_url(workspace, action), data)


def test_every_action_needs_a_reason_and_leaves_one_audit_entry(admin_client: Client, acme: Workspace, staff) -> None:
    from connectors.models import Connection, SyncRun

    conn = add_connection(acme)
    failed = add_run(acme, conn, status="failed", error_message="Meta answered 500 three times")
    member = Membership.objects.get(workspace=acme, role=Role.OWNER).user
    in_a_month = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%d %H:%M")
    cases = [
        ("resync", {"connection": conn}),
        ("resync", {"connection": conn, "date_from": (timezone.localdate() - timedelta(days=10)).isoformat()}),
        ("retry", {"run": failed}),
        ("pause", {"connection": conn}),
        ("extend_trial", {"trial_end": in_a_month}),
        ("grant_plan", {"plan": "agency", "until": ""}),
        ("suspend", {}),
        ("reactivate", {}),
        ("export", {}),
        ("resend_digest", {"member": member.pk}),
        ("impersonate", {"member": member.pk}),
    ]
    expected_actions = []
    for action, data in cases:
        # Without a reason: refused, nothing recorded, nothing done.
        before = len(_entries(acme))
        refused = _post(admin_client, acme, action, data)
        assert refused.status_code == 400, action
        assert len(_entries(acme)) == before, f"{action} without a reason recorded nothing"
        # With one: done and recorded once.
        response = _post(admin_client, acme, action, {**data, "reason": REASON})
        assert response.status_code == 302, (action, response.content[:2000])
        expected_actions.append(action)
        with schema_context(acme.schema_name):
            # run the next case against a connection that can take it again
            if action == "resync":
                SyncRun.objects.filter(status__in=("queued", "running")).update(status="cancelled")

    entries = _entries(acme)
    assert [e.action for e in entries] == [
        "resync",
        "resync_range",
        "retry_run",
        "pause_connection",
        "extend_trial",
        "grant_plan",
        "suspend",
        "reactivate",
        "export",
        "digest_resend",
        "impersonate",
    ]
    assert all(e.reason == REASON and e.actor_email == staff.email and e.workspace_id == acme.pk for e in entries)
    assert entries[1].detail["date_from"] == (timezone.localdate() - timedelta(days=10)).isoformat()
    assert entries[2].detail["failed_run_id"] == failed
    assert entries[5].detail["after"]["status"] == "comped", "billing's own record is copied into the audit"
    # ... and each did what it says.
    with schema_context(acme.schema_name):
        assert Connection.objects.get(pk=conn).status == "paused"
        assert SyncRun.objects.filter(kind="manual", requested_by_id=staff.pk).count() == 3
    account = BillingAccount.objects.get(workspace=acme)
    assert (account.status, account.plan) == ("comped", "agency")
    assert Workspace.objects.get(pk=acme.pk).status == "active", "suspended, then reactivated"
    assert WorkspaceExport.objects.filter(workspace=acme, then_delete=False).count() == 1
    assert Impersonation.objects.filter(workspace=acme, member=member, reason=REASON).count() == 1
    resent = DigestSend.objects.get(user=member, kind="manual")
    assert resent.schemas == [acme.schema_name] and entries[9].detail["digest_send"] == resent.pk

    # The workspace's page lists the audit log for support.
    page = admin_client.get(f"/admin/support/workspacehealth/workspace/{acme.pk}/")
    assert page.status_code == 200
    assert page.content.decode().count(REASON) >= 11


def test_the_billing_admins_own_actions_land_in_the_same_audit(admin_client: Client, acme: Workspace) -> None:
    account = BillingAccount.objects.get(workspace=acme)
    until = (timezone.now() + timedelta(days=40)).strftime("%Y-%m-%d %H:%M")
    response = admin_client.post(
        f"/admin/billing/billingaccount/{account.pk}/extend-trial/", {"trial_end": until, "reason": REASON}
    )
    assert response.status_code == 302
    assert [(e.action, e.reason) for e in _entries(acme)] == [("extend_trial", REASON)]


def test_an_action_that_fails_records_nothing(admin_client: Client, acme: Workspace) -> None:
    conn = add_connection(acme, status="paused")
    response = _post(admin_client, acme, "pause", {"connection": conn, "reason": REASON})
    assert response.status_code == 400
    assert "cannot be paused" in response.content.decode()
    ok = add_run(acme, conn, status="succeeded")
    response = _post(admin_client, acme, "retry", {"run": ok, "reason": REASON})
    assert response.status_code == 400, "only failed runs are offered"
    response = _post(admin_client, acme, "delete", {"confirm": "not-acme", "reason": REASON})
    assert response.status_code == 400
    assert _entries(acme) == []
    assert Workspace.objects.get(pk=acme.pk).status == "active"


def test_the_audit_log_cannot_be_edited_or_deleted(admin_client: Client, acme: Workspace, staff) -> None:
    _post(admin_client, acme, "suspend", {"reason": REASON})
    entry = _entries(acme)[0]
    assert admin_client.get("/admin/support/auditentry/").status_code == 200
    assert REASON in admin_client.get(f"/admin/support/auditentry/?q={acme.slug}").content.decode()
    change = admin_client.post(f"/admin/support/auditentry/{entry.pk}/change/", {"reason": "nothing happened"})
    assert change.status_code in (302, 403) or b"nothing happened" not in change.content
    assert admin_client.post(f"/admin/support/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.get("/admin/support/auditentry/add/").status_code == 403
    bulk = admin_client.post(
        "/admin/support/auditentry/", {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    # Nor from code: the model and its queryset refuse.
    entry.reason = "edited"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    with pytest.raises(ValueError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="edited")
    with pytest.raises(ValueError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).reason == REASON


def test_the_health_list_shows_every_workspace_and_filters_what_is_wrong(
    admin_client: Client, make_workspace: Any
) -> None:
    calm = make_workspace("calm")
    troubled = make_workspace("troubled")
    conn = add_connection(troubled, status="error", status_message="Meta refused the token")
    add_run(troubled, conn, status="failed", error_message="Meta answered 500 three times")
    add_connection(troubled, status="needs_reauth")
    BillingAccount.objects.filter(workspace=calm).update(status="active", plan="growth")
    for workspace in (calm, troubled):
        with schema_context(workspace.schema_name):
            health_refresh()

    health = WorkspaceHealth.objects.get(workspace=troubled)
    assert (health.connections_failing, health.connections_needs_reauth, health.anything_wrong) == (1, 1, True)
    assert "1 connection failing" in health.problems and "1 failed sync in 24 h" in health.problems
    assert WorkspaceHealth.objects.get(workspace=calm).problems == []

    page = admin_client.get("/admin/support/workspacehealth/").content.decode()
    assert "Calm" in page and "Troubled" in page
    assert "0 active · 1 failing · 1 reauth · 0 paused" in page
    assert "—" in page, "no digest has been sent (no app reports one yet)"
    wrong = admin_client.get("/admin/support/workspacehealth/?wrong=yes").content.decode()
    assert "Troubled" in wrong and ">Calm<" not in wrong
    well = admin_client.get("/admin/support/workspacehealth/?wrong=no").content.decode()
    assert ">Calm<" in well and "Troubled" not in well

    # Drill-down: the workspace's runs with their error messages.
    detail = admin_client.get(f"/admin/support/workspacehealth/workspace/{troubled.pk}/").content.decode()
    assert "Meta answered 500 three times" in detail and "Meta refused the token" in detail


@pytest.mark.django_db(transaction=True)  # the cached entitlements are dropped on commit
def test_suspending_makes_the_workspace_read_only_stops_syncs_and_is_reversible(
    admin_client: Client, acme: Workspace
) -> None:
    from accounts.selectors import active_workspaces
    from connectors.services import syncs_schedule_due

    conn = add_connection(acme)
    owner = Membership.objects.get(workspace=acme, role=Role.OWNER).user
    member = login_client(Client(), owner, acme)
    assert _post(admin_client, acme, "suspend", {"reason": REASON}).status_code == 302

    plan = entitlements.for_workspace(acme.schema_name)
    assert plan.read_only and "suspended" in plan.read_only_reason
    assert acme not in active_workspaces(), "beat fan-outs skip it"
    with schema_context(acme.schema_name):
        from connectors.models import Connection

        Connection.objects.filter(pk=conn).update(next_sync_at=timezone.now() - timedelta(minutes=1))
        assert syncs_schedule_due() == {"started": 0, "rescued": 0}
    page = member.get("/data-sources/")
    assert page.status_code == 200 and "suspended this workspace" in page.content.decode(), "pages show, with why"
    refused = member.post("/settings/", {"name": "Renamed", "reporting_currency": "EUR", "time_zone": "UTC"})
    assert refused.status_code == 403
    assert Workspace.objects.get(pk=acme.pk).name == "Acme"

    assert _post(admin_client, acme, "reactivate", {"reason": REASON}).status_code == 302
    assert not entitlements.for_workspace(acme.schema_name).read_only
    with schema_context(acme.schema_name):
        assert syncs_schedule_due()["started"] == 1
    assert member.get("/data-sources/", HTTP_HOST=host_of(acme)).status_code == 200
