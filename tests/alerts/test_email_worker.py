"""End to end with real components: a warehouse run (committed) → the warehouse's signal → the
evaluation task on a real Celery worker → the send task → a real local SMTP server (aiosmtpd).
The e-mail is parsed: subject, both parts, the numbers in the workspace's currency and number
format, the link. Failures of the SMTP server are recorded on the delivery and retried."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django_tenants.utils import schema_context

from accounts.models import Workspace
from alerts import services
from alerts.models import AlertIncident, Delivery
from bosco.formatting import using_number_format
from bosco.tasks import TransientError
from connectors.models import Connection
from tests.alerts.conftest import Inbox, free_port, make_connection, make_rule, spend_of
from tests.insights.conftest import land_history, yesterday_utc
from warehouse.metrics import format_metric


def _text(message: Any) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def wait_until(check: Callable[[], Any], *, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_warehouse_run_triggers_evaluation_and_the_email_arrives(
    celery_worker: Any, smtp_server: Inbox, make_workspace: Callable[..., Workspace]
) -> None:
    workspace = make_workspace("alrm", reporting_currency="EUR", time_zone="UTC", number_format="de-DE")
    with schema_context(workspace.schema_name):
        make_connection(status=Connection.Status.NEEDS_REAUTH, label="Meta Shop DE")
        make_rule(name="Spend over 1 €", threshold=1, recipients=["ana@example.com"])
        land_history(as_of=yesterday_utc(), days=3)  # two committed window runs → two evaluations
        spend = spend_of(1)

    with using_number_format("de-DE"):
        expected = format_metric("spend", spend, "EUR")
    assert expected.endswith("€") and "." in expected  # 6.758 € — the workspace's format, not €6,758

    def spend_mail_with_all_platforms() -> Any:
        # the first run's evaluation may see Google's spend only; then Meta's run makes it worse
        # and the rule notifies again. Either way the last spend e-mail carries the full number.
        return next((m for m in smtp_server.messages if m["To"] == "ana@example.com" and expected in _text(m)), None)

    spend_mail = wait_until(spend_mail_with_all_platforms)
    reauth = wait_until(lambda: next((m for m in smtp_server.messages if m["To"] == "owner@alrm.example"), None))
    time.sleep(2)  # both runs' evaluations are done: the re-authorisation incident was sent once
    assert [m["To"] for m in smtp_server.messages].count("owner@alrm.example") == 1
    assert "Meta Shop DE needs re-authorisation" in reauth["Subject"]
    with schema_context(workspace.schema_name):
        assert AlertIncident.objects.filter(state="open").count() == 2
        assert set(Delivery.objects.values_list("outcome", "attempts")) == {("sent", 1)}

    assert spend_mail["Subject"].strip() in (
        "[Bosco] Alert: Spend over 1 € — the whole workspace",
        "[Bosco] Worse: Spend over 1 € — the whole workspace",
    )
    text = _text(spend_mail)
    html = spend_mail.get_body(preferencelist=("html",)).get_content()
    assert expected in text and expected in html
    assert "may revise these days" in text and "may revise these days" in html
    assert "http://alrm." in text and "/alerts/" in text and "/alerts/" in html
    assert 'style="' in html and "<style" not in html  # inlined CSS only (mail clients drop <style>)


def pending_delivery(target: str) -> Delivery:
    """A delivery waiting to be sent, made directly (no task queued that would race this test)."""
    rule = make_rule(threshold=10)
    incident = AlertIncident.objects.create(rule=rule, dedup_key="k", subject="the whole workspace", value=12.5)
    return Delivery.objects.create(incident=incident, event="opened", target=target)


def test_smtp_failure_is_recorded_and_raised_for_a_retry(
    transactional_db: None, settings: Any, make_workspace: Callable[..., Workspace]
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2  # nobody listens
    workspace = make_workspace("down")
    with schema_context(workspace.schema_name):
        delivery = pending_delivery("ana@example.com")

        with pytest.raises(TransientError):
            services.delivery_send(delivery_id=delivery.pk, workspace=workspace)
        delivery.refresh_from_db()
        assert (delivery.outcome, delivery.attempts) == ("retrying", 1)
        assert "Connection refused" in delivery.error or "Errno" in delivery.error

        Delivery.objects.filter(pk=delivery.pk).update(attempts=services.MAX_ATTEMPTS - 1)
        assert services.delivery_send(delivery_id=delivery.pk, workspace=workspace) == "failed"
        delivery.refresh_from_db()
        assert (delivery.outcome, delivery.attempts) == ("failed", services.MAX_ATTEMPTS)
        # a failed delivery is final: a redelivered task does not try again
        assert services.delivery_send(delivery_id=delivery.pk, workspace=workspace) == "failed"


def test_a_refused_recipient_fails_without_retrying(
    transactional_db: None, smtp_server: Inbox, make_workspace: Callable[..., Workspace]
) -> None:
    async def refuse(server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        return "550 no such user" if address.startswith("bounce") else "250 OK"

    smtp_server.handle_RCPT = refuse  # type: ignore[attr-defined]
    workspace = make_workspace("bnc")
    with schema_context(workspace.schema_name):
        delivery = pending_delivery("bounce@example.com")
        assert services.delivery_send(delivery_id=delivery.pk, workspace=workspace) == "failed"
        delivery.refresh_from_db()
        assert delivery.attempts == 1 and "550" in delivery.error
    assert smtp_server.messages == []
