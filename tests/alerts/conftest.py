"""Fixtures of the alerts tests: a workspace with a few weeks of synthetic warehouse data, a real
local SMTP server (aiosmtpd) that the e-mail channel talks to, a real local HTTP receiver for the
Slack and webhook channels, and helpers to make rules."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from accounts import services as account_services
from accounts.models import Membership, User, Workspace
from alerts.models import AlertRule
from connectors.models import Connection
from tests.conftest import PASSWORD, committed_setup_guard, host_of
from tests.insights.conftest import in_schema, land_history, yesterday_utc
from warehouse.selectors import MetricsQuery, metrics_query

HISTORY_DAYS = 21


class Inbox:
    """aiosmtpd handler keeping every message it receives, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Inbox]:
    """A real SMTP server on localhost; Django's SMTP backend sends to it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    try:
        yield inbox
    finally:
        controller.stop()


def _alert_workspace_build(workspace: Workspace) -> None:
    with schema_context(workspace.schema_name):
        land_history(as_of=yesterday_utc(), days=HISTORY_DAYS)


@pytest.fixture(scope="package")
def alert_workspace_committed(django_db_setup: None, django_db_blocker: Any) -> Iterator[Workspace]:
    """The alerts workspace, committed once per test process for the package's plain `db` tests.

    Building it (a schema clone, three weeks landed and transformed) costs seconds, and about 75
    tests read it; each test still runs in its own rolled-back transaction on top of it, so what a
    test writes is gone before the next. Only plain `db` tests may use it: pytest-django runs them
    before any transactional test, whose flush would empty the public tables it depends on.
    Transactional tests take `committed_alert_workspace` (one of their own) instead.
    """
    from allauth.account.models import EmailAddress

    from accounts.services import workspace_create, workspace_drop

    email = "owner@alrt.example"
    with django_db_blocker.unblock():
        committed_setup_guard("alert_workspace_committed")
        owner = User.objects.create_user(email, PASSWORD)
        EmailAddress.objects.create(user=owner, email=email, verified=True, primary=True)
        workspace = workspace_create(owner=owner, name="Alrt", slug="alrt", reporting_currency="EUR", time_zone="UTC")
        try:
            _alert_workspace_build(workspace)
            yield workspace
        finally:
            connection.set_schema_to_public()
            workspace_drop(workspace=workspace)
            User.objects.filter(email=email).delete()


@pytest.fixture
def alert_workspace(db: None, alert_workspace_committed: Workspace) -> Iterator[Workspace]:
    """A workspace (EUR, UTC) with three weeks of synthetic data through yesterday, schema active."""
    with in_schema(alert_workspace_committed):
        yield alert_workspace_committed


@pytest.fixture
def committed_alert_workspace(make_workspace: Callable[..., Workspace]) -> Iterator[Workspace]:
    """The same data in a workspace of one transactional test's own (committed, dropped after).

    Its own address, since the shared one may still be up when a focused run reaches this test."""
    workspace = make_workspace("alrt-tx", reporting_currency="EUR", time_zone="UTC")
    _alert_workspace_build(workspace)
    with in_schema(workspace):
        yield workspace


def spend_of(days: int, **filters: tuple[str, ...]) -> float:
    """Spend of the last `days` whole days, straight from the metrics layer."""
    last = yesterday_utc()
    result = metrics_query(
        MetricsQuery(metrics=("spend",), date_from=last - timedelta(days=days - 1), date_to=last, filters=filters)
    )
    return float(result.rows[0]["spend"])


def make_rule(**fields: Any) -> AlertRule:
    values: dict[str, Any] = {
        "name": "Spend too high",
        "kind": "threshold",
        "metric": "spend",
        "comparison": "above",
        "window_days": 1,
        "recipients": ["ana@example.com"],
    }
    values.update(fields)
    return AlertRule.objects.create(**values)


def make_connection(status: str = Connection.Status.ACTIVE, **fields: Any) -> Connection:
    values: dict[str, Any] = {"platform": "meta", "label": "Meta ads", "lookback_days": 7, "backfill_days": 30}
    return Connection.objects.create(status=status, **{**values, **fields})


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1. What it answers depends on the path:
    /ok 200 · /fail 500 · /gone 404 · /redirect 302 to /ok · /hang waits `hang_seconds` then 200 ·
    /flaky 500 the first time, then 200. Every request it reads is kept in `received`."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    hang_seconds: float = 8.0
    seen_paths: dict[str, int] = field(default_factory=dict)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def hits(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            count = receiver.seen_paths[self.path] = receiver.seen_paths.get(self.path, 0) + 1
            status, headers = 200, {}
            if self.path == "/fail" or (self.path == "/flaky" and count == 1):
                status = 500
            elif self.path == "/gone":
                status = 404
            elif self.path == "/redirect":
                status, headers = 302, {"Location": receiver.url("/ok")}
            elif self.path == "/hang":
                time.sleep(receiver.hang_seconds)
            answer = b"ok" if status == 200 else b"receiver says no"
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    return Handler


@pytest.fixture
def http_receiver(settings: Any) -> Iterator[Receiver]:
    """A local receiver; loopback addresses are allowed for this test only (the test-only setting)."""
    settings.ALERTS_WEBHOOK_ALLOW_LOOPBACK = True
    settings.ALERTS_WEBHOOK_TIMEOUT = 1.0
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def keys(alert_workspace: Workspace) -> dict[str, str]:
    """A read-only and a read-write API key of the alerts workspace."""
    owner = Membership.objects.get(workspace=alert_workspace, role="owner")
    _, read = account_services.api_key_create(workspace=alert_workspace, actor=owner, name="r", scope="read")
    _, write = account_services.api_key_create(workspace=alert_workspace, actor=owner, name="w", scope="read_write")
    return {"read": read, "write": write}


def api(workspace: Workspace, key: str) -> Client:
    return Client(HTTP_HOST=host_of(workspace), HTTP_AUTHORIZATION=f"Bearer {key}")


__all__ = ["in_schema", "schema_context"]
