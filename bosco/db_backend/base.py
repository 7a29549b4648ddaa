"""django-tenants' PostgreSQL backend with a table listing that does not read the whole catalog.

Django lists "the tables on the search path" (migrations ask it several times per schema: does
`django_migrations` exist yet?) by scanning all of `pg_class` and calling `pg_table_is_visible`
on every row. Every workspace adds about 360 relations (tables, indexes, sequences), so with 1,000
workspaces that is 364,000 rows and ~150-200 ms per listing, four listings per schema migrated:
most of a deploy's per-workspace migration time, growing with the number of workspaces.

Here the same list is found through `pg_depend`: every table, view, materialised view and
sequence records a dependency on its schema (PostgreSQL's heap.c; TOAST tables and composite
types are the documented exceptions, and neither is listed anyway; the session's temporary schema
counts, as `current_schemas(true)` names it), and `pg_depend`'s reference
index finds a schema's relations directly - ~3 ms at the same size. The result is the same rows
(the same visibility filter still applies); `tests/ops/test_db_backend.py` compares the two
listings on a database with several workspaces.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql.introspection import TableInfo
from django_tenants.postgresql_backend import base as tenants_base
from django_tenants.postgresql_backend.introspection import (
    DatabaseSchemaIntrospection,
    DatabaseSchemaIntrospectionSearchPathContext,
)

TABLE_LIST_SQL = """
    SELECT
        c.relname,
        CASE
            WHEN c.relispartition THEN 'p'
            WHEN c.relkind IN ('m', 'v') THEN 'v'
            ELSE 't'
        END,
        obj_description(c.oid, 'pg_class')
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class c ON c.oid = d.objid
    WHERE d.classid = 'pg_catalog.pg_class'::regclass
        AND d.refclassid = 'pg_catalog.pg_namespace'::regclass
        AND d.refobjid = ANY(ARRAY(
            SELECT n.oid FROM pg_catalog.pg_namespace n
            WHERE n.nspname = ANY(pg_catalog.current_schemas(true))
                AND n.nspname NOT IN ('pg_catalog', 'pg_toast')
        ))
        AND c.relkind IN ('f', 'm', 'p', 'r', 'v')
        AND pg_catalog.pg_table_is_visible(c.oid)
"""


class Introspection(DatabaseSchemaIntrospection):
    def get_table_list(self, cursor: Any) -> list[TableInfo]:
        with DatabaseSchemaIntrospectionSearchPathContext(cursor=cursor, connection=self.connection):
            cursor.execute(TABLE_LIST_SQL)
            return [TableInfo(*row) for row in cursor.fetchall() if row[0] not in self.ignored_tables]


class DatabaseWrapper(tenants_base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.introspection = Introspection(self)
