"""The backup and restore procedure of docs/deploy.md, run for real: `pg_dump -Fc` of a database with
workspaces, `pg_restore` into a fresh database, `manage.py bootstrap` on it, and the restored
workspace answers with its data and takes new writes (its sequences came back too)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from tests.ops.pg_cluster import Cluster, primary_with_replica
from tests.ops.processes import drop_queues, manage
from tests.ops.test_gunicorn import gunicorn

ROOT = Path(settings.BASE_DIR)
SLUG = "restored"

SETUP = """
import json
from accounts.models import Membership, User
from accounts.services import api_key_create, workspace_create
from alerts.services import rule_save
from django_tenants.utils import schema_context
owner = User.objects.create_user(email="owner@restored.test", password="correct-horse-battery-9")
workspace = workspace_create(owner=owner, name="Restored", slug="SLUG")
actor = Membership.objects.get(workspace=workspace, user=owner)
key = api_key_create(workspace=workspace, actor=actor, name="k", scope="read_write")[1]
with schema_context(workspace.schema_name):
    for name in ("CPA watch", "ROAS watch"):
        rule_save(name=name, kind="threshold", metric="spend", comparison="above", threshold=100)
print("KEY" + json.dumps(key))
""".replace("SLUG", SLUG)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with primary_with_replica(replica=False) as cluster:
        yield cluster


def test_a_dump_restored_into_a_fresh_database_serves_the_same_workspaces(cluster, tmp_path) -> None:
    queue = f"bosco-restore-test-{os.getpid()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bosco.settings.test",
        "BOSCO_CELERY_QUEUE": queue,
        "CACHE_KEY_PREFIX": queue,
    }
    cluster.primary.sql("CREATE DATABASE bosco_live")
    live = {**env, "DATABASE_URL": cluster.primary.url("bosco_live")}
    manage(live, "bootstrap")
    key = json.loads(manage(live, "shell", "-c", SETUP).split("KEY", 1)[1])

    # The documented backup: a custom-format dump of the whole database (every schema).
    dump = tmp_path / "bosco.dump"
    subprocess.run(
        [str(cluster.bin / "pg_dump"), "-Fc", "-f", str(dump), cluster.primary.url("bosco_live")],
        check=True,
        timeout=300,
    )
    # ... and the documented restore into an empty database, then the deploy step.
    cluster.primary.sql("CREATE DATABASE bosco_restored")
    restored_url = cluster.primary.url("bosco_restored")
    subprocess.run(
        [str(cluster.bin / "pg_restore"), "--no-owner", "--exit-on-error", "-d", restored_url, str(dump)],
        check=True,
        timeout=300,
    )
    cluster.primary.sql("DROP DATABASE bosco_live")  # the original is gone: everything below is the copy
    restored = {**env, "DATABASE_URL": restored_url}
    assert "database ready" in manage(restored, "bootstrap")

    headers = {"Host": f"{SLUG}.localhost", "Authorization": f"Bearer {key}"}
    try:
        with gunicorn(
            tmp_path,
            GUNICORN_TIMEOUT="300",
            DATABASE_URL=restored_url,
            BOSCO_CELERY_QUEUE=queue,
            CACHE_KEY_PREFIX=queue,
        ) as server:
            rules = httpx.get(f"{server.url}/api/v1/alerts/rules?page_size=100", headers=headers, timeout=120)
            assert rules.status_code == 200, rules.text
            names = {rule["name"] for rule in rules.json()["results"]}
            assert {"CPA watch", "ROAS watch"} <= names
            created = httpx.post(
                f"{server.url}/api/v1/alerts/rules",
                headers=headers,
                json={"name": "After restore", "kind": "threshold", "metric": "spend", "threshold": 50},
                timeout=120,
            )
            assert created.status_code == 201, created.text  # identity sequences continue past the restored ids
            assert created.json()["id"] > max(rule["id"] for rule in rules.json()["results"])
    finally:
        drop_queues(queue)
