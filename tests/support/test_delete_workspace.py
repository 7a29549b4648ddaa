"""Deleting a workspace through the console: a real Celery worker exports its data, then drops it.
Afterwards there is no schema, no row in any public table naming it (but the audit entry that
records the deletion, and the export until its retention ends), no cache key, no session, no
scheduled or queued task — checked by scanning everything, not by listing what we deleted."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Workspace
from billing import entitlements
from bosco.redis_urls import cache_url_for
from support.models import AuditEntry, WorkspaceExport
from support.services import exports_expire
from tests.conftest import login_client
from tests.support.conftest import action_url, add_connection, add_run

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

SLUG = "zqdoomed"
REASON = "Owner asked to close the account (ticket #9001)"


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _public_tables_naming(*needles: str) -> dict[str, int]:
    """Every public table whose rows mention one of `needles` anywhere (the whole row as text)."""
    found: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        for (table,) in cursor.fetchall():
            for needle in needles:
                cursor.execute(f'SELECT count(*) FROM public."{table}" t WHERE t::text ILIKE %s', [f"%{needle}%"])
                if count := cursor.fetchone()[0]:
                    found[table] = found.get(table, 0) + count
    return found


def _schema_exists(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [schema])
        return cursor.fetchone() is not None


def _redis_values_naming(url: str, needle: str) -> list[str]:
    """Keys, and values of lists, hashes, sets and strings, that mention `needle` in a Redis database."""
    client = redis_lib.Redis.from_url(url)
    hits = []
    try:
        for key in client.scan_iter(count=1000):
            name = key.decode(errors="replace")
            kind = client.type(key).decode()
            if kind == "list":
                values = client.lrange(key, 0, -1)
            elif kind == "hash":
                values = list(client.hgetall(key).values())
            elif kind in ("set", "zset"):
                values = list(client.smembers(key)) if kind == "set" else client.zrange(key, 0, -1)
            elif kind == "string":
                values = [client.get(key) or b""]
            else:
                values = []
            if needle in name or any(needle.encode() in (v or b"") for v in values):
                hits.append(name)
    finally:
        client.close()
    return hits


def test_deleting_a_workspace_exports_it_then_leaves_nothing_behind(
    celery_worker: Any, make_workspace: Any, make_user: Any, admin_client: Client, tmp_path: Path, settings: Any
) -> None:
    from devtools.synthetic import SyntheticSpec, synthetic_facts_generate

    settings.SUPPORT_EXPORT_DIR = str(tmp_path)
    owner = make_user("olga@example.com")
    doomed = make_workspace(SLUG, owner=owner, name="Zqdoomed Ltd")
    keeper = make_workspace("keeper")
    schema = doomed.schema_name
    conn = add_connection(doomed)
    add_run(doomed, conn, status="succeeded")
    with schema_context(schema):
        facts = synthetic_facts_generate(
            spec=SyntheticSpec(platforms=("meta",), accounts_per_platform=1, campaigns_per_account=2),
            date_from=timezone.localdate() - timedelta(days=20),
            date_to=timezone.localdate() - timedelta(days=1),
        )
        cache.set("support-test", "cached in the workspace", 600)
    assert facts > 0
    entitlements.for_workspace(schema)  # cached too
    member = login_client(Client(), owner, doomed)
    assert member.get("/").status_code == 200
    member_session = member.session.session_key
    assert _redis_values_naming(cache_url_for(settings.REDIS_URL), schema), "the workspace has cache keys"

    # The confirmation must name the workspace; then the worker exports and deletes.
    response = admin_client.post(action_url(doomed, "delete"), {"confirm": SLUG, "reason": REASON})
    assert response.status_code == 302, response.content[:2000]
    _wait(lambda: not Workspace.objects.filter(pk=doomed.pk).exists(), 90, "the workspace to be deleted")
    # its cache keys go once the deletion is committed (the purge task's last step)
    _wait(lambda: not _redis_values_naming(cache_url_for(settings.REDIS_URL), schema), 20, "the purge to finish")

    # The export exists, with the facts.
    export = WorkspaceExport.objects.get(workspace_slug=SLUG)
    assert export.status == "done" and export.then_delete and export.workspace_id is None
    assert export.expires_at > timezone.now() + timedelta(days=settings.SUPPORT_EXPORT_RETENTION_DAYS - 1)
    with zipfile.ZipFile(export.path) as bundle:
        rows = list(csv.DictReader(io.TextIOWrapper(bundle.open("ad_performance_daily.csv"), "utf-8")))
        assert len(rows) == facts == export.rows["ad_performance_daily"]
        assert "Meta main" in bundle.read("connections.csv").decode()

    # Nothing is left: no schema, no cache key, no session, no queued or scheduled task ...
    assert not _schema_exists(schema)
    assert not _redis_values_naming(settings.REDIS_URL, schema), "no task queued for it"
    assert not Session.objects.filter(session_key=member_session).exists()
    # ... and no public row names it, except the audit (which records the deletion) and the
    # export (until its retention ends).
    assert set(_public_tables_naming(SLUG, schema, "Zqdoomed")) == {"support_auditentry", "support_workspaceexport"}
    actions = list(AuditEntry.objects.filter(workspace_slug=SLUG).order_by("pk").values_list("action", "reason"))
    assert actions == [("delete", REASON), ("deleted", "Deleted after its export was made.")]

    # At the end of the retention the export goes too: the file and its row.
    assert exports_expire(now=timezone.now() + timedelta(days=settings.SUPPORT_EXPORT_RETENTION_DAYS + 1)) == 1
    assert not Path(export.path).exists()
    assert set(_public_tables_naming(SLUG, schema, "Zqdoomed")) == {"support_auditentry"}

    # The other workspace is untouched.
    assert _schema_exists(keeper.schema_name) and Workspace.objects.filter(pk=keeper.pk).exists()
