"""Raw SQL and search_path under persistent connections and threads [6].

django-tenants points each connection's search_path at the active workspace, and with
TENANT_LIMIT_SET_CALLS it does so once per switch rather than before every cursor. These tests
commit real data in two workspaces and check, with raw cursors and through real requests, that
two threads alternating tenants on connections that live across requests (CONN_MAX_AGE > 0)
always read their own workspace. Bosco has one database alias, so there is no secondary alias
to check. Two grep checks keep raw SQL from bypassing the mechanism.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import close_old_connections, connections, transaction
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Membership, Workspace
from bosco.db import connection

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_CODE = [
    top
    for top in ("accounts", "billing", "bosco", "connectors", "insights", "warehouse", "devtools", "scripts")
    if (ROOT / top).is_dir()
]
ROUNDS = 12


@pytest.fixture
def two_workspaces(transactional_db: None, make_workspace: Callable[..., Workspace]) -> tuple[Workspace, Workspace]:
    """Workspaces "north" and "south", each with one connection labelled with its own slug."""
    from connectors.models import Connection

    pair = make_workspace("north"), make_workspace("south")
    for workspace in pair:
        with schema_context(workspace.schema_name):
            Connection.objects.create(platform="meta", label=workspace.slug, lookback_days=7, backfill_days=30)
    return pair


@pytest.fixture
def persistent_connections() -> Iterator[None]:
    """Connections opened from now on live for 60 s across requests, as in production."""
    settings_dict = connections.settings["default"]
    previous = settings_dict["CONN_MAX_AGE"]
    settings_dict["CONN_MAX_AGE"] = 60
    yield
    settings_dict["CONN_MAX_AGE"] = previous


def _in_threads(work: Callable[[int], None], threads: int = 2) -> None:
    """Run work(index) in threads that alternate in lock-step; each closes its connection."""
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            work(index)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    assert not errors, errors[0]


def _schema_and_labels() -> tuple[str, str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_schema(), (SELECT string_agg(label, ',') FROM connectors_connection), pg_backend_pid()"
        )
        return cursor.fetchone()  # type: ignore[return-value]


def test_two_threads_alternating_tenants_on_persistent_connections_read_their_own_schema(
    two_workspaces: tuple[Workspace, Workspace], persistent_connections: None
) -> None:
    from connectors.models import Connection

    barrier = threading.Barrier(2)
    pids: dict[int, set[int]] = {0: set(), 1: set()}

    def work(index: int) -> None:
        for turn in range(ROUNDS):
            close_old_connections()  # a request starts: the connection is kept (CONN_MAX_AGE)
            workspace = two_workspaces[(index + turn) % 2]  # the threads are always on different tenants
            connection.set_tenant(workspace)
            barrier.wait()
            schema, labels, pid = _schema_and_labels()
            assert (schema, labels) == (workspace.schema_name, workspace.slug)
            assert list(Connection.objects.values_list("label", flat=True)) == [workspace.slug]
            pids[index].add(pid)
            barrier.wait()
            close_old_connections()  # the request ends

    _in_threads(work)
    # Each thread kept one database session for all its turns: the connection really persisted.
    assert len(pids[0]) == 1 and len(pids[1]) == 1 and pids[0] != pids[1]


def test_requests_alternating_workspace_hosts_on_persistent_connections_see_their_own_data(
    two_workspaces: tuple[Workspace, Workspace], persistent_connections: None
) -> None:
    """The same through the middleware: each thread's client alternates the two hosts."""
    from accounts import services
    from tests.conftest import host_of

    keys = {}
    for workspace in two_workspaces:
        owner = Membership.objects.get(workspace=workspace, role="owner")
        keys[workspace.slug] = services.api_key_create(workspace=workspace, actor=owner, name="k", scope="read")[1]
    barrier = threading.Barrier(2)

    def work(index: int) -> None:
        client = Client()
        for turn in range(ROUNDS):
            workspace = two_workspaces[(index + turn) % 2]
            barrier.wait()
            response = client.get(
                "/api/v1/connections",
                HTTP_HOST=host_of(workspace),
                HTTP_AUTHORIZATION=f"Bearer {keys[workspace.slug]}",
            )
            assert response.status_code == 200, response.content
            assert [c["label"] for c in response.json()["results"]] == [workspace.slug]

    _in_threads(work)


def test_a_pooled_connection_that_dies_comes_back_in_the_workspace_schema(
    two_workspaces: tuple[Workspace, Workspace], persistent_connections: None
) -> None:
    north, _ = two_workspaces

    def work(_: int) -> None:
        connection.set_tenant(north)
        _, _, pid = _schema_and_labels()
        with connections["default"].copy().cursor() as killer:  # another session ends this one
            killer.execute("SELECT pg_terminate_backend(%s)", [pid])
        close_old_connections()  # the next request: the health check finds it dead and drops it
        schema, labels, new_pid = _schema_and_labels()
        assert (schema, labels) == (north.schema_name, north.slug) and new_pid != pid

    _in_threads(work, threads=1)


def test_a_tenant_switch_undone_by_a_savepoint_rollback_is_set_again(
    two_workspaces: tuple[Workspace, Workspace],
) -> None:
    """ROLLBACK TO SAVEPOINT reverts a SET search_path; the next raw cursor must set it again."""
    north, south = two_workspaces
    connection.set_tenant(north)
    _schema_and_labels()
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint
                connection.set_tenant(south)
                assert _schema_and_labels()[:2] == (south.schema_name, south.slug)
                raise RuntimeError("roll the savepoint back")
        except RuntimeError:
            pass
        # Still inside the outer transaction, after ROLLBACK TO SAVEPOINT.
        assert _schema_and_labels()[:2] == (south.schema_name, south.slug)
    connection.set_schema_to_public()


# --------------------------------------------------------------------------- grep checks

PUBLIC_QUALIFIED = re.compile(r'"?\bpublic"?\s*\.\s*"?([a-z_][a-z0-9_]*)', re.IGNORECASE)
SEARCH_PATH_CHANGE = re.compile(r"\bSET\s+(?:LOCAL\s+|SESSION\s+)?search_path\b|set_config\(\s*'search_path'", re.I)
# The one place allowed to change search_path by hand: cloning the workspace template copies
# between two schemas inside one transaction and restores the caller's path (SET LOCAL).
SEARCH_PATH_HELPERS = {"accounts/schema_clone.py"}


def _tenant_tables() -> set[str]:
    from django.apps import apps
    from django.conf import settings

    tables = {m._meta.db_table for label in settings.TENANT_APPS for m in apps.get_app_config(label).get_models()}
    # warehouse models written in SQL (facts, dimensions, rollups) are tenant tables too
    return tables | {path.stem for path in (ROOT / "warehouse" / "sql").rglob("*.sql")}


def _product_files() -> Iterator[Path]:
    for top in PRODUCT_CODE:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in (".py", ".sql") and "migrations" not in path.parts:
                yield path


def _code(path: Path) -> str:
    """The file without its comment lines (prose may name search_path; code may not set it)."""
    lines = path.read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith(("#", "--")))


def public_qualified_tenant_tables(text: str, tenant_tables: set[str]) -> list[str]:
    return [m.group(0) for m in PUBLIC_QUALIFIED.finditer(text) if m.group(1).lower() in tenant_tables]


def test_the_grep_checks_recognise_what_they_forbid() -> None:
    tables = {"raw_record", "connectors_connection"}
    sql = 'SELECT * FROM public.raw_record JOIN "public"."connectors_connection" c ON true JOIN public.accounts_user u'
    assert public_qualified_tenant_tables(sql, tables) == ["public.raw_record", '"public"."connectors_connection']
    assert SEARCH_PATH_CHANGE.search("cursor.execute('SET search_path = ws_a')")
    assert SEARCH_PATH_CHANGE.search("SELECT set_config('search_path', %s, false)")
    assert not SEARCH_PATH_CHANGE.search("SHOW search_path")


def test_no_sql_names_a_tenant_table_in_the_public_schema() -> None:
    """A public.-qualified tenant table would read the shared schema, whatever the workspace."""
    tables = _tenant_tables()
    assert {"raw_record", "connectors_connection", "fct_ad_performance_daily"} <= tables
    found = {
        str(path.relative_to(ROOT)): hits
        for path in _product_files()
        if (hits := public_qualified_tenant_tables(_code(path), tables))
    }
    assert not found


def test_search_path_is_changed_by_hand_only_in_the_schema_clone_helper() -> None:
    found = [
        str(path.relative_to(ROOT))
        for path in _product_files()
        if SEARCH_PATH_CHANGE.search(_code(path)) and str(path.relative_to(ROOT)) not in SEARCH_PATH_HELPERS
    ]
    assert not found, "set the schema with connection.set_tenant / schema_context, not raw SQL"
    assert all(SEARCH_PATH_CHANGE.search(_code(ROOT / helper)) for helper in SEARCH_PATH_HELPERS)
