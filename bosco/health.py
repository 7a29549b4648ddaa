"""Liveness and readiness answers, as JSON.

/readyz reports each dependency: the database, Redis, the Celery workers (and any queue no worker
consumes) and the broker's queue depths. Only an unreachable dependency makes it 503: a queue
without a consumer or a long queue is reported for operators but the web process still serves.
"""

from __future__ import annotations

import time
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from bosco.celery import app
from bosco.metrics import queue_depths
from bosco.queues import all_queue_names


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _timed(check: Any) -> dict[str, Any]:
    started = time.monotonic()
    try:
        detail = check()
        result: dict[str, Any] = {"ok": True}
        if detail:
            result["detail"] = detail
    except Exception as exc:  # a readiness probe reports every failure instead of raising
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    finally:
        client.close()


def _check_celery() -> dict[str, Any]:
    active = app.control.inspect(timeout=1.0).active_queues() or {}
    if not active:
        raise RuntimeError("no Celery worker answered within 1s")
    consumed = {queue["name"] for queues in active.values() for queue in queues or []}
    return {
        "workers": sorted(active),
        "queues_without_worker": [name for name in all_queue_names() if name not in consumed],
    }


def _check_queues() -> dict[str, int]:
    return queue_depths()


def readyz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _timed(_check_database),
        "redis": _timed(_check_redis),
        "celery": _timed(_check_celery),
        "queues": _timed(_check_queues),
    }
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
