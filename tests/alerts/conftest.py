"""Fixtures of the alerts tests: a workspace with a few weeks of synthetic warehouse data, a real
local SMTP server (aiosmtpd) that the e-mail channel talks to, and helpers to make rules."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django_tenants.utils import schema_context

from accounts.models import Workspace
from alerts.models import AlertRule
from connectors.models import Connection
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


@pytest.fixture
def alert_workspace(make_workspace: Callable[..., Workspace]) -> Iterator[Workspace]:
    """A workspace (EUR, UTC) with three weeks of synthetic data through yesterday, schema active."""
    workspace = make_workspace("alrt", reporting_currency="EUR", time_zone="UTC")
    with in_schema(workspace):
        land_history(as_of=yesterday_utc(), days=HISTORY_DAYS)
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


__all__ = ["in_schema", "schema_context"]
