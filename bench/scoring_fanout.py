"""The nightly-scoring fan-out's cost per hourly run with many workspaces.

`insights.tasks.score_due_workspaces` decides from the workspaces' public rows alone (zone,
`complete_through`, `scored_through`): one query for all of them plus one claim per workspace it
queues. This creates N workspace rows (rows only: the fan-out opens no schema, so none is made)
spread over 24 zones, a fifth of them with an ad account 9 hours west whose day completes later,
and runs the fan-out for every hour of a day (messages replaced by a stub: the broker is not
measured). Prints per run: wall time, queries, workspaces queued; and that each is queued once.

    python bench/scoring_fanout.py            # N = 10,000
    python bench/scoring_fanout.py --quick    # N = 1,000
"""

from __future__ import annotations

import argparse
import collections
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

from _common import drop_database, emit, machine, setup_django

ZONES = (
    "Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Denver", "America/Chicago",
    "America/New_York", "America/Sao_Paulo", "Atlantic/South_Georgia", "Atlantic/Azores", "Europe/London",
    "Europe/Berlin", "Europe/Athens", "Europe/Moscow", "Asia/Dubai", "Asia/Karachi", "Asia/Dhaka",
    "Asia/Bangkok", "Asia/Shanghai", "Asia/Tokyo", "Australia/Brisbane", "Pacific/Noumea", "Pacific/Auckland",
    "Pacific/Tongatapu", "Pacific/Kiritimati",
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workspaces", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    n = args.workspaces or (1_000 if args.quick else 10_000)
    dbname = setup_django("scoring_fanout", seed=True)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Workspace
    from insights import tasks

    day = date(2026, 12, 7)  # every workspace's "yesterday" at the start of the simulated day
    Workspace.objects.filter(schema_name__startswith="bench_fan_").delete()
    rows = []
    for i in range(n):
        zone = ZONES[i % len(ZONES)]
        rows.append(
            Workspace(
                schema_name=f"bench_fan_{i}",
                name=f"Fan {i}",
                slug=f"bench-fan-{i}",
                time_zone=zone,
                complete_through=day - timedelta(days=1),  # the day is not complete yet anywhere
                scored_through=day - timedelta(days=1),
            )
        )
    Workspace.objects.bulk_create(rows, batch_size=2_000)
    west = [f"bench_fan_{i}" for i in range(n) if i % 5 == 0]

    class Sent:
        id = "bench"

    queued: list[str] = []

    def stub_delay(schema_name: str, **kwargs: object) -> Sent:
        queued.append(schema_name)
        return Sent()

    runs = []
    start = datetime(2026, 12, 7, 12, 25, tzinfo=UTC)  # from before the first zone's 04:xx on day+1
    with mock.patch.object(tasks.score_workspace, "delay", side_effect=stub_delay):
        for hour in range(48):
            now = start + timedelta(hours=hour)
            # the warehouse's view: the day completes at the workspace's 02:00 local, or 11:00
            # local for the fifth with an account 9 hours west (as a sync after their midnight)
            for offset, schemas in ((2, None), (11, west)):
                complete = [
                    z
                    for z in ZONES
                    if now.astimezone(ZoneInfo(z)) >= datetime.combine(day + timedelta(days=1), datetime.min.time(), ZoneInfo(z)) + timedelta(hours=offset)
                ]  # fmt: skip
                qs = Workspace.objects.filter(time_zone__in=complete, schema_name__startswith="bench_fan_")
                qs = qs.filter(schema_name__in=schemas) if schemas else qs.exclude(schema_name__in=west)
                qs.filter(complete_through__lt=day).update(complete_through=day)
            before = len(queued)
            connection.queries_log.clear()  # the log keeps 9,000 entries: count each run from empty
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                tasks.score_due_workspaces.run(now=now.isoformat())
                seconds = time.perf_counter() - started
            runs.append(
                {
                    "hour_utc": now.isoformat(),
                    "seconds": round(seconds, 4),
                    "queries": len(queries),
                    "kinds": dict(collections.Counter(q["sql"].split()[0].upper() for q in queries.captured_queries)),
                    "queued": len(queued) - before,
                }
            )

    once = len(queued) == len(set(queued)) == n
    idle = [r for r in runs if r["queued"] == 0]
    busy = [r for r in runs if r["queued"] > 0]
    result = {
        "bench": "scoring_fanout",
        "workspaces": n,
        "runs": len(runs),
        "each_queued_once": once,
        "idle_run_median_s": round(statistics.median(r["seconds"] for r in idle), 4) if idle else None,
        "idle_run_queries": sorted({r["queries"] for r in idle}),
        "busiest_run": max(runs, key=lambda r: r["queued"]),
        "queries_per_queued_workspace": round(
            sum(r["queries"] - 1 for r in busy) / max(1, sum(r["queued"] for r in busy)), 3
        ),
        "max_run_s": max(r["seconds"] for r in runs),
        "machine": machine(),
    }
    for r in runs:
        print(r)
    Workspace.objects.filter(schema_name__startswith="bench_fan_").delete()
    if not args.keep:
        drop_database(dbname, background=True)
    emit(result)


if __name__ == "__main__":
    main()
