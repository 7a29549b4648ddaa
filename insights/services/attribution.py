"""Attribution services: import conversion paths from a CSV and attribute them with every model."""

from __future__ import annotations

import hashlib

from django.db import transaction

from insights.ml.attribution import MODEL_VERSION as ATTRIBUTION_ALGORITHM
from insights.ml.attribution import attribute
from insights.ml.errors import InputError
from insights.models import AttributionImport, AttributionResult, ModelVersion
from insights.results_version import results_changed
from insights.services import versioning
from insights.services.common import InsightsError, model_version_record
from insights.services.paths_csv import PathsCsvError, read_paths_csv

# --------------------------------------------------------------------------- attribution


HALF_LIFE_DAYS = 7.0


@transaction.atomic
def import_attribution_csv(
    *, data: bytes, filename: str, name: str = "", user_id: int | None = None
) -> tuple[AttributionImport, bool]:
    """Import conversion paths from a CSV and attribute them with every model.

    Returns (import, created); the same file imported again returns the earlier import.
    Any problem raises InsightsError with one clear line, and nothing is stored.
    """
    # PostgreSQL text cannot hold NUL: refuse it here with a reason instead of failing the insert.
    if "\x00" in name or "\x00" in filename:
        raise InsightsError("The import name cannot contain a NUL character.")
    try:
        table = read_paths_csv(data)
    except PathsCsvError as exc:
        raise InsightsError(str(exc)) from exc
    digest = hashlib.sha256(table.text.encode()).hexdigest()
    # The same file under the same model code is the same import, whatever it is called now.
    existing = AttributionImport.objects.filter(
        content_sha256=digest, version__code_version=versioning.code_version(ModelVersion.Kind.ATTRIBUTION)
    ).first()
    if existing is not None:
        return existing, False
    params = {"half_life_days": HALF_LIFE_DAYS, "separator": ">", "models": "all"}
    try:
        results = attribute(table.frame, half_life_days=HALF_LIFE_DAYS)
    except InputError as exc:
        raise InsightsError(f"The paths could not be attributed: {exc}") from exc
    totals = results.groupby("model")["conversions"].sum()
    version = model_version_record(
        kind=ModelVersion.Kind.ATTRIBUTION,
        name=(name or filename)[:300],
        algorithm=str(results.attrs.get("model_version", ATTRIBUTION_ALGORITHM)),
        params=params,
        training_start=None,
        training_end=None,
        metrics={
            "paths": len(table.frame),
            "channels": len(table.channels),
            "conversions": table.conversions,
            "conversion_value": table.conversion_value,
            "null_paths": table.null_paths,
            "models": sorted(results["model"].unique().tolist()),
            "max_sum_error": float((totals - table.conversions).abs().max()) if len(totals) else 0.0,
        },
        data_hash=digest,
    )
    existing = AttributionImport.objects.filter(content_sha256=digest, version=version).first()
    if existing is not None:
        return existing, False
    record = AttributionImport.objects.create(
        name=(name.strip() or filename)[:200],
        filename=filename[:255],
        content=table.text,
        content_sha256=digest,
        version=version,
        uploaded_by_id=user_id,
        paths=len(table.frame),
        channels=table.channels,
        conversions=table.conversions,
        conversion_value=table.conversion_value,
        null_paths=table.null_paths,
        has_touch_times=table.has_touch_times,
    )
    AttributionResult.objects.bulk_create(
        [
            AttributionResult(
                attribution_import=record,
                version=version,
                channel=str(row.channel),
                model=str(row.model),
                conversions=float(row.conversions),
                conversion_value=float(row.conversion_value),
            )
            for row in results.itertuples(index=False)
        ]
    )
    results_changed()
    return record, True


@transaction.atomic
def attribution_import_delete(*, pk: int) -> None:
    AttributionImport.objects.filter(pk=pk).delete()
    results_changed()
