"""Bring a database up to date for this release: `manage.py bootstrap` (run on every deploy).

A deploy command of the composition root (like the URL confs, it may call every app): each step
is the owning app's service, the command only orders them.

1. migrate the shared (public) schema;
2. make sure the public tenant and its domain exist;
3. create and migrate the template schema new workspaces are cloned from (and, where
   BOSCO_FX_SEED names a rates file, give it a rate history);
4. migrate every workspace schema that is behind the template — found with one query per 200
   schemas, so a deploy without new migrations touches no workspace — in parallel processes
   (`BOSCO_MIGRATION_PROCESSES`, default 4) when there are several.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState
from django_tenants.utils import schema_exists

from accounts.selectors import customer_workspaces_exist, workspace_schemas_behind
from accounts.services import public_workspace_ensure
from bosco.db import connection
from warehouse.services.fx import fx_rates_seed_template


def ensure_template_schema(verbosity: int = 0) -> None:
    template = settings.TENANT_BASE_SCHEMA
    if not schema_exists(template):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{template}"')
    call_command("migrate_schemas", schema_name=template, interactive=False, verbosity=verbosity)
    connection.set_schema_to_public()


#: The project state before the pending migrations, rendered, per set of applied migrations: the
#: workspaces of one deploy are behind by the same migrations, so each process renders it once.
_RENDERED: dict[frozenset[tuple[str, str]], ProjectState] = {}


def _migrate_schema(schema_name: str) -> str:
    """What `migrate_schemas --schema` does for one workspace, without re-rendering every model.

    Django's `migrate` renders all ~100 models of the project state twice per schema (for the
    pre- and post-migrate signals) - two thirds of a schema's migration time. In a workspace
    schema those signals do nothing (contenttypes and auth are shared apps: the router keeps their
    handlers out), so this applies the plan from a state rendered once per process instead.
    """
    connection.set_schema(schema_name, include_public=False)
    MigrationRecorder(connection).ensure_schema()  # before the loader reads it (django-tenants does the same)
    connection.set_schema(schema_name)
    try:
        executor = MigrationExecutor(connection)
        executor.loader.check_consistent_history(connection)
        targets = executor.loader.graph.leaf_nodes()
        plan = executor.migration_plan(targets)
        if plan:
            applied = frozenset(executor.loader.applied_migrations)
            state = _RENDERED.get(applied)
            if state is None:
                # what `migrate` itself builds the state from (no public name for it in Django)
                state = executor._create_project_state(with_applied_migrations=True)  # type: ignore[attr-defined]
                state.apps  # noqa: B018 - render now, once, not in every schema's migrate
                _RENDERED[applied] = state
            executor.migrate(targets, plan=plan, state=state.clone())
    finally:
        connection.set_schema_to_public()
    return schema_name


def migrate_workspaces(schemas: list[str], *, processes: int) -> None:
    """Migrate these workspace schemas, in `processes` forked processes when there are several.

    Each schema's migration is its own transaction in its own connection, so they do not wait on
    each other except where PostgreSQL's catalog does; the children inherit the loaded app
    registry (fork) and open their own connections (the parent's are closed first).
    """
    if len(schemas) <= 1 or processes <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for schema_name in schemas:
            _migrate_schema(schema_name)
        return
    connections.close_all()
    with multiprocessing.get_context("fork").Pool(processes=min(processes, len(schemas))) as pool:
        for _ in pool.imap_unordered(_migrate_schema, schemas, chunksize=4):
            pass
    connection.set_schema_to_public()


class Command(BaseCommand):
    help = "Migrate the shared schema, the workspace template and every workspace."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--skip-workspaces", action="store_true", help="only shared schema and template")

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = max(0, options["verbosity"] - 1)
        started = time.monotonic()
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        public_workspace_ensure()
        ensure_template_schema(verbosity)
        if settings.BOSCO_FX_SEED:
            seeded = fx_rates_seed_template(source=settings.BOSCO_FX_SEED)
            if seeded:
                self.stdout.write(
                    f"bootstrap: template seeded with {seeded.received} FX rates from {settings.BOSCO_FX_SEED}"
                )
        if not options["skip_workspaces"] and customer_workspaces_exist():
            behind = workspace_schemas_behind(template=settings.TENANT_BASE_SCHEMA)
            migrate_workspaces(behind, processes=settings.BOSCO_MIGRATION_PROCESSES)
            self.stdout.write(f"bootstrap: {len(behind)} workspace schema(s) migrated")
        self.stdout.write(f"bootstrap: database ready in {time.monotonic() - started:.1f}s")
