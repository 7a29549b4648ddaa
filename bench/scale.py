"""Scale: many workspaces on one machine — creation, deploy-time migration, worker memory.

1. Create N workspaces through the product's service (template copy, domain, membership).
2. `manage.py bootstrap` with all N up to date (what every deploy without new migrations costs),
   beside the old way, `migrate_schemas --tenant` over every schema (measured on a sample of
   schemas and scaled to N).
3. A real migration pending in K workspaces (the newest migration of a tenant app reversed in
   each), then `bootstrap` migrating those K in parallel processes, beside one process.
4. Memory of one Celery worker process after it has loaded Bosco (RSS, idle), and of one that
   has run the per-workspace scheduling fan-out over all N workspaces.

    python bench/scale.py            # N = 1000, K = 40
    python bench/scale.py --quick    # N = 30, K = 4
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, drop_database, emit, machine, setup_django


def _bootstrap(processes: int) -> float:
    env = {**os.environ, "BOSCO_MIGRATION_PROCESSES": str(processes)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "bootstrap"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=3600
    )
    return time.perf_counter() - started


def _rss_mb(pid: int) -> float:
    import psutil

    return (
        sum(p.memory_info().rss for p in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]) / 2**20
    )


def _worker_memory(queue: str) -> tuple[float, float]:
    """RSS (MB) of a solo Celery worker once ready, and after it ran the fan-out over every workspace."""
    env = {**os.environ, "BOSCO_CELERY_QUEUE": queue}
    handle, name = tempfile.mkstemp(prefix="bench-scale-worker-", suffix=".log")
    log = Path(name)
    with os.fdopen(handle, "w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bosco", "worker", "-P", "solo", "-Q", ",".join(_queues(queue))],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while "ready." not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        idle = _rss_mb(worker.pid)
        from bosco.celery import app

        # The scheduling fan-out: one task that queues one per workspace, all run by this worker.
        app.send_task("connectors.tasks.schedule_syncs", queue=f"{queue}.syncs").get(timeout=600)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and _queue_depth(queue) > 0:
            time.sleep(0.5)
        return idle, _rss_mb(worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.unlink(missing_ok=True)


def _queues(base: str) -> list[str]:
    from bosco.queues import GROUPS

    return [base, *(f"{base}.{group}" for group in GROUPS)]


def _queue_depth(base: str) -> int:
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    return sum(client.llen(name) for name in _queues(base))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workspaces", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    n = args.workspaces or (30 if args.quick else 1000)
    k = min(n, 4 if args.quick else 40)
    sample = min(n, 10 if args.quick else 100)
    dbname = setup_django("scale")

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    from accounts.models import User, Workspace
    from accounts.services import workspace_create

    owner = User.objects.filter(email="bench@bosco.local").first() or User.objects.create_user("bench@bosco.local", "x")
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

    bootstrap_noop = _bootstrap(processes=4)
    print(f"bootstrap, {n} workspaces up to date: {bootstrap_noop:.1f} s")
    started = time.perf_counter()
    for schema in schemas[:sample]:
        call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
    per_schema = (time.perf_counter() - started) / sample
    connection.set_schema_to_public()
    sequential_estimate = per_schema * n
    print(
        f"migrate_schemas per up-to-date schema: {per_schema * 1000:.0f} ms → {sequential_estimate:.0f} s for {n} "
        f"(measured on {sample}); bootstrap is {sequential_estimate / bootstrap_noop:.1f}× faster"
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
        for processes in (1, 4):
            for schema in schemas[:k]:
                call_command("migrate_schemas", step[0], step[1], schema_name=schema, interactive=False, verbosity=0)
            connection.set_schema_to_public()
            timings[processes] = _bootstrap(processes)
            print(f"bootstrap migrating {k} workspaces behind, {processes} process(es): {timings[processes]:.1f} s")

    queue = f"benchscale{os.getpid()}"
    idle_mb, busy_mb = _worker_memory(queue)
    print(f"celery worker RSS: {idle_mb:.0f} MB idle, {busy_mb:.0f} MB after the fan-out over {n} workspaces")

    result = {
        "bench": "scale",
        "machine": machine(),
        "workspaces": n,
        "create_per_workspace_ms": round(create_s / max(created, 1) * 1000, 1) if created else None,
        "bootstrap_all_up_to_date_s": round(bootstrap_noop, 2),
        "migrate_schemas_sequential_estimate_s": round(sequential_estimate, 1),
        "bootstrap_speedup_vs_sequential": round(sequential_estimate / bootstrap_noop, 1),
        "target_bootstrap_1000_s": 120,
        "behind_workspaces": k if step else 0,
        "bootstrap_behind_1_process_s": round(timings[1], 2) if step else None,
        "bootstrap_behind_4_processes_s": round(timings[4], 2) if step else None,
        "parallel_speedup": round(timings[1] / timings[4], 2) if step else None,
        "worker_rss_idle_mb": round(idle_mb, 1),
        "worker_rss_after_fanout_mb": round(busy_mb, 1),
        "template_schema": settings.TENANT_BASE_SCHEMA,
    }
    if not args.keep:
        drop_database(dbname)
    emit(result)


if __name__ == "__main__":
    main()
