"""Celery entry points of tracking: thin, idempotent, one service call each (schema first)."""

from __future__ import annotations

from bosco.db import connection
from bosco.tasks import enqueue, public_task, tenant_task
from tracking.collect import buffer
from tracking.services import landing, privacy


@tenant_task()
def land_events() -> dict[str, int]:
    schema = connection.schema_name
    result = landing.land_pending(schema=schema)
    if result.entries and landing.buffered_entries(schema=schema):
        # More arrived than one run's time budget lands: continue in a fresh task.
        enqueue("tracking.tasks.land_events", schema)
    return {"entries": result.entries, "rows": result.rows, "inserted": result.inserted}


@public_task()
def land_all_pending() -> int:
    """Backstop (every minute): each workspace with buffered beacons, including entries a dead worker held."""
    schemas = buffer.pending_schemas()
    for schema in schemas:
        enqueue("tracking.tasks.land_events", schema)
    return len(schemas)


@tenant_task()
def apply_retention() -> int:
    return privacy.events_expire(schema=connection.schema_name)


@public_task()
def apply_retention_all() -> int:
    schemas = privacy.schemas_with_tracking()
    for schema in schemas:
        enqueue("tracking.tasks.apply_retention", schema)
    return len(schemas)
