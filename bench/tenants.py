"""Workspace creation and migration timings.

Prints seconds per workspace creation (a) by Bosco's fast template copy, (b) by django-tenants'
pg-clone-schema clone, (c) by running every migration; then the time to migrate N workspaces
(no-op check and, where a tenant app has two or more migrations, one migration back and forth).

    python bench/tenants.py            # N = 200 workspaces
    python bench/tenants.py --quick    # N = 20, fewer creation samples
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import drop_database, emit, machine, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workspaces", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    n_workspaces = args.workspaces or (20 if args.quick else 200)
    samples = 3 if args.quick else 5
    dbname = setup_django("tenants")

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader
    from django_tenants.clone import CloneSchema

    from accounts.models import User
    from accounts.schema_clone import clone_schema
    from accounts.services import workspace_create

    owner = User.objects.filter(email="bench@bosco.local").first() or User.objects.create_user("bench@bosco.local", "x")

    def drop(schema: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def timed(fn, label: str) -> list[float]:
        times = []
        for i in range(samples):
            schema = f"bench_{label}_{i}"
            drop(schema)
            started = time.perf_counter()
            fn(schema)
            times.append(time.perf_counter() - started)
            drop(schema)
        return times

    template = settings.TENANT_BASE_SCHEMA

    def by_fast_clone(schema: str) -> None:
        clone_schema(template, schema)

    def by_pg_clone_schema(schema: str) -> None:
        CloneSchema().clone_schema(template, schema, "DATA")
        call_command("migrate_schemas", schema_name=schema, fake=True, interactive=False, verbosity=0)

    def by_migrations(schema: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{schema}"')
        call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
        connection.set_schema_to_public()

    fast = timed(by_fast_clone, "fast")
    pgclone = timed(by_pg_clone_schema, "pgclone")
    migrations = timed(by_migrations, "migrate")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", [template])
        template_tables = cursor.fetchone()[0]

    print(f"workspace template: {template_tables} tables")
    print(f"create by Bosco fast clone      : median {statistics.median(fast):.3f} s")
    print(f"create by django-tenants clone  : median {statistics.median(pgclone):.3f} s")
    print(f"create by running migrations    : median {statistics.median(migrations):.3f} s")

    # N real workspaces through the product's service (fast clone, domain, membership).
    existing = set(owner.memberships.values_list("workspace__slug", flat=True))
    started = time.perf_counter()
    created = 0
    for i in range(n_workspaces):
        slug = f"bench-{i:04d}"
        if slug not in existing:
            workspace_create(owner=owner, name=f"Bench {i}", slug=slug)
            created += 1
    create_all = time.perf_counter() - started
    print(f"created {created} workspaces through the service in {create_all:.1f} s")

    started = time.perf_counter()
    call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0)
    noop = time.perf_counter() - started
    print(f"migrate {n_workspaces} up-to-date workspaces (check only): {noop:.1f} s")

    loader = MigrationLoader(connection, ignore_no_migrations=True)
    tenant_apps = [a.split(".")[-1] for a in settings.TENANT_APPS]
    step = None
    for app in tenant_apps:
        leaves = [name for (label, name) in loader.graph.leaf_nodes() if label == app]
        if leaves:
            node = loader.graph.node_map[(app, leaves[0])]
            parents = [p for p in node.parents if p.key[0] == app]
            if parents:
                step = (app, parents[0].key[1], leaves[0])
                break
    back_forth = None
    if step:
        app, previous, latest = step
        started = time.perf_counter()
        call_command("migrate_schemas", app, previous, tenant=True, interactive=False, verbosity=0)
        call_command("migrate_schemas", app, latest, tenant=True, interactive=False, verbosity=0)
        back_forth = time.perf_counter() - started
        print(f"migrate {n_workspaces} workspaces {app} {latest} back and forth: {back_forth:.1f} s")
    else:
        print("no tenant app has two migrations yet: back-and-forth migration not measured")

    result = {
        "bench": "tenants",
        "machine": machine(),
        "template_tables": template_tables,
        "create_fast_clone_s": round(statistics.median(fast), 4),
        "create_pg_clone_schema_s": round(statistics.median(pgclone), 4),
        "create_migrations_s": round(statistics.median(migrations), 4),
        "speedup_fast_vs_migrations": round(statistics.median(migrations) / statistics.median(fast), 1),
        "workspaces": n_workspaces,
        "create_all_via_service_s": round(create_all, 2),
        "migrate_all_noop_s": round(noop, 2),
        "migrate_all_one_step_back_and_forth_s": round(back_forth, 2) if back_forth else None,
    }
    if not args.keep:
        drop_database(dbname)
    emit(result)


if __name__ == "__main__":
    main()
