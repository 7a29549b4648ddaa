"""bosco.db_backend lists a schema's tables through pg_depend: the same list as Django's own query."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.postgresql_backend.introspection import DatabaseSchemaIntrospection

from bosco.db_backend.base import Introspection

pytestmark = pytest.mark.django_db


def _both(schema: str) -> tuple[set[tuple], set[tuple]]:
    connection.set_schema(schema, include_public=False)
    try:
        with connection.cursor() as cursor:
            ours = set(connection.introspection.get_table_list(cursor))
            django_tenants = set(DatabaseSchemaIntrospection.get_table_list(connection.introspection, cursor))
    finally:
        connection.set_schema_to_public()
    return ours, django_tenants


def test_the_connection_uses_the_fast_listing() -> None:
    assert settings.DATABASES["default"]["ENGINE"] == "bosco.db_backend"
    assert isinstance(connection.introspection, Introspection)


def test_every_kind_of_relation_is_listed_as_django_lists_it(make_workspace) -> None:
    acme, other = make_workspace("acme"), make_workspace("other")
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE VIEW "{acme.schema_name}".a_view AS SELECT 1 AS one')
        cursor.execute(f'CREATE MATERIALIZED VIEW "{acme.schema_name}".a_matview AS SELECT 1 AS one')
        cursor.execute(f'CREATE TABLE "{acme.schema_name}".a_parted (d date) PARTITION BY RANGE (d)')
        cursor.execute(
            f'CREATE TABLE "{acme.schema_name}".a_part PARTITION OF "{acme.schema_name}".a_parted '
            "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')"
        )
        cursor.execute(f"COMMENT ON TABLE \"{acme.schema_name}\".a_parted IS 'with a comment'")
        cursor.execute(f'CREATE TABLE "{other.schema_name}".only_in_other (id int)')
        cursor.execute("CREATE TEMPORARY TABLE a_temp (id int)")  # visible on every search path, as Django lists it

    for schema in ("public", settings.TENANT_BASE_SCHEMA, acme.schema_name, other.schema_name):
        ours, django_tenants = _both(schema)
        assert ours == django_tenants, schema
        assert len(ours) > 10, schema

    listed = {info.name: info for info in _both(acme.schema_name)[0]}
    assert {"a_view", "a_matview", "a_parted", "a_part", "wh_fx_rate", "django_migrations"} <= set(listed)
    assert listed["a_view"].type == "v" and listed["a_matview"].type == "v" and listed["a_part"].type == "p"
    assert listed["a_parted"].comment == "with a comment"
    assert "only_in_other" not in listed and "accounts_workspace" not in listed  # no other schema's tables
    assert "only_in_other" in {info.name for info in _both(other.schema_name)[0]}
    assert "a_temp" in listed
