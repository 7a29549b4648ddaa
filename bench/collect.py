"""Collect path benchmark (issue 19): beacons accepted per second end to end, and landing speed.

  python bench/collect.py [--quick]

1. gunicorn (the repository's gunicorn.conf.py, 2 sync workers, the real endpoint) answers beacons
   of 5 events each — validated, privacy-reduced and made durable in the Redis stream before the
   204 — from C client threads for D seconds; then the same server answers a trivial Django view
   under the same load: GET /t/v1/bosco.js, the snippet file from memory, on the same public host
   and through the same middleware (tenant routing included). Ratio = beacons/s ÷ trivial req/s
   (target ≥ 0.7). /healthz, answered before any routing, is shown for reference.
2. The buffered events are landed into the workspace's tracking_event by the landing service
   (consumer group, COPY into staging, INSERT … ON CONFLICT, XACK); the same rows are then COPYed
   plainly into a table with tracking_event's columns and indexes. Ratio = landing rows/s ÷ plain
   COPY rows/s (target ≥ 0.5).
3. Nightly path building (bench/journeys.py's `path_building`): N events of synthetic visits,
   identifies and orders are COPYed into a workspace's tracking_event, then the nightly build reads
   them, sessionises, stitches, builds the conversion paths and runs the nine attribution models;
   seconds for 1,000,000 events (`--quick`: 50,000, and it says so; `--path-events N` to choose).

Prints the figures and, last, one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from typing import Any, cast

from _common import ROOT, emit, free_port, machine, setup_django
from journeys import path_building

EVENTS_PER_BEACON = 5
ORIGIN = "https://shop.example"
UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"
)
GOALS = {"collect_ratio": 0.7, "landing_ratio": 0.5}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def start_gunicorn(port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bosco.settings.test",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "LOG_LEVEL": "WARNING",
        "TRACKING_RATE_PER_IP_MINUTE": "100000000",
        "TRACKING_RATE_PER_KEY_MINUTE": "100000000",
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bosco.wsgi"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://localhost:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    os.killpg(server.pid, signal.SIGKILL)
    raise RuntimeError("gunicorn did not answer /healthz within 60 s")


def beacon_body() -> bytes:
    now = time.time() * 1000
    visitor = uuid.uuid4().hex
    events = [
        {
            "id": str(uuid.uuid4()),
            "type": "page_view" if i else "event",
            "name": "" if i else "add_to_cart",
            "t": now - (EVENTS_PER_BEACON - i) * 1000,
            "url": f"{ORIGIN}/p/{i}?utm_source=google&utm_medium=cpc&utm_campaign=spring&gclid=Cj{i}",
            "ref": "https://www.google.com/",
            "aid": visitor,
            "sid": visitor[:12],
        }
        for i in range(EVENTS_PER_BEACON)
    ]
    return json.dumps({"sent_at": now, "events": events}).encode()


def load(url: str, *, post: bool, seconds: float, threads: int) -> dict[str, float]:
    """Requests from `threads` clients for `seconds`; answers per second (non-2xx counted apart)."""
    ok = [0] * threads
    bad = [0] * threads
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        while time.monotonic() < stop:
            if post:
                request = urllib.request.Request(  # noqa: S310  (http URLs this script builds)
                    url,
                    data=beacon_body(),
                    method="POST",
                    headers={"Content-Type": "text/plain", "Origin": ORIGIN, "User-Agent": UA},
                )
            else:
                request = urllib.request.Request(url, headers={"User-Agent": UA})  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (http URLs this script builds)
                    response.read()
                    ok[index] += 1
            except OSError:
                bad[index] += 1

    started = time.monotonic()
    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    return {"req_per_s": round(sum(ok) / elapsed, 1), "ok": sum(ok), "failed": sum(bad)}


def plain_copy_rate(schema: str, rows: list[list[Any]]) -> float:
    from bosco.db import connection
    from tracking.collect.parsing import COLUMNS

    columns = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f'SET search_path TO "{schema}"')
        cursor.execute("DROP TABLE IF EXISTS bench_plain_copy")
        cursor.execute("CREATE TABLE bench_plain_copy (LIKE tracking_event INCLUDING ALL)")
        started = time.perf_counter()
        with cursor.cursor.copy(f"COPY bench_plain_copy ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_plain_copy")
    return len(rows) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs (< 1 minute in all)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--path-events", type=int, help="events for the nightly path build (default 1M, 50k with --quick)"
    )
    args = parser.parse_args()
    seconds = 6.0 if args.quick else 20.0

    setup_django("collect")
    from django_tenants.utils import schema_context

    from accounts.models import User, Workspace
    from accounts.services import workspace_create
    from tracking.collect import buffer
    from tracking.models import Event
    from tracking.services.landing import land_pending
    from tracking.services.settings import tracking_settings_ensure, tracking_settings_update

    slug = f"benchcollect{os.getpid()}"
    owner = User.objects.create_user(email=f"owner@{slug}.bench", password="correct-horse-battery-9")  # noqa: S106  (a throwaway bench user)
    workspace: Workspace = workspace_create(owner=owner, name="Bench shop", slug=slug)
    tracking_settings_ensure(workspace=workspace)
    tracking = tracking_settings_update(
        workspace=workspace,
        allowed_origins=[ORIGIN],
        consent_mode=False,
        retention_months=13,
        lookback_days=30,
        enabled=True,
    )
    schema = workspace.schema_name
    port = free_port()
    server = start_gunicorn(port, args.workers)
    result: dict[str, Any] = {
        "machine": machine(),
        "quick": args.quick,
        "threads": args.threads,
        "workers": args.workers,
    }
    try:
        collect_url = f"http://localhost:{port}/collect/v1/{tracking.public_key}"
        trivial_url = f"http://localhost:{port}/t/v1/bosco.js"
        probe_url = f"http://localhost:{port}/healthz"
        load(collect_url, post=True, seconds=1.5, threads=args.threads)  # warm both paths
        load(trivial_url, post=False, seconds=1.5, threads=args.threads)
        collect = load(collect_url, post=True, seconds=seconds, threads=args.threads)
        trivial = load(trivial_url, post=False, seconds=seconds, threads=args.threads)
        result["healthz_reference"] = load(probe_url, post=False, seconds=seconds / 2, threads=args.threads)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    result["collect"] = {**collect, "events_per_s": round(collect["req_per_s"] * EVENTS_PER_BEACON, 1)}
    result["trivial"] = trivial
    result["collect_ratio"] = round(collect["req_per_s"] / trivial["req_per_s"], 3) if trivial["req_per_s"] else 0.0
    log(
        f"collect: {collect['req_per_s']} beacons/s ({EVENTS_PER_BEACON} events each); trivial view: {trivial['req_per_s']} req/s; ratio {result['collect_ratio']}"
    )

    # Landing: everything the run buffered (the landing tasks the endpoint queued have no worker
    # here), topped up through the endpoint's own parse-and-append code to a size where fixed
    # costs do not decide the figure.
    client = buffer.client()
    stream = buffer.stream_key(schema)
    target_rows = 20_000 if args.quick else 100_000
    buffered = sum(len(json.loads(f[b"rows"])) for _id, f in cast("list[Any]", client.xrange(stream)))
    from django.utils import timezone

    from tracking.collect.parsing import encode_rows, parse_beacon

    while buffered < target_rows:
        parsed = parse_beacon(beacon_body(), received_at=timezone.now(), client_ip="198.51.100.23", user_agent=UA)
        client.xadd(stream, {"rows": encode_rows(parsed.rows)})
        buffered += len(parsed.rows)
    entries = cast("list[Any]", client.xrange(stream))
    rows = [row for _id, fields in entries for row in json.loads(fields[b"rows"])]
    with schema_context(schema):
        started = time.perf_counter()
        landed = land_pending(schema=schema, time_budget=3600)
        land_seconds = time.perf_counter() - started
        stored = Event.objects.count()
        copy_rate = plain_copy_rate(schema, rows)
    land_rate = landed.inserted / land_seconds if land_seconds else 0.0
    result["landing"] = {
        "rows": landed.rows,
        "inserted": landed.inserted,
        "stored": stored,
        "seconds": round(land_seconds, 3),
        "rows_per_s": round(land_rate, 1),
    }
    result["plain_copy_rows_per_s"] = round(copy_rate, 1)
    result["landing_ratio"] = round(land_rate / copy_rate, 3) if copy_rate else 0.0
    log(
        f"landing: {landed.inserted} rows in {land_seconds:.2f} s = {land_rate:,.0f} rows/s; plain COPY {copy_rate:,.0f} rows/s; ratio {result['landing_ratio']}"
    )

    # Nightly path building for one workspace's events.
    path_events = args.path_events or (50_000 if args.quick else 1_000_000)
    if path_events < 1_000_000:
        log(f"path building on {path_events:,} events (the full benchmark uses 1,000,000)")
    paths = path_building(path_events)
    result["path_building"] = paths
    log(
        f"nightly path building: {paths['events']:,} events in {paths['path_build_s']} s "
        f"(read {paths['read_s']} s, sessions + stitching + paths + 9 models {paths['sessionise_stitch_attribute_s']} s) "
        f"→ {paths['journeys']:,} journeys, {paths['conversions']:,} conversions"
    )

    result["goals"] = GOALS
    result["meets"] = {name: result[name] >= goal for name, goal in GOALS.items()}
    client.delete(stream, buffer.counts_key(schema))
    client.srem(buffer.PENDING_SET, schema)
    from bosco.queues import all_queue_names

    for name in all_queue_names():
        client.delete(name)  # the landing tasks the endpoint queued for a worker that never ran
    emit(result)


if __name__ == "__main__":
    main()
