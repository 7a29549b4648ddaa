"""The demo workspace: a login, a workspace, connected to the platform emulators and filled.

`make run` calls `manage.py ensure_demo` (workspace and data), `manage.py demo_sync` runs only the
data part; both are thin commands over this module. The demo is not loaded from a fixture: it goes the
way a customer's data goes.

- First run: grants are minted through the emulator's control API (`POST /_emulator/tokens`,
  the consent page without a browser), Google Ads and Meta connections are created with every ad
  account the emulator has (EUR, USD, GBP and JPY accounts), a GA4 connection with both emulated
  properties (their sessions follow the ad campaigns' clicks), a Shopify store
  (`POST /_emulator/shopify/token`; its orders follow the ads' claimed value, so the overview
  leads with store revenue and MER; `DEMO_SHOP_BACKFILL_DAYS` of orders), and the real sync engine backfills
  `DEMO_BACKFILL_DAYS` (>1 year) in this process while progress is printed. The warehouse's
  hand-off runs here too (Celery eager mode for this process only), so the facts and rollups
  exist when it returns; then the insight models score the workspace once.
- Every run: the emulator keeps tokens in memory, so each connection gets a freshly minted grant
  (and "Sync now" works after a restart); the emulator's anchor date is pinned to the day the
  demo was first synced, so its history stays the history Bosco already holds; a connection whose
  last sync is older than its interval gets a sync queued for the Celery worker.

Idempotent: a second run finds the connections and the finished backfill and takes seconds. An
interrupted first backfill resumes from its cursors on the next run.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, timedelta
from typing import Any

import httpx
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection as db
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts import services as accounts_services
from accounts.models import Membership, User, Workspace
from accounts.roles import Role
from bosco.celery import app
from connectors import services as connector_services
from connectors.errors import ConnectorError
from connectors.models import Connection, SyncRun
from connectors.oauth import TokenSet
from connectors.sync import run_execute
from insights.services import score_workspace_nightly
from warehouse.services import fx

DEMO_EMAIL = "demo@bosco.local"
DEMO_PASSWORD = "bosco-demo-2026"  # noqa: S105  (the demo login is printed on purpose)

#: history the demo backfills: more than a year, so "previous year" comparisons have data
DEMO_BACKFILL_DAYS = 400
#: larger chunks than production's 30 days: fewer report jobs for the one-off backfill
DEMO_CHUNK_DAYS = 120
PLATFORMS: tuple[str, ...] = ("google_ads", "meta")
#: GA4 sessions beside the ad spend: both emulated properties, from the same Google OAuth emulator
PLATFORMS = (*PLATFORMS, "ga4")
#: the demo's store (the Shopify emulator serves any *.myshopify.com; its orders follow the ads)
DEMO_SHOP = "bosco-demo.myshopify.com"
#: store history: enough for the overview's MER and its previous period, in a few bulk files
DEMO_SHOP_BACKFILL_DAYS = 90
PROGRESS_EVERY = 5.0


def ensure_demo_workspace() -> tuple[Workspace, User]:
    """The demo login (verified) and the `demo` workspace it owns, created through accounts' services."""
    user = User.objects.filter(email=DEMO_EMAIL).first()
    if user is None:
        user = User.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, full_name="Demo Marketer")
    EmailAddress.objects.update_or_create(user=user, email=DEMO_EMAIL, defaults={"verified": True, "primary": True})
    workspace = Workspace.objects.filter(slug="demo").first()
    if workspace is None:
        workspace = accounts_services.workspace_create(
            owner=user, name="Demo Store", slug="demo", reporting_currency="EUR", time_zone="Europe/Berlin"
        )
    Membership.objects.get_or_create(user=user, workspace=workspace, defaults={"role": Role.OWNER})
    return workspace, user


class DemoError(Exception):
    """The emulator cannot be reached or answered something unexpected."""


class Emulator:
    """The emulators' control API (`{BOSCO_EMULATOR_URL}/_emulator/...`)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=30.0)

    def wait(self, *, seconds: float = 30.0) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.http.get("/_emulator/").raise_for_status()
                return
            except httpx.HTTPError as exc:
                if time.monotonic() > deadline:
                    raise DemoError(f"the platform emulators at {self.base_url} did not answer ({exc})") from exc
                time.sleep(0.5)

    def config(self) -> dict[str, Any]:
        return dict(self.http.get("/_emulator/config").raise_for_status().json())

    def pin_anchor(self, anchor: date) -> None:
        """Keep campaign lifecycles where they were when the demo was first synced."""
        current = self.config()
        if current.get("anchor_date") != anchor.isoformat():
            self.http.post("/_emulator/config", json={"anchor_date": anchor.isoformat()}).raise_for_status()

    def mint(self, platform: str) -> dict[str, Any]:
        response = self.http.post("/_emulator/tokens", json={"platform": platform})
        response.raise_for_status()
        return dict(response.json())

    def mint_shop(self, shop: str) -> dict[str, Any]:
        """A Shopify offline token for `shop` (the app install without the browser)."""
        response = self.http.post("/_emulator/shopify/token", json={"shop": shop})
        response.raise_for_status()
        return dict(response.json())


def ensure_demo_data(*, workspace: Workspace, user: User, out: Any = print) -> dict[str, Any]:
    """Connect, backfill, transform and score the demo workspace (see the module docstring)."""
    emulator = Emulator(settings.BOSCO_EMULATOR_URL)
    emulator.wait()
    started = time.monotonic()
    with schema_context(workspace.schema_name):
        connections = _connections(emulator, user)
        anchor = min(c.created_at.astimezone(UTC).date() for c in connections)
        emulator.pin_anchor(anchor)
        _load_rates()
        pending = [c for c in connections if not _backfilled(c)]
        if pending:
            out(f"demo: backfilling {DEMO_BACKFILL_DAYS} days from the emulators (first run only; a few minutes)…")
            _backfill(pending, workspace.schema_name, out)
            out("demo: scoring anomalies and forecasts once…")
            report = score_workspace_nightly()
            out(f"demo: {report.series} series scored, {report.findings} findings, {report.forecasts} forecasts")
        else:
            _queue_due_syncs(connections, user, out)
        rows = _fact_rows()
    seconds = time.monotonic() - started
    out(f"demo: {len(connections)} connections, {rows:,} fact rows, ready in {seconds:.0f}s")
    return {"connections": len(connections), "fact_rows": rows, "backfilled": bool(pending), "seconds": seconds}


# --------------------------------------------------------------------------- connections


def _connections(emulator: Emulator, user: User) -> list[Connection]:
    """One live connection per platform with every account selected, each with a fresh grant."""
    out = []
    for platform in PLATFORMS:
        minted = emulator.mint(platform)
        tokens = TokenSet(
            access_token=minted["access_token"],
            refresh_token=minted.get("refresh_token") or "",
            expires_at=timezone.now() + timedelta(seconds=int(minted["expires_in"])),
            scopes=minted.get("scope", ""),
        )
        out.append(
            connector_services.connection_connect_granted(
                platform=platform, tokens=tokens, user_id=user.pk, label="Demo", backfill_days=DEMO_BACKFILL_DAYS
            )
        )
    shop = emulator.mint_shop(DEMO_SHOP)
    out.append(
        connector_services.connection_connect_granted(
            platform="shopify",
            tokens=TokenSet(access_token=shop["access_token"], refresh_token="", expires_at=None, scopes=shop["scope"]),
            user_id=user.pk,
            label=DEMO_SHOP,
            backfill_days=DEMO_SHOP_BACKFILL_DAYS,
        )
    )
    return out


def _backfilled(connection: Connection) -> bool:
    return connection.runs.filter(status=SyncRun.Status.SUCCEEDED).exists()


def _load_rates() -> None:
    """ECB-format rates for the demo's currencies (the repository's synthetic sample)."""
    since = timezone.now().date() - timedelta(days=DEMO_BACKFILL_DAYS + 30)
    fx.fx_rates_load(rates=fx.fx_rates_read(source=str(fx.SAMPLE_FILE)), since=since, source=fx.SYNTHETIC_SOURCE)


def _fact_rows() -> int:
    with db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM fct_ad_performance_daily")
        return int(cursor.fetchone()[0])


# --------------------------------------------------------------------------- the backfill


def _backfill(connections: list[Connection], schema: str, out: Any) -> None:
    """Run each connection's backfill with the real engine, in threads of this process.

    The runs are created the product's way (`sync_request`, which also queues a task; the
    worker that `make run` starts later finds them finished and does nothing). Celery runs the
    warehouse hand-off eagerly here, so each run's transformation commits before this returns.
    """
    runs = []
    for connection in connections:
        active = connection.runs.filter(status__in=SyncRun.ACTIVE_STATUSES).first()
        if active is None:
            active, _ = connector_services.sync_request(connection=connection, kind=SyncRun.Kind.BACKFILL)
        runs.append(active)
    overrides = {
        # Shopify bulk files of 30 days: a few tens of MB each from the emulator
        "CONNECTORS_CHUNK_DAYS": {**dict.fromkeys(PLATFORMS, DEMO_CHUNK_DAYS), "shopify": 30},
        "CONNECTORS_META_POLL_INTERVAL": 0.2,
        "SHOPIFY_BULK_POLL_INTERVAL": 0.2,
        "CONNECTORS_TASK_BUDGET_SECONDS": 24 * 3600,
    }
    saved = {name: getattr(settings, name) for name in overrides}
    eager = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    errors: list[BaseException] = []

    def work(run_id: int) -> None:
        try:
            with schema_context(schema):
                run_execute(run_id=run_id)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            db.close()

    try:
        for name, value in overrides.items():
            setattr(settings, name, value)
        app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
        threads = [threading.Thread(target=work, args=(run.pk,), daemon=True) for run in runs]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            for thread in threads:
                thread.join(PROGRESS_EVERY / len(threads))
            _print_progress(runs, out)
    finally:
        for name, value in saved.items():
            setattr(settings, name, value)
        app.conf.task_always_eager, app.conf.task_eager_propagates = eager
    if errors:
        raise CommandError(f"the demo backfill failed: {errors[0]}") from errors[0]
    failed = [r for r in SyncRun.objects.filter(pk__in=[r.pk for r in runs]) if r.status != SyncRun.Status.SUCCEEDED]
    if failed:
        raise CommandError(
            "the demo backfill did not finish: "
            + "; ".join(f"{r.connection.get_platform_display()}: {r.status} {r.error_message or ''}" for r in failed)
        )


def _print_progress(runs: list[SyncRun], out: Any) -> None:
    parts = []
    for run in SyncRun.objects.select_related("connection").filter(pk__in=[r.pk for r in runs]).order_by("pk"):
        parts.append(f"{run.connection.get_platform_display()} {run.progress_percent or 0:.0f}% ({run.rows:,} rows)")
    out("demo:   " + " · ".join(parts))


def _queue_due_syncs(connections: list[Connection], user: User, out: Any) -> None:
    """Later runs: a connection that is due gets a sync for the worker (it starts next)."""
    for connection in connections:
        last = connection.last_sync_at
        if last is not None and timezone.now() - last < timedelta(hours=connection.sync_interval_hours):
            continue
        try:
            connector_services.sync_request(connection=connection, kind=SyncRun.Kind.SCHEDULED, requested_by_id=user.pk)
        except ConnectorError as exc:
            out(f"demo: {connection.get_platform_display()} not synced: {exc.user_message}")
        else:
            out(f"demo: {connection.get_platform_display()} sync queued (last one {last or 'never'})")
