"""Support console benchmark: the workspace health list with many workspaces.

Creates N workspaces through the real service (schemas cloned from the template; the default 200,
--quick 20), gives a third of them a failing connection, refreshes every workspace's health
summary the way the workers do (`support.services.health_refresh` inside each schema, timed), then
times the admin's health list — all workspaces (100 per page, the admin's page size) and the
"anything wrong" filter — through the admin with a staff session that passed the second factor
(Django's test client, in-process, middleware included), counting its SQL queries.

The list reads one public table (joined to the workspace and billing rows), so its time should
not grow with the number of schemas; reading every schema live during the request would cost at
least the summed refresh time, which is printed beside it.

It runs in a database of its own (`<DATABASE_URL's name>_bench_support`), dropped at the end
unless --keep. The last line is one JSON object.

    python bench/support.py --quick   # under a minute
    python bench/support.py
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Any

from _common import drop_database, emit, machine, setup_django, summarize_ms


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def staff_client() -> Any:
    """A public-host session of a staff member who passed the TOTP second factor (a recovery code)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from accounts.signals import SESSION_SCHEMA_KEY

    staff = User.objects.filter(email="bench-support@bosco.local").first() or User.objects.create_user(
        "bench-support@bosco.local", "bench-password-1", is_staff=True, is_superuser=True
    )
    if not Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(staff, generate_totp_secret())
        RecoveryCodes.activate(staff)
    code = Authenticator.objects.get(user=staff, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()[0]
    client = Client(HTTP_HOST=settings.BOSCO_DOMAIN)
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[SESSION_SCHEMA_KEY] = "public"
    session.save()
    response = client.post("/accounts/2fa/reauthenticate/?next=/admin/", {"code": code})
    if response.status_code != 302:
        raise RuntimeError(f"the second factor was refused: {response.status_code}")
    return client


def create_workspaces(n: int) -> tuple[list[Any], list[float]]:
    from accounts.models import User
    from accounts.services import workspace_create

    owner = User.objects.filter(email="bench-owner@bosco.local").first() or User.objects.create_user(
        "bench-owner@bosco.local", "bench-password-1"
    )
    samples: list[float] = []
    workspaces = []
    for i in range(n):
        started = time.perf_counter()
        workspaces.append(workspace_create(owner=owner, name=f"Bench {i:04d}", slug=f"bench-sup-{i:04d}"))
        samples.append(time.perf_counter() - started)
        if (i + 1) % 50 == 0:
            log(f"  {i + 1} workspaces")
    return workspaces, samples


def break_some(workspaces: list[Any]) -> int:
    """Every third workspace gets a failing connection (so the filter has something to find)."""
    from django_tenants.utils import schema_context

    from connectors.models import Connection

    broken = 0
    for workspace in workspaces[::3]:
        with schema_context(workspace.schema_name):
            Connection.objects.create(
                platform="meta", lookback_days=3, backfill_days=30, status="error", status_message="bench"
            )
        broken += 1
    return broken


def refresh_all(workspaces: list[Any]) -> list[float]:
    from django_tenants.utils import schema_context

    from support.services import health_refresh

    samples = []
    for workspace in workspaces:
        started = time.perf_counter()
        with schema_context(workspace.schema_name):
            health_refresh()
        samples.append(time.perf_counter() - started)
    return samples


def time_page(client: Any, path: str, repeats: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(path)  # warm (templates, admin site)
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code}")
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    return {**summarize_ms(samples), "queries": len(queries), "bytes": len(response.content)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 workspaces (under a minute on a quiet machine)")
    parser.add_argument("--workspaces", type=int, help="workspaces to create (default 200, quick 20)")
    parser.add_argument("--repeats", type=int, default=20, help="timed loads of each page")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    n = args.workspaces or (20 if args.quick else 200)

    os.environ.setdefault("LOG_LEVEL", "WARNING")
    dbname = setup_django("support")
    for noisy in ("celery", "bosco.tasks", "django_tenants"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from bosco.celery import app

    app.conf.task_always_eager = False  # nothing here waits for a worker; queued tasks are dropped with the db

    result: dict[str, Any] = {"suite": "support", "quick": args.quick, "machine": machine(), "workspaces": n}
    started = time.perf_counter()
    try:
        log(f"creating {n} workspaces …")
        workspaces, created = create_workspaces(n)
        result["create_workspace"] = summarize_ms(created)
        result["broken_workspaces"] = break_some(workspaces)
        log("refreshing every health summary …")
        refresh = refresh_all(workspaces)
        result["health_refresh"] = {**summarize_ms(refresh), "total_s": round(sum(refresh), 2)}
        client = staff_client()
        log("timing the health list …")
        result["health_list"] = time_page(client, "/admin/support/workspacehealth/", args.repeats)
        result["health_list_wrong"] = time_page(client, "/admin/support/workspacehealth/?wrong=yes", args.repeats)
        result["drill_down"] = time_page(
            client, f"/admin/support/workspacehealth/workspace/{workspaces[0].pk}/", args.repeats
        )
        median_s = result["health_list"]["median_ms"] / 1000
        result["live_read_lower_bound_s"] = result["health_refresh"]["total_s"]
        result["summary_vs_live_ratio"] = round(result["health_refresh"]["total_s"] / median_s, 1) if median_s else None
    finally:
        if not args.keep:
            drop_database(dbname)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["method"] = (
        "workspaces created through accounts.services.workspace_create; health_refresh per schema timed in-process; "
        "admin pages through Django's test client with a staff session past the TOTP second factor"
    )
    for key in ("health_list", "health_list_wrong", "drill_down"):
        figures = result.get(key, {})
        log(
            f"{key}: median {figures.get('median_ms')} ms, p95 {figures.get('p95_ms')} ms, {figures.get('queries')} queries"
        )
    emit(result)


if __name__ == "__main__":
    main()
