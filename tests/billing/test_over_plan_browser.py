"""Over the plan's data-source limit after a downgrade, in chromium: the newest source is paused
(nothing deleted), the Data sources page says why with a link to upgrade, and the owner chooses
which sources stay by pausing one and resuming another; resuming past the limit is refused."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import schema_context

from accounts.models import Membership
from accounts.roles import Role
from billing import entitlements
from billing.models import BillingAccount

pytestmark = pytest.mark.django_db(transaction=True)


def far_future() -> Any:
    """Not due: the scheduler's round only applies the plan, it starts no sync (no worker here)."""
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() + timedelta(days=1)


def _status(schema: str, pk: int) -> str:
    from connectors.models import Connection

    with schema_context(schema):
        return Connection.objects.get(pk=pk).status


def test_the_owner_chooses_which_sources_stay_after_a_downgrade(web: Any, make_workspace: Any) -> None:
    from connectors.models import Connection, ConnectionAccount
    from connectors.services import syncs_schedule_due

    acme = make_workspace("acme")
    owner = Membership.objects.get(workspace=acme, role=Role.OWNER).user
    ids = []
    with schema_context(acme.schema_name):
        for i in range(6):
            connection = Connection.objects.create(
                platform="meta", label=f"Meta {i}", lookback_days=3, backfill_days=30, next_sync_at=far_future()
            )
            # The newest has no account chosen yet, so resuming it queues no sync (no worker here).
            ConnectionAccount.objects.create(connection=connection, external_id=f"act_{i}", name="Main", selected=i < 5)
            ids.append(connection.pk)
    # Stripe moved the workspace to Starter (5 data sources); the next scheduled round pauses one.
    BillingAccount.objects.filter(workspace=acme).update(status="active", plan="starter")
    entitlements._redis().delete(entitlements._cache_key(acme.schema_name))
    with schema_context(acme.schema_name):
        syncs_schedule_due()
        assert Connection.objects.count() == 6, "nothing deleted"
    newest, oldest = ids[-1], ids[0]
    assert _status(acme.schema_name, newest) == "paused"

    web.login(owner, acme)
    web.goto("/data-sources/", acme)
    page = web.page
    row = page.locator(f"#connection-{newest}")
    assert row.get_attribute("data-status") == "paused"
    why = page.locator(f"#connection-{newest} + tr .alert")
    assert "your plan includes 5 data sources" in why.inner_text()
    assert why.locator("a").get_attribute("href") == "/settings/billing/"
    web.screenshot("billing-over-plan")
    why.locator("a").click()  # the upgrade link leads to the plan page
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/settings/billing/") and page.locator("#current-plan").inner_text() == "Starter"
    web.goto("/data-sources/", acme)

    # Resuming it while five are active is refused, saying so.
    row.locator("button", has_text="Resume").click()
    page.wait_for_load_state("networkidle")
    assert "includes 5 connected data sources" in page.inner_text("#toasts")
    assert _status(acme.schema_name, newest) == "paused"

    # The owner pauses another one, then the newest one can come back.
    page.locator(f"#connection-{oldest} button", has_text="Pause").click()
    page.wait_for_load_state("networkidle")
    page.locator(f"#connection-{newest} button", has_text="Resume").click()
    page.wait_for_load_state("networkidle")
    assert (_status(acme.schema_name, oldest), _status(acme.schema_name, newest)) == ("paused", "active")
    # The next round keeps the owner's choice.
    with schema_context(acme.schema_name):
        syncs_schedule_due()
    assert (_status(acme.schema_name, oldest), _status(acme.schema_name, newest)) == ("paused", "active")
