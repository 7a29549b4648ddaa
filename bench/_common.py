"""Shared plumbing for the benchmarks: a database of their own, timing, and the JSON last line.

Every benchmark runs against the PostgreSQL named by DATABASE_URL (default: the local server),
but in a database of its own (`<name>_bench_<suite>`), created and bootstrapped here, so a run
never touches development or test data.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _admin_url(parts: Any) -> str:
    scheme = parts.scheme.replace("postgres", "postgresql", 1) if parts.scheme == "postgres" else parts.scheme
    return urlunsplit((scheme, parts.netloc, "/postgres", parts.query, ""))


def _applied_migrations() -> int:
    """Migrations recorded in the shared schema and the workspace template (what bootstrap applies)."""
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM public.django_migrations)"
            f' + (SELECT count(*) FROM "{settings.TENANT_BASE_SCHEMA}".django_migrations)'
        )
        return int(cursor.fetchone()[0])


def setup_django(suite: str, *, settings_module: str = "bosco.settings.test", seed: bool = False) -> str:
    """Point Django at a dedicated benchmark database, create it and bootstrap it. Returns its name.

    `seed=True`: a new database is copied from `<name>_bench_seed` (PostgreSQL's CREATE DATABASE
    ... TEMPLATE, a file copy) when that exists — a database bootstrapped by an earlier run, with
    the shared schema and the workspace template and nothing else — so the run does not pay for
    migrating a fresh database (tens of seconds on a busy machine; never a measured figure). The
    bootstrap still runs and applies whatever migrations are newer than the seed, and the seed is
    (re)made from this run's database when it was missing or behind.
    """
    import psycopg

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bosco")
    parts = urlsplit(url)
    base = parts.path.strip("/") or "bosco"
    dbname, seed_name = f"{base}_bench_{suite}", f"{base}_bench_seed"
    os.environ["DATABASE_URL"] = urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, ""))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)

    def exists(conn: Any, name: str) -> bool:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone())

    created = from_seed = False
    with psycopg.connect(_admin_url(parts), autocommit=True) as conn:
        if not exists(conn, dbname):
            if seed and exists(conn, seed_name):
                try:
                    conn.execute(f'CREATE DATABASE "{dbname}" TEMPLATE "{seed_name}"')
                    from_seed = True
                except psycopg.errors.ObjectInUse:  # another run is copying it: start from scratch
                    conn.execute(f'CREATE DATABASE "{dbname}"')
            else:
                conn.execute(f'CREATE DATABASE "{dbname}"')
            created = True
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    before = _applied_migrations() if from_seed else 0
    call_command("bootstrap", verbosity=0)
    if seed and created and (not from_seed or _applied_migrations() != before):
        # Only a database this run created and bootstrapped (no workspace yet) becomes the seed.
        connections.close_all()
        with psycopg.connect(_admin_url(parts), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{seed_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{seed_name}" TEMPLATE "{dbname}"')
    return dbname


def drop_database(dbname: str, *, background: bool = False) -> None:
    """Drop the benchmark's database. PostgreSQL (15) makes every DROP DATABASE wait for an
    immediate checkpoint of the whole cluster, which takes half a minute on a machine where other
    databases are busy writing. `background=True`: rename it out of the way (instant) and leave
    the drop to a detached process, so the benchmark ends without waiting for the checkpoint and
    a next run can create its database under the same name at once."""
    url = os.environ["DATABASE_URL"]
    parts = urlsplit(url)
    import psycopg
    from django.db import connections

    connections.close_all()
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        if background:
            doomed = f"{dbname}_dropping_{os.getpid()}"
            try:
                conn.execute(f'ALTER DATABASE "{dbname}" RENAME TO "{doomed}"')
            except psycopg.errors.ObjectInUse:  # a session is still connected: drop it here
                pass
            else:
                statement = f'DROP DATABASE IF EXISTS "{doomed}" WITH (FORCE)'
                subprocess.Popen(
                    [sys.executable, "-c", "import sys, psycopg; psycopg.connect(sys.argv[1], autocommit=True)"
                     ".execute(sys.argv[2])", admin, statement],
                    start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                return
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@contextmanager
def timer() -> Iterator[Callable[[], float]]:
    started = time.perf_counter()
    elapsed: list[float] = []
    yield lambda: elapsed[0] if elapsed else time.perf_counter() - started
    elapsed.append(time.perf_counter() - started)


def summarize_ms(samples_s: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples_s)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"median_ms": round(statistics.median(ms), 3), "p95_ms": round(p95, 3), "n": len(ms)}


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine()}


def emit(result: dict[str, Any]) -> None:
    """The last line of every benchmark: one JSON object with all its figures."""
    print(json.dumps(result, sort_keys=True, default=str))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server the benchmark starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
