"""Fixtures for the insights tests: workspaces with synthetic warehouse data, scored or not.

Data goes the real way: synthetic platform rows land in `raw_record` and the warehouse's own
transformation builds the facts and rollups, so every series the models see comes through the
metrics layer exactly as in production. Many ad groups per campaign keep daily totals as steady
as real accounts', so a spike injected on one day stands out the way a real one would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_context

from accounts.models import Workspace
from devtools.synthetic import SyntheticSpec, synthetic_raw_land
from tests.conftest import committed_setup_guard
from warehouse.services import fx
from warehouse.services.transform import run_window

SPEC = SyntheticSpec(
    platforms=("google_ads", "meta"),
    accounts_per_platform=1,
    campaigns_per_account=2,
    ad_groups_per_campaign=8,
    currencies=("EUR", "USD"),
    seed=11,
)
HISTORY_DAYS = 120


@contextmanager
def in_schema(workspace: Workspace) -> Iterator[Workspace]:
    """Work inside a workspace's schema within the test's transaction.

    On the way out the deferred foreign-key checks of the test's writes fire, because the
    schema is dropped inside the same transaction and PostgreSQL refuses that while trigger
    events are pending.
    """
    with schema_context(workspace.schema_name):
        yield workspace
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def yesterday_utc() -> date:
    from insights.selectors.series import workspace_today

    return workspace_today("UTC") - timedelta(days=1)


def accounts_of(platform: str) -> list[str]:
    return [a["account_id"] for a in SPEC.accounts() if a["platform"] == platform]


def land_history(*, as_of: date, days: int = HISTORY_DAYS, spec: SyntheticSpec = SPEC) -> None:
    """Synthetic rows for [as_of - days + 1, as_of], transformed into facts (current schema)."""
    date_from = as_of - timedelta(days=days - 1)
    rates = [
        r
        for r in fx.fx_rates_read(source=str(fx.SAMPLE_FILE))
        if r.currency == "USD" and r.date >= date_from - timedelta(days=14)
    ]
    fx.fx_rates_load(rates=rates)
    synthetic_raw_land(spec=spec, date_from=date_from, date_to=as_of)
    for platform in spec.platforms:
        run_window(
            connection_id=1,
            platform=platform,
            account_ids=[a["account_id"] for a in spec.accounts() if a["platform"] == platform],
            date_from=date_from,
            date_to=as_of,
            sync_run_id=1,
        )


def inject_spend_spike(*, day: date, factor: float, platform: str = "google_ads") -> None:
    """Multiply one platform's spend on `day` in the raw rows and re-run the warehouse window,
    as a platform reporting a runaway budget would."""
    assert platform == "google_ads", "spikes are injected into Google Ads rows (costMicros)"
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE raw_record
                  SET payload = jsonb_set(payload, '{metrics,costMicros}',
                        to_jsonb((round((payload #>> '{metrics,costMicros}')::numeric * %s))::bigint::text)),
                      sync_run_id = 2
                WHERE stream = 'google_ads.ad_group_daily' AND date = %s""",
            [factor, day],
        )
        assert cursor.rowcount > 0
    run_window(
        connection_id=1, platform=platform, account_ids=accounts_of(platform), date_from=day, date_to=day, sync_run_id=2
    )


@pytest.fixture(autouse=True)
def _fast_budget_fits(settings: Any) -> None:
    """Fewer bootstrap refits: the tests check wiring and behaviour, not band precision."""
    settings.INSIGHTS_BUDGET_BOOTSTRAP = 6
    settings.INSIGHTS_CAMPAIGN_LIMIT = 10
    settings.INSIGHTS_FORECAST_CAMPAIGNS = 2


@pytest.fixture
def data_workspace(make_workspace: Callable[..., Workspace]) -> Callable[..., Workspace]:
    """make(slug, spike_day=None): a workspace with synthetic history through yesterday (UTC)."""

    def make(
        slug: str = "ins",
        *,
        spike_day: date | None = None,
        factor: float = 10.0,
        days: int = HISTORY_DAYS,
        **extra: Any,
    ) -> Workspace:
        workspace = make_workspace(slug, reporting_currency="EUR", time_zone="UTC", **extra)
        with schema_context(workspace.schema_name):
            land_history(as_of=yesterday_utc(), days=days)
            if spike_day is not None:
                inject_spend_spike(day=spike_day, factor=factor)
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        return workspace

    return make


@pytest.fixture(scope="session")
def scored_workspace(django_db_setup: None, django_db_blocker: Any) -> Iterator[Workspace]:
    """One committed, scored workspace for the session's database tests (built once).

    It has a Google Ads spend spike 10 days ago; each test still runs in its own rolled-back
    transaction on top of it. Only plain `db` tests may use it: pytest-django runs them before
    any transactional test, whose flush would empty the public tables it depends on.
    """
    from accounts.models import User
    from accounts.services import workspace_create, workspace_drop
    from insights.services import score_workspace_nightly

    with django_db_blocker.unblock():
        committed_setup_guard("scored_workspace")
        owner, _ = User.objects.get_or_create(email="owner@ins-read.example")
        workspace = workspace_create(
            owner=owner, name="Insights Read", slug="ins-read", reporting_currency="EUR", time_zone="UTC"
        )
        try:
            with schema_context(workspace.schema_name):
                as_of = yesterday_utc()
                land_history(as_of=as_of)
                inject_spend_spike(day=as_of - timedelta(days=10), factor=10.0)
            with schema_context(workspace.schema_name), override_settings(INSIGHTS_BUDGET_BOOTSTRAP=6):
                report = score_workspace_nightly(as_of=as_of, campaigns=10, forecast_campaigns=2)
                print(f"scored_workspace: scoring took {report.seconds:.1f}s")
            yield workspace
        finally:
            connection.set_schema_to_public()
            workspace_drop(workspace=workspace)
            owner.delete()


@pytest.fixture
def in_scored(db: None, scored_workspace: Workspace) -> Iterator[Workspace]:
    with in_schema(scored_workspace):
        yield scored_workspace
