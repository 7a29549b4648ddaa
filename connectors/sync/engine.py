"""The sync engine: plan a run, read snapshots and daily chunks newest first, commit each page
with its cursor, and finish (see the package docstring for how a run goes).
"""

from __future__ import annotations

import logging
import random
import time
from datetime import date, datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from billing.entitlements import for_workspace
from bosco.db import connection as tenant_db
from bosco.metrics import ROWS_LANDED, SYNC_LAG
from connectors import conf, windows
from connectors.clock import account_today
from connectors.errors import (
    BadResponse,
    ConnectorError,
    CursorExpired,
    Deferred,
    OperatorError,
    ReauthRequired,
    ReportJobStarted,
    SyncCancelled,
    TooMuchData,
)
from connectors.http import CallStats
from connectors.models import Connection, ConnectionAccount, StreamCursor, SyncRun
from connectors.oauth import ConnectionTokens
from connectors.platforms import Page, PlatformClient, StreamSpec, client_for
from connectors.sync.handoff import hand_off, hand_off_unchanged
from connectors.sync.runs import close_run, enqueue_run, follow_up_backfill
from warehouse.services.landing import LandingResult, raw_records_land

logger = logging.getLogger("connectors.sync")

MAX_EMPTY_PAGES = 10
MAX_CURSOR_RESTARTS = 3


class BudgetSpent(Exception):
    """This task has worked long enough; a fresh task continues the run."""


# ---------------------------------------------------------------------------------------------
class SyncEngine:
    def __init__(self, run: SyncRun) -> None:
        self.run = run
        self.connection = run.connection
        self.platform = self.connection.platform
        self.stats = CallStats()
        self.tokens = ConnectionTokens(self.connection, self.stats)
        self.client: PlatformClient = client_for(self.platform, tokens=self.tokens, stats=self.stats)
        self.accounts = list(self.connection.accounts.filter(selected=True).order_by("external_id"))
        self.started = time.monotonic()
        self.duration_before = run.duration_seconds
        self.budget_ends = self.started + float(settings.CONNECTORS_TASK_BUDGET_SECONDS)

    # ------------------------------------------------------------------ top level
    def execute(self) -> str:
        try:
            self._plan()
            for stream in self.client.streams:
                if stream.daily:
                    continue
                for account in self.accounts:
                    self._snapshot(account, stream)
            self._daily()
        except SyncCancelled as exc:
            self._finish(SyncRun.Status.CANCELLED, note=exc.user_message)
        except (BudgetSpent, SoftTimeLimitExceeded):
            # Everything up to the last page is committed: a fresh task carries on from there.
            self._continue_later(0.0, note="")
        except Deferred as exc:
            self._defer(exc)
        except OperatorError as exc:
            # Bosco's own configuration is wrong: the person's connection is fine, so its status
            # stays; the operator is told now (ERROR) and support finds it on the run later.
            logger.error("sync run %s: Bosco is misconfigured: %s", self.run.pk, exc.message)
            self._finish(SyncRun.Status.FAILED, error=exc)
        except ReauthRequired as exc:
            self._finish(SyncRun.Status.FAILED, error=exc, connection_status=Connection.Status.NEEDS_REAUTH)
        except ConnectorError as exc:
            self._finish(SyncRun.Status.FAILED, error=exc, connection_status=Connection.Status.ERROR)
        except (OperationalError, InterfaceError):
            raise  # the database went away: the task retries and resumes from the cursors
        except Exception as exc:
            logger.exception("sync run %s failed with an internal error", self.run.pk)
            internal = ConnectorError(
                f"internal error: {type(exc).__name__}",
                user_message=(
                    f"Bosco hit an internal error while syncing ({type(exc).__name__}). Nothing already synced "
                    "was lost; the next sync tries again. If it keeps happening, contact support."
                ),
            )
            internal.code = "internal_error"
            self._finish(SyncRun.Status.FAILED, error=internal, connection_status=Connection.Status.ERROR)
        else:
            self._finish(SyncRun.Status.SUCCEEDED)
        finally:
            self.client.close()
        return self.run.status

    # ------------------------------------------------------------------ planning
    def _plan(self) -> None:
        if not self.accounts:
            raise SyncCancelled("no accounts", user_message="No ad account is selected, so there was nothing to sync.")
        lookback = self.connection.lookback_days
        # History synced never goes deeper than the workspace's plan keeps.
        plan_days = for_workspace(tenant_db.schema_name).history_days
        backfill = min(self.connection.backfill_days, conf.max_history_days(self.platform), plan_days)
        with transaction.atomic():
            for account in self.accounts:
                today = account_today(account.time_zone)
                for stream in self.client.streams:
                    cursor, _ = StreamCursor.objects.select_for_update().get_or_create(
                        connection=self.connection, account_id=account.external_id, stream=stream.name
                    )
                    if cursor.run_id == self.run.pk:
                        continue  # planned by an earlier attempt of this run: resume
                    cursor.run = self.run
                    cursor.page_token = ""
                    cursor.report_run_id = ""
                    cursor.pages_in_chunk = 0
                    cursor.chunk_from = cursor.chunk_to = None
                    cursor.chunk_days = 0
                    cursor.done = False
                    if stream.daily:
                        covered = (
                            (cursor.covered_from, cursor.covered_to)
                            if cursor.covered_from and cursor.covered_to
                            else None
                        )
                        ranges = windows.plan_ranges(
                            covered=covered, today=today, lookback_days=lookback, backfill_days=backfill
                        )
                        cursor.plan = {
                            "ranges": windows.to_json(ranges),
                            "base": windows.to_json([covered]) if covered else [],
                        }
                        cursor.position = ranges[0][1] if ranges else None
                        cursor.done = cursor.position is None
                    else:
                        cursor.plan = {}
                        cursor.position = None
                    cursor.save()
            cursors = list(StreamCursor.objects.filter(connection=self.connection, run=self.run))
            total = 0
            starts: list[date] = []
            ends: list[date] = []
            for cursor in cursors:
                ranges = windows.from_json(cursor.plan.get("ranges"))
                if ranges:
                    total += windows.days_in(ranges)
                    starts.append(min(r[0] for r in ranges))
                    ends.append(max(r[1] for r in ranges))
                elif not cursor.plan:
                    total += 1  # a snapshot counts as one unit
            run = self.run
            run.units_total = total
            run.window_start = min(starts) if starts else None
            run.window_end = max(ends) if ends else None
            run.save(update_fields=["units_total", "window_start", "window_end"])

    # ------------------------------------------------------------------ snapshots
    def _snapshot(self, account: ConnectionAccount, stream: StreamSpec) -> None:
        cursor = StreamCursor.objects.get(
            connection=self.connection, account_id=account.external_id, stream=stream.name
        )
        if cursor.run_id != self.run.pk or cursor.done:
            return
        empty_streak = 0
        while True:
            self._between_pages()
            page = self._fetch(cursor, stream, account.external_id, None, None)
            empty_streak = empty_streak + 1 if not page.rows and page.next_token else 0
            if empty_streak > MAX_EMPTY_PAGES:
                raise _empty_pages_error(self.client.label, stream, account.external_id)
            self._commit_page(cursor, stream, page, account=account)
            if cursor.done:
                return

    # ------------------------------------------------------------------ daily chunks
    def _daily(self) -> None:
        daily = [s for s in self.client.streams if s.daily]
        accounts = {a.external_id: a for a in self.accounts}
        while True:
            self._between_pages()
            pending = list(
                StreamCursor.objects.filter(
                    connection=self.connection,
                    run=self.run,
                    stream__in=[s.name for s in daily],
                    account_id__in=list(accounts),
                    done=False,
                    position__isnull=False,
                )
            )
            if not pending:
                return
            # Newest first across every account; ties in a fixed order.
            cursor = max(pending, key=lambda c: (c.position, c.account_id, c.stream))
            stream = next(s for s in daily if s.name == cursor.stream)
            self._chunk(cursor, stream, accounts[cursor.account_id])

    def _chunk(self, cursor: StreamCursor, stream: StreamSpec, account: ConnectionAccount) -> None:
        ranges = windows.from_json(cursor.plan.get("ranges"))
        assert cursor.position is not None
        if cursor.chunk_from is None or cursor.chunk_to is None:
            size = cursor.chunk_days or conf.chunk_days(self.platform)
            cursor.chunk_from, cursor.chunk_to = windows.next_chunk(ranges, cursor.position, size)
            cursor.page_token = ""
            cursor.report_run_id = ""
            cursor.pages_in_chunk = 0
        restarts = 0
        while True:
            try:
                self._read_chunk(cursor, stream, account)
                return
            except TooMuchData:
                if cursor.chunk_from >= cursor.chunk_to:
                    raise
                self._split(cursor)
                return
            except CursorExpired:
                restarts += 1
                if restarts > MAX_CURSOR_RESTARTS:
                    raise
                logger.info("sync run %s: %s cursor expired; restarting the chunk", self.run.pk, cursor)
                with transaction.atomic():
                    cursor.page_token = ""
                    cursor.report_run_id = ""
                    cursor.pages_in_chunk = 0
                    cursor.save(
                        update_fields=[
                            "page_token",
                            "report_run_id",
                            "pages_in_chunk",
                            "chunk_from",
                            "chunk_to",
                            "updated_at",
                        ]
                    )

    def _read_chunk(self, cursor: StreamCursor, stream: StreamSpec, account: ConnectionAccount) -> None:
        chunk_from, chunk_to = cursor.chunk_from, cursor.chunk_to
        assert chunk_from is not None and chunk_to is not None
        if not cursor.report_run_id:
            job_id = self.client.start_chunk(
                stream=stream, account_id=account.external_id, date_from=chunk_from, date_to=chunk_to
            )
            if job_id:
                self._save_job(cursor, job_id)
        self.client.wait_chunk(job_id=cursor.report_run_id)
        empty_streak = 0
        while True:
            try:
                page = self._fetch(cursor, stream, account.external_id, chunk_from, chunk_to)
            except ReportJobStarted as started:
                # The synchronous report was too big; the rest of the chunk comes from the job.
                if cursor.report_run_id:
                    raise
                logger.info("sync run %s: %s continues as report job %s", self.run.pk, cursor, started.job_id)
                self._save_job(cursor, started.job_id)
                self.client.wait_chunk(job_id=cursor.report_run_id)
                continue
            empty_streak = empty_streak + 1 if not page.rows and page.next_token else 0
            if empty_streak > MAX_EMPTY_PAGES:
                raise _empty_pages_error(self.client.label, stream, account.external_id)
            self._commit_page(cursor, stream, page, account=account)
            if cursor.chunk_from is None:  # the chunk is complete
                return
            self._between_pages()

    def _save_job(self, cursor: StreamCursor, job_id: str) -> None:
        """Saved before polling: a resumed run waits for (and pages) the same frozen report."""
        with transaction.atomic():
            cursor.report_run_id = job_id
            cursor.page_token = ""
            cursor.pages_in_chunk = 0
            cursor.save(
                update_fields=["report_run_id", "page_token", "pages_in_chunk", "chunk_from", "chunk_to", "updated_at"]
            )

    def _split(self, cursor: StreamCursor) -> None:
        """The platform gave up on this range: read its newer half first, the rest in later chunks."""
        assert cursor.chunk_from is not None and cursor.chunk_to is not None
        days = (cursor.chunk_to - cursor.chunk_from).days + 1
        half = max(1, days // 2)
        with transaction.atomic():
            cursor.chunk_days = half
            cursor.chunk_from = cursor.chunk_to - timedelta(days=half - 1)
            cursor.page_token = ""
            cursor.report_run_id = ""
            cursor.pages_in_chunk = 0
            cursor.save(
                update_fields=[
                    "chunk_days",
                    "chunk_from",
                    "page_token",
                    "report_run_id",
                    "pages_in_chunk",
                    "updated_at",
                ]
            )
            SyncRun.objects.filter(pk=self.run.pk).update(splits=F("splits") + 1)
        logger.info("sync run %s: split %s to %d days", self.run.pk, cursor, half)

    def _fetch(
        self, cursor: StreamCursor, stream: StreamSpec, account_id: str, date_from: date | None, date_to: date | None
    ) -> Page:
        return self.client.fetch_page(
            stream=stream,
            account_id=account_id,
            date_from=date_from,
            date_to=date_to,
            page_token=cursor.page_token,
            job_id=cursor.report_run_id,
        )

    # ------------------------------------------------------------------ the page transaction
    def _commit_page(self, cursor: StreamCursor, stream: StreamSpec, page: Page, *, account: ConnectionAccount) -> None:
        """Land one page and move its cursor, atomically: the heart of crash safety."""
        now = timezone.now()
        with transaction.atomic():
            if page.rows:
                result = raw_records_land(
                    stream=stream.name,
                    connection_id=self.connection.pk,
                    sync_run_id=self.run.pk,
                    rows=page.rows,
                    fetched_at=now,
                )
            else:
                result = LandingResult(0, 0, 0)
            cursor.pages_in_chunk += 1
            cursor.rows_landed += result.received
            if result.received:
                platform, received = self.connection.platform, result.received
                transaction.on_commit(lambda: ROWS_LANDED.labels(platform).inc(received))
            units = 0
            landed: tuple[date, date] | None = None
            if page.next_token:
                cursor.page_token = page.next_token
            elif stream.daily:
                assert cursor.chunk_from is not None and cursor.chunk_to is not None
                ranges = windows.from_json(cursor.plan.get("ranges"))
                base = windows.from_json(cursor.plan.get("base"))
                units = (cursor.chunk_to - cursor.chunk_from).days + 1
                landed = (cursor.chunk_from, cursor.chunk_to)
                cursor.position = windows.position_after(ranges, cursor.chunk_from)
                coverage = windows.merge_coverage(
                    base[0] if base else None, windows.done_spans(ranges, cursor.position)
                )
                if coverage is not None:
                    cursor.covered_from, cursor.covered_to = coverage
                cursor.done = cursor.position is None
                cursor.chunk_from = cursor.chunk_to = None
                cursor.page_token = ""
                cursor.report_run_id = ""
                cursor.pages_in_chunk = 0
                cursor.last_success_at = now
            else:
                units = 1
                cursor.done = True
                cursor.page_token = ""
                cursor.last_success_at = now
                self._refresh_account_details(stream, page, account)
            cursor.save()
            self._count(result, units=units, landed=landed, now=now)

    def _count(self, result: LandingResult, *, units: int, landed: tuple[date, date] | None, now: datetime) -> None:
        calls = self.stats.reset_counters()
        run = self.run
        run.pages += 1
        run.rows += result.received
        run.rows_inserted += result.inserted
        run.rows_updated += result.updated
        run.api_calls += calls["api_calls"]
        run.retries += calls["retries"]
        run.token_refreshes += calls["token_refreshes"]
        run.units_done = min(run.units_total, run.units_done + units)
        if landed is not None:
            run.landed_from = min(run.landed_from, landed[0]) if run.landed_from else landed[0]
            run.landed_to = max(run.landed_to, landed[1]) if run.landed_to else landed[1]
        run.heartbeat_at = now
        run.duration_seconds = self.duration_before + (time.monotonic() - self.started)
        run.save(
            update_fields=[
                "pages", "rows", "rows_inserted", "rows_updated", "api_calls", "retries", "token_refreshes",
                "units_done", "landed_from", "landed_to", "heartbeat_at", "duration_seconds",
            ]
        )  # fmt: skip

    def _refresh_account_details(self, stream: StreamSpec, page: Page, account: ConnectionAccount) -> None:
        """Keep the account's name, currency and time zone as the platform reports them now."""
        if (
            stream.name
            not in ("google_ads.customer", "meta.ad_account", "tiktok.advertiser", "ga4.property", "shopify.shop")
            or not page.rows
        ):
            return
        payload = page.rows[0].payload
        data = payload.get("customer", payload)
        name = data.get("descriptiveName") or data.get("displayName") or data.get("name")
        currency = data.get("currencyCode") or data.get("currency")
        zone = data.get("timeZone") or data.get("timezone_name") or data.get("timezone") or data.get("ianaTimezone")
        changed = {}
        for field, value in (("name", name), ("currency", currency), ("time_zone", zone)):
            if isinstance(value, str) and value and getattr(account, field) != value:
                changed[field] = value
        if changed:
            ConnectionAccount.objects.filter(pk=account.pk).update(**changed)
            for field, value in changed.items():
                setattr(account, field, value)

    # ------------------------------------------------------------------ between pages
    def _between_pages(self) -> None:
        """Stop cleanly when the connection was paused or disconnected, or the task budget is spent."""
        status = Connection.objects.filter(pk=self.connection.pk).values_list("status", flat=True).first()
        if status is None or status not in (Connection.Status.ACTIVE, Connection.Status.ERROR):
            label = dict(Connection.Status.choices).get(status or "", "removed").lower()
            raise SyncCancelled(
                "connection not live",
                user_message=f"Stopped: the connection was {label}. Everything synced so far is kept.",
            )
        run_status = SyncRun.objects.filter(pk=self.run.pk).values_list("status", flat=True).first()
        if run_status != SyncRun.Status.RUNNING:
            raise SyncCancelled("run cancelled", user_message="Stopped. Everything synced so far is kept.")
        # The workspace may turn read-only mid-run (trial over, payment not settled, suspended):
        # stop after this page, saying why; every landed page stays and goes to the warehouse.
        # One cached Redis GET per page (billing.entitlements).
        plan = for_workspace(tenant_db.schema_name)
        if plan.read_only:
            raise SyncCancelled(
                "workspace read-only",
                user_message=f"Stopped: {plan.read_only_reason} Everything synced so far is kept.",
            )
        if time.monotonic() > self.budget_ends:
            raise BudgetSpent()

    # ------------------------------------------------------------------ endings
    def _finish(
        self,
        status: str,
        *,
        error: ConnectorError | None = None,
        connection_status: str | None = None,
        note: str = "",
    ) -> None:
        now = timezone.now()
        calls = self.stats.reset_counters()
        with transaction.atomic():
            run = SyncRun.objects.select_for_update().get(pk=self.run.pk)
            connection = Connection.objects.select_for_update().get(pk=self.connection.pk)
            run.api_calls += calls["api_calls"]
            run.retries += calls["retries"]
            run.token_refreshes += calls["token_refreshes"]
            run.duration_seconds = self.duration_before + (time.monotonic() - self.started)
            if error is not None:
                run.error_code = error.code
                run.error_message = error.user_message
                logger.warning("sync run %s failed: %s: %s", run.pk, error.code, error.message)
            close_run(run, status, note=note, now=now)
            self.run = run
            if run.rows_inserted or run.rows_updated:
                hand_off(run, connection, [a.external_id for a in self.accounts], now)
            else:
                hand_off_unchanged(run, connection, [a.external_id for a in self.accounts])
            if status == SyncRun.Status.CANCELLED:
                return
            connection.last_sync_at = now
            if self.stats.usage_pct is not None:
                connection.quota_used_pct = self.stats.usage_pct
            if connection.status in (Connection.Status.ACTIVE, Connection.Status.ERROR):
                jitter = random.uniform(0, 0.1) * connection.sync_interval_hours * 3600
                connection.next_sync_at = now + timedelta(hours=connection.sync_interval_hours, seconds=jitter)
            if status == SyncRun.Status.SUCCEEDED:
                _observe_lag(connection, now)
                connection.last_success_at = now
                if connection.status == Connection.Status.ERROR:
                    connection.status = Connection.Status.ACTIVE
                if connection.status == Connection.Status.ACTIVE:
                    connection.status_message = ""
            elif connection_status is not None and connection.status in (
                Connection.Status.ACTIVE,
                Connection.Status.ERROR,
            ):
                connection.status = connection_status
                connection.status_message = error.user_message if error else ""
                if connection_status == Connection.Status.NEEDS_REAUTH:
                    connection.next_sync_at = None
            connection.save()
            if status == SyncRun.Status.SUCCEEDED:
                follow_up_backfill(connection)

    def _defer(self, exc: Deferred) -> None:
        deferrals = SyncRun.objects.filter(pk=self.run.pk).values_list("deferrals", flat=True).first() or 0
        if deferrals >= settings.CONNECTORS_MAX_DEFERRALS:
            self._finish(SyncRun.Status.FAILED, error=exc, connection_status=Connection.Status.ERROR)
            return
        SyncRun.objects.filter(pk=self.run.pk).update(deferrals=F("deferrals") + 1)
        seconds, note = exc.retry_after, exc.user_message
        if exc.backoff:
            seconds = deferral_pause(deferrals, at_least=exc.retry_after)
            note = f"{note} The sync pauses and resumes by itself in about {max(1, round(seconds / 60))} min."
        self._continue_later(seconds, note=note)

    def _continue_later(self, seconds: float, *, note: str) -> None:
        """Hand the run to a new task (after `seconds`), keeping its cursors and counters."""
        now = timezone.now()
        calls = self.stats.reset_counters()
        with transaction.atomic():
            run = SyncRun.objects.select_for_update().get(pk=self.run.pk)
            if not run.is_active:
                return
            run.api_calls += calls["api_calls"]
            run.retries += calls["retries"]
            run.token_refreshes += calls["token_refreshes"]
            run.duration_seconds = self.duration_before + (time.monotonic() - self.started)
            run.status = SyncRun.Status.QUEUED
            run.resume_after = now + timedelta(seconds=seconds) if seconds > 0 else None
            run.note = note[:300]
            run.heartbeat_at = now
            run.save()
            self.run = run
            enqueue_run(run, countdown=seconds)


# ---------------------------------------------------------------------------------------------
def _observe_lag(connection: Connection, now: datetime) -> None:
    """How stale this connection's data had become, recorded once the refresh commits."""
    if connection.last_success_at is not None:
        lag = (now - connection.last_success_at).total_seconds()
        platform = connection.platform
        transaction.on_commit(lambda: SYNC_LAG.labels(platform).observe(lag))


def deferral_pause(deferrals: int, *, at_least: float) -> float:
    """How long a run waits when the platform throttles without saying for how long: minutes,
    doubling with each deferral of the run so far, capped, with a little jitter so the many
    runs one throttle stops do not all come back at the same second."""
    base = max(at_least, float(settings.CONNECTORS_THROTTLE_PAUSE_BASE))
    ceiling = min(float(settings.CONNECTORS_THROTTLE_PAUSE_MAX), base * (2**deferrals))
    return max(base, ceiling * random.uniform(0.9, 1.0))


def _empty_pages_error(label: str, stream: StreamSpec, account_id: str) -> BadResponse:
    return BadResponse(
        f"{stream.name} of {account_id}: more than {MAX_EMPTY_PAGES} empty pages in a row",
        user_message=(
            f"{label} kept sending empty pages for account {account_id} ({stream.name}), so Bosco stopped to avoid "
            "looping. Nothing already synced was lost; the next sync tries again."
        ),
    )
