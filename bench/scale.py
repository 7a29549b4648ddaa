"""Scale: many workspaces on one machine — creation, deploy-time migration, the beat's sync
fan-out, nightly scoring, worker memory.

1. Create N workspaces through the product's service (template copy, domain, membership).
2. `manage.py bootstrap` with all N up to date (what every deploy without new migrations costs),
   beside the old way, `migrate_schemas --tenant` over every schema (measured on a sample of
   schemas and scaled to N).
3. A real migration pending in K workspaces (the newest migration of a tenant app reversed in
   each), then `bootstrap` migrating those K in parallel processes, beside one process; then (full
   run) every one of the N behind that migration and `bootstrap` migrating all N in 4 processes:
   what a deploy with a new migration costs (the target: under 2 minutes for 1,000).
4. The beat's sync fan-out: every workspace gets 2 connections (Google Ads and Meta, one ad
   account each) against the platform emulators, which the bench starts; one beat tick
   (`connectors.tasks.schedule_syncs`) is sent and W sync worker processes run everything it
   queues. The sync work is deliberately small (3 days of history, 3 campaigns): this measures
   scheduling fairness, not ingestion (bench/ingest.py does that). Per workspace: the wait from
   the tick until its syncs have all started (and until its first started); median / p90 / p99 /
   max and p99 ÷ median (the target: ≤ 2). Twice: with the fair order the product uses
   (CONNECTORS_SCHEDULE_FAIR, the default) and with the old FIFO order, on the same workspaces.
5. Nightly scoring: S workspaces with demo-size data (2 platforms × 3 accounts × 8 campaigns × 6
   ad groups, D days: ~115,000 fact rows at 400 days) scored one after another by one scoring
   worker process; seconds per workspace → worker-hours for 1,000 / 10,000 / 100,000 workspaces
   (a linear extrapolation: scoring is per workspace, independent of the others), and the
   process's RSS idle and at its peak.

    python bench/scale.py            # N = 1000, K = 40, W = 4, S = 3, D = 400
    python bench/scale.py --quick    # N = 4, K = 2, W = 2, S = 1 (a small workspace), D = 60; one
                                     # worker start-up shared by scoring and a fair-order-only tick,
                                     # one bootstrap of the K behind (2 processes): under a minute

Its database starts as a copy of `<name>_bench_seed` (shared schema and workspace template,
migrated by an earlier run; made by the first run) and is dropped in the background at the end:
neither the fresh database's migration nor PostgreSQL's checkpoint on DROP DATABASE is part of
what is measured, and on a busy machine each took half a minute.
    python bench/scale.py --parts fanout --workspaces 200   # one part, other sizes
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import date, timedelta

from _common import ROOT, drop_database, emit, machine, setup_django
from _scale_work import (
    Worker,
    fact_rows,
    fanout_reset,
    fanout_setup,
    fanout_tick,
    scoring_run,
    scoring_setup,
    sync_env,
)


def _bootstrap(processes: int) -> float:
    env = {**os.environ, "BOSCO_MIGRATION_PROCESSES": str(processes)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "bootstrap"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=3600
    )
    return time.perf_counter() - started


def _drop_queues(base: str) -> None:
    """The bench's own queues (the warehouse hand-offs of the syncs wait there; nobody runs them)."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    for name in client.scan_iter(f"{base}*"):
        client.delete(name)


def _migration_part(
    n: int, k: int, sample: int, schemas: list[str], process_counts: tuple[int, ...], *, up_to_date: bool
) -> dict[str, object]:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    bootstrap_noop = _bootstrap(processes=4) if up_to_date else None
    if bootstrap_noop:
        print(f"bootstrap, {n} workspaces up to date: {bootstrap_noop:.1f} s")
    started = time.perf_counter()
    for schema in schemas[:sample]:
        call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
    per_schema = (time.perf_counter() - started) / sample
    connection.set_schema_to_public()
    sequential_estimate = per_schema * n
    print(
        f"migrate_schemas per up-to-date schema: {per_schema * 1000:.0f} ms → {sequential_estimate:.0f} s for {n} "
        f"(measured on {sample})"
        + (f"; bootstrap is {sequential_estimate / bootstrap_noop:.1f}× faster" if bootstrap_noop else "")
    )

    # A real pending migration in k workspaces: reverse a tenant app's newest migration there.
    graph = MigrationLoader(connection).graph
    step = None
    for app in ("insights", "warehouse", "connectors", "alerts"):
        (leaf,) = [node for node in graph.leaf_nodes() if node[0] == app]
        parents = [p.key[1] for p in graph.node_map[leaf].parents if p.key[0] == app]
        if parents:
            step = (app, parents[0])
            break
    timings: dict[int, float] = {}
    if step:
        for processes in process_counts:
            for schema in schemas[:k]:
                call_command("migrate_schemas", step[0], step[1], schema_name=schema, interactive=False, verbosity=0)
            connection.set_schema_to_public()
            timings[processes] = _bootstrap(processes)
            print(f"bootstrap migrating {k} workspaces behind, {processes} process(es): {timings[processes]:.1f} s")
    all_behind = None
    if step and up_to_date:
        # A deploy with a new migration: every workspace behind, not only k. Reversing 1,000 schemas
        # through `migrate` would take longer than the deploy itself, so the step's backward SQL is
        # collected once and run in each schema (only for a step that is SQL through and through).
        reversed_ = _put_behind(schemas, step)
        if reversed_:
            all_behind = _bootstrap(processes=4)
            print(f"bootstrap migrating all {n} workspaces behind one migration, 4 processes: {all_behind:.1f} s")
    return {
        "bootstrap_all_behind_s": round(all_behind, 2) if all_behind else None,
        "bootstrap_all_up_to_date_s": round(bootstrap_noop, 2) if bootstrap_noop else None,
        "migrate_schemas_sequential_estimate_s": round(sequential_estimate, 1),
        "bootstrap_speedup_vs_sequential": round(sequential_estimate / bootstrap_noop, 1) if bootstrap_noop else None,
        "behind_workspaces": k if step else 0,
        **{f"bootstrap_behind_{p}_process{'es' if p > 1 else ''}_s": round(timings[p], 2) for p in timings},
        "parallel_speedup": round(timings[1] / timings[4], 2) if {1, 4} <= set(timings) else None,
    }


def _put_behind(schemas: list[str], step: tuple[str, str]) -> bool:
    """Undo the migration after `step` (the app's newest) in every schema with its backward SQL."""
    from django.conf import settings
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    app = step[0]
    connection.set_schema(settings.TENANT_BASE_SCHEMA, include_public=False)
    loader = MigrationExecutor(connection).loader
    (leaf,) = [node for node in loader.graph.leaf_nodes() if node[0] == app]
    sql = loader.collect_sql([(loader.graph.nodes[leaf], True)])
    connection.set_schema_to_public()
    if any("Raw Python" in line or "Raw SQL" in line for line in sql):
        return False
    statements = [line for line in sql if line.strip() and not line.startswith("--")]
    for schema in schemas:
        with connection.cursor() as cursor:
            cursor.execute(f'SET search_path = "{schema}"')
            cursor.execute("BEGIN")
            for statement in statements:
                cursor.execute(statement)
            cursor.execute("DELETE FROM django_migrations WHERE app = %s AND name = %s", leaf)
            cursor.execute("COMMIT")
    connection.set_schema_to_public()
    return True


def _emulator(workspaces: int) -> object:
    from devtools.emulators import EmulatorConfig, start_emulator_server

    # Every workspace reads the same emulated Meta ad account; a real one has its own, with its own
    # hourly usage budget. So the budget is the real one (600 calls) per workspace, not one shared.
    config = EmulatorConfig(seed=5, campaigns_per_account=3, meta_calls_per_hour=600 * workspaces)
    return start_emulator_server(host="127.0.0.1", port=0, config=config)


def _fanout_part(
    schemas: list[str], workers: int, base: str, emulator: object, orders: tuple[bool, ...], shared: Worker | None
) -> dict[str, object]:
    started = time.perf_counter()
    made = fanout_setup(schemas, emulator, history_days=3)
    print(f"{made} connections made in {time.perf_counter() - started:.0f} s")
    ticks = {}
    for fair in orders:  # the old FIFO order first, then the product's fair order
        fanout_reset(schemas)
        tick = fanout_tick(
            schemas, base=base, workers=workers, fair=fair, emulator_url=emulator.base_url,
            timeout=max(600.0, 10.0 * len(schemas)), shared=shared,
        )  # fmt: skip
        name = "fair" if fair else "fifo"
        ticks[name] = tick
        every, first = tick["workspace_wait_all_started"], tick["workspace_wait_first_started"]
        print(
            f"fan-out ({name}): {tick['succeeded']}/{tick['syncs']} syncs in {tick['drain_s']} s with {workers}"
            f" workers (a sync: {tick['sync_median_s']} s median); per workspace, all its syncs started:"
            f" median {every['median_s']} s, p90 {every['p90_s']}, p99 {every['p99_s']}, max {every['max_s']}"
            f" (p99/median {every['p99_over_median']}); first sync started: median {first['median_s']} s,"
            f" p99 {first['p99_s']} (p99/median {first['p99_over_median']})"
        )
    fair = ticks["fair"]
    return {
        "fanout_workspaces": len(schemas),
        "fanout_connections_per_workspace": 2,
        "fanout_sync_history_days": 3,
        "fanout_workers": workers,
        "fanout": ticks,
        "fanout_p99_over_median": fair["workspace_wait_all_started"]["p99_over_median"],
        "fanout_fifo_p99_over_median": ticks["fifo"]["workspace_wait_all_started"]["p99_over_median"]
        if "fifo" in ticks
        else None,
        "fanout_target_p99_over_median": 2.0,
        "sync_worker_rss_idle_mb": fair["worker_rss_idle_process_mb"],
        "sync_worker_rss_process_mb": fair["worker_rss_process_mb"],
        "sync_worker_rss_main_mb": fair["worker_rss_main_mb"],
    }


def _scoring_part(
    owner: object, count: int, days: int, demo_size: bool, base: str, shared: Worker | None
) -> dict[str, object]:
    end = date.today() - timedelta(days=1)
    started = time.perf_counter()
    schemas = scoring_setup(owner, count, days=days, end=end, demo_size=demo_size)
    rows = [fact_rows(schema) for schema in schemas]
    print(f"{count} scoring workspaces, {rows} fact rows, made in {time.perf_counter() - started:.0f} s")
    run = scoring_run(schemas, base=base, as_of=end, shared=shared)
    seconds, cpu = run["seconds"], run["cpu_seconds"]
    per_workspace = sum(seconds) / len(seconds)
    cpu_per_workspace = sum(cpu) / len(cpu)
    series = [report.get("series", 0) for report in run["reports"]]
    hours = {size: round(per_workspace * size / 3600, 2) for size in (1000, 10_000, 100_000)}
    print(
        f"scoring: {', '.join(f'{s:.1f}' for s in seconds)} s per workspace ({series} series); "
        f"{per_workspace:.1f} s × 1,000 / 3,600 = {hours[1000]} worker-hours a night for 1,000 workspaces "
        f"({hours[10_000]} for 10,000, {hours[100_000]} for 100,000); CPU {cpu_per_workspace:.1f} s per workspace "
        f"(wall time ÷ CPU time {per_workspace / cpu_per_workspace:.1f}: the machine's load); scoring process RSS "
        f"{run['rss_idle_process_mb']} MB idle, {run['rss_peak_process_mb']} MB peak"
    )
    return {
        "scoring_sample_workspaces": count,
        "scoring_demo_size": demo_size,
        "scoring_history_days": days,
        "scoring_fact_rows_per_workspace": round(sum(rows) / len(rows)),
        "scoring_series_per_workspace": round(sum(series) / len(series), 1),
        "scoring_seconds": [round(s, 2) for s in seconds],
        "scoring_s_per_workspace": round(per_workspace, 2),
        "scoring_cpu_s_per_workspace": round(cpu_per_workspace, 2),
        "scoring_cpu_hours_1000": round(cpu_per_workspace * 1000 / 3600, 2),
        "scoring_worker_hours_1000": hours[1000],
        "scoring_worker_hours_10000": hours[10_000],
        "scoring_worker_hours_100000": hours[100_000],
        "scoring_worker_rss_idle_mb": run["rss_idle_process_mb"],
        "scoring_worker_rss_peak_mb": run["rss_peak_process_mb"],
        "scoring_worker_main_rss_mb": run["rss_peak_main_mb"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workspaces", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None, help="sync worker processes in the fan-out")
    parser.add_argument("--parts", default="migrate,fanout,scoring", help="which parts to run (comma-separated)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    n = args.workspaces or (4 if args.quick else 1000)
    k = min(n, 2 if args.quick else 40)
    sample = min(n, 2 if args.quick else 100)
    workers = args.workers or (2 if args.quick else 4)
    # --quick bootstraps once (k behind, 2 processes; the full run adds one with all up to date and
    # 1 vs 4 processes), ticks once in the product's fair order (the full run adds the FIFO order),
    # and starts one worker for scoring and the fan-out, at the outset, so that its start-up
    # overlaps the workspaces' creation and the bootstrap (its figures are a check, not targets).
    process_counts = (2,) if args.quick else (1, 4)
    orders = (True,) if args.quick else (False, True)
    share = args.quick and {"scoring", "fanout"} <= parts
    # --quick scores one small workspace (2 accounts × 2 campaigns, 60 days): a check that the
    # part works, not a figure to extrapolate from.
    scoring_count, scoring_days, scoring_demo_size = (1, 60, False) if args.quick else (3, 400, True)
    dbname = setup_django("scale", seed=True)
    base = f"benchscale{os.getpid()}"

    from django.conf import settings

    from accounts.models import User, Workspace
    from accounts.services import workspace_create

    emulator = shared = None
    try:
        emulator = _emulator(n) if "fanout" in parts else None
        shared = (
            Worker(base, ["scoring", "syncs"], workers, sync_env(fair=True, emulator_url=emulator.base_url))
            if share
            else None
        )
        owner = User.objects.filter(email="bench@bosco.local").first() or User.objects.create_user(
            "bench@bosco.local", "x"
        )
        existing = set(Workspace.objects.values_list("slug", flat=True))
        started = time.perf_counter()
        created = 0
        for i in range(n):
            slug = f"scale-{i:05d}"
            if slug not in existing:
                workspace_create(owner=owner, name=f"Scale {i}", slug=slug)
                created += 1
        create_s = time.perf_counter() - started
        print(f"created {created} workspaces in {create_s:.1f} s ({create_s / max(created, 1) * 1000:.0f} ms each)")
        schemas = sorted(Workspace.objects.filter(slug__startswith="scale-").values_list("schema_name", flat=True))[:n]

        result: dict[str, object] = {
            "bench": "scale",
            "machine": machine(),
            "load_1min": round(os.getloadavg()[0], 1),
            "workspaces": n,
            "create_per_workspace_ms": round(create_s / max(created, 1) * 1000, 1) if created else None,
            "target_bootstrap_1000_s": 120,
            "template_schema": settings.TENANT_BASE_SCHEMA,
        }
        if "migrate" in parts:
            result.update(_migration_part(n, k, sample, schemas, process_counts, up_to_date=not args.quick))
        if shared:
            # One worker start-up for both parts: it scores first, then runs the fair tick's syncs.
            print(f"one worker for scoring and the fan-out, ready {shared.wait_ready():.1f} s after the bootstrap")
        if "scoring" in parts:
            result.update(_scoring_part(owner, scoring_count, scoring_days, scoring_demo_size, base, shared))
        if "fanout" in parts:
            result.update(_fanout_part(schemas, workers, base, emulator, orders, shared))
    finally:
        if shared:
            shared.stop()
        if emulator:
            emulator.shutdown()
        _drop_queues(base)
    result["load_1min_end"] = round(os.getloadavg()[0], 1)
    if not args.keep:
        drop_database(dbname, background=True)
    emit(result)


if __name__ == "__main__":
    main()
