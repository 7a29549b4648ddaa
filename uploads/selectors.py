"""Reads of the uploads app: the uploads page, one upload's page, its progress."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet

from bosco.money import REPORTING_CURRENCIES
from uploads import parsing
from uploads.models import SavedMapping, Upload
from uploads.services import progress_key, skipped_path

#: an upload in progress whose worker reported nothing for this long may be restarted
STALLED_AFTER_SECONDS = 120


@dataclass(frozen=True)
class Progress:
    phase: str
    rows: int
    invalid: int
    percent: int | None
    stalled: bool


@dataclass(frozen=True)
class FieldChoice:
    name: str
    label: str
    required: bool
    help: str
    selected: int | None


@dataclass(frozen=True)
class UploadsPage:
    uploads: list[Upload]
    mappings: list[SavedMapping]
    kinds: list[tuple[str, str]]
    currencies: list[str]
    default_currency: str
    polling: bool


@dataclass(frozen=True)
class UploadPage:
    upload: Upload
    fields: list[FieldChoice]
    headers: list[str]
    preview: list[list[str]]
    progress: Progress | None
    date_orders: dict[str, str]
    date_order_ambiguous: bool
    encodings: dict[str, str]
    currencies: list[str]
    has_skipped_file: bool
    source_labels: list[str]
    saved_mappings: list[str]


def uploads_recent(*, limit: int = 20) -> QuerySet[Upload]:
    return Upload.objects.exclude(status=Upload.Status.DISCARDED)[:limit]


def uploads_page(*, default_currency: str) -> UploadsPage:
    uploads = list(uploads_recent())
    return UploadsPage(
        uploads=uploads,
        mappings=list(SavedMapping.objects.all()),
        kinds=list(Upload.Kind.choices),
        currencies=sorted(REPORTING_CURRENCIES),
        default_currency=default_currency,
        polling=any(u.in_progress for u in uploads),
    )


def upload_progress(upload: Upload) -> Progress | None:
    if not upload.in_progress:
        return None
    figures: dict[str, Any] = cache.get(progress_key(upload.pk)) or {}
    last = float(figures.get("at") or upload.updated_at.timestamp())
    quiet = time.time() - max(last, upload.updated_at.timestamp())
    percent = figures.get("percent")
    return Progress(
        phase=str(upload.status),
        rows=int(figures.get("rows") or 0),
        invalid=int(figures.get("invalid") or 0),
        percent=int(percent) if percent is not None else None,
        stalled=quiet > STALLED_AFTER_SECONDS,
    )


def upload_page(*, upload: Upload) -> UploadPage:
    fields = [
        FieldChoice(f.name, f.label, f.required, f.help, upload.mapping.get(f.name))
        for f in parsing.FIELDS[upload.kind]
    ]
    return UploadPage(
        upload=upload,
        fields=fields,
        headers=list(upload.headers),
        preview=list(upload.preview),
        progress=upload_progress(upload),
        date_orders=parsing.DATE_ORDERS,
        date_order_ambiguous=not upload.detected_date_order,
        encodings=parsing.ENCODINGS,
        currencies=sorted(REPORTING_CURRENCIES),
        has_skipped_file=bool(upload.rows_invalid) and skipped_path(upload.pk).exists(),
        source_labels=[name for _, name in upload.sources],
        saved_mappings=list(SavedMapping.objects.filter(kind=upload.kind).values_list("name", flat=True)),
    )


def upload_get(*, pk: int) -> Upload | None:
    return Upload.objects.filter(pk=pk).exclude(status=Upload.Status.DISCARDED).first()
