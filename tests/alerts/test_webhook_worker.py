"""End to end on a real Celery worker: a committed warehouse run → the evaluation task → the send
task on the notifications queue → a real local HTTP receiver that answers 500 the first time.
The delivery is retried with backoff, each attempt recorded, and the receiver can verify the
signature of every request it got (the same delivery id on the retry)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from django_tenants.utils import schema_context

from accounts.models import Workspace
from alerts import services
from alerts.models import Delivery, DeliveryAttempt
from bosco.queues import NOTIFICATIONS, group_for
from tests.alerts.conftest import Receiver, make_rule
from tests.alerts.test_email_worker import wait_until
from tests.insights.conftest import land_history, yesterday_utc


def test_a_webhook_delivery_is_retried_on_the_worker_until_the_receiver_takes_it(
    celery_worker: Any, http_receiver: Receiver, make_workspace: Callable[..., Workspace]
) -> None:
    assert group_for("alerts.tasks.send_delivery") == NOTIFICATIONS
    workspace = make_workspace("whk", reporting_currency="EUR", time_zone="UTC")
    with schema_context(workspace.schema_name):
        rule = make_rule(name="Spend to our endpoint", threshold=1, recipients=[], channel="webhook")
        rule.webhook_url = http_receiver.url("/flaky")
        rule.save()
        secret = services.webhook_secret_issue(rule=rule)
        assert secret
        land_history(as_of=yesterday_utc(), days=3)  # committed runs → evaluations on the worker

    def retried_and_sent() -> tuple[int, list[tuple[str, int | None]]] | None:
        with schema_context(workspace.schema_name):
            for delivery in Delivery.objects.filter(outcome="sent"):
                log = list(DeliveryAttempt.objects.filter(delivery=delivery).values_list("outcome", "status_code"))
                if len(log) == 2:
                    return delivery.pk, log
        return None

    # (the second warehouse run may make the incident worse: a second delivery, sent at once)
    delivery_id, log = wait_until(retried_and_sent, timeout=90)
    assert log == [("retrying", 500), ("sent", 200)]
    first, second = [r for r in http_receiver.hits("/flaky") if r.headers["x-bosco-delivery"] == str(delivery_id)]
    for request in (first, second):
        timestamp = request.headers["x-bosco-timestamp"]
        mac = hmac.new(secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
        assert request.headers["x-bosco-signature"] == f"v1={mac}"
        assert request.json()["rule"]["name"] == "Spend to our endpoint"
    with schema_context(workspace.schema_name):
        delivery = Delivery.objects.get(pk=delivery_id)
        assert (delivery.outcome, delivery.attempts, delivery.status_code, delivery.error) == ("sent", 2, 200, "")
