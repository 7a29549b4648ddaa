"""Prometheus metrics: what operators watch to see what is slow or failing before customers do.

Counters and histograms are recorded where the work happens (the request middleware, the Celery
signals in bosco.tasks, the sync engine, warehouse tasks, webhook and e-mail code); queue depths
are read from the broker at scrape time. `/metrics` on the public host serves them to a scraper
holding BOSCO_METRICS_TOKEN (`metrics_view` below).

Several processes (gunicorn workers, Celery pool processes) on one machine share their figures
through PROMETHEUS_MULTIPROC_DIR when it is set (prometheus_client's multi-process mode; the
directory must be emptied when the processes start). Without it each process reports its own.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable, Iterator

import redis
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bosco.queues import all_queue_names

REQUEST_LATENCY = Histogram(
    "bosco_http_request_duration_seconds",
    "Time to answer a request, by view name, method and status code.",
    ["view", "method", "status"],
)
TASK_DURATION = Histogram(
    "bosco_celery_task_duration_seconds",
    "Run time of a Celery task, by task name and final state.",
    ["task", "state"],
    buckets=(0.05, 0.25, 1, 5, 15, 60, 300, 900, 1800),
)
TASK_FAILURES = Counter("bosco_celery_task_failures", "Celery tasks that failed (after retries).", ["task"])
SYNC_LAG = Histogram(
    "bosco_sync_lag_seconds",
    "How stale a connection's data was when a sync refreshed it: time since its previous successful sync.",
    ["platform"],
    buckets=(900, 3600, 6 * 3600, 12 * 3600, 24 * 3600, 48 * 3600, 7 * 24 * 3600),
)
ROWS_LANDED = Counter("bosco_rows_landed", "Report rows received from a platform and landed.", ["platform"])
WAREHOUSE_RUN = Histogram(
    "bosco_warehouse_run_duration_seconds",
    "Duration of a warehouse transform run, by kind (window, full).",
    ["kind"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900),
)
WEBHOOK_FAILURES = Counter(
    "bosco_webhook_failures", "Webhook deliveries refused or whose handling failed.", ["source", "stage"]
)
COLLECT_BEACONS = Counter(
    "bosco_collect_beacons", "Tracking beacons accepted or rejected (by reason).", ["outcome", "reason"]
)
EMAIL_FAILURES = Counter("bosco_email_failures", "E-mails the mail backend could not deliver.", ["backend"])

# kombu's Redis transport keeps a prioritised message under "<queue>\x06\x16<priority>".
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITIES = (3, 6, 9)


def queue_depths() -> dict[str, int]:
    """Messages waiting in each Bosco queue on the broker (Redis LLEN)."""
    names = all_queue_names()
    # The broker the settings name (what every process sends to), read with a client of our own.
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.llen(name)
            for priority in _PRIORITIES:
                pipe.llen(f"{name}{_PRIORITY_SEPARATOR}{priority}")
        lengths = pipe.execute()
    finally:
        client.close()
    per_queue = len(_PRIORITIES) + 1
    return {name: sum(lengths[i * per_queue : (i + 1) * per_queue]) for i, name in enumerate(names)}


class QueueDepthCollector(Collector):
    """Read at scrape time, so the figure is the broker's, whichever process enqueued."""

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("bosco_celery_queue_depth", "Tasks waiting in each queue.", labels=["queue"])
        for name, depth in queue_depths().items():
            family.add_metric([name], depth)
        yield family


def _registries() -> Iterable[CollectorRegistry]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shared = CollectorRegistry()
        multiprocess.MultiProcessCollector(shared)
        yield shared
    else:
        yield REGISTRY
    scraped = CollectorRegistry()
    scraped.register(QueueDepthCollector())
    yield scraped


def exposition() -> bytes:
    """Every metric in Prometheus' text format."""
    return b"".join(generate_latest(registry) for registry in _registries())


def _bearer(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The scrape endpoint: 404 unless a token is configured, 401 without the right bearer token."""
    expected = settings.BOSCO_METRICS_TOKEN
    if not expected:
        raise Http404("metrics are not enabled")
    if not hmac.compare_digest(_bearer(request).encode(), expected.encode()):
        response = HttpResponse("a valid bearer token is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
