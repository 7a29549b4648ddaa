"""`manage.py bootstrap` keeps the template ready: migrated, and (in development) with FX rates."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from warehouse.services import fx

pytestmark = pytest.mark.django_db


def _rates(schema: str) -> int:
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM wh_fx_rate")
        return int(cursor.fetchone()[0])


def test_seeded_template_gives_new_workspaces_a_rate_history_once(make_workspace) -> None:
    assert _rates(settings.TENANT_BASE_SCHEMA) == 0
    seeded = fx.fx_rates_seed_template(source=str(fx.SAMPLE_FILE))
    assert seeded is not None and seeded.inserted > 10_000
    assert fx.fx_rates_seed_template(source=str(fx.SAMPLE_FILE)) is None  # already has rates
    acme = make_workspace("acme")
    assert _rates(acme.schema_name) == _rates(settings.TENANT_BASE_SCHEMA)


def test_bootstrap_is_idempotent(settings) -> None:
    from django.core.management import call_command

    settings.BOSCO_FX_SEED = ""
    call_command("bootstrap", verbosity=0)
    call_command("bootstrap", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_workspace WHERE schema_name = 'public'")
        assert cursor.fetchone()[0] == 1


def _unapply_latest_migration(schema: str) -> str:
    """Really reverse the newest migration of one tenant app in `schema`; returns "app.name"."""
    from django.core.management import call_command
    from django.db.migrations.loader import MigrationLoader

    graph = MigrationLoader(connection).graph
    for app in ("insights", "warehouse", "connectors", "alerts"):
        (leaf,) = [node for node in graph.leaf_nodes() if node[0] == app]
        parents = [parent for parent in graph.node_map[leaf].parents if parent.key[0] == app]
        if not parents:
            continue
        try:
            call_command("migrate_schemas", app, parents[0].key[1], schema_name=schema, interactive=False, verbosity=0)
        except Exception:  # an irreversible migration: try the next app  # noqa: S112
            continue
        return f"{app}.{leaf[1]}"
    raise AssertionError("no tenant app has a reversible newest migration")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("processes", [2, 1])
def test_bootstrap_migrates_only_the_workspaces_behind_in_parallel(make_workspace, settings, processes) -> None:
    from django.core.management import call_command

    from accounts.selectors import workspace_schemas_behind

    settings.BOSCO_FX_SEED = ""
    settings.BOSCO_MIGRATION_PROCESSES = processes
    schemas = [make_workspace(slug).schema_name for slug in ("alpha", "bravo", "charlie")]
    assert workspace_schemas_behind(template=settings.TENANT_BASE_SCHEMA) == []
    reversed_migration = _unapply_latest_migration(schemas[1])
    _unapply_latest_migration(schemas[2])
    connection.set_schema_to_public()
    assert workspace_schemas_behind(template=settings.TENANT_BASE_SCHEMA) == schemas[1:]

    out = io.StringIO()
    call_command("bootstrap", stdout=out)
    assert "2 workspace schema(s) migrated" in out.getvalue()
    assert workspace_schemas_behind(template=settings.TENANT_BASE_SCHEMA) == []
    app, name = reversed_migration.split(".")
    with schema_context(schemas[1]), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = %s AND name = %s", [app, name])
        assert cursor.fetchone()[0] == 1

    def tables_and_columns(schema: str) -> set[tuple[str, str]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s", [schema]
            )
            return set(cursor.fetchall())

    # really migrated, not only recorded: every table and column of the template is back
    template = tables_and_columns(settings.TENANT_BASE_SCHEMA)
    for schema in schemas[1:]:
        assert tables_and_columns(schema) == template
