"""PgBouncer in front of PostgreSQL: why Bosco uses session pooling, and that it keeps every request in
its own workspace under concurrency (deploy/pgbouncer.ini, docs/deploy.md "Connection pooling").

Debian's pgbouncer (installed by .ci/run; `apt-get install pgbouncer` elsewhere) runs against a
throwaway PostgreSQL cluster the test starts (tests/ops/pg_cluster.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from django.conf import settings

from tests.ops.pg_cluster import Cluster, primary_with_replica, system_user
from tests.ops.processes import drop_queues, free_port, manage
from tests.ops.test_gunicorn import gunicorn

ROOT = Path(settings.BASE_DIR)
PGBOUNCER = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None)
pytestmark = pytest.mark.skipif(
    PGBOUNCER is None, reason="pgbouncer is not installed (apt-get install pgbouncer; .ci/run installs it)"
)
SLUGS = ("poolone", "pooltwo")

SETUP = """
import json
from accounts.models import Membership, User, Workspace
from accounts.services import api_key_create, workspace_create
from alerts.services import rule_save
from django_tenants.utils import schema_context
keys = {}
for slug in SLUGS:
    owner = User.objects.create_user(email=f"owner@{slug}.test", password="correct-horse-battery-9")
    workspace = workspace_create(owner=owner, name=slug, slug=slug)
    Workspace.objects.filter(pk=workspace.pk).update(plan="agency")  # 1,200 API calls a minute
    actor = Membership.objects.get(workspace=workspace, user=owner)
    keys[slug] = api_key_create(workspace=workspace, actor=actor, name="k", scope="read")[1]
    with schema_context(workspace.schema_name):
        rule_save(name=f"{slug} watch", kind="threshold", metric="spend", comparison="above", threshold=100)
print("KEYS" + json.dumps(keys))
""".replace("SLUGS", repr(SLUGS))


@contextmanager
def pgbouncer(cluster: Cluster, *, mode: str, pool_size: int) -> Iterator[int]:
    """PgBouncer on a free port in front of the cluster's primary; yields its port."""
    port = free_port()
    config = cluster.base / f"pgbouncer-{mode}.ini"
    config.write_text(
        "[databases]\n"
        f"* = host=127.0.0.1 port={cluster.primary.port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {cluster.base / 'userlist.txt'}\n"
        f"pool_mode = {mode}\ndefault_pool_size = {pool_size}\nmax_client_conn = 200\n"
        "server_reset_query = DISCARD ALL\nignore_startup_parameters = extra_float_digits\n"
        f"logfile = {cluster.base / f'pgbouncer-{mode}.log'}\n"
    )
    (cluster.base / "userlist.txt").write_text('"postgres" ""\n')
    command = [PGBOUNCER, str(config)]
    user = system_user()
    if user:
        command = ["runuser", "-u", user, "--", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cluster.base)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                psycopg.connect(f"postgres://postgres@127.0.0.1:{port}/postgres", connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"pgbouncer did not start: {process.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with primary_with_replica(replica=False) as cluster:
        yield cluster


def test_transaction_pooling_would_hand_one_clients_search_path_to_another(cluster) -> None:
    """The reason for session pooling: PgBouncer 1.18 keeps a SET on the server connection, not the client."""
    for schema in ("ws_a", "ws_b"):
        cluster.primary.sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    with pgbouncer(cluster, mode="transaction", pool_size=1) as port:
        url = f"postgres://postgres@127.0.0.1:{port}/postgres"
        with psycopg.connect(url, autocommit=True) as a, psycopg.connect(url, autocommit=True) as b:
            a.execute("SET search_path = ws_a")
            b.execute("SET search_path = ws_b")
            leaked = a.execute("SHOW search_path").fetchone()[0]
    assert leaked == "ws_b", "PgBouncer kept search_path per client: transaction pooling may be reconsidered"
    with pgbouncer(cluster, mode="session", pool_size=2) as port:
        url = f"postgres://postgres@127.0.0.1:{port}/postgres"
        with psycopg.connect(url, autocommit=True) as a, psycopg.connect(url, autocommit=True) as b:
            a.execute("SET search_path = ws_a")
            b.execute("SET search_path = ws_b")
            assert a.execute("SHOW search_path").fetchone()[0] == "ws_a"


def test_session_pooling_keeps_every_request_in_its_own_workspace(cluster, tmp_path) -> None:
    """Two workspaces, four gunicorn workers, a pool of three server connections, 200 concurrent reads."""
    cluster.primary.sql("CREATE DATABASE bosco_pool")
    queue = f"bosco-pgbouncer-test-{os.getpid()}"
    with pgbouncer(cluster, mode="session", pool_size=3) as port:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bosco.settings.test",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/bosco_pool",
            "BOSCO_CELERY_QUEUE": queue,
            "CACHE_KEY_PREFIX": queue,
        }
        manage(env, "bootstrap")
        keys = json.loads(manage(env, "shell", "-c", SETUP).split("KEYS", 1)[1])

        def read(slug: str) -> tuple[str, list[str]]:
            response = httpx.get(
                f"{server.url}/api/v1/alerts/rules?page_size=100",
                headers={"Host": f"{slug}.localhost", "Authorization": f"Bearer {keys[slug]}"},
                timeout=60,
            )
            assert response.status_code == 200, response.text
            return slug, [r["name"] for r in response.json()["results"] if r["name"].endswith(" watch")]

        def sample_server_connections() -> None:
            while not done.is_set():
                seen.append(cluster.primary.sql(count_backends)[0][0])
                time.sleep(0.05)

        count_backends = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'bosco_pool' AND backend_type = 'client backend'"
        )
        seen: list[int] = []
        done = threading.Event()
        passed = {k: env[k] for k in ("DATABASE_URL", "BOSCO_CELERY_QUEUE", "CACHE_KEY_PREFIX")}
        try:
            with gunicorn(tmp_path, GUNICORN_WORKERS="4", GUNICORN_TIMEOUT="300", **passed) as server:
                sampler = threading.Thread(target=sample_server_connections)
                sampler.start()
                try:
                    with ThreadPoolExecutor(max_workers=12) as pool:
                        answers = list(pool.map(read, [SLUGS[i % 2] for i in range(200)]))
                finally:
                    done.set()
                    sampler.join()
        finally:
            drop_queues(queue)
    assert len(answers) == 200
    assert all(names == [f"{slug} watch"] for slug, names in answers), [
        a for a in answers if a[1] != [f"{a[0]} watch"]
    ][:5]
    # Twelve concurrent clients, never more than the pool's three server connections.
    assert seen and max(seen) <= 3, seen
