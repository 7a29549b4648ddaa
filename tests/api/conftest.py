"""Two workspaces with real warehouse data, connections, runs, members and keys, built once.

`world` is committed once for the package (building facts through the warehouse's own models
takes seconds) and dropped at the end; each test still runs in its own rolled-back transaction.
Workspace A ("northwind") carries canary strings in every name it owns and in its OAuth tokens,
so the isolation tests can scan any response for them; its connection and run ids are chosen so
that they do not exist in workspace B ("contoso").
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import ApiKey, Membership, User, Workspace
from tests.conftest import PASSWORD, committed_setup_guard, host_of, login_client

D1, D2 = date(2026, 7, 1), date(2026, 10, 31)


@dataclass
class Tenant:
    """One workspace as the tests see it: its host, people, keys, ids and canaries."""

    workspace: Workspace
    owner: User
    viewer: User
    staff: User  # Bosco support staff (is_staff, is_superuser) who is a member here
    read_key: str
    write_key: str
    connection_ids: list[int]
    run_ids: dict[int, list[int]]  # connection id → its run ids, newest first
    campaign_ids: list[str]
    account_ids: list[str]
    canaries: list[str] = field(default_factory=list)
    alert_rule_id: int = 0
    alert_incident_id: int = 0

    @property
    def host(self) -> str:
        return host_of(self.workspace)

    def client(self, key: str | None = None, **extra: Any) -> Client:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
        return Client(HTTP_HOST=self.host, **headers, **extra)

    def session(self, user: User, *, csrf: bool = False) -> Client:
        return login_client(Client(enforce_csrf_checks=csrf), user, self.workspace)


@dataclass
class World:
    a: Tenant
    b: Tenant


def _people(workspace: Workspace, slug: str) -> tuple[User, User, User]:
    owner = Membership.objects.get(workspace=workspace, role="owner").user
    viewer = User.objects.create_user(f"viewer@{slug}.example", PASSWORD)
    Membership.objects.create(user=viewer, workspace=workspace, role="viewer")
    staff = User.objects.create_user(f"staff@{slug}.example", PASSWORD, is_staff=True, is_superuser=True)
    Membership.objects.create(user=staff, workspace=workspace, role="admin")
    return owner, viewer, staff


def _keys(workspace: Workspace) -> tuple[str, str]:
    from accounts import services

    owner = Membership.objects.get(workspace=workspace, role="owner")
    _, read = services.api_key_create(workspace=workspace, actor=owner, name="read", scope="read")
    _, write = services.api_key_create(workspace=workspace, actor=owner, name="write", scope="read_write")
    return read, write


def _warehouse(seed: int, rates: list[Any]) -> tuple[list[str], list[str]]:
    from devtools.synthetic import SyntheticSpec, synthetic_raw_land
    from warehouse.services import fx
    from warehouse.services.transform import run_window

    spec = SyntheticSpec(
        platforms=("google_ads", "meta"),
        accounts_per_platform=2,
        campaigns_per_account=3,
        ad_groups_per_campaign=2,
        currencies=("EUR", "USD", "GBP", "JPY"),
        seed=seed,
    )
    fx.fx_rates_load(rates=rates)
    synthetic_raw_land(spec=spec, date_from=D1, date_to=D2)
    for platform in spec.platforms:
        accounts = [a["account_id"] for a in spec.accounts() if a["platform"] == platform]
        run_window(connection_id=1, platform=platform, account_ids=accounts, date_from=D1, date_to=D2, sync_run_id=1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT platform || ':' || account_id || ':' || campaign_id FROM dim_campaign ORDER BY 1")
        campaigns = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT platform || ':' || account_id FROM dim_ad_account ORDER BY 1")
        accounts_ = [row[0] for row in cursor.fetchall()]
    return campaigns, accounts_


def _connections(first_id: int, first_run_id: int, canary: str) -> tuple[list[int], dict[int, list[int]]]:
    from connectors.models import Connection, ConnectionAccount, SyncRun

    now = timezone.now()
    ids: list[int] = []
    runs: dict[int, list[int]] = {}
    run_id = first_run_id
    for n, platform in enumerate(("google_ads", "meta")):
        conn = Connection.objects.create(
            pk=first_id + n,
            platform=platform,
            label=f"{platform} {canary}",
            status=Connection.Status.ACTIVE,
            access_token=f"tok-{canary}-access",
            refresh_token=f"tok-{canary}-refresh",
            lookback_days=7,
            backfill_days=90,
            last_sync_at=now,
            last_success_at=now,
        )
        ConnectionAccount.objects.create(
            connection=conn,
            external_id="1234567890" if platform == "google_ads" else "act_1234",
            name=f"Account {canary}",
            currency="EUR",
            time_zone="Europe/Berlin",
            selected=True,
        )
        ids.append(conn.pk)
        runs[conn.pk] = []
        for k in range(3):
            SyncRun.objects.create(
                pk=run_id,
                connection=conn,
                kind=SyncRun.Kind.SCHEDULED,
                status=SyncRun.Status.SUCCEEDED,
                window_start=D2 - timedelta(days=7),
                window_end=D2,
                created_at=now - timedelta(hours=3 - k),
                started_at=now - timedelta(hours=3 - k),
                finished_at=now - timedelta(hours=3 - k, minutes=-5),
                note=f"run {canary}",
            )
            runs[conn.pk].insert(0, run_id)
            run_id += 1
    return ids, runs


def _alerts(rule_id: int, incident_id: int, canary: str) -> None:
    """An alert rule and an incident with ids the other workspace does not have, canaries in their text."""
    from alerts.models import AlertIncident, AlertRule

    rule = AlertRule.objects.create(
        pk=rule_id, name=f"Spend {canary}", kind="threshold", metric="spend", threshold=100, recipients=[]
    )
    AlertIncident.objects.create(pk=incident_id, rule=rule, dedup_key=f"k-{canary}", subject=f"about {canary}")


def _build(
    slug: str, *, seed: int, first_connection: int, first_run: int, rates: list[Any], alert_ids: tuple[int, int]
) -> Tenant:
    from accounts.services import workspace_create

    canary = f"CANARY{secrets.token_hex(5)}"
    owner = User.objects.create_user(f"owner@{slug}.example", PASSWORD)
    workspace = workspace_create(owner=owner, name=f"{slug.title()} {canary}", slug=slug, reporting_currency="EUR")
    owner, viewer, staff = _people(workspace, slug)
    read, write = _keys(workspace)
    with schema_context(workspace.schema_name):
        campaigns, accounts = _warehouse(seed, rates)
        with connection.cursor() as cursor:
            # Canaries in every name this workspace owns, where any leak would carry them.
            cursor.execute("UPDATE dim_campaign SET name = name || ' ' || %s", [canary])
            cursor.execute("UPDATE dim_ad_account SET name = name || ' ' || %s", [canary])
            cursor.execute("UPDATE dim_ad_group SET name = name || ' ' || %s", [canary])
        connection_ids, run_ids = _connections(first_connection, first_run, canary)
        _alerts(*alert_ids, canary)
    return Tenant(
        workspace=workspace,
        owner=owner,
        viewer=viewer,
        staff=staff,
        read_key=read,
        write_key=write,
        connection_ids=connection_ids,
        run_ids=run_ids,
        campaign_ids=campaigns,
        account_ids=accounts,
        canaries=[canary, *[f"bsk_{k.prefix}" for k in ApiKey.objects.filter(workspace=workspace)]],
        alert_rule_id=alert_ids[0],
        alert_incident_id=alert_ids[1],
    )


@pytest.fixture(scope="package")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    from accounts.services import workspace_drop
    from warehouse.services import fx

    # The rates the synthetic accounts' currencies need over the data's dates (fewer load faster).
    rates = [
        r
        for r in fx.fx_rates_read(source=str(fx.SAMPLE_FILE))
        if r.date >= D1 - timedelta(days=30) and r.currency in {"USD", "GBP", "JPY"}
    ]
    with django_db_blocker.unblock():
        committed_setup_guard("world")
        a = _build("northwind", seed=11, first_connection=7001, first_run=8001, rates=rates, alert_ids=(7101, 7201))
        b = _build("contoso", seed=22, first_connection=1, first_run=1, rates=rates, alert_ids=(5, 1))
        try:
            yield World(a=a, b=b)
        finally:
            connection.set_schema_to_public()
            for tenant in (a, b):
                users = [tenant.owner.pk, tenant.viewer.pk, tenant.staff.pk]
                workspace_drop(workspace=tenant.workspace)
                User.objects.filter(pk__in=users).delete()


@pytest.fixture
def a(world: World, db: None) -> Tenant:
    return world.a


@pytest.fixture
def b(world: World, db: None) -> Tenant:
    return world.b


@pytest.fixture(autouse=True)
def _generous_failed_auth_limit(request: pytest.FixtureRequest, settings: Any) -> None:
    """Tests (the schema fuzzing above all) send far more bad keys than a client may in a minute;
    only the tests of that throttle keep the real limit."""
    if "failed_auth_limit" not in request.fixturenames:
        settings.API_AUTH_FAILURES_PER_MINUTE = 1_000_000


@pytest.fixture
def failed_auth_limit() -> None:
    """Request this fixture to run under the real limit of failed API-key checks per address."""


@pytest.fixture(autouse=True)
def _generous_rate_limit(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests send far more than a plan's requests per minute; only the throttling tests keep it."""
    if "plan_rate_limit" in request.fixturenames:
        return
    from billing import plans

    for plan, entitlements in list(plans.ENTITLEMENTS.items()):
        monkeypatch.setitem(plans.ENTITLEMENTS, plan, replace(entitlements, api_requests_per_minute=1_000_000))


@pytest.fixture
def plan_rate_limit() -> None:
    """Request this fixture to run under the plans' real API rate limits."""
