"""Which of tracking's tables live in which schema.

`tracking` is both a shared and a tenant app (django-tenants migrates it in the public schema and in
every workspace schema), but each of its models belongs to one side only: the settings and the
retired-key directory are read by the collect endpoint before any workspace is known, so they live in
the public schema; events are workspace data. Without this router each schema would also get empty
copies of the other side's tables.
"""

from __future__ import annotations

from typing import Any

from django_tenants.utils import get_public_schema_name

from bosco.db import connection

PUBLIC_MODELS = frozenset({"trackingsettings", "retiredcollectkey"})


class TrackingSchemaRouter:
    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        if app_label != "tracking" or model_name is None:
            return None
        in_public = connection.schema_name == get_public_schema_name()
        wants_public = model_name in PUBLIC_MODELS
        # None lets django-tenants' router decide the rest (the app is in both lists).
        return None if in_public == wants_public else False
