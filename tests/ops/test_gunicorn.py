"""The repository's gunicorn config serves Bosco, logs each request as JSON, stops gracefully, and
its workers' metrics add up on /metrics in multi-process mode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import test_database_url as database_url_of_tests  # not collected as a test
from tests.ops.processes import free_port

ROOT = Path(settings.BASE_DIR)


class Gunicorn:
    def __init__(self, port: int, log: IO[str]) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.exit_code: int | None = None


@contextmanager
def gunicorn(tmp_path: Path, **extra_env: str) -> Iterator[Gunicorn]:
    """gunicorn -c gunicorn.conf.py in a subprocess; SIGTERM on exit, exit code kept."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bosco.settings.test",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_GRACEFUL_TIMEOUT": "5",
        **extra_env,
    }
    log = (tmp_path / "gunicorn.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bosco.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Gunicorn(port, log)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "warm-up"})
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        server.exit_code = proc.wait(timeout=30)


def test_gunicorn_config_serves_logs_json_and_shuts_down_on_sigterm(tmp_path) -> None:
    with gunicorn(tmp_path) as server:
        response = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "probe-1"})
        assert response.status_code == 200
        assert response.headers["X-Request-ID"] == "probe-1"
    assert server.exit_code == 0
    server.log.seek(0)
    access = [json.loads(line) for line in server.log if line.startswith("{") and '"gunicorn.access"' in line]
    assert access, "no JSON access log line"
    assert access[-1]["path"] == "/healthz"
    assert access[-1]["status"] == "200"
    assert access[-1]["request_id"] == "probe-1"
    assert int(access[-1]["duration_ms"]) >= 0


@pytest.mark.django_db(transaction=True)  # the public site's domain must be committed for gunicorn to see it
def test_metrics_of_all_gunicorn_workers_add_up_in_multiprocess_mode(tmp_path, transactional_db) -> None:
    # transactional_db: the public site's row must exist (a committed test before may have emptied it)
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    token = "multiprocess-token-0123456789"
    with gunicorn(
        tmp_path,
        GUNICORN_WORKERS="2",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        BOSCO_METRICS_TOKEN=token,
        DATABASE_URL=database_url_of_tests(),
    ) as server:
        scrape = {"Host": settings.BOSCO_DOMAIN, "Authorization": f"Bearer {token}"}
        before = httpx.get(f"{server.url}/metrics", headers=scrape)
        assert before.status_code == 200, before.text[:300]
        for _ in range(6):
            assert httpx.get(f"{server.url}/healthz").status_code == 200
        response = httpx.get(f"{server.url}/metrics", headers=scrape)
        assert response.status_code == 200, response.text[:300]

    def healthz_count(text: str) -> float:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if (sample.name, sample.labels.get("view"), sample.labels.get("status")) == (
                    "bosco_http_request_duration_seconds_count",
                    "healthz",
                    "200",
                ):
                    return sample.value
        return 0.0

    # Six more, whichever of the two workers answered each (the start-up probe may have asked more
    # than once on a loaded machine, so the count before them is read rather than assumed).
    assert healthz_count(response.text) - healthz_count(before.text) == 6
    samples = {
        (sample.name, sample.labels.get("view"), sample.labels.get("status")): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert any(name.startswith("histogram_") for name in os.listdir(metrics_dir))
    # the scrape-time queue depths come along with the workers' shared figures
    assert any(name == "bosco_celery_queue_depth" for name, _, _ in samples)
