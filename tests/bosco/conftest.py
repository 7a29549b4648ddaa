"""A committed workspace with warehouse data and insights, shared by the input-hardening tests.

Pages only run their searches and filters against PostgreSQL when there is data to search, so
the NUL and fuzz tests need facts, campaigns and anomaly findings, not an empty workspace.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_context

from accounts.models import Workspace
from insights.services.paths_csv import SAMPLE_CSV
from tests.conftest import committed_setup_guard


@pytest.fixture(scope="session")
def hardening_workspace(django_db_setup: None, django_db_blocker: Any) -> Iterator[Workspace]:
    """Built once per session; only plain `db` tests may use it (a transactional flush would
    empty the public tables it depends on)."""
    from accounts.models import User
    from accounts.services import workspace_create, workspace_drop
    from insights.services import score_workspace_nightly
    from tests.insights.conftest import inject_spend_spike, land_history, yesterday_utc

    with django_db_blocker.unblock():
        committed_setup_guard("hardening_workspace")
        owner, _ = User.objects.get_or_create(email="owner@hardening.example")
        workspace = workspace_create(
            owner=owner, name="Hardening", slug="hardening", reporting_currency="EUR", time_zone="UTC"
        )
        try:
            with schema_context(workspace.schema_name):
                as_of = yesterday_utc()
                land_history(as_of=as_of, days=90)
                inject_spend_spike(day=as_of - timedelta(days=5), factor=10.0)
            with (
                schema_context(workspace.schema_name),
                override_settings(
                    INSIGHTS_BUDGET_BOOTSTRAP=4, INSIGHTS_CAMPAIGN_LIMIT=4, INSIGHTS_FORECAST_CAMPAIGNS=1
                ),
            ):
                score_workspace_nightly(as_of=as_of, campaigns=4, forecast_campaigns=1)
            _add_things_to_act_on(workspace, owner)
            yield workspace
        finally:
            connection.set_schema_to_public()
            workspace_drop(workspace=workspace)
            User.objects.filter(email__endswith="@hardening.example").delete()


def _add_things_to_act_on(workspace: Workspace, owner: Any) -> None:
    """A connection, a key, an invitation, a second member, an attribution import, two workspace
    events and a lift test, so every form of the product (pause, revoke, change role, edit, delete,
    ...) has something to work on."""
    from accounts import services
    from accounts.models import Membership, User
    from connectors.models import Connection, ConnectionAccount
    from insights.services import PlannerInput, budget_scenario_save, import_attribution_csv, plan_budget_for_workspace
    from insights.services.events import workspace_event_add
    from insights.services.lift_tests import budget_lift_test_add

    membership = Membership.objects.get(workspace=workspace, user=owner)
    viewer = User.objects.create_user("viewer@hardening.example", "correct-horse-battery-9")
    Membership.objects.create(workspace=workspace, user=viewer, role="viewer")
    services.api_key_create(workspace=workspace, actor=membership, name="reporting", scope="read")
    services.invitation_create(workspace=workspace, invited_by=membership, email="new@hardening.example", role="viewer")
    with schema_context(workspace.schema_name):
        for status in (Connection.Status.ACTIVE, Connection.Status.PAUSED, Connection.Status.NEEDS_REAUTH):
            connection = Connection.objects.create(
                platform="google_ads",
                label=f"Google Ads ({status})",
                status=status,
                access_token="tok-a",
                lookback_days=7,
                backfill_days=90,
            )
            ConnectionAccount.objects.create(
                connection=connection, external_id="1234567890", name="Main", currency="EUR", time_zone="UTC"
            )
        view = plan_budget_for_workspace(PlannerInput(), money=str)
        budget_scenario_save(view=view, name="Baseline", user_id=owner.pk)
        import_attribution_csv(data=SAMPLE_CSV.encode(), filename="paths.csv")
        today = date.today()
        workspace_event_add(name="Summer sale", start=today - timedelta(days=30), end=today - timedelta(days=28))
        # a second one: while the first is open for editing (a crawl seed), this one shows its delete form
        workspace_event_add(name="Launch", start=today - timedelta(days=10))
        budget_lift_test_add(
            channel="google_ads",
            target="conversion_value",
            start=today - timedelta(days=60),
            end=today - timedelta(days=46),
            spend_before=100.0,
            spend_after=150.0,
            lift=40.0,
            lift_sd=10.0,
            channels=["google_ads"],
        )


@pytest.fixture
def hardened(db: None, hardening_workspace: Workspace) -> Iterator[Workspace]:
    with schema_context(hardening_workspace.schema_name):
        yield hardening_workspace
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
