"""What the warehouse does when a lower layer announces a change (connected in `WarehouseConfig.ready`)."""

from __future__ import annotations

from typing import Any

from django_tenants.utils import schema_context

from warehouse.services import fx


def recompute_after_reporting_currency_change(sender: Any, *, workspace: Any, **_: Any) -> None:
    """Every stored amount is converted again, by a worker, once the new currency is committed."""
    with schema_context(workspace.schema_name):
        fx.reporting_currency_changed()
