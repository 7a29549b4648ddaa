"""The trial, the entitlements every app asks, and their enforcement at pages, API and tasks.

Real PostgreSQL (workspaces cloned from the template) and the real Redis cache; the trial's end is
reached by moving the account's dates, which is what time passing does.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import ApiKey, Membership, Workspace
from accounts.roles import Role
from billing import entitlements, services
from billing.models import BillingAccount, BillingChange, Status, TrialNotice
from billing.plans import Plan
from tests.conftest import host_of, staff_admin_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(make_workspace) -> Workspace:
    return make_workspace("acme")


@pytest.fixture
def owner(acme):
    return Membership.objects.get(workspace=acme, role=Role.OWNER)


def _end_trial(workspace: Workspace) -> None:
    BillingAccount.objects.filter(workspace=workspace).update(trial_end=timezone.now() - timedelta(minutes=1))
    entitlements._redis().delete(entitlements._cache_key(workspace.schema_name))


def _set(workspace: Workspace, **fields) -> None:
    BillingAccount.objects.filter(workspace=workspace).update(**fields)
    entitlements._redis().delete(entitlements._cache_key(workspace.schema_name))


def _api_key(workspace: Workspace, owner: Membership) -> str:
    from accounts.services import api_key_create

    _, raw = api_key_create(workspace=workspace, actor=owner, name="ci", scope=ApiKey.Scope.READ_WRITE)
    return raw


def _api(workspace: Workspace, raw: str) -> Client:
    return Client(HTTP_HOST=host_of(workspace), HTTP_AUTHORIZATION=f"Bearer {raw}")


# --------------------------------------------------------------------------- trial


def test_new_workspace_starts_a_fourteen_day_growth_trial_without_a_card(acme) -> None:
    account = BillingAccount.objects.get(workspace=acme)
    assert account.status == Status.TRIALING
    assert account.plan == Plan.GROWTH
    assert not account.stripe_customer_id
    assert timedelta(days=13, hours=23) < account.trial_end - timezone.now() <= timedelta(days=14)
    ent = entitlements.for_workspace(acme.schema_name)
    assert not ent.read_only
    assert ent.max_connections == 25  # Growth's limits during the trial


def test_a_failed_workspace_creation_leaves_no_billing_account(make_workspace, make_user) -> None:
    from accounts import services as account_services

    make_workspace("taken")
    with pytest.raises(account_services.AccountsError):
        account_services.workspace_create(owner=make_user("x@example.com"), name="Again", slug="taken")
    assert BillingAccount.objects.count() == 1


def test_trial_end_makes_the_workspace_read_only_and_says_why(acme) -> None:
    _end_trial(acme)
    ent = entitlements.for_workspace(acme.schema_name)
    assert ent.read_only
    assert "free trial ended" in ent.read_only_reason
    with pytest.raises(entitlements.EntitlementError) as refused:
        entitlements.check(acme.schema_name, "write")
    assert refused.value.limit == "read_only"
    assert "Plan and billing" in refused.value.message


def test_cached_entitlements_expire_when_the_trial_ends_by_itself(acme) -> None:
    _set(acme, trial_end=timezone.now() + timedelta(seconds=2))
    assert not entitlements.for_workspace(acme.schema_name).read_only
    ttl = entitlements._redis().ttl(entitlements._cache_key(acme.schema_name))
    assert 0 < ttl <= 3  # cached only until the trial's end, not the usual five minutes


@pytest.mark.django_db(transaction=True)
def test_subscribing_brings_everything_back(acme) -> None:
    _end_trial(acme)
    assert entitlements.for_workspace(acme.schema_name).read_only
    account = BillingAccount.objects.get(workspace=acme)
    with transaction.atomic():
        services.subscription_apply(
            account,
            subscription={
                "id": "sub_1",
                "status": "active",
                "customer": "cus_1",
                "items": {
                    "data": [{"price": {"lookup_key": "bosco_starter_yearly"}, "current_period_end": 2000000000}]
                },
            },
            event_created=1,
        )
    ent = entitlements.for_workspace(acme.schema_name)  # the change dropped the cached answer
    assert not ent.read_only
    assert (ent.plan, ent.max_connections) == ("starter", 5)
    acme.refresh_from_db()
    assert acme.plan == Plan.STARTER  # the workspace row (API throttle) follows


@pytest.mark.django_db(transaction=True)
def test_cache_is_dropped_only_after_the_change_commits(make_workspace) -> None:
    acme = make_workspace("acme")
    assert not entitlements.for_workspace(acme.schema_name).read_only
    with transaction.atomic():
        account = BillingAccount.objects.select_for_update().get(workspace=acme)
        account.trial_end = timezone.now() - timedelta(days=1)
        services._account_save(account, ["trial_end"])
        # not committed: the cached answer still stands
        assert entitlements._redis().get(entitlements._cache_key(acme.schema_name)) is not None
    assert entitlements._redis().get(entitlements._cache_key(acme.schema_name)) is None
    assert entitlements.for_workspace(acme.schema_name).read_only


# --------------------------------------------------------------------------- read-only at every door


def test_read_only_workspace_shows_pages_but_refuses_page_writes(acme, owner, workspace_client) -> None:
    client = workspace_client(owner.user, acme)
    _end_trial(acme)
    page = client.get("/settings/")
    assert page.status_code == 200
    assert "free trial ended" in page.content.decode()  # the banner on every page
    refused = client.post("/settings/", {"name": "Renamed", "reporting_currency": "EUR", "time_zone": "UTC"})
    assert refused.status_code == 403
    assert "read-only" in refused.content.decode()
    acme.refresh_from_db()
    assert acme.name == "Acme"  # nothing changed
    # billing itself stays reachable so the owner can subscribe
    assert client.get("/settings/billing/").status_code == 200


def test_read_only_workspace_api_answers_reads_and_refuses_writes(acme, owner) -> None:
    client = _api(acme, _api_key(acme, owner))
    _end_trial(acme)
    assert client.get("/api/v1/workspace").status_code == 200
    refused = client.post("/api/v1/connections/1/sync")
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert "read-only" in refused.json()["detail"]


def test_scheduled_syncs_and_scoring_skip_a_read_only_workspace(acme, caplog) -> None:
    from connectors.services import syncs_schedule_due
    from insights.tasks import score_workspace

    _end_trial(acme)
    with schema_context(acme.schema_name), caplog.at_level("INFO"):
        assert syncs_schedule_due() == {"started": 0, "rescued": 0}
    assert "syncs not scheduled" in caplog.text
    result = score_workspace.apply(args=[acme.schema_name]).get()
    assert "free trial ended" in result["skipped"]


@pytest.mark.django_db(transaction=True)
def test_a_sync_queued_before_the_trial_ended_is_skipped_with_the_reason(acme) -> None:
    from connectors.models import Connection, SyncRun
    from connectors.sync import run_execute

    with schema_context(acme.schema_name):
        conn = Connection.objects.create(platform="meta", lookback_days=3, backfill_days=30)
        run = SyncRun.objects.create(connection=conn, kind=SyncRun.Kind.MANUAL)
        _end_trial(acme)
        assert run_execute(run_id=run.pk) == SyncRun.Status.CANCELLED
        run.refresh_from_db()
        assert "free trial ended" in run.note


# --------------------------------------------------------------------------- limits


def _connections(workspace: Workspace, n: int, status: str = "active") -> list[int]:
    from connectors.models import Connection

    with schema_context(workspace.schema_name):
        return [
            Connection.objects.create(platform="meta", lookback_days=3, backfill_days=30, status=status).pk
            for _ in range(n)
        ]


def test_data_source_limit_refuses_connecting_one_more(acme, owner, workspace_client) -> None:
    from connectors.errors import ConnectorError
    from connectors.services import oauth_begin

    _set(acme, status=Status.ACTIVE, plan=Plan.STARTER)
    _connections(acme, 5)
    with schema_context(acme.schema_name), pytest.raises(ConnectorError) as refused:
        oauth_begin(platform="meta", user_id=owner.user_id, session={})
    assert "5 connected data sources" in refused.value.user_message
    page = workspace_client(owner.user, acme).get("/data-sources/connect/meta/", follow=True)
    assert page.redirect_chain[-1][0].endswith("/data-sources/")
    assert "5 connected data sources" in page.content.decode()


def test_downgrade_pauses_the_newest_connections_and_keeps_them(acme, owner, workspace_client) -> None:
    from connectors.models import Connection
    from connectors.services import connection_pause, connection_resume, syncs_schedule_due

    ids = _connections(acme, 7)
    _set(acme, status=Status.ACTIVE, plan=Plan.STARTER)
    with schema_context(acme.schema_name):
        syncs_schedule_due()
        paused = set(Connection.objects.filter(status="paused").values_list("pk", flat=True))
        assert paused == set(ids[-2:])
        assert Connection.objects.count() == 7  # nothing deleted
        assert "plan includes 5" in Connection.objects.get(pk=ids[-1]).status_message
    # the Data sources page says why, with a link to the plan page
    page = workspace_client(owner.user, acme).get("/data-sources/").content.decode()
    assert "plan includes 5" in page
    assert '<a href="/settings/billing/">Settings → Plan and billing</a>' in page
    with schema_context(acme.schema_name):
        # the owner chooses: resuming one is refused until another is paused
        from connectors.errors import ConnectorError

        with pytest.raises(ConnectorError):
            connection_resume(connection=Connection.objects.get(pk=ids[-1]), user_id=None)
        connection_pause(connection=Connection.objects.get(pk=ids[0]))
        connection_resume(connection=Connection.objects.get(pk=ids[-1]), user_id=None)
        assert Connection.objects.get(pk=ids[-1]).status == "active"


def test_members_and_open_invitations_count_against_the_plan(acme, owner) -> None:
    from accounts.services import AccountsError, invitation_create

    _set(acme, status=Status.ACTIVE, plan=Plan.STARTER)  # 5 members
    for i in range(4):
        invitation_create(workspace=acme, invited_by=owner, email=f"p{i}@example.com", role=Role.VIEWER)
    with pytest.raises(AccountsError) as refused:
        invitation_create(workspace=acme, invited_by=owner, email="p9@example.com", role=Role.VIEWER)
    assert "5 members" in refused.value.message
    # re-inviting an address with an open invitation takes no new seat
    invitation_create(workspace=acme, invited_by=owner, email="p0@example.com", role=Role.VIEWER)


def test_member_limit_refusal_shows_on_the_team_page(acme, owner, workspace_client) -> None:
    _set(acme, status=Status.ACTIVE, plan=Plan.STARTER)
    client = workspace_client(owner.user, acme)
    for i in range(4):
        assert (
            client.post("/settings/team/invite/", {"email": f"p{i}@example.com", "role": "viewer"}).status_code == 302
        )
    refused = client.post("/settings/team/invite/", {"email": "late@example.com", "role": "viewer"})
    assert refused.status_code == 400
    assert "5 members" in refused.content.decode()


def test_starter_plan_has_no_api_access_but_members_keep_the_pages(acme, owner, workspace_client) -> None:
    raw = _api_key(acme, owner)
    _set(acme, status=Status.ACTIVE, plan=Plan.STARTER)
    refused = _api(acme, raw).get("/api/v1/workspace")
    assert refused.status_code == 403
    assert "does not include API access" in refused.json()["detail"]
    _set(acme, plan=Plan.GROWTH)
    assert _api(acme, raw).get("/api/v1/workspace").status_code == 200


def test_history_and_sync_interval_beyond_the_plan_are_refused(acme) -> None:
    from connectors.errors import ConnectorError
    from connectors.models import Connection
    from connectors.services import connection_settings_update

    _set(acme, status=Status.ACTIVE, plan=Plan.STARTER)  # 24 months, every 6 hours at most
    with schema_context(acme.schema_name):
        conn = Connection.objects.create(platform="google_ads", lookback_days=3, backfill_days=30)
        with pytest.raises(ConnectorError, match="interval below plan"):
            connection_settings_update(connection=conn, lookback_days=3, backfill_days=30, sync_interval_hours=1)
        with pytest.raises(ConnectorError, match="history beyond plan"):
            connection_settings_update(connection=conn, lookback_days=3, backfill_days=900, sync_interval_hours=6)
        connection_settings_update(connection=conn, lookback_days=3, backfill_days=700, sync_interval_hours=6)


def test_white_label_is_an_agency_entitlement(acme) -> None:
    assert not entitlements.for_workspace(acme.schema_name).white_label
    _set(acme, status=Status.ACTIVE, plan=Plan.AGENCY)
    assert entitlements.for_workspace(acme.schema_name).white_label


# --------------------------------------------------------------------------- trial notices


@pytest.mark.django_db(transaction=True)
def test_trial_notices_go_out_once_per_milestone(acme, owner) -> None:
    _set(acme, trial_end=timezone.now() + timedelta(days=6, hours=12))
    assert services.trial_notices_send() == 1
    assert services.trial_notices_send() == 0  # idempotent: a second beat run sends nothing
    assert [m.to for m in mail.outbox] == [[owner.user.email]]
    assert "ends in 7 days" in mail.outbox[0].subject
    _set(acme, trial_end=timezone.now() + timedelta(hours=20))
    assert services.trial_notices_send() == 1
    assert services.trial_notices_send() == 0
    assert "ends in 1 day" in mail.outbox[1].subject
    assert TrialNotice.objects.count() == 2


def test_trial_banner_shows_in_the_last_week(acme, owner, workspace_client) -> None:
    client = workspace_client(owner.user, acme)
    assert 'id="billing-banner"' not in client.get("/settings/").content.decode()
    _set(acme, trial_end=timezone.now() + timedelta(days=3, hours=1))
    assert "Your free trial ends in 3 days" in client.get("/settings/").content.decode()


# --------------------------------------------------------------------------- support actions


def test_support_extends_a_trial_with_a_reason_recorded(acme, make_user) -> None:
    staff = make_user("support@bosco.example", is_staff=True)
    account = BillingAccount.objects.get(workspace=acme)
    _end_trial(acme)
    with pytest.raises(services.BillingError):
        services.trial_extend(account_id=account.pk, actor=staff, until=timezone.now() + timedelta(days=7), reason="")
    services.trial_extend(
        account_id=account.pk, actor=staff, until=timezone.now() + timedelta(days=7), reason="customer asked at a demo"
    )
    assert not entitlements.for_workspace(acme.schema_name).read_only
    change = BillingChange.objects.get()
    assert (change.actor_email, change.action, change.workspace_slug) == (staff.email, "extend_trial", "acme")
    assert change.before["trial_end"] != change.after["trial_end"]
    with pytest.raises(ValueError, match="append-only"):
        change.save()
    with pytest.raises(ValueError, match="append-only"):
        change.delete()


def test_support_grants_a_plan_through_the_admin(acme, make_user) -> None:
    staff = make_user("support@bosco.example", is_staff=True, is_superuser=True)
    client = staff_admin_client(staff)  # the admin lives on the public site, behind a second factor
    account = BillingAccount.objects.get(workspace=acme)
    url = f"/admin/billing/billingaccount/{account.pk}/grant-plan/"
    missing = client.post(url, {"plan": "agency", "reason": ""})
    assert missing.status_code == 400
    assert BillingChange.objects.count() == 0
    done = client.post(url, {"plan": "agency", "reason": "partner programme, until the contract is signed"})
    assert done.status_code == 302
    ent = entitlements.for_workspace(acme.schema_name)
    assert (ent.plan, ent.status, ent.white_label) == ("agency", "comped", True)
    change = BillingChange.objects.get()
    assert change.before["status"] == "trialing" and change.after["status"] == "comped"
    page = client.get(f"/admin/billing/billingaccount/{account.pk}/change/")
    assert page.status_code == 200
    assert "Grant plan (comped)" in page.content.decode()


def test_history_shown_is_cut_at_the_plans_depth_on_pages_and_api(acme, owner, workspace_client) -> None:
    _set(acme, status=Status.ACTIVE, plan=Plan.GROWTH)  # 37 months
    raw = _api_key(acme, owner)
    old = _api(acme, raw).get("/api/v1/metrics?metrics=spend&date_from=2020-01-01&date_to=2020-01-31")
    assert old.status_code == 400
    assert "37 months of history" in str(old.json()["errors"])
    recent = _api(acme, raw).get("/api/v1/metrics?metrics=spend&date_from=2026-01-01&date_to=2026-01-31")
    assert recent.status_code == 200
    _set(acme, plan=Plan.STARTER)  # 24 months
    from django.test import RequestFactory

    from insights.views.dashboards import _state

    request = RequestFactory().get("/", {"period": "custom", "from": "2020-01-01", "to": "2026-11-01"})
    request.tenant = acme
    state = _state(request)  # what every dashboard page reads its range from
    assert state.date_from == entitlements.for_workspace(acme.schema_name).history_start(state.today)
    assert state.date_from > timezone.localdate() - timedelta(days=740)
    assert any("Your Starter plan shows 24 months of history" in e for e in state.errors)
    request = RequestFactory().get("/", {"period": "custom", "from": "2020-01-01", "to": "2020-02-01"})
    request.tenant = acme
    state = _state(request)
    assert state.preset == "30d"  # a range wholly before the history falls back to the last 30 days
