"""Page and API reads go to a real streaming replica; a person's own change is read back from the
primary until the replica has replayed it; a replica that is down costs nothing but speed.

The test starts its own primary and hot standby (`pg_basebackup -R`, tests/ops/pg_cluster.py),
bootstraps Bosco on the primary, and serves it with the repository's gunicorn config pointed at
both. Replay on the standby is paused to make the replica visibly behind.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from tests.ops.pg_cluster import Cluster, primary_with_replica
from tests.ops.processes import drop_queues, manage
from tests.ops.test_gunicorn import gunicorn

ROOT = Path(settings.BASE_DIR)
SLUG = "replicatest"
HOST = f"{SLUG}.localhost"
PASSED = ("DATABASE_URL", "DATABASE_REPLICA_URL", "BOSCO_CELERY_QUEUE", "CACHE_KEY_PREFIX")
#: httpx waits 5 s by default; the one gunicorn worker's first API answer (cold imports, first
#: connections to both servers) took longer than that on a 2-core machine at load 14
HTTP_TIMEOUT = 60.0

SETUP = f"""
import json
from accounts.models import Membership, User
from accounts.services import api_key_create, workspace_create
owner = User.objects.create_user(email="owner@replica.test", password="correct-horse-battery-9")
workspace = workspace_create(owner=owner, name="Replica test", slug="{SLUG}")
actor = Membership.objects.get(workspace=workspace, user=owner)
keys = [api_key_create(workspace=workspace, actor=actor, name=n, scope="read_write")[1] for n in ("a", "b", "c")]
print("KEYS" + json.dumps(keys))
"""


@pytest.fixture(scope="module")
def replicated() -> Iterator[tuple[Cluster, dict[str, str], list[str]]]:
    with primary_with_replica() as cluster:
        cluster.primary.sql("CREATE DATABASE bosco_replica")
        queue = f"bosco-replica-test-{os.getpid()}"  # nothing consumes it: the tests' workers never see these tasks
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bosco.settings.test",
            "DATABASE_URL": cluster.primary.url("bosco_replica"),
            "DATABASE_REPLICA_URL": cluster.replica.url("bosco_replica"),
            "BOSCO_CELERY_QUEUE": queue,
            "CACHE_KEY_PREFIX": queue,
        }
        manage(env, "bootstrap")
        keys = json.loads(manage(env, "shell", "-c", SETUP).split("KEYS", 1)[1])
        try:
            yield cluster, env, keys
        finally:
            drop_queues(queue)


def _rules(server_url: str, key: str, **kwargs: object) -> list[str]:
    """The names of the rules this key sees, less the built-in data-health rules every workspace has."""
    response = httpx.get(
        f"{server_url}/api/v1/alerts/rules?page_size=100",
        headers={"Host": HOST, "Authorization": f"Bearer {key}"},
        timeout=HTTP_TIMEOUT,
        **kwargs,
    )
    assert response.status_code == 200, response.text
    return sorted(rule["name"] for rule in response.json()["results"] if rule["name"].endswith(" watch"))


def _create_rule(server_url: str, key: str, name: str) -> httpx.Response:
    response = httpx.post(
        f"{server_url}/api/v1/alerts/rules",
        headers={"Host": HOST, "Authorization": f"Bearer {key}"},
        json={"name": name, "kind": "threshold", "metric": "spend", "comparison": "above", "threshold": 100},
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 201, response.text
    return response


def test_reads_use_the_replica_and_a_person_reads_their_own_change_from_the_primary(replicated, tmp_path) -> None:
    cluster, env, (key_a, key_b, key_c) = replicated
    with gunicorn(tmp_path, GUNICORN_TIMEOUT="300", **{k: env[k] for k in PASSED}) as server:
        cluster.wait_replayed()
        assert _rules(server.url, key_b) == []  # the workspace's tables exist on the replica: schema followed

        cluster.replica.sql("SELECT pg_wal_replay_pause()")
        try:
            _create_rule(server.url, key_a, "CPA watch")
            # The writer reads its own change (the replica has not replayed it: primary) ...
            assert _rules(server.url, key_a) == ["CPA watch"]
            # ... while another key's read is answered by the paused replica, which has not got it yet.
            assert _rules(server.url, key_b) == []

            # A browser carries the position in a cookie: the same read with key B but C's cookie.
            created = _create_rule(server.url, key_c, "Spend watch")
            cookie = created.cookies.get("bosco_wal")
            assert cookie and "/" in cookie
            assert (_rules(server.url, key_b, cookies={"bosco_wal": cookie})) == ["CPA watch", "Spend watch"]
            assert _rules(server.url, key_b) == []
        finally:
            cluster.replica.sql("SELECT pg_wal_replay_resume()")

        cluster.wait_replayed()
        assert (_rules(server.url, key_b)) == ["CPA watch", "Spend watch"]

        # The replica goes away: reads fall back to the primary, nobody sees an error.
        cluster.stop(cluster.replica, "immediate")
        try:
            assert (_rules(server.url, key_b)) == ["CPA watch", "Spend watch"]
            _create_rule(server.url, key_a, "Third watch")
            assert len(_rules(server.url, key_b)) == 3
        finally:
            cluster.start(cluster.replica)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(_rules(server.url, key_b)) != 3:
            time.sleep(0.2)
        assert len(_rules(server.url, key_b)) == 3


def test_identity_rows_are_never_read_from_a_lagging_replica(replicated, tmp_path) -> None:
    """A revoked key stops working at once even while the replica still has it as active."""
    cluster, env, (_key_a, key_b, _key_c) = replicated
    with gunicorn(tmp_path, GUNICORN_TIMEOUT="300", **{k: env[k] for k in PASSED}) as server:
        cluster.wait_replayed()
        cluster.replica.sql("SELECT pg_wal_replay_pause()")
        try:
            prefix = key_b.split("_")[1]
            cluster.primary.sql(
                f"UPDATE accounts_apikey SET revoked_at = now() WHERE prefix = '{prefix}'", database="bosco_replica"
            )
            response = httpx.get(
                f"{server.url}/api/v1/alerts/rules",
                headers={"Host": HOST, "Authorization": f"Bearer {key_b}"},
                timeout=HTTP_TIMEOUT,
            )
            assert response.status_code == 401
        finally:
            cluster.replica.sql("SELECT pg_wal_replay_resume()")
