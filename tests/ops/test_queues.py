"""Tasks are routed to a queue per kind of work, and the real worker consumes every one of them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery import signals

from bosco.queues import all_queue_names, group_for, queue_name
from bosco.tasks import enqueue

pytestmark = [pytest.mark.celery_worker]


@pytest.fixture
def delivered() -> Iterator[dict[str, str]]:
    """Task name → the queue the worker took it from (the routing key it was delivered with)."""
    seen: dict[str, str] = {}

    def record(task: Any = None, **_: Any) -> None:
        seen[task.name] = (task.request.delivery_info or {}).get("routing_key", "")

    signals.task_prerun.connect(record, weak=False)
    yield seen
    signals.task_prerun.disconnect(record)


def _wait_for(seen: dict[str, str], names: set[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not names <= set(seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert names <= set(seen), f"the worker never ran {names - set(seen)}"


def test_sync_webhook_and_other_tasks_land_on_their_own_queues(celery_worker, make_workspace, delivered) -> None:
    workspace = make_workspace("queues")
    enqueue("connectors.tasks.sync_connection", workspace.schema_name, 987654)
    enqueue("billing.tasks.process_stripe_event", "evt_not_stored")
    enqueue("insights.tasks.score_workspace", workspace.schema_name)
    enqueue("accounts.tasks.expire_invitations")
    _wait_for(
        delivered,
        {
            "connectors.tasks.sync_connection",
            "billing.tasks.process_stripe_event",
            "insights.tasks.score_workspace",
            "accounts.tasks.expire_invitations",
        },
    )
    default = celery_worker.app.conf.task_default_queue
    assert delivered["connectors.tasks.sync_connection"] == f"{default}.syncs"
    assert delivered["billing.tasks.process_stripe_event"] == f"{default}.billing"
    assert delivered["insights.tasks.score_workspace"] == f"{default}.scoring"
    assert delivered["accounts.tasks.expire_invitations"] == default


def test_every_task_has_a_queue_the_worker_consumes(celery_worker) -> None:
    consumed = {queue.name for queue in celery_worker.consumer.task_consumer.queues}
    assert set(all_queue_names()) <= consumed
    for name in celery_worker.app.tasks:
        if name.startswith(("accounts.", "billing.", "warehouse.", "connectors.", "insights.")):
            assert queue_name(group_for(name)) in consumed, name
    assert group_for("billing.tasks.send_trial_notices") == "notifications"
    assert group_for("warehouse.tasks.transform_window") == "warehouse"
