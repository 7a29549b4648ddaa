"""Fast copy of the workspace template schema.

django-tenants clones with pg-clone-schema, a general-purpose PL/pgSQL function that handles
every kind of object and costs ~2.5 s per clone here even for a near-empty schema. Bosco's
template holds only what Django migrations make — tables, their constraints, indexes and
identity sequences, plus a few seeded rows — so this module copies exactly that in one
transaction, in tens of milliseconds, keeping every index and constraint name (later
migrations drop and alter them by name). If the template ever holds anything else (views,
functions, triggers, free-standing sequences, types), `clone_schema` says so and the caller
falls back to django-tenants' general clone. `tests/accounts/test_schema_clone.py` checks the
copy against the template catalog by catalog.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connection, transaction

_UNSUPPORTED_SQL = """
SELECT 'view or other relation ' || c.relname FROM pg_class c
 WHERE c.relnamespace = %(ns)s::regnamespace AND c.relkind NOT IN ('r', 'i', 'S')
UNION ALL
SELECT 'sequence ' || c.relname FROM pg_class c
 WHERE c.relnamespace = %(ns)s::regnamespace AND c.relkind = 'S'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'i')
UNION ALL
SELECT 'function ' || p.proname FROM pg_proc p WHERE p.pronamespace = %(ns)s::regnamespace
UNION ALL
SELECT 'trigger ' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = %(ns)s::regnamespace AND NOT t.tgisinternal
UNION ALL
SELECT 'type ' || t.typname FROM pg_type t
 WHERE t.typnamespace = %(ns)s::regnamespace AND t.typtype IN ('e', 'd', 'r', 'm')
"""


class UnsupportedTemplate(Exception):
    """The template holds objects this copier does not reproduce."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rows(cursor: Any, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    cursor.execute(sql, params)
    return list(cursor.fetchall())


def clone_schema(source: str, target: str) -> None:
    """Create schema `target` as a structural and data copy of `source` (one transaction)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        original_search_path = cursor.fetchone()[0]
        try:
            _copy(cursor, source, target)
        finally:
            # SET LOCAL lasts until the outermost transaction ends; give the caller its path back.
            cursor.execute("SELECT set_config('search_path', %s, true)", [original_search_path])


def _copy(cursor: Any, source: str, target: str) -> None:
    unsupported = _rows(cursor, _UNSUPPORTED_SQL, {"ns": source})
    if unsupported:
        raise UnsupportedTemplate(", ".join(row[0] for row in unsupported))
    src, dst = _quote(source), _quote(target)
    tables = [
        row[0]
        for row in _rows(
            cursor,
            "SELECT relname FROM pg_class WHERE relnamespace = %(ns)s::regnamespace AND relkind = 'r' ORDER BY relname",
            {"ns": source},
        )
    ]
    # Definitions print unqualified for objects on the search path, qualified for the rest
    # (e.g. public.accounts_user), which is what the copy needs.
    cursor.execute(f"SET LOCAL search_path = {src}")
    key_constraints = _rows(
        cursor,
        """SELECT c.relname, k.conname, pg_get_constraintdef(k.oid), k.contype
             FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
            WHERE k.connamespace = %(ns)s::regnamespace AND k.contype IN ('p', 'u', 'x', 'f')
            ORDER BY k.contype = 'f', c.relname, k.conname""",
        {"ns": source},
    )
    indexes = _rows(
        cursor,
        """SELECT c.relname, pg_get_indexdef(i.indexrelid)
             FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
            WHERE c.relnamespace = %(ns)s::regnamespace
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
            ORDER BY ic.relname""",
        {"ns": source},
    )
    cursor.execute(f"CREATE SCHEMA {dst}")
    cursor.execute(f"SET LOCAL search_path = {dst}, public")
    for table in tables:
        # CHECK constraints keep their names with INCLUDING CONSTRAINTS; keys and indexes are
        # added below under their original names (LIKE ... INCLUDING INDEXES would rename them).
        cursor.execute(
            f"CREATE TABLE {dst}.{_quote(table)} (LIKE {src}.{_quote(table)} INCLUDING DEFAULTS INCLUDING IDENTITY"
            " INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS INCLUDING COMPRESSION)"
        )
    for table, name, definition, kind in key_constraints:
        if kind != "f":
            cursor.execute(f"ALTER TABLE {dst}.{_quote(table)} ADD CONSTRAINT {_quote(name)} {definition}")
    for _table, definition in indexes:
        rewritten, count = re.subn(
            r" ON (ONLY )?(\"?)" + re.escape(source) + r"\2\.", rf" ON \1{dst}.", definition, count=1
        )
        if count != 1:
            raise UnsupportedTemplate(f"cannot place index definition in the new schema: {definition}")
        cursor.execute(rewritten)
    for table, name, definition, kind in key_constraints:
        if kind == "f":
            cursor.execute(f"ALTER TABLE {dst}.{_quote(table)} ADD CONSTRAINT {_quote(name)} {definition}")
    # Seeded rows (django_migrations, reference data) travel with the structure.
    for table in tables:
        cursor.execute(f"INSERT INTO {dst}.{_quote(table)} OVERRIDING SYSTEM VALUE SELECT * FROM {src}.{_quote(table)}")  # nosec B608 # catalog identifiers, quoted
    identities = _rows(
        cursor,
        """SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = %(ns)s::regnamespace AND a.attidentity <> '' AND NOT a.attisdropped""",
        {"ns": target},
    )
    for table, column in identities:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(MAX({_quote(column)}), 0) + 1, false)"
            f" FROM {dst}.{_quote(table)}",  # nosec B608 # catalog identifiers, quoted
            [f"{dst}.{_quote(table)}", column],
        )
