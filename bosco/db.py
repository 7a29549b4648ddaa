"""The database connection as django-tenants extends it (schema_name, tenant, set_tenant, ...).

Django's `connection` is typed as a plain backend wrapper; code that switches or reads the
workspace schema imports this alias so the type checker knows the tenant-aware wrapper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.db import connection as _connection

if TYPE_CHECKING:
    from django_tenants.postgresql_backend.base import DatabaseWrapper

connection = cast("DatabaseWrapper", _connection)

__all__ = ["connection"]
