"""Small helpers of the tests that start Bosco's own processes against a database they made."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import redis
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    """`manage.py <args>` in a subprocess with this environment; its stdout, or the test fails with stderr."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def drop_queues(prefix: str) -> None:
    """Delete the broker keys of a test's own Celery queue names (nothing consumed them)."""
    broker = redis.Redis.from_url(settings.REDIS_URL)
    for name in broker.scan_iter(f"{prefix}*"):
        broker.delete(name)
