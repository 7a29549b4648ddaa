"""gunicorn for the web process: `gunicorn -c gunicorn.conf.py bosco.wsgi` (docs/deploy.md).

Every value can be overridden from the environment (GUNICORN_*), so one image fits any machine.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from typing import Any


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: 2 per core plus one (the usual rule for I/O-bound Django), overridable.
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
# A request still running after this is killed and logged; page and API reads stay well under it.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM a worker stops accepting and has this long to finish the requests it holds.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so a slow leak never grows without bound; jitter avoids all at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# The load balancer in front appends the client's address; only it may set forwarded headers.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Heartbeat files: set to a memory-backed directory (/dev/shm) where /tmp is a slow disk.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None

# Access log as one JSON object per line on stdout, carrying the request id Bosco answers with.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = json.dumps(
    {
        "ts": "%(t)s",
        "logger": "gunicorn.access",
        "remote": "%(h)s",
        "method": "%(m)s",
        "path": "%(U)s",
        "status": "%(s)s",
        "bytes": "%(B)s",
        "duration_ms": "%(M)s",
        "host": "%({host}i)s",
        "request_id": "%({x-request-id}o)s",
        "user_agent": "%(a)s",
    }
)


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's Prometheus files are marked so its live gauges stop counting (bosco/metrics.py)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # only where multi-process metrics are enabled

        multiprocess.mark_process_dead(worker.pid)
