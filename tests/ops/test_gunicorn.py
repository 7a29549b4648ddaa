"""The repository's gunicorn config serves Bosco, logs each request as JSON and stops gracefully."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_gunicorn_config_serves_logs_json_and_shuts_down_on_sigterm(tmp_path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bosco.settings.test",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_GRACEFUL_TIMEOUT": "5",
    }
    log = (tmp_path / "gunicorn.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bosco.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        response = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "probe-1"})
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert response is not None and response.status_code == 200
        assert response.headers["X-Request-ID"] == "probe-1"
    finally:
        proc.send_signal(signal.SIGTERM)
        exit_code = proc.wait(timeout=30)
    assert exit_code == 0
    log.seek(0)
    access = [json.loads(line) for line in log if line.startswith("{") and '"gunicorn.access"' in line]
    assert access, "no JSON access log line"
    assert access[-1]["path"] == "/healthz"
    assert access[-1]["status"] == "200"
    assert access[-1]["request_id"] == "probe-1"
    assert int(access[-1]["duration_ms"]) >= 0
