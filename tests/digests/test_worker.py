"""Exactly once on real Celery workers and a real SMTP server (aiosmtpd):

- beat firing twice (two fan-outs at the same moment) makes one send record and one e-mail;
- a worker SIGKILLed while the SMTP server holds the message (DATA received, no reply yet) leaves
  the record `sending`; the redelivered task on a fresh worker does not send again, and the
  sweep marks it failed ("interrupted"): one e-mail, never two;
- a worker SIGKILLed before the SMTP conversation (while greeting the server) leaves the record
  `pending`; the redelivered task sends it: exactly one e-mail;
- ... also when the replacement starts at once (as an orchestrator restarts a killed worker), so
  that the message is not yet past the visibility timeout at its start-up: a live worker's
  periodic sweep puts it back within the restore interval (kombu's own default: up to 100 s);
- an SMTP server answering "try again later" is retried with backoff and recorded.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.utils import timezone

from digests import services
from digests.models import DigestSend
from digests.tasks import send_due_digests
from tests.alerts.conftest import Inbox, free_port
from tests.connectors.test_worker import WorkerProcess
from tests.digests.conftest import owner_of, subscribe, with_history


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def state_of(send_id: int) -> str:
    return DigestSend.objects.get(pk=send_id).state


@pytest.mark.celery_worker
def test_two_beats_at_the_same_moment_send_one_digest(
    celery_worker: Any, smtp_server: Inbox, make_workspace: Any
) -> None:
    workspace = with_history(make_workspace("dgbt", name="Beat Shop"), days=21)
    subscribe(owner_of(workspace), workspace, frequency="daily", hour=0, time_zone="UTC")
    fan_outs = [send_due_digests.apply_async() for _ in range(2)]
    claimed = [result.get(timeout=60) for result in fan_outs]
    assert sorted(claimed) == [0, 1], "the second fan-out found the period's record already claimed"
    send = wait_for(lambda: DigestSend.objects.filter(state="sent").first(), 90, "the digest to be sent")
    time.sleep(1.0)
    assert len(smtp_server.messages) == 1 and DigestSend.objects.count() == 1
    assert (send.attempts, send.scope) == (1, workspace.schema_name)


class BusyOnceInbox(Inbox):
    """Answers the first message with 451 (try again later), then accepts."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.refused:
            self.refused += 1
            return "451 4.3.0 Mailbox busy, try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.celery_worker
def test_a_temporary_smtp_failure_is_retried_with_backoff_and_recorded(
    celery_worker: Any, settings: Any, make_workspace: Any
) -> None:
    inbox, port = BusyOnceInbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        workspace = with_history(make_workspace("dgrt", name="Retry Shop"), days=21)
        subscribe(owner_of(workspace), workspace, frequency="daily", hour=0, time_zone="UTC")
        (send_id,) = services.sends_claim_due()
        send = wait_for(lambda: DigestSend.objects.filter(pk=send_id, state="sent").first(), 90, "the retried send")
    finally:
        controller.stop()
    assert inbox.refused == 1 and len(inbox.messages) == 1
    assert send.attempts == 2 and "451" in send.error and "Mailbox busy" in send.error


# ---------------------------------------------------------------------------------------------
# Killed workers: `celery worker` subprocesses on a queue of their own


class HoldingInbox(Inbox):
    """Keeps each message, then holds its reply ("250 OK") while `hold_data` is set; can also hold
    the first greeting (EHLO) while `hold_greeting` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.hold_data = threading.Event()
        self.hold_greeting = threading.Event()
        self.greetings = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.greetings += 1
        session.host_name = hostname
        while self.hold_greeting.is_set():
            await asyncio.sleep(0.05)
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        while self.hold_data.is_set():
            await asyncio.sleep(0.05)
        return "250 OK"


@pytest.fixture
def holding_smtp() -> Iterator[tuple[HoldingInbox, int]]:
    inbox, port = HoldingInbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        inbox.hold_data.clear()
        inbox.hold_greeting.clear()
        controller.stop()


@pytest.fixture
def killable(
    holding_smtp: tuple[HoldingInbox, int], request: Any, tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `celery worker` subprocesses on this test's own queues, sending to the holding server."""
    from bosco.celery import app
    from tests.conftest import test_database_url

    _, port = holding_smtp
    queue = f"bosco-test-digest-{uuid.uuid4().hex[:8]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    env = dict(os.environ)
    env.update(
        DATABASE_URL=test_database_url(),
        REDIS_URL=django_settings.REDIS_URL,
        BOSCO_CELERY_QUEUE=queue,
        DJANGO_SETTINGS_MODULE="bosco.settings.test",
        BOSCO_TEST_EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        # Unacked messages of a dead worker come back after 3 s (production: longer than the hard limit).
        CELERY_VISIBILITY_TIMEOUT="3",
        LOG_LEVEL="INFO",
    )
    workers: list[WorkerProcess] = []

    def start(name: str, **extra_env: str) -> WorkerProcess:
        worker = WorkerProcess(queue, {**env, **extra_env}, concurrency=1, log=tmp_path / f"{name}.log")
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    app.conf.task_default_queue = previous


@pytest.mark.slow
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_the_server_holds_the_message_never_sends_it_twice(
    make_workspace: Any, holding_smtp: tuple[HoldingInbox, int], killable: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    inbox, _ = holding_smtp
    workspace = with_history(make_workspace("dgkl", name="Kill Shop"), days=21)
    subscribe(owner_of(workspace), workspace, frequency="daily", hour=0, time_zone="UTC")
    inbox.hold_data.set()
    (send_id,) = services.sends_claim_due()  # committed; the task is queued on commit

    first = killable("first")
    wait_for(lambda: inbox.messages, 90, "the server to receive the message")
    assert state_of(send_id) == "sending"
    first.kill_all()  # SIGKILL the whole worker: no reply was read, nothing was acknowledged
    inbox.hold_data.clear()
    time.sleep(3.5)  # the unacked task is now older than the visibility timeout

    killable("second")
    log = tmp_path / "second.log"
    wait_for(
        lambda: (
            log.exists() and re.search(r"send_digest\[.*\] succeeded in .*: 'sending'", log.read_text(errors="replace"))
        ),
        90,
        "the redelivered task to find the digest being sent",
    )
    assert len(inbox.messages) == 1 and state_of(send_id) == "sending"

    # The sweep (part of every fan-out) resolves the stale claim: failed, never sent again.
    assert services.sends_recover(now=timezone.now() + services.STALE_SENDING + timedelta(minutes=1)) == {
        "interrupted": 1,
        "requeued": 0,
    }
    send = DigestSend.objects.get(pk=send_id)
    assert send.state == "failed" and send.error.startswith("interrupted")
    assert services.sends_claim_due() == []  # the period's record exists: beat makes no second one
    time.sleep(1.0)
    assert len(inbox.messages) == 1


@pytest.mark.slow
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_before_the_smtp_conversation_is_replaced_and_sends_exactly_once(
    make_workspace: Any, holding_smtp: tuple[HoldingInbox, int], killable: Callable[..., WorkerProcess]
) -> None:
    inbox, _ = holding_smtp
    workspace = with_history(make_workspace("dgkb", name="Early Kill Shop"), days=21)
    subscribe(owner_of(workspace), workspace, frequency="daily", hour=0, time_zone="UTC")
    inbox.hold_greeting.set()
    (send_id,) = services.sends_claim_due()

    first = killable("first")
    wait_for(lambda: inbox.greetings >= 1, 90, "the worker to greet the server")
    assert state_of(send_id) == "pending", "not claimed for sending before the server answered"
    first.kill_all()
    inbox.hold_greeting.clear()
    time.sleep(3.5)

    killable("second")
    wait_for(lambda: state_of(send_id) == "sent", 90, "the redelivered task to send the digest")
    time.sleep(1.0)
    assert len(inbox.messages) == 1
    assert DigestSend.objects.get(pk=send_id).attempts == 1


@pytest.mark.slow
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_replacement_started_at_once_sends_the_killed_workers_digest_after_the_visibility_timeout(
    make_workspace: Any, holding_smtp: tuple[HoldingInbox, int], killable: Callable[..., WorkerProcess]
) -> None:
    inbox, _ = holding_smtp
    workspace = with_history(make_workspace("dgkr", name="Restart Shop"), days=21)
    subscribe(owner_of(workspace), workspace, frequency="daily", hour=0, time_zone="UTC")
    inbox.hold_greeting.set()
    (send_id,) = services.sends_claim_due()
    # The message comes back once it is 40 s old: after the replacement's first sweep (at its
    # start-up, or 10 s later), so only a later sweep can find it: every second here
    # (CELERY_RESTORE_INTERVAL). With kombu's default throttle the next one would come 100 s later.
    timing = {"CELERY_VISIBILITY_TIMEOUT": "40", "CELERY_RESTORE_INTERVAL": "1"}

    first = killable("first", **timing)
    wait_for(lambda: inbox.greetings >= 1, 90, "the worker to greet the server")
    first.kill_all()
    inbox.hold_greeting.clear()
    killable("second", **timing)  # at once, as an orchestrator restarts it

    # 40 s after the first worker took it, plus a sweep, plus the send: inside 90 s.
    wait_for(lambda: state_of(send_id) == "sent", 90, "the swept-back task to send the digest")
    time.sleep(1.0)
    assert len(inbox.messages) == 1
    assert DigestSend.objects.get(pk=send_id).attempts == 1
