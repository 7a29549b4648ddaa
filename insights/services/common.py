"""What every insight service shares: the workspace being served, errors, and the model registry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection

from insights import versioning
from insights.models import ModelVersion


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
    from django_tenants.utils import get_tenant_model

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
