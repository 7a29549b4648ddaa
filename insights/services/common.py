"""What every insight service shares: the workspace being served, errors, and the model registry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django_tenants.utils import get_tenant_model

from insights.models import ModelVersion
from insights.services import versioning


def setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


class InsightsError(ValueError):
    """A request the insights cannot serve; the message is for the person who asked."""


# --------------------------------------------------------------------------- workspace context


@dataclass(frozen=True)
class WorkspaceContext:
    schema_name: str
    currency: str
    time_zone: str


def current_schema() -> str:
    """The active schema (django-tenants' connection carries it; plain Django stubs do not)."""
    return str(getattr(connection, "schema_name", ""))


def current_workspace() -> WorkspaceContext:
    """The workspace of the active schema (a tenant task or request set it)."""
    tenant = getattr(connection, "tenant", None)
    if tenant is not None and hasattr(tenant, "reporting_currency"):
        return WorkspaceContext(current_schema(), tenant.reporting_currency, tenant.time_zone)
    workspace = get_tenant_model().objects.filter(schema_name=current_schema()).first()
    if workspace is None:
        raise InsightsError(f"no workspace has schema {current_schema()!r}")
    return WorkspaceContext(workspace.schema_name, workspace.reporting_currency, workspace.time_zone)


# --------------------------------------------------------------------------- registry


def model_version_record(
    *,
    kind: str,
    name: str,
    algorithm: str,
    params: Mapping[str, Any],
    training_start: date | None,
    training_end: date | None,
    metrics: Mapping[str, Any],
    data_hash: str,
) -> ModelVersion:
    """Record a trained version, or find the identical one recorded before.

    Identity is the fingerprint of kind, name, algorithm, code version, parameters, training
    window and a hash of the training data: the same training on the same data is the same
    version (its first metrics are kept), anything else is a new one.
    """
    code_version = versioning.code_version(kind)
    fingerprint = versioning.fingerprint(
        kind=kind,
        name=name,
        algorithm=algorithm,
        code_version=code_version,
        params=dict(params),
        training_start=training_start,
        training_end=training_end,
        data=data_hash,
    )
    version, _ = ModelVersion.objects.get_or_create(
        kind=kind,
        fingerprint=fingerprint,
        defaults={
            "name": name,
            "algorithm": algorithm,
            "code_version": code_version,
            "params": jsonable(params),
            "training_start": training_start,
            "training_end": training_end,
            "metrics": jsonable(metrics),
        },
    )
    return version


#: versions nothing refers to are kept this many days before `prune_model_versions` deletes them
MODEL_VERSION_RETENTION_DAYS = 30


def prune_model_versions(*, keep_days: int | None = None, now: datetime | None = None) -> int:
    """Delete the registry versions nothing needs any more; return how many were deleted.

    Each nightly run records a new version per forecast series and replaces the series' points,
    so the previous versions end up referenced by nothing and the registry would grow forever.
    A version is deleted only when all of these hold:

    - no stored row refers to it: every foreign key into the registry counts (findings, forecast
      points, attribution imports and results, budget scenarios, and any added later), so a
      version that explains something on a page is never lost;
    - a newer version of the same kind and name exists (newest by `created_at`, then id): the
      latest fit of every series stays, even when old and unreferenced;
    - it was created more than `keep_days` ago (`INSIGHTS_MODEL_VERSION_RETENTION_DAYS`, 30).

    Runs in the active schema. Safe next to concurrent writers: the candidates are locked first
    (rows another transaction is locking are skipped until a later run), then deleted in one
    statement that checks the conditions again on a fresh snapshot. A reference committed
    before the lock is seen by that check, one committed after it has to wait for the lock, so
    the delete never trips a protected foreign key.
    """
    if keep_days is None:
        keep_days = int(setting("INSIGHTS_MODEL_VERSION_RETENTION_DAYS", MODEL_VERSION_RETENTION_DAYS))
    if keep_days < 0:
        raise ValueError(f"keep_days must be 0 or more, not {keep_days}")
    cutoff = (now or timezone.now()) - timedelta(days=keep_days)
    prunable = _prunable_versions(cutoff=cutoff).order_by()
    with transaction.atomic():
        locked = list(prunable.select_for_update(skip_locked=True).values_list("pk", flat=True))
        if not locked:
            return 0
        # Raw DELETE: QuerySet.delete() would load every row (budget params are large) and
        # check each relation again in Python; the statement below checks them in SQL.
        select_sql, params = prunable.values("pk").query.sql_with_params()
        table = connection.ops.quote_name(ModelVersion._meta.db_table)
        column = connection.ops.quote_name(str(ModelVersion._meta.pk.column))
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE {column} = ANY(%s) AND {column} IN ({select_sql})", [locked, *params]
            )
            return int(cursor.rowcount)


def _prunable_versions(*, cutoff: datetime) -> QuerySet[ModelVersion]:
    """Versions created before `cutoff` that a newer one of their kind and name supersedes and
    that no row of any model refers to (relations found from the model, not listed by hand)."""
    newer = ModelVersion.objects.filter(kind=OuterRef("kind"), name=OuterRef("name")).filter(
        Q(created_at__gt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))
    )
    versions = ModelVersion.objects.filter(Exists(newer), created_at__lt=cutoff)
    for relation in ModelVersion._meta.related_objects:
        referrers = relation.related_model._base_manager.filter(**{relation.field.name: OuterRef("pk")})
        versions = versions.filter(~Exists(referrers))
    return versions


def jsonable(value: Any) -> Any:
    """numpy scalars, NaN and dates made JSON-safe for a JSONField."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def series_hash(values: pd.Series) -> str:
    return versioning.data_hash((str(i.date()), round(float(v), 6)) for i, v in values.items())
