"""The transformation runner: SQL models in dependency order, one transaction each.

`run_window` is the connectors → warehouse hand-off: after a sync it rebuilds staging → facts →
rollups for just that connection's platform, accounts and date window. `run_full` rebuilds
everything, `run_from` one model and everything downstream of it (used when FX rates or the
reporting currency change).

Guarantees:
- each model runs in its own transaction: its output, its quarantined rows, its restatement log
  entries, its data-test results and its lineage record commit together or not at all;
- a model that fails rolls back, the models that depend on it are skipped, and the windows they
  did not process stay pending (`PendingWindow`) until a later run of those models — so a
  failure delays downstream tables and never leaves them inconsistent for good;
- every model writes only rows that changed (merge on the natural key within the run's scope),
  so a rerun over the same raw data changes nothing;
- runs in one workspace are serialised by an advisory lock; workspaces run in parallel.

Why not dbt-core: see docs/decisions/0004-warehouse-sql-runner-and-money.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import DatabaseError, OperationalError, transaction
from django.utils import timezone
from django_tenants.utils import get_tenant_model

from bosco.db import connection
from warehouse.models import LineageEdge, ModelNode, ModelRun, PendingWindow, Platform, TransformRun
from warehouse.services import config, graph, quality
from warehouse.services.freshness import complete_through_publish_after
from warehouse.services.timezones import valid_time_zones
from warehouse.signals import warehouse_run_finished

logger = logging.getLogger(__name__)

FULL_FROM = date(2000, 1, 1)
FULL_TO = date(2099, 12, 31)
#: columns that say who wrote a row, not what it says: a change in them alone is not a change
BOOKKEEPING_COLUMNS = frozenset({"run_id", "updated_at", "fetched_at", "sync_run_id"})
_LOCK_CLASS = 0x57415245  # "WARE": the advisory-lock namespace of warehouse runs


class TransformFailed(Exception):
    """A model of the run failed; its changes were rolled back and dependants skipped."""

    def __init__(self, run_id: int, failures: dict[str, str]) -> None:
        self.run_id = run_id
        self.failures = failures
        detail = "; ".join(f"{model}: {error}" for model, error in failures.items())
        super().__init__(f"warehouse run {run_id} failed: {detail}")


@dataclass(frozen=True)
class Scope:
    """What a run covers: platforms, accounts (None = all) and an inclusive date window."""

    platforms: tuple[str, ...]
    account_ids: tuple[str, ...] | None
    date_from: date
    date_to: date

    def params(self) -> dict[str, Any]:
        accounts = list(self.account_ids or ())
        raw_ids = sorted({v for a in accounts for v in (a, f"act_{a}")} | set(accounts))
        return {
            "platforms": list(self.platforms),
            "all_accounts": self.account_ids is None,
            "account_ids": accounts,
            "raw_account_ids": raw_ids,
            "date_from": self.date_from,
            "date_to": self.date_to,
        }


def normalize_account_id(platform: str, account_id: str) -> str:
    """Google customer ids without dashes, Meta ad account ids without `act_`."""
    account_id = str(account_id).strip()
    if platform == "meta":
        return account_id.removeprefix("act_")
    if platform == "google_ads":
        return account_id.replace("-", "")
    return account_id


# --------------------------------------------------------------------------- entry points


def run_window(
    *,
    connection_id: int,
    platform: str,
    account_ids: list[str],
    date_from: date,
    date_to: date,
    sync_run_id: int,
    synced_from: datetime | None = None,
) -> dict[str, Any]:
    """Transform one sync's window: its platform's staging, the dimensions, the fact, the rollups.

    `synced_from` is when the sync began reading the platform; the run keeps it, and
    `warehouse.selectors.freshness` reads it to tell which days were whole when they were read."""
    if platform not in graph.platforms_with_models():
        raise ValueError(f"no warehouse models for platform {platform!r}")
    if date_from > date_to:
        raise ValueError(f"empty window: {date_from} is after {date_to}")
    if not account_ids:
        raise ValueError("a window names at least one account")
    scope = Scope(
        platforms=(platform,),
        account_ids=tuple(sorted({normalize_account_id(platform, a) for a in account_ids})),
        date_from=date_from,
        date_to=date_to,
    )
    return _run(
        kind=TransformRun.Kind.WINDOW,
        scope=scope,
        models=graph.plan(platforms=[platform]),
        connection_id=connection_id,
        sync_run_id=sync_run_id,
        synced_from=synced_from,
    )


def run_upload_window(
    *, platforms: list[str], account_ids: list[str], date_from: date, date_to: date
) -> dict[str, Any]:
    """Transform what an uploaded file changed: the upload staging, then the dimensions, the fact
    and the rollups for these platforms (the upload's sources, or the platforms of the campaigns
    its offline conversions matched), accounts and days."""
    if date_from > date_to:
        raise ValueError(f"empty window: {date_from} is after {date_to}")
    if not platforms or not account_ids:
        raise ValueError("an upload window names at least one platform and one account")
    scope = Scope(
        platforms=tuple(sorted(set(platforms))),
        account_ids=tuple(sorted(set(account_ids))),
        date_from=date_from,
        date_to=date_to,
    )
    return _run(
        kind=TransformRun.Kind.WINDOW,
        scope=scope,
        models=graph.plan(platforms=[*platforms, f"{graph.UPLOAD_PLATFORM_PREFIX}files"]),
    )


def all_platforms() -> list[str]:
    return sorted(Platform.objects.values_list("code", flat=True))


def run_full(*, platforms: list[str] | None = None) -> dict[str, Any]:
    """Rebuild every model over all dates and accounts (on demand; idempotent)."""
    chosen = platforms or all_platforms()
    scope = Scope(platforms=tuple(chosen), account_ids=None, date_from=FULL_FROM, date_to=FULL_TO)
    return _run(kind=TransformRun.Kind.FULL, scope=scope, models=graph.plan(platforms=list(chosen)))


def run_from(
    *, model: str, date_from: date = FULL_FROM, date_to: date = FULL_TO, kind: str = TransformRun.Kind.FX
) -> dict[str, Any]:
    """Rerun `model` and everything downstream of it for every platform and account."""
    names = {model} | graph.downstream(model)
    selected = [m for m in graph.models().values() if m.name in names]
    scope = Scope(platforms=tuple(all_platforms()), account_ids=None, date_from=date_from, date_to=date_to)
    return _run(kind=kind, scope=scope, models=selected)


# --------------------------------------------------------------------------- the run


@contextmanager
def workspace_lock() -> Iterator[None]:
    """One warehouse run at a time per workspace (session advisory lock on the schema name)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", [_LOCK_CLASS, connection.schema_name])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [_LOCK_CLASS, connection.schema_name])


def reporting_currency() -> str:
    """The current workspace's reporting currency (read fresh: it may just have changed)."""
    workspace = get_tenant_model().objects.filter(schema_name=connection.schema_name).first()
    if workspace is None:
        raise RuntimeError(f"no workspace for schema {connection.schema_name!r}")
    return str(workspace.reporting_currency).upper()


def lineage_register() -> None:
    """Make the lineage tables describe the models as deployed (cheap when nothing changed)."""
    models = graph.models()
    known = dict(ModelNode.objects.values_list("name", "sql_sha256"))
    wanted = {m.name: m.sha256 for m in models.values()} | dict.fromkeys(graph.SOURCES, "")
    if known == wanted:
        return
    now = timezone.now()
    with transaction.atomic():
        ModelNode.objects.exclude(name__in=wanted).delete()
        for name, layer in graph.SOURCES.items():
            ModelNode.objects.update_or_create(
                name=name,
                defaults={
                    "layer": layer,
                    "output": name,
                    "materialization": "source",
                    "sql_sha256": "",
                    "updated_at": now,
                },
            )
        for m in models.values():
            ModelNode.objects.update_or_create(
                name=m.name,
                defaults={
                    "layer": m.layer,
                    "output": m.output,
                    "materialization": m.materialization,
                    "description": m.description,
                    "sql_sha256": m.sha256,
                    "updated_at": now,
                },
            )
        LineageEdge.objects.all().delete()
        LineageEdge.objects.bulk_create(LineageEdge(model=m.name, input=i) for m in models.values() for i in m.inputs)


def _run(
    *,
    kind: str,
    scope: Scope,
    models: list[graph.SqlModel],
    connection_id: int | None = None,
    sync_run_id: int | None = None,
    synced_from: datetime | None = None,
) -> dict[str, Any]:
    for model in models:
        quality.validate_specs(model)
    with workspace_lock():
        lineage_register()
        now = timezone.now()
        run = TransformRun.objects.create(
            kind=kind,
            connection_id=connection_id,
            sync_run_id=sync_run_id,
            synced_from=synced_from,
            platforms=list(scope.platforms),
            account_ids=list(scope.account_ids) if scope.account_ids is not None else None,
            date_from=scope.date_from,
            date_to=scope.date_to,
            started_at=now,
        )
        PendingWindow.objects.bulk_create(
            PendingWindow(
                model=m.name,
                platforms=list(scope.platforms),
                account_ids=run.account_ids,
                date_from=scope.date_from,
                date_to=scope.date_to,
                run_id=run.pk,
                created_at=now,
            )
            for m in models
        )
        base = {
            "run_id": run.pk,
            "now": now,
            "reporting_currency": reporting_currency(),
            # FX-only reruns change no platform number: nothing to compare for the restatement log
            "log_restatements": kind != TransformRun.Kind.FX,
            **config.model_parameters(),
        }
        failures: dict[str, str] = {}
        transient: BaseException | None = None
        summary: dict[str, Any] = {"models": {}}
        broken: set[str] = set()
        for model in models:
            if broken & set(model.inputs):
                broken.add(model.name)
                _record_skip(run, model, scope)
                summary["models"][model.name] = {"status": "skipped"}
                continue
            try:
                result = _execute(model, run, base)
            except Exception as exc:
                logger.exception("warehouse model %s failed in run %s", model.name, run.pk)
                broken.add(model.name)
                failures[model.name] = f"{type(exc).__name__}: {exc}"
                if isinstance(exc, OperationalError):
                    transient = exc
                _record_failure(run, model, scope, exc)
                summary["models"][model.name] = {"status": "failed", "error": failures[model.name]}
                continue
            summary["models"][model.name] = result
        try:
            checks = quality.run_checks(run=run)
            summary["warnings"] = sum(1 for c in checks if c.failing_rows)
        except DatabaseError:
            logger.exception("run checks failed for run %s", run.pk)
        run.status = TransformRun.Status.FAILED if failures else TransformRun.Status.SUCCESS
        run.finished_at = timezone.now()
        run.error = "\n".join(f"{k}: {v}" for k, v in failures.items())
        summary["duration_ms"] = round((run.finished_at - run.started_at).total_seconds() * 1000, 1)
        run.summary = summary
        run.save(update_fields=["status", "finished_at", "error", "summary"])
        if run.status == TransformRun.Status.SUCCESS and synced_from is not None:
            complete_through_publish_after(
                schema_name=connection.schema_name
            )  # a new sync moment: the newest complete day may move
    # the apps above (alerts) react to new numbers; receivers queue their work on commit
    warehouse_run_finished.send(sender=TransformRun, run_id=run.pk, status=run.status)
    if transient is not None:
        raise transient  # the task retries; the pending windows make the retry complete the work
    if failures:
        raise TransformFailed(run.pk, failures)
    return {"run_id": run.pk, "status": run.status, **summary}


def _hull(pending: list[PendingWindow]) -> Scope:
    """One scope covering every pending window of a model (over-covering is harmless)."""
    platforms = sorted({p for w in pending for p in w.platforms})
    if any(w.account_ids is None for w in pending):
        accounts: tuple[str, ...] | None = None
    else:
        accounts = tuple(sorted({a for w in pending for a in (w.account_ids or [])}))
    return Scope(
        platforms=tuple(platforms),
        account_ids=accounts,
        date_from=min(w.date_from for w in pending),
        date_to=max(w.date_to for w in pending),
    )


def _execute(model: graph.SqlModel, run: TransformRun, base: dict[str, Any]) -> dict[str, Any]:
    started_at = timezone.now()
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Everything a model writes is derived from raw rows and recomputable: if a crash
            # loses this commit, its pending window is lost with it and the next run redoes it.
            # So the commit need not wait for the WAL flush.
            cursor.execute("SET LOCAL synchronous_commit TO off")
            # Window statements touch thousands of rows, but their cost estimates over big tables
            # cross jit_above_cost: compiling them took 1–2 s each here, far longer than running them.
            cursor.execute("SET LOCAL jit TO off")
            # Batch-sized hashes and sorts stay in memory instead of spilling to temporary files.
            cursor.execute("SET LOCAL work_mem TO '64MB'")
        pending = list(PendingWindow.objects.select_for_update().filter(model=model.name).order_by("pk"))
        scope = _hull(pending)
        params = {**base, **scope.params()}
        if any("valid_time_zones" in sql for sql in (model.select_sql or "", *(s.sql for s in model.steps))):
            params["valid_time_zones"] = valid_time_zones()
        details: dict[str, Any] = {}
        outcomes: list[quality.TestOutcome] = []
        quarantined = 0
        with connection.cursor() as cursor:
            if model.materialization == "script":
                rows_read = rows_written = 0
                for step in model.steps:
                    cursor.execute(step.sql, params)
                    count = max(cursor.rowcount, 0)
                    if step.sql.lstrip().upper().startswith("CREATE"):
                        rows_read += count
                    else:
                        rows_written += count
                    details[step.name] = count
            else:
                # ON COMMIT DROP does not fire when the caller's transaction is still open (a
                # savepoint here): drop any leftover explicitly.
                cursor.execute("DROP TABLE IF EXISTS _m")
                cursor.execute(f"CREATE TEMPORARY TABLE _m ON COMMIT DROP AS {model.select_sql}", params)
                rows_read = max(cursor.rowcount, 0)
                if rows_read >= 1000:
                    # An index and statistics keep the merge's anti-join and upsert plans linear
                    # even when the target's own statistics are stale (a table that just grew).
                    cursor.execute(f"CREATE INDEX ON _m ({', '.join(model.unique_key)})")
                    cursor.execute(f"ANALYZE _m ({', '.join(model.unique_key)})")
                outcomes, quarantined = quality.apply_row_tests(cursor, model, params)
                outcomes += quality.apply_model_tests(cursor, model, params)
                for step in model.steps:
                    if not step.after_merge:
                        cursor.execute(step.sql, params)
                        details[step.name] = max(cursor.rowcount, 0)
                rows_written = _merge(cursor, model, params)
                for step in model.steps:
                    if step.after_merge:
                        cursor.execute(step.sql, params)
                        details[step.name] = max(cursor.rowcount, 0)
            if model.materialization != "script":
                cursor.execute("DROP TABLE IF EXISTS _m")
        PendingWindow.objects.filter(pk__in=[w.pk for w in pending]).delete()
        duration_ms = (time.perf_counter() - started) * 1000
        ModelRun.objects.create(
            run=run,
            model=model.name,
            output=model.output,
            inputs=list(model.inputs),
            date_from=scope.date_from,
            date_to=scope.date_to,
            rows_read=rows_read,
            rows_written=rows_written,
            rows_quarantined=quarantined,
            duration_ms=round(duration_ms, 2),
            status=ModelRun.Status.SUCCESS,
            details={**details, "platforms": list(scope.platforms), "accounts": scope.account_ids},
            started_at=started_at,
        )
        quality.outcomes_store(run=run, outcomes=outcomes)
    return {
        "status": "success",
        "rows_read": rows_read,
        "rows_written": rows_written,
        "rows_quarantined": quarantined,
        "duration_ms": round(duration_ms, 2),
        **({"steps": details} if details else {}),
    }


_columns_cache: dict[str, list[str]] = {}


def _table_columns(cursor: Any, table: str) -> list[str]:
    if table not in _columns_cache:
        cursor.execute(
            """SELECT a.attname FROM pg_attribute a
                WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
                  AND a.attidentity = '' ORDER BY a.attnum""",
            [table],
        )
        found = [row[0] for row in cursor.fetchall()]
        if not found:
            raise graph.ModelDefinitionError(f"table {table} does not exist (migrations not applied?)")
        _columns_cache[table] = found
    return _columns_cache[table]


def _merge(cursor: Any, model: graph.SqlModel, params: dict[str, Any]) -> int:
    """Write `_m` into the model's table, touching only rows that changed.

    merge: rows of the run's scope missing from `_m` are deleted, the rest upserted;
    upsert: no deletes (dimension members are never removed: their keys are referenced).
    """
    table = model.output
    cursor.execute("SELECT * FROM _m LIMIT 0")
    produced = {d[0] for d in cursor.description}
    columns = [c for c in _table_columns(cursor, table) if c in produced]
    missing_key = [k for k in model.unique_key if k not in columns]
    if missing_key:
        raise graph.ModelDefinitionError(f"{model.name}: SELECT lacks key columns {missing_key}")
    written = 0
    col_list = ", ".join(columns)
    # Rows go in key order: tables keyed by day first stay physically grouped by day, which is
    # what keeps the one-day reads of the cumulative rollup to a few pages.
    order = ", ".join(model.unique_key)
    if model.materialization == "merge":
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {model.scope})", params)  # nosec B608 # identifiers from models in code, bound values
        if not cursor.fetchone()[0]:
            # Nothing of this scope yet (first sync, backfill, rebuild): a plain insert is enough.
            cursor.execute(f"INSERT INTO {table} ({col_list}) SELECT {col_list} FROM _m ORDER BY {order}", params)  # nosec B608 # identifiers from models in code, bound values
            return max(cursor.rowcount, 0)
        match = " AND ".join(f"_m.{k} = {table}.{k}" for k in model.unique_key)
        cursor.execute(
            f"DELETE FROM {table} WHERE ({model.scope}) AND NOT EXISTS (SELECT 1 FROM _m WHERE {match})",  # nosec B608 # identifiers from models in code, bound values
            params,
        )
        written += max(cursor.rowcount, 0)
    values = [c for c in columns if c not in model.unique_key]
    compared = [c for c in values if c not in BOOKKEEPING_COLUMNS]
    conflict = ", ".join(model.unique_key)
    if compared:
        # Drop the batch's unchanged rows first: an upsert that changes nothing still locks (and
        # so writes) every row it meets; a read-only anti-join does not.
        same_key = " AND ".join(f"t.{k} = _m.{k}" for k in model.unique_key)
        same_values = (
            f"({', '.join(f't.{c}' for c in compared)}, NULL) IS NOT DISTINCT FROM"
            f" ({', '.join(f'_m.{c}' for c in compared)}, NULL)"
        )
        # Inside the subquery the scope's bare column names resolve to `t` (the innermost FROM).
        in_scope = f"({model.scope}) AND " if model.scope else ""
        cursor.execute(
            f"DELETE FROM _m WHERE EXISTS (SELECT 1 FROM {table} t WHERE {in_scope}{same_key} AND {same_values})",  # nosec B608 # identifiers from models in code, bound values
            params,
        )
    if values:
        assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in values)
        action = f"DO UPDATE SET {assignments}"  # nosec B608 # identifiers from models in code, bound values
    else:
        action = "DO NOTHING"
    cursor.execute(
        f"INSERT INTO {table} AS t ({col_list}) SELECT {col_list} FROM _m ORDER BY {order}"
        f" ON CONFLICT ({conflict}) {action}",  # nosec B608 # identifiers from models in code, bound values
        params,
    )
    written += max(cursor.rowcount, 0)
    return written


def _record_failure(run: TransformRun, model: graph.SqlModel, scope: Scope, exc: BaseException) -> None:
    try:
        ModelRun.objects.create(
            run=run,
            model=model.name,
            output=model.output,
            inputs=list(model.inputs),
            date_from=scope.date_from,
            date_to=scope.date_to,
            status=ModelRun.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:4000],
            started_at=timezone.now(),
        )
    except DatabaseError:
        logger.exception("could not record the failure of %s in run %s", model.name, run.pk)


def _record_skip(run: TransformRun, model: graph.SqlModel, scope: Scope) -> None:
    ModelRun.objects.create(
        run=run,
        model=model.name,
        output=model.output,
        inputs=list(model.inputs),
        date_from=scope.date_from,
        date_to=scope.date_to,
        status=ModelRun.Status.SKIPPED,
        error="an input failed in this run",
        started_at=timezone.now(),
    )


def settling_refresh() -> int:
    """Clear the settling flag of days that left their platform's restatement window.

    Runs the `after_settle` steps of the models that carry the flag, for every platform; the
    nightly checks call it so days settle even when no sync arrives.
    """
    params: dict[str, Any] = {
        "platforms": all_platforms(),
        "now": timezone.now(),
        "valid_time_zones": valid_time_zones(),
    }
    changed = 0
    with workspace_lock(), transaction.atomic(), connection.cursor() as cursor:
        for model in graph.models().values():
            for step in model.steps:
                if step.name == "after_settle":
                    cursor.execute(step.sql, params)
                    changed += max(cursor.rowcount, 0)
    return changed
