"""Log lines carry request id, workspace, user and task id with secrets masked; /readyz reports each dependency."""

from __future__ import annotations

import json
import logging
import time
import uuid

import pytest
from django.conf import settings
from django.test import Client

from bosco.logging import ContextFilter, JsonFormatter, RedactSecretsFilter, TenantContextFilter
from bosco.tasks import tenant_task
from tests.bosco.test_deploy_check import PLATFORM_ENV
from tests.conftest import login_client

probe_logger = logging.getLogger("bosco.probe")


class _Capture(logging.Handler):
    """The production handler's filters and JSON formatter, writing into a list."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict] = []
        for filter_ in (RedactSecretsFilter(), TenantContextFilter(), ContextFilter()):
            self.addFilter(filter_)
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def captured():
    handler = _Capture()
    logging.getLogger().addHandler(handler)
    yield handler.lines
    logging.getLogger().removeHandler(handler)


def test_production_settings_log_json_by_default() -> None:
    """Imported in a process of its own: the production module changes the shared LOGGING dict."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    env.update({"SECRET_KEY": "x" * 60, "BOSCO_ENCRYPTION_KEYS": "tK1Q5rJx6nXvJ9c3m2PpB7sHq8wz0aLrEoYdUfGiNkM="})
    env.update(PLATFORM_ENV)  # production refuses to start without every platform's app and URLs
    probe = "import bosco.settings.production as p; h = p.LOGGING['handlers']['console']; print(h['formatter'], *h['filters'])"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    formatter, *filters = result.stdout.split()
    assert formatter == "json"
    assert {"redact_secrets", "tenant", "context"} <= set(filters)


@pytest.mark.django_db
def test_request_id_is_kept_or_made_and_answered() -> None:
    client = Client(HTTP_HOST=settings.BOSCO_DOMAIN)
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-abc-123")["X-Request-ID"] == "lb-abc-123"
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32 and made != client.get("/healthz")["X-Request-ID"]
    # a header that is not an id (spaces, a newline attempt, too long) is replaced, not echoed into logs
    for bad in ("two words", "x" * 200, "id\u2028forged"):
        assert client.get("/healthz", HTTP_X_REQUEST_ID=bad)["X-Request-ID"] != bad


@pytest.mark.django_db
def test_a_request_log_line_carries_request_id_workspace_user_and_no_secret(
    make_workspace, captured, monkeypatch
) -> None:
    from accounts.models import User

    workspace = make_workspace("logs")
    owner = User.objects.get(email="owner@logs.example")
    client = login_client(Client(), owner, workspace)
    request_id = f"req-{uuid.uuid4().hex[:12]}"

    def log_mid_request(request) -> None:  # stands for any code that logs while serving a page
        probe_logger.warning(
            "calling platform with access_token=ya29.secretvalue and sk_live_abcdefghijkl",
            extra={"header": "Bearer abcdefghijklmnop"},
        )

    # A middleware late in the chain (after the workspace and its member are known) logs a line.
    monkeypatch.setattr("bosco.middleware.NumberFormatMiddleware.__call__", _wrapping_call(log_mid_request))
    client.get("/", HTTP_X_REQUEST_ID=request_id)
    lines = [line for line in captured if line["logger"] == "bosco.probe"]
    assert lines, captured
    line = lines[0]
    assert line["request_id"] == request_id
    assert line["schema_name"] == workspace.schema_name
    assert line["user_id"] == owner.pk
    assert line["task_id"] == "-"
    assert "ya29.secretvalue" not in json.dumps(line) and "sk_live_abcdefghijkl" not in json.dumps(line)
    assert "abcdefghijklmnop" not in line["header"]


def _wrapping_call(hook):
    from bosco.middleware import NumberFormatMiddleware

    original = NumberFormatMiddleware.__call__

    def call(self, request):
        hook(request)
        return original(self, request)

    return call


@tenant_task()
def log_from_a_task(note: str) -> str:
    probe_logger.warning("task says %s with password=hunter2hunter2", note)
    return "logged"


@pytest.mark.celery_worker
def test_a_task_log_line_carries_task_id_and_workspace(celery_worker, make_workspace, captured) -> None:
    workspace = make_workspace("tasklogs")
    result = log_from_a_task.delay(workspace.schema_name, "hello")
    assert result.get(timeout=30) == "logged"
    line = next(line for line in captured if line["logger"] == "bosco.probe")
    assert line["task_id"] == result.id
    assert line["schema_name"] == workspace.schema_name
    assert line["request_id"] == "-"
    assert "hunter2hunter2" not in line["message"]


@pytest.mark.celery_worker
def test_readyz_reports_database_redis_workers_and_queue_depths(celery_worker) -> None:
    from bosco.queues import all_queue_names

    # Asked again a few times, as a probe would: the test worker may still be busy with a previous
    # test's task for longer than the one-second ping.
    for _ in range(10):
        body = Client(HTTP_HOST="10.0.0.7").get("/readyz").json()
        if body["status"] == "ok":
            break
        time.sleep(1)
    assert body["status"] == "ok", body["checks"]["celery"]
    assert set(body["checks"]) == {"database", "redis", "celery", "queues"}
    assert body["checks"]["celery"]["detail"]["workers"]
    assert body["checks"]["celery"]["detail"]["queues_without_worker"] == []
    assert set(body["checks"]["queues"]["detail"]) == set(all_queue_names())
