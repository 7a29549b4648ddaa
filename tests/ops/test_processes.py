"""Bosco as production runs it, every process real: gunicorn, a syncs worker and a worker for every
other queue, beat, PgBouncer (session pooling) in front of a primary with a streaming replica, and
Redis. Two workspaces backfill from the platform emulator while pages and API answers are read
continuously; the syncs worker's main process is SIGTERM'd mid-run (as an orchestrator stops it:
warm shutdown, it finishes the run and exits 0) and the other worker's process group SIGKILL'd
in the middle of a digest (below), with warehouse work queued behind it, and replacements start.
Nothing is lost (every day of every campaign lands and reaches the warehouse), nothing is doubled
(raw keys unique), and no answer ever shows the other workspace's data.

A member's daily digest falls due during the run: the beat's fan-out claims it on the worker for
the other queues, which is SIGKILL'd while it greets the SMTP server (a real one, aiosmtpd). The
replacement starts at once; the broker's sweep puts the dead worker's message back once it is
older than the visibility timeout, the replacement sends the digest, a later fan-out claims nothing
new, and the server holds exactly one e-mail.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from aiosmtpd.controller import Controller
from django.conf import settings

from bosco.queues import GROUPS
from devtools.emulators import EmulatorConfig, start_emulator_server
from tests.digests.test_worker import HoldingInbox
from tests.ops.pg_cluster import primary_with_replica
from tests.ops.processes import drop_queues, free_port, manage
from tests.ops.test_gunicorn import gunicorn
from tests.ops.test_pgbouncer import PGBOUNCER, pgbouncer

ROOT = Path(settings.BASE_DIR)
TODAY = date(2026, 11, 20)
CONFIG = EmulatorConfig(seed=23, today=TODAY, campaigns_per_account=3, google_page_size=30)
ACCOUNTS = {"alpha": CONFIG.google_accounts[0], "bravo": CONFIG.google_accounts[1]}
BACKFILL_DAYS = 60

pytestmark = pytest.mark.skipif(
    PGBOUNCER is None, reason="pgbouncer is not installed (apt-get install pgbouncer; .ci/run installs it)"
)

SETUP = """
import json, os
from datetime import timedelta
from django.utils import timezone
from django_tenants.utils import schema_context
from accounts.models import Membership, User
from accounts.services import api_key_create, workspace_create
from connectors.models import Connection, ConnectionAccount
from connectors.services import sync_request
from digests.models import DigestProfile, DigestSubscription
spec = json.loads(os.environ["SETUP_SPEC"])
keys = {}
for slug, item in spec.items():
    owner = User.objects.create_user(email=f"owner@{slug}.test", password="correct-horse-battery-9")
    # Reporting in the account's own currency: the test database has no FX rates to convert with.
    workspace = workspace_create(owner=owner, name=slug.title(), slug=slug, reporting_currency=item["currency"])
    actor = Membership.objects.get(workspace=workspace, user=owner)
    keys[slug] = api_key_create(workspace=workspace, actor=actor, name="k", scope="read")[1]
    with schema_context(workspace.schema_name):
        connection = Connection.objects.create(
            platform="google_ads", label=f"Google Ads {slug}", access_token=item["access_token"],
            refresh_token=item["refresh_token"], token_expires_at=timezone.now() + timedelta(hours=1),
            lookback_days=7, backfill_days=item["backfill_days"],
        )
        ConnectionAccount.objects.create(
            connection=connection, external_id=item["account_id"], name=item["name"],
            currency=item["currency"], time_zone=item["time_zone"], selected=True,
        )
        sync_request(connection=connection, kind="backfill")
    if item["digest"]:  # a daily digest at 00:00 UTC: due from the start of the run
        DigestProfile.objects.create(user=owner, time_zone="UTC")
        DigestSubscription.objects.create(user=owner, workspace=workspace, frequency="daily", hour=0)
print("KEYS" + json.dumps(keys))
"""


class Process:
    """A Bosco process in its own session (so a signal reaches its children), logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log = (logs / f"{name}.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *args], cwd=ROOT, env=env, start_new_session=True, stdout=self.log, stderr=self.log
        )

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 60) -> int | None:
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.proc.wait(10)
        finally:
            self.log.close()


def _worker(name: str, queues: list[str], env: dict[str, str], logs: Path) -> Process:
    return Process(
        name,
        ["celery", "-A", "bosco", "worker", "-Q", ",".join(queues), "-c", "1", "-n", f"{name}@%h", "-l", "INFO",
         "--without-gossip", "--without-mingle"],
        env,
        logs,
    )  # fmt: skip


def _unacked() -> list[tuple[str, float]]:
    """The broker's unacked messages (tag, age in seconds): what a dead worker left behind."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    now = time.time()
    index = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("unacked_index_key", "unacked_index")
    return [(tag.decode(), round(now - taken, 1)) for tag, taken in client.zrange(index, 0, -1, withscores=True)]


def _tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def _wait(
    what: str, check: Callable[[], bool], timeout: float = 240, interval: float = 0.5, state: Callable[[], object] = str
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}: {state()}")


def test_processes_survive_sigterm_and_sigkill_losing_and_doubling_nothing(tmp_path) -> None:
    emulator = start_emulator_server(host="127.0.0.1", port=0, config=CONFIG)
    emulator.state.update_config(latency_seconds=0.15)  # a backfill long enough to be interrupted
    inbox, smtp_port = HoldingInbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    # Whoever sends the digest first is held at the SMTP greeting until the test lets it go.
    inbox.hold_greeting.set()
    queue = f"bosco-processes-{os.getpid()}"
    logs = tmp_path
    processes: list[Process] = []
    try:
        with primary_with_replica() as cluster, pgbouncer(cluster, mode="session", pool_size=10) as bouncer:
            cluster.primary.sql("CREATE DATABASE bosco_proc")
            direct = cluster.primary.url("bosco_proc")
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "bosco.settings.test",
                "DATABASE_URL": f"postgres://postgres@127.0.0.1:{bouncer}/bosco_proc",
                "DATABASE_REPLICA_URL": cluster.replica.url("bosco_proc"),
                "BOSCO_CELERY_QUEUE": queue,
                "CACHE_KEY_PREFIX": queue,
                "BOSCO_EMULATOR_URL": emulator.base_url,
                "CONNECTORS_FIXED_TODAY": TODAY.isoformat(),
                "GOOGLE_ADS_CHUNK_DAYS": "10",
                "CONNECTORS_BACKOFF_BASE": "0.01",
                "CONNECTORS_BACKOFF_MAX": "0.05",
                # A dead worker's unacked task comes back once it is 30 s old, swept back within a
                # second (production: 45 minutes, longer than the hard limit, and a sweep every 10 s).
                # Not shorter: a task still running when it comes back is run again by its copy,
                # and a busy machine's transforms take several seconds.
                "CELERY_VISIBILITY_TIMEOUT": "30",
                "CELERY_RESTORE_INTERVAL": "1",
                "GUNICORN_TIMEOUT": "300",
                "BOSCO_TEST_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            }
            spec = {}
            for slug, account in ACCOUNTS.items():
                tokens = emulator.state.issue_tokens("google_ads")
                spec[slug] = {
                    "access_token": tokens["access_token"],
                    "refresh_token": tokens.get("refresh_token") or "",
                    "account_id": account.account_id,
                    "name": account.name,
                    "currency": account.currency,
                    "time_zone": account.time_zone,
                    "backfill_days": BACKFILL_DAYS,
                    "digest": slug == "alpha",
                }
            setup_env = {**env, "DATABASE_URL": direct, "SETUP_SPEC": json.dumps(spec)}
            manage(setup_env, "bootstrap")
            keys = json.loads(manage(setup_env, "shell", "-c", SETUP).split("KEYS", 1)[1])

            def sql(statement: str) -> list[tuple]:
                with psycopg.connect(direct, autocommit=True) as conn:
                    return conn.execute(statement).fetchall()

            def digests() -> list[tuple]:
                return sql("SELECT state, attempts, to_email FROM public.digests_digestsend")

            def beat_sends_due_digests() -> None:
                """What beat's "digests.send-due" entry sends every 15 minutes (it may also fire by itself)."""
                from bosco.celery import app

                app.send_task("digests.tasks.send_due_digests", queue=f"{queue}.notifications")

            def runs(slug: str) -> list[tuple]:
                return sql(f"SELECT status, pages, attempts FROM ws_{slug}.connectors_syncrun ORDER BY id")

            since = TODAY - timedelta(days=BACKFILL_DAYS - 10)  # well inside every backfill window

            def expected(account) -> dict[str, int]:
                """The platform's spend per day for the account (the emulator's truth)."""
                per_day: dict[str, int] = {}
                for row in emulator.state.truth("google_ads", account.account_id, "ad_group", since, TODAY)["rows"]:
                    per_day[row["date"]] = per_day.get(row["date"], 0) + int(row["cost_micros"])
                return {day: total for day, total in per_day.items() if total}

            def landed(slug: str) -> dict[str, int]:
                rows = sql(
                    f"SELECT date_day, sum(spend_micros) FROM ws_{slug}.fct_ad_performance_daily"
                    f" WHERE date_day >= '{since}' GROUP BY 1"
                )
                return {day.isoformat(): int(total) for day, total in rows if total}

            other_queues = [queue, *(f"{queue}.{g}" for g in GROUPS if g != "syncs")]
            syncs = _worker("syncs1", [f"{queue}.syncs"], env, logs)
            rest = _worker("rest1", other_queues, env, logs)
            beat = Process(
                "beat", ["celery", "-A", "bosco", "beat", "-l", "INFO", "-s", str(tmp_path / "beat")], env, logs
            )
            processes += [syncs, rest, beat]

            served = (
                "DATABASE_URL",
                "DATABASE_REPLICA_URL",
                "BOSCO_CELERY_QUEUE",
                "CACHE_KEY_PREFIX",
                "GUNICORN_TIMEOUT",
            )
            with gunicorn(tmp_path, GUNICORN_WORKERS="2", **{k: env[k] for k in served}) as web:
                seen: list[tuple[str, int, str]] = []
                stop_reading = threading.Event()

                def read_pages() -> None:
                    """Both workspaces' API answers, continuously: each sees only its own connection.

                    At most one round a second: a trial workspace's key may make 60 requests a
                    minute, and on a quiet machine an unpaced loop made ~200 and was answered 429.
                    """
                    while not stop_reading.is_set():
                        round_started = time.monotonic()
                        for slug, key in keys.items():
                            response = httpx.get(
                                f"{web.url}/api/v1/connections",
                                headers={"Host": f"{slug}.localhost", "Authorization": f"Bearer {key}"},
                                timeout=120,
                            )
                            labels = (
                                [c.get("label", "") for c in response.json().get("results", [])]
                                if response.status_code == 200
                                else []
                            )
                            seen.append((slug, response.status_code, ",".join(labels)))
                        stop_reading.wait(max(0.2, 1.2 - (time.monotonic() - round_started)))

                reader = threading.Thread(target=read_pages)
                reader.start()
                try:
                    # Mid-backfill, the syncs worker gets SIGTERM: it finishes (or hands back) its task and exits.
                    _wait("the first pages of a backfill", lambda: any(r[1] >= 3 for s in ACCOUNTS for r in runs(s)))
                    syncs.proc.send_signal(signal.SIGTERM)  # the main process, as an orchestrator stops it
                    assert syncs.proc.wait(300) == 0, "warm shutdown exits cleanly"
                    processes.append(syncs2 := _worker("syncs2", [f"{queue}.syncs"], env, logs))

                    # The member's digest is due: the fan-out claims it and the other worker starts sending it.
                    beat_sends_due_digests()
                    _wait("the digest's SMTP greeting", lambda: inbox.greetings >= 1, state=digests)
                    assert digests() == [("pending", 0, "owner@alpha.test")], "not claimed for sending yet"

                    # The other worker dies hard in the middle of it, with warehouse work queued; a replacement takes over.
                    _wait("a finished backfill", lambda: any(r[0] == "succeeded" for s in ACCOUNTS for r in runs(s)))
                    rest.signal(signal.SIGKILL)
                    rest.proc.wait(30)
                    inbox.hold_greeting.clear()
                    processes.append(_worker("rest2", other_queues, env, logs))
                    killed = time.monotonic()
                    _wait(
                        "the redelivered digest to be sent",
                        lambda: digests() and digests()[0][0] == "sent",
                        state=lambda: (digests(), _unacked(), inbox.greetings, _tail(logs / "rest2.log")),
                    )
                    print(f"digest sent {time.monotonic() - killed:.1f} s after the kill", file=sys.stderr)
                    beat_sends_due_digests()  # beat again: the period's digest exists, nothing new is claimed

                    _wait(
                        "both backfills to succeed",
                        lambda: all(runs(s) and runs(s)[-1][0] == "succeeded" for s in ACCOUNTS),
                        timeout=600,
                    )
                    _wait(
                        "the warehouse to hold both backfills",
                        lambda: all(landed(slug) == expected(account) for slug, account in ACCOUNTS.items()),
                        timeout=300,
                        state=lambda: {
                            slug: (
                                runs(slug),
                                sql(f"SELECT id, status, date_from, date_to FROM ws_{slug}.wh_transform_run"),
                                sql(f"SELECT count(*) FROM ws_{slug}.raw_record"),
                                len(landed(slug)),
                                len(expected(ACCOUNTS[slug])),
                                sorted(set(expected(ACCOUNTS[slug]).items()) ^ set(landed(slug).items()))[:4],
                            )
                            for slug in ACCOUNTS
                        },
                    )
                finally:
                    stop_reading.set()
                    reader.join()
            assert beat.proc.poll() is None, "beat kept running"
            # The digest: one record, sent on its first claimed attempt, and one e-mail at the server.
            assert digests() == [("sent", 1, "owner@alpha.test")]
            assert [message["To"] for message in inbox.messages] == ["owner@alpha.test"]
            assert syncs2.proc.poll() is None

            for slug, account in ACCOUNTS.items():
                # Nothing lost, nothing doubled: the warehouse's spend per day equals the platform's, exactly.
                assert landed(slug) == expected(account), slug
                # ... and only this workspace's account.
                accounts = {
                    row[0] for row in sql(f"SELECT DISTINCT account_id FROM ws_{slug}.fct_ad_performance_daily")
                }
                assert accounts == {account.account_id}, (slug, accounts)
            assert seen, "the pages were read throughout"
            assert all(code == 200 for _, code, _ in seen), [s for s in seen if s[1] != 200][:5]
            assert all(labels == f"Google Ads {slug}" for slug, _, labels in seen), [
                s for s in seen if s[2] != f"Google Ads {s[0]}"
            ][:5]
    finally:
        for process in processes:
            process.stop()
        inbox.hold_greeting.clear()
        smtp.stop()
        emulator.shutdown()
        drop_queues(queue)
