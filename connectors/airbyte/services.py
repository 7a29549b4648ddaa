"""Writes for Airbyte sources: prepare (build + spec), add, check + discover, choose streams.

Anything that runs the source (building its virtualenv can take a minute; `check` and
`discover` reach the platform) runs in a worker: the views queue `connectors.tasks.airbyte_*`
by name and the pages poll. The spec of a source version is cached (it never changes for a
pinned version), so the form renders from the cache.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from billing.entitlements import EntitlementError, check
from bosco.db import connection as db
from bosco.tasks import enqueue
from connectors.airbyte import protocol
from connectors.airbyte.forms import config_merge
from connectors.airbyte.process import SourceFailed, run_simple
from connectors.airbyte.registry import SourceDefinition, source_get
from connectors.airbyte.venvs import VenvError
from connectors.errors import ConnectorError
from connectors.models import AirbyteSource, Connection, ConnectionAccount, Platform, SyncRun
from connectors.services import data_sources_in_use
from connectors.sync.runs import enqueue_run

logger = logging.getLogger("connectors.airbyte")

PREPARE_TASK = "connectors.tasks.airbyte_prepare"
CHECK_TASK = "connectors.tasks.airbyte_check_discover"


def _spec_key(source: SourceDefinition) -> str:
    return f"airbyte-spec:{source.key}:{source.package}=={source.version}:{source.script}"


def _error_key(source: SourceDefinition) -> str:
    return f"airbyte-prepare-error:{source.key}:{source.version}"


def spec_cached(*, source_key: str) -> dict[str, Any] | None:
    return cache.get(_spec_key(source_get(source_key)))


def prepare_error(*, source_key: str) -> str | None:
    return cache.get(_error_key(source_get(source_key)))


def source_prepare_request(*, source_key: str) -> None:
    """Queue building the source and reading its spec (at most once a minute per source)."""
    source = source_get(source_key)
    if cache.add(f"airbyte-prepare-queued:{source.key}:{source.version}", True, timeout=60):
        cache.delete(_error_key(source))
        enqueue(PREPARE_TASK, db.schema_name, source_key=source_key)


def source_prepare(*, source_key: str) -> dict[str, Any]:
    """Build the source's virtualenv if needed and cache its connectionSpecification."""
    source = source_get(source_key)
    try:
        spec = run_simple(source, "spec")
    except (VenvError, SourceFailed, protocol.ProtocolError) as exc:
        cache.set(_error_key(source), str(exc), timeout=3600)
        cache.delete(f"airbyte-prepare-queued:{source.key}:{source.version}")
        raise
    assert isinstance(spec, protocol.Spec)
    cache.set(_spec_key(source), spec.connection_specification, timeout=None)
    return spec.connection_specification


@transaction.atomic
def airbyte_source_add(
    *,
    source_key: str,
    label: str,
    currency: str,
    time_zone: str,
    config: dict[str, Any],
    secrets: dict[str, Any],
    spec: dict[str, Any],
    user_id: int | None,
) -> Connection:
    """Store a new Airbyte connection (config, encrypted secrets) and queue its check + discover."""
    source = source_get(source_key)
    try:  # an Airbyte source counts against the plan's data sources like any connection
        check(db.schema_name, "data_sources", current=data_sources_in_use())
    except EntitlementError as exc:
        raise ConnectorError(f"entitlement: {exc.limit}", user_message=exc.message) from exc
    connection = Connection.objects.create(
        platform=Platform.AIRBYTE,
        label=label or source.name,
        lookback_days=0,
        backfill_days=0,
        sync_interval_hours=settings.CONNECTORS_SYNC_INTERVAL_HOURS,
        created_by_id=user_id,
        # no first sync until streams are chosen: the schedule only picks up connections with a time
        next_sync_at=None,
    )
    ConnectionAccount.objects.create(
        connection=connection,
        external_id=f"airbyte-{connection.pk}",
        name=label or source.name,
        currency=currency,
        time_zone=time_zone,
        selected=False,  # selected once streams are chosen: then it syncs
    )
    AirbyteSource.objects.create(
        connection=connection,
        source_key=source.key,
        package=source.package,
        version=source.version,
        config=config,
        secrets=json.dumps(secrets) if secrets else "",
        spec=spec,
    )
    enqueue(CHECK_TASK, db.schema_name, connection_id=connection.pk, on_commit=True)
    return connection


def check_discover_request(*, connection: Connection) -> None:
    """Queue `check` + `discover` again (after the platform changed, or to see schema changes)."""
    enqueue(CHECK_TASK, db.schema_name, connection_id=connection.pk)


def _schema_diff(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, list[str]]:
    def props(stream: dict[str, Any] | None) -> dict[str, str]:
        schema = (stream or {}).get("json_schema") or {}
        return {k: json.dumps(v, sort_keys=True) for k, v in (schema.get("properties") or {}).items()}

    before, after = props(old), props(new)
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": sorted(k for k in set(before) & set(after) if before[k] != after[k]),
    }


def check_and_discover(*, connection_id: int) -> AirbyteSource:
    """Run `check`, then `discover`; record the answers, and what changed since the last discovery."""
    row = AirbyteSource.objects.select_related("connection").get(connection_id=connection_id)
    source = source_get(row.source_key)
    config = config_merge(row.config, json.loads(row.secrets or "{}"))
    now = timezone.now()
    try:
        status = run_simple(source, "check", config=config)
        assert isinstance(status, protocol.ConnectionStatus)
        ok, message = status.succeeded, status.message
        catalog = None
        if ok:
            answer = run_simple(source, "discover", config=config)
            assert isinstance(answer, protocol.Catalog)
            catalog = answer.streams
    except (VenvError, SourceFailed, protocol.ProtocolError) as exc:
        ok, message, catalog = False, str(exc), None
    with transaction.atomic():
        row = AirbyteSource.objects.select_for_update().get(pk=row.pk)
        row.check_ok = ok
        row.check_message = message if not ok else (message or "Connection test succeeded.")
        row.checked_at = now
        if catalog is not None:
            _record_catalog(row, catalog, now)
        row.save()
        if ok:
            Connection.objects.filter(pk=connection_id, status=Connection.Status.ERROR).update(
                status=Connection.Status.ACTIVE, status_message=""
            )
        else:
            Connection.objects.filter(pk=connection_id).update(
                status=Connection.Status.ERROR,
                status_message=f"The connection test failed: {row.check_message}"[:2000],
            )
    return row


def catalog_refresh(*, connection_id: int, config: dict[str, Any]) -> str | None:
    """`discover` again before a run, recording schema changes; the error message if it failed.

    A failed discovery does not stop the run: the stored catalog is still what Bosco asked for.
    """
    row = AirbyteSource.objects.get(connection_id=connection_id)
    try:
        answer = run_simple(source_get(row.source_key), "discover", config=config)
    except (VenvError, SourceFailed, protocol.ProtocolError) as exc:
        logger.warning("discover before the run of connection %s failed: %s", connection_id, exc)
        return str(exc)
    assert isinstance(answer, protocol.Catalog)
    with transaction.atomic():
        row = AirbyteSource.objects.select_for_update().get(pk=row.pk)
        _record_catalog(row, answer.streams, timezone.now())
        row.save(update_fields=["catalog", "discovered_at", "schema_changes", "streams"])
    return None


def _record_catalog(row: AirbyteSource, streams: list[dict[str, Any]], now: datetime) -> None:
    previous = {s["name"]: s for s in row.catalog.get("streams", [])} if row.catalog else {}
    if previous:
        changes = []
        for stream in streams:
            if stream["name"] not in previous:
                continue
            diff = _schema_diff(previous[stream["name"]], stream)
            if any(diff.values()):
                changes.append({"stream": stream["name"], **diff, "detected_at": now.isoformat()})
        gone = sorted(set(previous) - {s["name"] for s in streams})
        for name in gone:
            changes.append(
                {
                    "stream": name,
                    "added": [],
                    "removed": ["(the whole stream)"],
                    "changed": [],
                    "detected_at": now.isoformat(),
                }
            )
        row.schema_changes = (changes + list(row.schema_changes))[:50]
    row.catalog = {"streams": streams}
    row.discovered_at = now
    names = {s["name"] for s in streams}
    if not row.streams:
        source = source_get(row.source_key)
        defaults = [n for n in source.default_streams if n in names]
        row.streams = defaults or sorted(names)
    else:
        row.streams = [n for n in row.streams if n in names]


@transaction.atomic
def streams_choose(*, connection: Connection, streams: list[str], user_id: int | None) -> SyncRun | None:
    """Keep the chosen streams (from the discovered catalog) and start a sync."""
    row = AirbyteSource.objects.select_for_update().get(connection=connection)
    names = {s["name"] for s in row.catalog.get("streams", [])}
    unknown = sorted(set(streams) - names)
    if unknown or not streams:
        raise ConnectorError(
            "bad streams",
            user_message="Choose at least one of the source's streams."
            if not streams
            else f"Unknown streams: {', '.join(unknown)}.",
        )
    row.streams = sorted(set(streams))
    row.save(update_fields=["streams"])
    connection.accounts.update(selected=True)
    if connection.status not in (Connection.Status.ACTIVE, Connection.Status.ERROR):
        return None
    active = connection.runs.filter(status__in=SyncRun.ACTIVE_STATUSES).first()
    if active is not None:
        return active
    run = SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.MANUAL, requested_by_id=user_id)
    enqueue_run(run)
    return run


@transaction.atomic
def schema_changes_acknowledge(*, connection: Connection) -> None:
    AirbyteSource.objects.filter(connection=connection).update(schema_changes=[])


def airbyte_secrets_clear(*, connection: Connection) -> None:
    """Disconnecting forgets the source's secrets, as it forgets OAuth tokens."""
    AirbyteSource.objects.filter(connection=connection).update(secrets="")
