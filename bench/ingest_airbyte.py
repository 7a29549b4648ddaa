"""The Airbyte bridge path of bench/ingest.py: records/s from the faker source into landed rows.

(d) `airbyte-source-faker read` of N users with its stdout thrown away (the source's own rate,
    the ceiling for any reader), against
(e) a sync run of an Airbyte connection through the bridge: the same `read` as a sandboxed
    subprocess, every line parsed and checked, records held until each STATE, then landed
    (COPY + upsert) with the state in one transaction, run bookkeeping included;
with the ratio e/d. Run alone with `python bench/ingest_airbyte.py [--quick]`, or as part of
`python bench/ingest.py`. The faker's virtualenv is built on first use under AIRBYTE_VENV_DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CONFIG = {"seed": 7, "records_per_slice": 1000, "always_updated": True, "parallelism": 2}


def bridge_bench(*, quick: bool, repeat: int) -> dict[str, Any]:
    """Run (d) and (e) `repeat` times, interleaved; Django must be set up with a workspace active."""
    from django.db import connection as db

    from connectors.airbyte import protocol
    from connectors.airbyte.bridge import AirbyteSync, raw_stream_name
    from connectors.airbyte.process import run_simple
    from connectors.airbyte.registry import SOURCES
    from connectors.airbyte.venvs import venv_ensure
    from connectors.models import AirbyteSource, Connection, ConnectionAccount, Platform, SyncRun
    from warehouse.models import RawRecord

    source = SOURCES["faker"]
    script = venv_ensure(source)
    n = 5_000 if quick else 50_000
    config = {**CONFIG, "count": n}
    catalog = run_simple(source, "discover", config=config)
    streams = [s for s in catalog.streams if s["name"] == "users"]  # type: ignore[union-attr]
    configured = protocol.configured_catalog(streams, ["users"])  # incremental: a STATE every 1000 records

    def source_alone() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            cfg, cat = Path(tmp, "config.json"), Path(tmp, "catalog.json")
            cfg.write_text(json.dumps(config))
            cat.write_text(json.dumps(configured))
            started = time.perf_counter()
            subprocess.run(
                [str(script), "read", "--config", str(cfg), "--catalog", str(cat)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=True,
            )
            return time.perf_counter() - started

    def through_bridge() -> tuple[float, int]:
        Connection.objects.filter(platform=Platform.AIRBYTE).delete()
        with db.cursor() as cursor:
            cursor.execute("DELETE FROM raw_record WHERE stream LIKE 'airbyte.%%'")
        connection = Connection.objects.create(
            platform=Platform.AIRBYTE, label="bench", lookback_days=0, backfill_days=0
        )
        ConnectionAccount.objects.create(
            connection=connection,
            external_id=f"airbyte-{connection.pk}",
            currency="EUR",
            time_zone="UTC",
            selected=True,
        )
        AirbyteSource.objects.create(
            connection=connection,
            source_key="faker",
            package=source.package,
            version=source.version,
            config=config,
            catalog={"streams": streams},
            streams=["users"],
        )
        run = SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.MANUAL, status=SyncRun.Status.RUNNING)
        started = time.perf_counter()
        status = AirbyteSync(run).execute()
        seconds = time.perf_counter() - started
        if status != "succeeded":
            run.refresh_from_db()
            raise SystemExit(f"the bridge run failed: {run.error_message}")
        landed = RawRecord.objects.filter(stream=raw_stream_name(connection.pk, "users")).count()
        return seconds, landed

    alone_s, bridge_s, landed = [], [], 0
    for _ in range(repeat):
        alone_s.append(source_alone())
        seconds, landed = through_bridge()
        bridge_s.append(seconds)
    d = n / statistics.median(alone_s)
    e = landed / statistics.median(bridge_s)
    print(f"(d) airbyte-source-faker read of {n:,} users, stdout to /dev/null: {d:>9,.0f} records/s")
    print(f"(e) the same read through the bridge into landed raw rows:       {e:>9,.0f} records/s   e/d = {e / d:.2f}")
    return {
        "airbyte_records": n,
        "airbyte_landed": landed,
        "airbyte_source_records_per_s": round(d),
        "airbyte_bridge_records_per_s": round(e),
        "ratio_e_d": round(e / d, 3),
        "airbyte_source_s": [round(s, 3) for s in alone_s],
        "airbyte_bridge_s": [round(s, 3) for s in bridge_s],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args()
    from _common import emit, machine, setup_django

    dbname = setup_django("ingest")
    from django.db import connection

    from accounts.models import User, Workspace
    from accounts.services import workspace_create

    owner = User.objects.filter(email="bench@bosco.local").first() or User.objects.create_user("bench@bosco.local", "x")
    workspace = Workspace.objects.filter(slug="bench-ingest").first() or workspace_create(
        owner=owner, name="Bench ingest", slug="bench-ingest"
    )
    connection.set_tenant(workspace)
    figures = bridge_bench(quick=args.quick, repeat=args.repeat or (2 if args.quick else 3))
    emit(
        {
            "bench": "ingest_airbyte",
            "quick": args.quick,
            **figures,
            "database": dbname,
            "machine": machine(),
            "load_average": list(os.getloadavg()),
        }
    )


if __name__ == "__main__":
    main()
