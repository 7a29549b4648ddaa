"""The fast template copy reproduces the template exactly (names included) and refuses what it cannot copy."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from accounts.schema_clone import UnsupportedTemplate, clone_schema

pytestmark = pytest.mark.django_db

CATALOG_QUERIES = {
    "columns": """SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity, identity_generation
                    FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 2""",
    "constraints": """SELECT c.relname, k.conname, k.contype, regexp_replace(pg_get_constraintdef(k.oid), %s, 'S.', 'g')
                        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
                       WHERE k.connamespace = %s::regnamespace ORDER BY 1, 2""",
    "indexes": """SELECT tablename, indexname, replace(indexdef, %s, 'S.') FROM pg_indexes WHERE schemaname = %s ORDER BY 1, 2""",
}


def _catalog(schema: str) -> dict[str, list[tuple]]:
    result = {}
    with connection.cursor() as cursor:
        cursor.execute(CATALOG_QUERIES["columns"], [schema])
        result["columns"] = cursor.fetchall()
        cursor.execute(CATALOG_QUERIES["constraints"], [f"{schema}\\.", schema])
        result["constraints"] = cursor.fetchall()
        cursor.execute(CATALOG_QUERIES["indexes"], [f"{schema}.", schema])
        result["indexes"] = cursor.fetchall()
        cursor.execute(f'SELECT count(*) FROM "{schema}".django_migrations')
        result["migrations"] = cursor.fetchall()
    return result


def test_clone_matches_template_catalog_by_catalog() -> None:
    clone_schema(settings.TENANT_BASE_SCHEMA, "ws_clone_probe")
    template, clone = _catalog(settings.TENANT_BASE_SCHEMA), _catalog("ws_clone_probe")
    for part in template:
        assert template[part] == clone[part], part
    assert len(template["columns"]) > 3


def test_clone_keeps_identity_sequences_working(make_workspace) -> None:
    acme = make_workspace("acme")
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{acme.schema_name}".django_migrations (app, name, applied) VALUES (%s, %s, now()) RETURNING id',
            ["x", "y"],
        )
        new_id = cursor.fetchone()[0]
        cursor.execute(f'SELECT max(id) FROM "{settings.TENANT_BASE_SCHEMA}".django_migrations')
        assert new_id == cursor.fetchone()[0] + 1


def test_clone_refuses_templates_with_objects_it_cannot_copy() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA probe_tpl; CREATE VIEW probe_tpl.v AS SELECT 1 AS one")
    with pytest.raises(UnsupportedTemplate, match="view"):
        clone_schema("probe_tpl", "probe_copy")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'probe_copy'")
        assert cursor.fetchone()[0] == 0


def test_clone_restores_the_callers_search_path() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        before = cursor.fetchone()[0]
        clone_schema(settings.TENANT_BASE_SCHEMA, "ws_clone_probe2")
        cursor.execute("SHOW search_path")
        assert cursor.fetchone()[0] == before
