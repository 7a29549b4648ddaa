"""The beat's sync fan-out is fair (bench/scale.py measures the waits it gives at 1,000 workspaces):

- the fan-out starts at a different workspace every tick, so the same workspaces are not at the
  back of the queue every time;
- a workspace's second, third ... due sync is queued at a lower broker priority than every
  workspace's first, so a workspace with many connections does not hold the ones after it back.

The queue order is read from the real Redis broker the way a worker takes messages (kombu).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from statistics import mean
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from connectors.models import Connection, SyncRun
from connectors.services import syncs_schedule_due
from connectors.sync.runs import fan_out_order
from tests.connectors.conftest import GOOGLE_EUR, GOOGLE_USD


def test_the_fan_out_starts_at_a_different_workspace_every_tick_and_evens_out_the_back_of_the_queue() -> None:
    schemas = [f"ws_{i:03d}" for i in range(100)]
    orders = [fan_out_order(schemas, tick=tick) for tick in range(1000, 1040)]
    for order in orders:
        start = schemas.index(order[0])
        assert order == schemas[start:] + schemas[:start], "each tick is a rotation: nobody skipped, nobody twice"
    starts = [order[0] for order in orders]
    assert len(set(starts)) == len(starts), "a different workspace goes first on every one of 40 ticks"
    # A fixed order puts ws_099 at position 99 on every tick; rotated, every workspace's average
    # position over the ticks is near the middle.
    average = {schema: mean(order.index(schema) for order in orders) for schema in schemas}
    assert all(35 <= position <= 65 for position in average.values()), (min(average.values()), max(average.values()))
    assert fan_out_order([], tick=7) == []


@pytest.fixture
def own_queue() -> Iterator[str]:
    """This test's own default queue: the syncs it schedules wait on `<queue>.syncs`, consumed by nobody."""
    from bosco.celery import app

    queue = f"bosco-test-fair-{uuid.uuid4().hex[:8]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    yield queue
    app.conf.task_default_queue = previous
    broker = redis.Redis.from_url(django_settings.REDIS_URL)
    for name in broker.scan_iter(f"{queue}*"):
        broker.delete(name)


def _taken_in_order(queue: str) -> list[tuple[str, int]]:
    """(schema, run id) of every queued sync, in the order a worker takes them."""
    from bosco.celery import app

    taken = []
    with app.connection_for_read() as conn:
        simple = conn.SimpleQueue(queue, no_ack=True)
        try:
            while True:
                try:
                    message = simple.get(block=True, timeout=1)
                except simple.Empty:
                    break
                args, _kwargs, _embed = message.payload
                taken.append((args[0], args[1]))
        finally:
            simple.close()
    return taken


@pytest.mark.django_db(transaction=True)
def test_a_workspaces_second_due_sync_waits_behind_every_workspaces_first(
    make_workspace: Any, connect: Any, own_queue: str, settings: Any
) -> None:
    # Both orders on the same two workspaces (made once: a workspace and a committed test's flush
    # are the expensive part), each from the same starting point.
    big, small = make_workspace("fairbig"), make_workspace("fairsmall")
    connections: dict[str, list[int]] = {}
    for workspace, count in ((big, 3), (small, 1)):
        with schema_context(workspace.schema_name):
            connections[workspace.schema_name] = [
                connect("google_ads", accounts=[GOOGLE_EUR if i % 2 == 0 else GOOGLE_USD]).pk for i in range(count)
            ]
    expected = {
        True: ["fairbig-0", "fairsmall-0", "fairbig-1", "fairbig-2"],
        # the old order: the small workspace waits for all of the big one's syncs
        False: ["fairbig-0", "fairbig-1", "fairbig-2", "fairsmall-0"],
    }
    for fair in (True, False):
        settings.CONNECTORS_SCHEDULE_FAIR = fair
        for workspace in (big, small):
            with schema_context(workspace.schema_name):
                SyncRun.objects.all().delete()
                for i, pk in enumerate(connections[workspace.schema_name]):
                    # The least recently synced goes first in its workspace's round.
                    synced = timezone.now() - timedelta(hours=24 - i)
                    Connection.objects.filter(pk=pk).update(
                        label=f"{workspace.slug}-{i}", last_sync_at=synced, next_sync_at=synced
                    )
        # The fan-out reached the big workspace first (its place this tick); each schedules its due syncs.
        label_of: dict[tuple[str, int], str] = {}
        for workspace, count in ((big, 3), (small, 1)):
            with schema_context(workspace.schema_name):
                assert syncs_schedule_due()["started"] == count
                for run in SyncRun.objects.select_related("connection"):
                    label_of[(workspace.schema_name, run.pk)] = run.connection.label

        taken = _taken_in_order(f"{own_queue}.syncs")
        labels = [label_of[item] for item in taken]
        assert labels == expected[fair], ("fair" if fair else "fifo", labels)
