"""API benchmark: requests/s and p50 / p95 latency of the metrics endpoint, cached and uncached,
beside the cheapest authenticated endpoint of the same app, under load on 127.0.0.1.

It builds a workspace with synthetic facts and rollups in a database of its own (default
5 platforms × 400 campaigns × 2 years ≈ 1.5M fact rows; `--quick`: 2 × 20 × 1 year), starts
the production server — gunicorn, 2 sync workers, `bosco.settings.production` with generated
secrets and `SECURE_SSL_REDIRECT=False` — and drives it from a separate process: `wrk` when it
is installed (`apt-get install wrk`), otherwise a small threaded Python client (keep-alive where
the server allows it). Every request carries a workspace API key, so each one pays for the
tenant lookup, key authentication and the plan throttle (its limit raised so it never refuses).

Endpoints measured:
  trivial   GET /api/v1/workspace  — authenticated, no warehouse read
  uncached  GET /api/v1/metrics — 9 metrics by platform with the previous period, a different
            date range on every request (each one a new question: misses the cache, queries
            the day × platform rollup twice and stores the answer)
  cached    the same question shape over 10 ranges asked before (answered from Redis)
  uncached_top_campaigns (no goal; for information) top 20 campaigns by spend with the previous
            period, a new range each time (the campaign cumulative rollup)
Ratios are req/s of each metrics run over the trivial run of the same round (median of rounds).
Because this machine may be shared, each run also records the CPU the server spent per request
(gunicorn workers from /proc, plus the PostgreSQL backends serving them): the CPU ratio is what
the throughput ratio becomes when the server's CPU is the only limit, and other processes'
load does not move it. Goals (issue 6): uncached ≥ 0.4,
cached ≥ 0.7. The last line is one JSON object with every figure.

    python bench/api.py            # full size: 3 interleaved rounds of 10 s per run
    python bench/api.py --quick    # within a minute: 1 round of 4 s
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from _common import ROOT, emit, free_port, machine, setup_django

END = date(2026, 11, 20)
PLATFORMS = ("google_ads", "meta", "tiktok", "microsoft_ads", "linkedin_ads")
CURRENCIES = ("EUR", "USD", "GBP", "JPY", "SEK")
METRICS = "spend,impressions,clicks,conversions,conversion_value,ctr,cpc,cpa,roas"
GOALS = {"uncached": 0.4, "cached": 0.7}
RUNS = ("trivial", "uncached", "cached", "uncached_top_campaigns")
WORKERS = 2


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def metrics_path(date_from: date, date_to: date) -> str:
    return (
        f"/api/v1/metrics?metrics={METRICS}&dimensions=platform&compare=previous_period"
        f"&date_from={date_from.isoformat()}&date_to={date_to.isoformat()}"
    )


def top_campaigns_path(date_from: date, date_to: date) -> str:
    return (
        "/api/v1/metrics?metrics=spend,conversions,roas&dimensions=campaign&compare=previous_period"
        f"&sort=-spend&limit=20&date_from={date_from.isoformat()}&date_to={date_to.isoformat()}"
    )


def uncached_paths(days: int, count: int, shape: Any = metrics_path) -> list[str]:
    """Up to `count` different questions: ranges ending on different days, of 7 … 126 days."""
    ends = max(1, days - 140)  # the current period always lies within the data
    total = min(count, ends * 120)
    out = []
    for n in range(total):
        date_to = END - timedelta(days=n % ends)
        length = 7 + (n // ends) % 120
        out.append(shape(date_to - timedelta(days=length - 1), date_to))
    assert len(set(out)) == len(out)
    return out


# --------------------------------------------------------------------------- data


def build_workspace(*, quick: bool) -> tuple[Any, dict[str, Any]]:
    from django.db import connection
    from django_tenants.utils import schema_context

    from accounts.models import User, Workspace
    from accounts.services import workspace_create, workspace_drop
    from devtools import synthetic
    from warehouse.services import fx
    from warehouse.services.transform import run_from

    platforms = PLATFORMS[:2] if quick else PLATFORMS
    campaigns = 20 if quick else 400
    days = 365 if quick else 730
    label = f"api bench {len(platforms)}x{campaigns}x{days}"
    slug = "bench-api-quick" if quick else "bench-api"
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is not None and workspace.name != label:
        workspace_drop(workspace=workspace)
        workspace = None
    owner = User.objects.filter(email="bench-api@bosco.local").first() or User.objects.create_user(
        "bench-api@bosco.local", "x"
    )
    info: dict[str, Any] = {"platforms": len(platforms), "campaigns_per_platform": campaigns, "days": days}
    if workspace is None:
        workspace = workspace_create(owner=owner, name=label, slug=slug, reporting_currency="EUR")
        spec = synthetic.SyntheticSpec(
            platforms=platforms,
            accounts_per_platform=2,
            campaigns_per_account=campaigns // 2,
            ad_groups_per_campaign=1,
            currencies=CURRENCIES,
            seed=5,
        )
        start = END - timedelta(days=days - 1)
        with schema_context(workspace.schema_name):
            log(f"generating {label} …")
            started = time.perf_counter()
            fx.fx_rates_load(rates=fx.fx_rates_read(source=str(fx.SAMPLE_FILE)), since=start - timedelta(days=15))
            chunk = start
            while chunk <= END:
                chunk_end = min(END, chunk + timedelta(days=60))
                synthetic.synthetic_facts_generate(spec=spec, date_from=chunk, date_to=chunk_end)
                chunk = chunk_end + timedelta(days=1)
            for root in ("rollup_day_platform", "rollup_day_account", "rollup_day_campaign"):
                run_from(model=root, kind="full")
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            info["build_s"] = round(time.perf_counter() - started, 1)
    with schema_context(workspace.schema_name), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM fct_ad_performance_daily")
        info["fact_rows"] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM rollup_day_platform")
        info["rollup_day_platform_rows"] = cursor.fetchone()[0]
    return workspace, info


def api_key(workspace: Any) -> str:
    from accounts import services
    from accounts.models import Membership

    owner = Membership.objects.get(workspace=workspace, role="owner")
    _, raw = services.api_key_create(workspace=workspace, actor=owner, name="bench", scope="read")
    return raw


def metric_cache_keys(schema: str) -> int:
    """Cached metric answers of the workspace now in Redis (django-tenants keys start with the schema)."""
    import redis as redis_lib
    from django.conf import settings

    from bosco.redis_urls import cache_url_for

    client = redis_lib.Redis.from_url(cache_url_for(settings.REDIS_URL))
    try:
        return sum(1 for _ in client.scan_iter(match=f"{schema}:*:wh:metrics:*", count=1000))
    finally:
        client.close()


def metric_cache_clear(schema: str) -> None:
    import redis as redis_lib
    from django.conf import settings

    from bosco.redis_urls import cache_url_for

    client = redis_lib.Redis.from_url(cache_url_for(settings.REDIS_URL))
    try:
        keys = list(client.scan_iter(match=f"{schema}:*:wh:metrics:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    finally:
        client.close()


# --------------------------------------------------------------------------- server

GUNICORN_CONFIG = '''
"""Bench-only: keep the plan throttle running (its Redis round trips are part of every request)
but raise its limit so it never refuses the load generator."""

import os


def post_worker_init(worker):
    from dataclasses import replace

    from billing import plans

    for plan, entitlements in list(plans.ENTITLEMENTS.items()):
        plans.ENTITLEMENTS[plan] = replace(entitlements, api_requests_per_minute=10**9)
    if os.environ.get("BENCH_REUSE_REDIS_CLIENT") == "1":
        # What-if (--reuse-redis-client): Django's RedisCache builds a new redis.Redis client
        # (about 170 response callbacks) for every cache operation; keep one per pool instead.
        from django.core.cache.backends import redis as django_redis

        clients = {}

        def get_client(self, key=None, *, write=False):
            pool = self._get_connection_pool(write)
            if id(pool) not in clients:
                clients[id(pool)] = self._client(connection_pool=pool)
            return clients[id(pool)]

        django_redis.RedisCacheClient.get_client = get_client
    if os.environ.get("BENCH_TENANT_LIMIT_SET_CALLS") == "1":
        # What-if (--tenant-limit-set-calls): django-tenants sets search_path once per request
        # instead of before every cursor.
        from django.conf import settings

        settings.TENANT_LIMIT_SET_CALLS = True
'''


PLATFORM_SECRETS = (
    "GOOGLE_ADS_CLIENT_ID",
    "GOOGLE_ADS_CLIENT_SECRET",
    "GOOGLE_ADS_DEVELOPER_TOKEN",
    "META_APP_ID",
    "META_APP_SECRET",
    "TIKTOK_APP_ID",
    "TIKTOK_APP_SECRET",
    "SHOPIFY_API_KEY",
    "SHOPIFY_API_SECRET",
)
PLATFORM_URLS = {
    "GOOGLE_OAUTH_AUTHORIZE_URL": "google-authorize",
    "GOOGLE_OAUTH_TOKEN_URL": "google-token",
    "GOOGLE_OAUTH_REVOKE_URL": "google-revoke",
    "GOOGLE_ADS_API_URL": "google-ads",
    "META_OAUTH_DIALOG_URL": "meta-dialog",
    "META_GRAPH_URL": "meta-graph",
    "TIKTOK_OAUTH_AUTHORIZE_URL": "tiktok-authorize",
    "TIKTOK_API_URL": "tiktok-api",
    "GA4_ADMIN_API_URL": "ga4-admin",
    "GA4_DATA_API_URL": "ga4-data",
    "SHOPIFY_API_URL": "shopify-api",
}


def start_server(
    port: int, workdir: Path, *, limit_set_calls: bool = False, reuse_redis_client: bool = False
) -> subprocess.Popen[bytes]:
    from cryptography.fernet import Fernet

    config = workdir / "gunicorn_bench.py"
    config.write_text(GUNICORN_CONFIG)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bosco.settings.production",
        "SECRET_KEY": os.urandom(32).hex(),
        "BOSCO_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SECURE_SSL_REDIRECT": "False",
        "LOG_LEVEL": "WARNING",
        # Persistent DB connections for the whole run, so each worker's backend (and its CPU
        # counter) stays the same process; production's default is 60 s.
        "DATABASE_CONN_MAX_AGE": "600",
        "BENCH_TENANT_LIMIT_SET_CALLS": "1" if limit_set_calls else "0",
        "BENCH_REUSE_REDIS_CLIENT": "1" if reuse_redis_client else "0",
        "PYTHONPATH": str(ROOT),
        # Production refuses to start without platform credentials; the benchmark never calls a
        # platform, so placeholders (on reserved .invalid hosts) satisfy it.
        **{name: os.environ.get(name, "bench-placeholder") for name in PLATFORM_SECRETS},
        **{name: os.environ.get(name, f"https://{host}.invalid") for name, host in PLATFORM_URLS.items()},
    }
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "bosco.wsgi:application",
        "--workers",
        str(WORKERS),
        "--bind",
        f"127.0.0.1:{port}",
        "--config",
        str(config),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError("gunicorn did not answer /healthz within 30 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def fetch(port: int, host: str, key: str, path: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Host": host, "Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# --------------------------------------------------------------------------- server CPU

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 when it is gone)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS if fields else 0.0


def server_processes(master: int) -> dict[str, list[int]]:
    """The gunicorn workers and the PostgreSQL backends serving them (the bench database's others)."""
    from django.db import connection

    workers = [int(p) for p in os.listdir("/proc") if p.isdigit() and (f := _stat(int(p))) and int(f[1]) == master]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
        backends = [row[0] for row in cursor.fetchall()]
    return {"app": workers, "db": backends}


def cpu_snapshot(master: int) -> dict[str, dict[int, float]]:
    return {kind: {pid: process_cpu_s(pid) for pid in pids} for kind, pids in server_processes(master).items()}


def cpu_used_ms(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU ms the server's processes used between two snapshots, by kind (app, db)."""
    used = {}
    for kind in ("app", "db"):
        pids = set(before[kind]) | set(after[kind])
        used[kind] = 1000 * sum(max(0.0, after[kind].get(p, 0.0) - before[kind].get(p, 0.0)) for p in pids)
    return used


# --------------------------------------------------------------------------- load

WRK_SCRIPT = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local threads = %(threads)d
local i = -1
function setup(thread)
  thread:set("id", %(counter)s)
  %(counter)s = %(counter)s + 1
end
%(counter)s = 0
function request()
  i = i + 1
  return wrk.format("GET", paths[((i * threads + id) %% #paths) + 1])
end
function done(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p95_us\\": %%d, \\"p99_us\\": %%d,"
    .. " \\"status_errors\\": %%d, \\"socket_errors\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def run_wrk(
    port: int, host: str, key: str, paths: list[str], seconds: float, connections: int, workdir: Path
) -> dict[str, Any]:
    threads = 2
    path_file = workdir / f"paths-{len(paths)}-{time.monotonic_ns()}.txt"
    path_file.write_text("\n".join(paths) + "\n")
    script = workdir / "bench.lua"
    script.write_text(WRK_SCRIPT % {"paths": path_file, "threads": threads, "counter": "thread_counter"})
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        "-H",
        f"Host: {host}",
        "-H",
        f"Authorization: Bearer {key}",
        f"http://127.0.0.1:{port}/",
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    return {
        "requests": raw["requests"],
        "req_per_s": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p95_ms": round(raw["p95_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "errors": raw["status_errors"] + raw["socket_errors"],
    }


def _python_worker(
    port: int, host: str, key: str, paths: list[str], seconds: float, connections: int
) -> dict[str, Any]:
    """Runs in its own process: `connections` threads, each with one HTTP/1.1 connection."""
    import http.client

    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    stop_at = time.perf_counter() + seconds
    headers = {"Host": host, "Authorization": f"Bearer {key}"}

    def loop(t: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        n = t
        while time.perf_counter() < stop_at:
            path = paths[n % len(paths)]
            n += connections
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors[t] += 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                errors[t] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            latencies[t].append(time.perf_counter() - started)
        conn.close()

    began = time.perf_counter()
    workers = [threading.Thread(target=loop, args=(t,)) for t in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - began
    samples = sorted(s for per in latencies for s in per)

    def pct(p: float) -> float:
        return round(samples[min(len(samples) - 1, int(p * (len(samples) - 1)))] * 1000, 2) if samples else 0.0

    return {
        "requests": len(samples),
        "req_per_s": round(len(samples) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "errors": sum(errors),
    }


def run_python(
    port: int, host: str, key: str, paths: list[str], seconds: float, connections: int, workdir: Path
) -> dict[str, Any]:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_python_worker, port, host, key, paths, seconds, connections).result()


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float, help="per run (default 15, quick 4)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections of the load generator")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--rounds", type=int, help="interleaved rounds of the three runs (default 3, quick 1)")
    parser.add_argument(
        "--tenant-limit-set-calls",
        action="store_true",
        help="what-if: run the server with django-tenants' TENANT_LIMIT_SET_CALLS (not Bosco's setting today)",
    )
    parser.add_argument(
        "--reuse-redis-client",
        action="store_true",
        help="what-if: one redis client per connection pool instead of Django's new client per cache call",
    )
    args = parser.parse_args()
    seconds = args.seconds or (4.0 if args.quick else 10.0)
    args.rounds = args.rounds or (1 if args.quick else 3)
    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "python")
    load = run_wrk if client == "wrk" else run_python

    setup_django("api")
    workspace, data = build_workspace(quick=args.quick)
    key = api_key(workspace)
    host = f"{workspace.slug}.localhost"
    schema = workspace.schema_name
    days = data["days"]
    result: dict[str, Any] = {
        "suite": "api",
        "quick": args.quick,
        "machine": machine(),
        "server": f"gunicorn {WORKERS} sync workers, bosco.settings.production (DEBUG off, SECURE_SSL_REDIRECT=False)",
        "client": f"{client}, {args.connections} connections, {args.rounds} round(s) of {seconds:g} s per run,"
        " from a separate process",
        "data": data,
        "what_if": {
            "tenant_limit_set_calls": args.tenant_limit_set_calls,
            "reuse_redis_client": args.reuse_redis_client,
        },
    }
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bosco-bench-api-") as tmp:
        workdir = Path(tmp)
        server = start_server(
            port, workdir, limit_set_calls=args.tenant_limit_set_calls, reuse_redis_client=args.reuse_redis_client
        )
        try:
            trivial = ["/api/v1/workspace"]
            cached = [metrics_path(END - timedelta(days=29 + k), END - timedelta(days=k)) for k in range(10)]
            fresh = uncached_paths(days, 60_000)
            # Another question shape (per campaign), so these never hit the first list's answers.
            fresh_top = uncached_paths(days, 60_000, top_campaigns_path)
            for path in (trivial[0], cached[0]):
                status, body = fetch(port, host, key, path)
                if status != 200:
                    raise RuntimeError(f"{path} answered {status}: {body[:300]!r}")
            sample = json.loads(fetch(port, host, key, cached[0])[1])
            result["metrics_answer"] = {"rows": sample["row_count"], "bytes": len(json.dumps(sample))}

            result["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
            load(port, host, key, trivial, 1.0, args.connections, workdir)  # warm the workers
            for path in cached:
                fetch(port, host, key, path)
            metric_cache_clear(schema)
            for path in cached:
                fetch(port, host, key, path)
            # Rounds interleave the three runs, so a change in the machine's other load hits all
            # of them alike; each round's ratios compare runs seconds apart.
            rounds: list[dict[str, dict[str, Any]]] = []
            per_round = len(fresh) // args.rounds

            def measured(paths: list[str]) -> dict[str, Any]:
                """One load run, with the CPU the server (workers + their DB backends) spent on it."""
                before = cpu_snapshot(server.pid)
                figures = load(port, host, key, paths, seconds, args.connections, workdir)
                used = cpu_used_ms(before, cpu_snapshot(server.pid))
                n = max(1, figures["requests"])
                figures["server_cpu_ms_per_request"] = {
                    "app": round(used["app"] / n, 2),
                    "db": round(used["db"] / n, 2),
                    "total": round((used["app"] + used["db"]) / n, 2),
                }
                return figures

            for r in range(args.rounds):
                log(f"round {r + 1}/{args.rounds}: {', '.join(RUNS)} ({client}, {seconds:g} s each) …")
                this: dict[str, dict[str, Any]] = {}
                this["trivial"] = measured(trivial)
                questions = fresh[r * per_round : (r + 1) * per_round]
                before = metric_cache_keys(schema)
                this["uncached"] = measured(questions)
                this["uncached"]["new_cache_entries"] = metric_cache_keys(schema) - before
                this["cached"] = measured(cached)
                top = fresh_top[r * per_round : (r + 1) * per_round]
                this["uncached_top_campaigns"] = measured(top)
                rounds.append(this)
            result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        finally:
            stop_server(server)
    runs = summarize(rounds)
    result["runs"] = runs
    result["rounds"] = rounds
    print_table(result)
    emit(result)


def summarize(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Medians over the rounds; ratios are the medians of each round's own ratios."""
    runs: dict[str, dict[str, Any]] = {}
    for name in RUNS:
        samples = [r[name] for r in rounds]
        runs[name] = {
            field: round(statistics.median(s[field] for s in samples), 2)
            for field in ("req_per_s", "p50_ms", "p95_ms", "p99_ms")
        }
        runs[name]["server_cpu_ms_per_request"] = {
            kind: round(statistics.median(s["server_cpu_ms_per_request"][kind] for s in samples), 2)
            for kind in ("app", "db", "total")
        }
        runs[name]["requests"] = sum(s["requests"] for s in samples)
        runs[name]["errors"] = sum(s["errors"] for s in samples)
    runs["uncached"]["new_cache_entries"] = sum(r["uncached"]["new_cache_entries"] for r in rounds)
    for name in RUNS[1:]:
        ratios = [r[name]["req_per_s"] / r["trivial"]["req_per_s"] for r in rounds if r["trivial"]["req_per_s"]]
        ratio = round(statistics.median(ratios), 3) if ratios else 0.0
        runs[name]["ratio_to_trivial"] = ratio
        # What the throughput ratio would be if the server's CPU were the only limit (an idle
        # machine): trivial's CPU per request over this run's. Insensitive to other processes.
        cpu = [
            r["trivial"]["server_cpu_ms_per_request"]["total"] / r[name]["server_cpu_ms_per_request"]["total"]
            for r in rounds
            if r[name]["server_cpu_ms_per_request"]["total"]
        ]
        runs[name]["cpu_ratio_to_trivial"] = round(statistics.median(cpu), 3) if cpu else 0.0
        if name in GOALS:
            runs[name].update(goal=GOALS[name], goal_met=ratio >= GOALS[name])
    return runs


def print_table(result: dict[str, Any]) -> None:
    runs = result["runs"]
    print(f"API benchmark — {result['server']}; load: {result['client']}")
    print(f"data: {result['data']}; metrics answer: {result['metrics_answer']}")
    print(
        f"load average before / after (other processes on this machine): {result['load_average_before']} / {result['load_average_after']}"
    )
    print(
        f"{'endpoint':<24} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7} {'ratio':>7} {'goal':>10}"
        f" {'cpu ms/req (app+db)':>20} {'cpu ratio':>9}"
    )
    for name in RUNS:
        r = runs[name]
        ratio = f"{r['ratio_to_trivial']:.3f}" if "ratio_to_trivial" in r else "1"
        goal = ("≥" + str(r["goal"]) + (" ok" if r["goal_met"] else " MISSED")) if "goal" in r else ""
        cpu = r["server_cpu_ms_per_request"]
        cpu_text = f"{cpu['total']:.2f} ({cpu['app']:.2f}+{cpu['db']:.2f})"
        cpu_ratio = f"{r['cpu_ratio_to_trivial']:.3f}" if "cpu_ratio_to_trivial" in r else "1"
        print(
            f"{name:<24} {r['req_per_s']:>9.1f} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['errors']:>7} {ratio:>7}"
            f" {goal:>10} {cpu_text:>20} {cpu_ratio:>9}"
        )


if __name__ == "__main__":
    main()
