"""The two work-shaped parts of bench/scale.py: the beat's sync fan-out and the nightly scoring.

Both run real `celery worker` processes on queues of their own (`<base>.syncs`, `<base>.scoring`)
and read what the product recorded (sync runs' start times, the workers' own task timings).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import ROOT

PLATFORMS = ("google_ads", "meta")


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def distribution(values: list[float]) -> dict[str, float]:
    median = statistics.median(values)
    return {
        "median_s": round(median, 2),
        "p90_s": round(quantile(values, 0.90), 2),
        "p99_s": round(quantile(values, 0.99), 2),
        "max_s": round(max(values), 2),
        "p99_over_median": round(quantile(values, 0.99) / median, 2) if median else None,
    }


def rss_mb(pid: int) -> tuple[float, float]:
    """(main process, largest child) RSS in MB of a worker."""
    import psutil

    main = psutil.Process(pid)
    children = [p.memory_info().rss for p in main.children(recursive=True)]
    return main.memory_info().rss / 2**20, (max(children) if children else 0) / 2**20


class Worker:
    """`celery worker` on some of a base queue's groups, its log in a temporary file; RSS sampled."""

    def __init__(self, base: str, groups: list[str], concurrency: int, env: dict[str, str]) -> None:
        handle, name = tempfile.mkstemp(prefix="bench-scale-worker-", suffix=".log")
        self.log = Path(name)
        queues = ",".join(f"{base}.{group}" for group in groups)
        with os.fdopen(handle, "w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "bosco", "worker", "-Q", queues, "-c", str(concurrency),
                 "-n", f"bench-{groups[0]}-{os.getpid()}@%h", "-l", "INFO", "--without-gossip", "--without-mingle"],
                cwd=ROOT, env={**os.environ, "BOSCO_CELERY_QUEUE": base, **env}, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.peak_main_mb = self.peak_child_mb = 0.0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def wait_ready(self, timeout: float = 300) -> float:
        started = time.perf_counter()
        deadline = time.monotonic() + timeout
        while "ready." not in self.log.read_text(errors="replace"):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"worker did not start: {self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        self.idle_main_mb, self.idle_child_mb = rss_mb(self.proc.pid)
        self._sampler.start()
        return time.perf_counter() - started

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            try:
                main, child = rss_mb(self.proc.pid)
            except Exception:  # the process may be exiting
                return
            self.peak_main_mb = max(self.peak_main_mb, main)
            self.peak_child_mb = max(self.peak_child_mb, child)

    def reset_peaks(self) -> None:
        """Start the peak RSS over (a worker shared by two parts: each part reports its own peak)."""
        self.peak_main_mb = self.peak_child_mb = 0.0

    def cpu_seconds(self) -> float:
        """CPU time (user + system) its pool processes have used so far."""
        import psutil

        total = 0.0
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            times = child.cpu_times()
            total += times.user + times.system
        return total

    def task_seconds(self, task: str) -> list[float]:
        """Run times of `task` from the worker's own "succeeded in Xs" lines."""
        pattern = re.compile(rf"Task {re.escape(task)}\[[^\]]+\] succeeded in ([0-9.]+)s")
        return [float(m) for m in pattern.findall(self.log.read_text(errors="replace"))]

    def stop(self) -> None:
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
        self.log.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the sync fan-out


def fanout_setup(schemas: list[str], emulator: Any, history_days: int) -> int:
    """Two connections per workspace (Google Ads and Meta, one ad account each), due now."""
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from connectors.models import Connection, ConnectionAccount

    config = emulator.state.config
    accounts = {"google_ads": config.google_accounts[0], "meta": config.meta_accounts[0]}
    made = 0
    for schema in schemas:
        with schema_context(schema):
            if Connection.objects.exists():  # kept from an earlier run: tokens of this emulator
                for connection in Connection.objects.all():
                    tokens = emulator.state.issue_tokens(connection.platform)
                    connection.access_token = tokens["access_token"]
                    connection.refresh_token = tokens.get("refresh_token") or ""
                    connection.status = Connection.Status.ACTIVE
                    connection.save()
                continue
            for platform in PLATFORMS:
                tokens = emulator.state.issue_tokens(platform)
                connection = Connection.objects.create(
                    platform=platform,
                    label=f"{platform} bench",
                    access_token=tokens["access_token"],
                    refresh_token=tokens.get("refresh_token") or "",
                    token_expires_at=timezone.now() + timedelta(days=30),
                    lookback_days=history_days,
                    backfill_days=history_days,
                )
                spec = accounts[platform]
                ConnectionAccount.objects.create(
                    connection=connection,
                    external_id=f"act_{spec.account_id}" if platform == "meta" else spec.account_id,
                    name=spec.name,
                    currency=spec.currency,
                    time_zone=spec.time_zone,
                    selected=True,
                )
                made += 1
    return made


def _sql_all(schemas: list[str], select: str) -> list[tuple]:
    """One statement over every schema (a benchmark's read; the product never crosses schemas)."""
    from django.db import connection

    out: list[tuple] = []
    for i in range(0, len(schemas), 200):
        union = " UNION ALL ".join(select.format(schema=s, quoted=f"'{s}'") for s in schemas[i : i + 200])
        with connection.cursor() as cursor:
            cursor.execute(union)
            out.extend(cursor.fetchall())
    return out


def fanout_reset(schemas: list[str]) -> None:
    """Make every connection due again with no history, as before the first tick."""
    from django.db import connection

    for i in range(0, len(schemas), 100):
        with connection.cursor() as cursor:
            cursor.execute(
                ";".join(
                    f"DELETE FROM {s}.connectors_streamcursor; DELETE FROM {s}.connectors_syncrun;"
                    f" UPDATE {s}.connectors_connection SET next_sync_at = NULL, last_sync_at = NULL"
                    for s in schemas[i : i + 100]
                )
            )


def sync_env(*, fair: bool, emulator_url: str) -> dict[str, str]:
    """The environment of a worker that runs the fan-out's syncs against the emulators."""
    return {
        "CONNECTORS_SCHEDULE_FAIR": "true" if fair else "false",
        "BOSCO_EMULATOR_URL": emulator_url,
        # The emulated Meta report is ready at once; poll it without the production pause.
        "CONNECTORS_META_POLL_INTERVAL": "0.05",
    }


def fanout_tick(
    schemas: list[str],
    *,
    base: str,
    workers: int,
    fair: bool,
    emulator_url: str,
    timeout: float,
    shared: Worker | None = None,
) -> dict[str, Any]:
    """One beat tick over every workspace with `workers` sync processes; the per-workspace waits.

    `shared`: an already started worker (its environment made by `sync_env` with this `fair`) that
    listens on `<base>.syncs` among others; it is left running. Otherwise a worker of its own."""
    from django.utils import timezone

    from bosco.celery import app

    worker = shared or Worker(base, ["syncs"], workers, sync_env(fair=fair, emulator_url=emulator_url))
    try:
        if shared:
            worker.reset_peaks()
        else:
            worker.wait_ready()
        tick = timezone.now()
        started = time.perf_counter()
        app.send_task("connectors.tasks.schedule_syncs", queue=f"{base}.syncs")
        expected = 2 * len(schemas)
        select = (
            "SELECT {quoted}, connection_id, status, created_at, started_at, finished_at"
            " FROM {schema}.connectors_syncrun WHERE kind = 'scheduled'"
        )
        deadline = time.monotonic() + timeout
        while True:
            rows = _sql_all(schemas, select)
            if len(rows) >= expected and all(r[2] not in ("queued", "running") for r in rows):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"fan-out not finished: {len(rows)} runs, {sum(r[2] == 'succeeded' for r in rows)} done"
                )
            time.sleep(3 if len(schemas) > 100 else 1)
        drain_s = time.perf_counter() - started
    finally:
        if not shared:
            worker.stop()
    per_workspace: dict[str, list[datetime]] = {}
    for schema, _, _, _, began, _ in rows:
        per_workspace.setdefault(schema, []).append(began)
    first = [(min(starts) - tick).total_seconds() for starts in per_workspace.values()]
    every = [(max(starts) - tick).total_seconds() for starts in per_workspace.values()]
    sync_s = [(done - began).total_seconds() for *_, began, done in rows]
    return {
        "fair": fair,
        "syncs": len(rows),
        "succeeded": sum(r[2] == "succeeded" for r in rows),
        "drain_s": round(drain_s, 1),
        "sync_median_s": round(statistics.median(sync_s), 3),
        "workspace_wait_all_started": distribution(every),
        "workspace_wait_first_started": distribution(first),
        "worker_rss_main_mb": round(worker.peak_main_mb, 1),
        "worker_rss_idle_process_mb": round(worker.idle_child_mb, 1),
        "worker_rss_process_mb": round(worker.peak_child_mb, 1),
    }


# --------------------------------------------------------------------------- nightly scoring


def scoring_setup(owner: Any, count: int, *, days: int, end: date, demo_size: bool = True) -> list[str]:
    """`count` workspaces with demo-size data (2 platforms × 3 accounts × 8 campaigns × 6 ad groups),
    or a small one (2 platforms × 1 account × 2 campaigns)."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from accounts.models import Workspace
    from accounts.services import workspace_create
    from devtools import synthetic
    from warehouse.services import fx
    from warehouse.services.transform import run_from

    spec = (
        synthetic.SyntheticSpec(
            platforms=PLATFORMS, accounts_per_platform=3, campaigns_per_account=8, ad_groups_per_campaign=6, seed=11
        )
        if demo_size
        else synthetic.SyntheticSpec(platforms=PLATFORMS, accounts_per_platform=1, campaigns_per_account=2, seed=11)
    )
    schemas = []
    for i in range(count):
        slug = f"score-{'demo' if demo_size else 'small'}-{days}-{i:03d}"
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            workspace = workspace_create(owner=owner, name=f"Score {i}", slug=slug, reporting_currency="EUR")
            start = end - timedelta(days=days - 1)
            with schema_context(workspace.schema_name):
                fx.fx_rates_load(rates=fx.fx_rates_read(source=str(fx.SAMPLE_FILE)), since=start - timedelta(days=15))
                chunk = start
                while chunk <= end:
                    chunk_end = min(end, chunk + timedelta(days=60))
                    synthetic.synthetic_facts_generate(spec=spec, date_from=chunk, date_to=chunk_end)
                    chunk = chunk_end + timedelta(days=1)
                for root in ("rollup_day_platform", "rollup_day_account", "rollup_day_campaign"):
                    run_from(model=root, kind="full")
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
        schemas.append(workspace.schema_name)
    return schemas


def fact_rows(schema: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {schema}.fct_ad_performance_daily")
        return int(cursor.fetchone()[0])


def scoring_run(schemas: list[str], *, base: str, as_of: date, shared: Worker | None = None) -> dict[str, Any]:
    """Score each workspace once, one after another, on one scoring worker process (or on `shared`,
    an already started worker that listens on `<base>.scoring` among others; it is left running)."""
    from bosco.celery import app

    worker = shared or Worker(base, ["scoring"], 1, {})
    try:
        if shared:
            worker.reset_peaks()
        else:
            worker.wait_ready()
        reports, cpu = [], []
        for schema in schemas:
            before = worker.cpu_seconds()
            result = app.send_task(
                "insights.tasks.score_workspace", args=[schema], kwargs={"as_of": as_of.isoformat()},
                queue=f"{base}.scoring",
            )  # fmt: skip
            reports.append(result.get(timeout=1800))
            cpu.append(worker.cpu_seconds() - before)
        time.sleep(1.0)  # the worker logs the task's time just after it reports its result
        seconds = worker.task_seconds("insights.tasks.score_workspace")
    finally:
        if not shared:
            worker.stop()
    return {
        "reports": reports,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_idle_process_mb": round(worker.idle_child_mb, 1),
        "rss_peak_process_mb": round(worker.peak_child_mb, 1),
        "rss_peak_main_mb": round(worker.peak_main_mb, 1),
    }
