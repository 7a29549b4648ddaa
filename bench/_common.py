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
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(suite: str, *, settings_module: str = "bosco.settings.test") -> str:
    """Point Django at a dedicated benchmark database, create it and bootstrap it. Returns its name."""
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bosco")
    parts = urlsplit(url)
    base = parts.path.strip("/") or "bosco"
    dbname = f"{base}_bench_{suite}"
    os.environ["DATABASE_URL"] = urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, ""))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    import psycopg

    admin_parts = urlunsplit(
        (
            parts.scheme.replace("postgres", "postgresql", 1) if parts.scheme == "postgres" else parts.scheme,
            parts.netloc,
            "/postgres",
            parts.query,
            "",
        )
    )
    with psycopg.connect(admin_parts, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            conn.execute(f'CREATE DATABASE "{dbname}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("bootstrap", verbosity=0)
    return dbname


def drop_database(dbname: str) -> None:
    url = os.environ["DATABASE_URL"]
    parts = urlsplit(url)
    import psycopg
    from django.db import connections

    connections.close_all()
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin, autocommit=True) as conn:
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
