"""Writes of the uploads app: store a file, map its columns, check its rows, land them, discard.

A file is streamed to disk (UPLOADS_DIR/<schema>/<id>/) and never read into memory whole. The
check (a worker, `uploads.tasks.check_upload`) reads it row by row, writes the good rows in COPY
format and the bad ones to a skipped-rows CSV; nothing reaches the warehouse until every row is
good or the person accepts skipping the bad ones. Landing (`uploads.tasks.land_upload`) replaces
the sources' rows of the covered days in one transaction (`warehouse.services.uploads`) and hands
the window to the warehouse on commit. Both tasks can run again after a killed worker: the check
rewrites its files from the start, and a landing that did not commit left nothing behind.
"""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bosco.db import connection
from bosco.formatting import NUMBER_FORMATS
from bosco.money import REPORTING_CURRENCIES
from bosco.tasks import enqueue
from uploads import parsing
from uploads.checking import RowChecker, RowErrors, source_code
from uploads.models import SavedMapping, Upload
from warehouse.selectors.uploads import campaign_match_targets
from warehouse.services import uploads as landing
from warehouse.services.pipeline import enqueue_upload_transform

CHECK_TASK = "uploads.tasks.check_upload"
LAND_TASK = "uploads.tasks.land_upload"
#: errors kept on the upload for the page; every bad row is in the skipped-rows file
ERRORS_KEPT = 200
#: a task picked up more often than this (killed workers) fails the upload instead of looping
MAX_ATTEMPTS = 5
PROGRESS_EVERY = 2000


class UploadError(Exception):
    """What the person did cannot be done; the message says why and what to do."""


# --------------------------------------------------------------------------- files


def upload_dir(upload_id: int) -> Path:
    return Path(settings.UPLOADS_DIR) / connection.schema_name / str(upload_id)


def original_path(upload: Upload) -> Path:
    return upload_dir(upload.pk) / f"original.{upload.file_format}"


def rows_path(upload_id: int) -> Path:
    return upload_dir(upload_id) / "rows.copy"


def skipped_path(upload_id: int) -> Path:
    return upload_dir(upload_id) / "skipped.csv"


def progress_key(upload_id: int) -> str:
    return f"uploads:progress:{upload_id}"


def _progress(upload_id: int, phase: str, **figures: Any) -> None:
    cache.set(progress_key(upload_id), {"phase": phase, "at": time.time(), **figures}, timeout=3600)


# --------------------------------------------------------------------------- create and map


def upload_create(
    *, kind: str, source_name: str, file: UploadedFile, default_currency: str, user_id: int | None
) -> Upload:
    """Store the file, read its header and first rows, and guess (or reuse) the column mapping."""
    if kind not in Upload.Kind.values:
        raise UploadError("Choose what the file holds: ad performance or offline conversions.")
    source_name = source_name.strip()
    if not source_name:
        raise UploadError("Name the source of the file (for example LinkedIn Ads).")
    if len(source_name) > 60 or not source_name.isprintable():
        raise UploadError("The source name must be at most 60 printable characters.")
    try:
        source_code(source_name)
    except ValueError as exc:
        raise UploadError(f"Source name: {exc}.") from exc
    if default_currency not in REPORTING_CURRENCIES:
        raise UploadError(f"Bosco has no exchange rates for {default_currency!r}.")
    size = int(file.size or 0)
    if size == 0:
        raise UploadError("The file is empty: it has no header row and no data.")
    if size > settings.UPLOADS_MAX_BYTES:
        raise UploadError(f"The file is larger than {settings.UPLOADS_MAX_BYTES // (1 << 20)} MB: split it.")
    name = "".join(ch for ch in Path(file.name or "upload").name if ch.isprintable())[:255] or "upload"
    number_format = NUMBER_FORMATS.get(getattr(connection.tenant, "number_format", "") or "en-US")
    upload = Upload.objects.create(
        kind=kind,
        source_name=source_name,
        file_name=name,
        file_format="upload",
        size_bytes=size,
        decimal_mark=number_format.decimal if number_format else ".",
        default_currency=default_currency,
        created_by_id=user_id,
    )
    folder = upload_dir(upload.pk)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staged = folder / "incoming"
        with staged.open("wb") as out:
            for chunk in file.chunks():
                out.write(chunk)
        sniffed = parsing.sniff(staged)
        if sniffed.file_format == "csv" and name.lower().endswith((".xlsx", ".xlsm")):
            raise parsing.FileRejected("This file is named .xlsx but is not an Excel workbook (it is plain text).")
        upload.file_format = sniffed.file_format
        staged.rename(original_path(upload))
        upload.encoding, upload.encoding_certain, upload.delimiter = (
            sniffed.encoding,
            sniffed.encoding_certain,
            sniffed.delimiter,
        )
        _read_head(upload)
    except (parsing.FileRejected, UnicodeError, OSError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        upload.delete()
        raise UploadError(str(exc)) from exc
    upload.save()
    return upload


def _sniffed(upload: Upload) -> parsing.Sniffed:
    return parsing.Sniffed(upload.file_format, upload.encoding, upload.encoding_certain, upload.delimiter)


def _read_head(upload: Upload) -> None:
    """Headers, preview and the mapping guess (a saved mapping for the same headers wins)."""
    raw_headers, preview, sample = parsing.read_preview(original_path(upload), _sniffed(upload))
    headers = parsing.unique_headers(raw_headers)
    upload.headers, upload.preview = headers, preview
    upload.header_signature = parsing.header_signature(raw_headers)
    saved = (
        SavedMapping.objects.filter(kind=upload.kind, header_signature=upload.header_signature)
        .order_by("-updated_at")
        .first()
    )
    if saved is not None:
        by_header = {h: i for i, h in enumerate(headers)}
        upload.mapping = {f: by_header[h] for f, h in saved.columns.items() if h in by_header}
        upload.mapping_name = saved.name
        upload.date_order = saved.date_order
        upload.decimal_mark = saved.decimal_mark
        upload.default_currency = saved.default_currency
    else:
        upload.mapping = parsing.guess_mapping(headers, upload.kind)
    date_column = upload.mapping.get("date")
    if date_column is not None:
        detected = parsing.detect_date_order([r[date_column] for r in sample if date_column < len(r)])
        upload.detected_date_order = detected or ""
        if not upload.date_order:
            upload.date_order = detected or ""


def upload_mapping_apply(*, upload: Upload, name: str) -> Upload:
    """Fill the mapping from a saved one chosen by name (its columns found by header text)."""
    saved = SavedMapping.objects.filter(name=name, kind=upload.kind).first()
    if saved is None:
        raise UploadError(f"No saved mapping named {name!r} for {upload.get_kind_display().lower()}.")
    if upload.status != Upload.Status.NEEDS_MAPPING:
        raise UploadError("This upload is past its mapping step.")
    by_header = {h: i for i, h in enumerate(upload.headers)}
    missing = [h for h in saved.columns.values() if h not in by_header]
    upload.mapping = {f: by_header[h] for f, h in saved.columns.items() if h in by_header}
    upload.mapping_name = saved.name
    upload.date_order, upload.decimal_mark = saved.date_order or upload.date_order, saved.decimal_mark
    upload.default_currency = saved.default_currency
    upload.save()
    if missing:
        raise UploadError(
            f"Mapping {saved.name!r} applied, but this file has no column {', '.join(map(repr, missing))}."
        )
    return upload


def upload_mapping_set(
    *,
    upload: Upload,
    mapping: dict[str, int | None],
    date_order: str,
    decimal_mark: str,
    default_currency: str,
    encoding: str = "",
    save_as: str = "",
) -> Upload:
    """Confirm the mapping (saving it under a name if asked) and start checking every row."""
    if upload.status not in (Upload.Status.NEEDS_MAPPING, Upload.Status.NEEDS_DECISION, Upload.Status.FAILED):
        raise UploadError("This upload is past its mapping step.")
    fields = {f.name: f for f in parsing.FIELDS[upload.kind]}
    chosen = {name: index for name, index in mapping.items() if name in fields and index is not None}
    if any(not 0 <= index < len(upload.headers) for index in chosen.values()):
        raise UploadError("A chosen column does not exist in this file.")
    missing = [fields[n].label for n, f in fields.items() if f.required and n not in chosen]
    if missing:
        raise UploadError(f"Choose the column for: {', '.join(missing)}.")
    taken: dict[int, str] = {}
    for name, index in chosen.items():
        if index in taken:
            raise UploadError(
                f"Column {upload.headers[index]!r} is chosen for both {fields[taken[index]].label} and {fields[name].label}."
            )
        taken[index] = name
    if not date_order and "date" in chosen:
        # the date column was chosen by hand: the preview may settle the order by itself
        column = chosen["date"]
        date_order = parsing.detect_date_order([r[column] for r in upload.preview if column < len(r)]) or ""
    if date_order not in parsing.DATE_ORDERS:
        raise UploadError(
            "Some dates could be day/month or month/day (e.g. 03/04/2026): choose how this file writes dates."
        )
    if decimal_mark not in (".", ","):
        raise UploadError("Choose the decimal mark: '.' or ','.")
    if default_currency not in REPORTING_CURRENCIES:
        raise UploadError(f"Bosco has no exchange rates for {default_currency!r}.")
    if encoding and encoding not in parsing.ENCODINGS:
        raise UploadError(f"Unknown encoding {encoding!r}.")
    with transaction.atomic():
        upload = Upload.objects.select_for_update().get(pk=upload.pk)
        if encoding and upload.file_format == "csv" and encoding != upload.encoding:
            upload.encoding, upload.encoding_certain = encoding, True
        upload.mapping = chosen
        upload.date_order, upload.decimal_mark, upload.default_currency = date_order, decimal_mark, default_currency
        save_as = save_as.strip()
        if len(save_as) > 80 or not save_as.isprintable():
            raise UploadError("A mapping name must be at most 80 printable characters.")
        if save_as:
            SavedMapping.objects.update_or_create(
                name=save_as,
                defaults={
                    "kind": upload.kind,
                    "header_signature": upload.header_signature,
                    "columns": {name: upload.headers[index] for name, index in chosen.items()},
                    "date_order": date_order,
                    "decimal_mark": decimal_mark,
                    "default_currency": default_currency,
                    "source_name": upload.source_name,
                },
            )
            upload.mapping_name = save_as
        _start(upload, Upload.Status.CHECKING, CHECK_TASK)
    return upload


def _start(upload: Upload, status: str, task: str) -> None:
    upload.status = status
    upload.error = ""
    upload.attempts = 0
    upload.save()
    _progress(upload.pk, status, rows=0)
    enqueue(task, connection.schema_name, upload.pk, on_commit=True)


def upload_skips_accept(*, upload: Upload) -> Upload:
    """Land the good rows; the bad ones stay listed and downloadable."""
    with transaction.atomic():
        upload = Upload.objects.select_for_update().get(pk=upload.pk)
        if upload.status != Upload.Status.NEEDS_DECISION:
            raise UploadError("Only an upload with rows in error waits for this decision.")
        if not upload.rows_valid:
            raise UploadError("No row of this file is good: there is nothing to land.")
        _start(upload, Upload.Status.LANDING, LAND_TASK)
    return upload


def upload_discard(*, upload: Upload) -> None:
    """Forget an upload that has not landed (its files go; landed rows are replaced by re-uploading)."""
    with transaction.atomic():
        upload = Upload.objects.select_for_update().get(pk=upload.pk)
        if upload.status in (Upload.Status.LANDING, Upload.Status.LANDED):
            raise UploadError("This upload has landed (or is landing): upload a corrected file to replace it.")
        upload.status = Upload.Status.DISCARDED
        upload.finished_at = timezone.now()
        upload.save()
        transaction.on_commit(lambda: shutil.rmtree(upload_dir(upload.pk), ignore_errors=True))


def upload_restart(*, upload: Upload) -> Upload:
    """Queue a stalled check or landing again (after a lost worker); both are safe to repeat."""
    with transaction.atomic():
        upload = Upload.objects.select_for_update().get(pk=upload.pk)
        if upload.status == Upload.Status.CHECKING:
            _start(upload, Upload.Status.CHECKING, CHECK_TASK)
        elif upload.status == Upload.Status.LANDING:
            _start(upload, Upload.Status.LANDING, LAND_TASK)
        else:
            raise UploadError("Only an upload that is being checked or landed can be restarted.")
    return upload


# --------------------------------------------------------------------------- the worker's part


def _claim(upload_id: int, status: str) -> Upload | None:
    updated = Upload.objects.filter(pk=upload_id, status=status).update(attempts=F("attempts") + 1)
    if not updated:
        return None
    upload = Upload.objects.get(pk=upload_id)
    if upload.attempts > MAX_ATTEMPTS:
        _fail(upload, "The worker handling this file stopped too many times; upload it again or split it.")
        return None
    return upload


def _fail(upload: Upload, message: str) -> None:
    Upload.objects.filter(pk=upload.pk).update(
        status=Upload.Status.FAILED, error=message, finished_at=timezone.now(), updated_at=timezone.now()
    )
    cache.delete(progress_key(upload.pk))


def upload_check(*, upload_id: int) -> str:
    """Read every row: good rows to the COPY file, bad rows (with line and reasons) to the skipped CSV."""
    upload = _claim(upload_id, Upload.Status.CHECKING)
    if upload is None:
        if Upload.objects.filter(pk=upload_id, status=Upload.Status.LANDING).exists():
            # a worker died between a clean check and its landing: the redelivered check lands it
            return upload_land(upload_id=upload_id)
        return "skipped"
    checker = RowChecker(
        kind=upload.kind,
        mapping={k: int(v) for k, v in upload.mapping.items()},
        headers=list(upload.headers),
        source_name=upload.source_name,
        date_order=upload.date_order,
        decimal_mark=upload.decimal_mark,
        default_currency=upload.default_currency,
        time_zone=getattr(connection.tenant, "time_zone", "") or "UTC",
        targets=campaign_match_targets() if upload.kind == Upload.Kind.OFFLINE_CONVERSIONS else [],
    )
    total = valid = invalid = 0
    errors: list[list[Any]] = []
    started = time.monotonic()
    try:
        with (
            rows_path(upload.pk).open("w", encoding="utf-8", newline="") as good,
            skipped_path(upload.pk).open("w", encoding="utf-8", newline="") as bad,
        ):
            skipped = csv.writer(bad)
            skipped.writerow(["line", "errors", *(parsing.csv_safe(h) for h in upload.headers)])
            rows = parsing.read_rows(original_path(upload), _sniffed(upload))
            header_seen = False
            for row in rows:
                if not header_seen and not row.error:
                    header_seen = True
                    continue
                total += 1
                try:
                    if row.error:
                        raise RowErrors([row.error])
                    good.write(checker.check(row.cells))
                    good.write("\n")
                    valid += 1
                except RowErrors as exc:
                    invalid += 1
                    if len(errors) < ERRORS_KEPT:
                        errors.append([row.line, "; ".join(exc.messages)])
                    skipped.writerow([row.line, "; ".join(exc.messages), *(parsing.csv_safe(c) for c in row.cells)])
                if total % PROGRESS_EVERY == 0:
                    _progress(upload.pk, "checking", rows=total, invalid=invalid, seconds=time.monotonic() - started)
    except parsing.FileRejected as exc:
        _fail(upload, str(exc))
        return "failed"
    upload.rows_total, upload.rows_valid, upload.rows_invalid, upload.errors = total, valid, invalid, errors
    upload.covered_from, upload.covered_to = checker.date_from, checker.date_to
    upload.sources = sorted([code, name] for code, name in checker.sources.items())
    if total == 0:
        upload.status, upload.error = Upload.Status.FAILED, "The file has a header row but no data rows."
    elif invalid:
        upload.status = Upload.Status.NEEDS_DECISION
    else:
        upload.status = Upload.Status.LANDING
    # only if nobody discarded it meanwhile
    saved = Upload.objects.filter(pk=upload.pk, status=Upload.Status.CHECKING).update(
        status=upload.status,
        error=upload.error,
        rows_total=total,
        rows_valid=valid,
        rows_invalid=invalid,
        errors=errors,
        covered_from=upload.covered_from,
        covered_to=upload.covered_to,
        sources=upload.sources,
        attempts=0,
        updated_at=timezone.now(),
    )
    if not saved:
        return "superseded"
    if upload.status == Upload.Status.LANDING:
        return upload_land(upload_id=upload.pk)
    return str(upload.status)


def upload_land(*, upload_id: int) -> str:
    """Replace the covered days of the upload's sources with its good rows, in one transaction."""
    upload = _claim(upload_id, Upload.Status.LANDING)
    if upload is None:
        return "skipped"
    if upload.covered_from is None or upload.covered_to is None or not upload.sources:
        _fail(upload, "Nothing to land: no row of the file is good.")
        return "failed"
    stream = landing.AD_DAILY if upload.kind == Upload.Kind.AD_PERFORMANCE else landing.OFFLINE_CONVERSION
    size = max(rows_path(upload.pk).stat().st_size, 1)

    def progress(done: int) -> None:
        _progress(upload.pk, "landing", percent=min(99, int(done * 100 / size)))

    with transaction.atomic():
        locked = Upload.objects.select_for_update().get(pk=upload.pk)
        if locked.status != Upload.Status.LANDING:
            return "superseded"
        if stream == landing.AD_DAILY:
            for code, name in upload.sources:
                landing.upload_source_register(code=code, name=f"{name} (upload)")
        result = landing.upload_rows_replace(
            stream=stream,
            sources=[code for code, _ in upload.sources],
            date_from=upload.covered_from,
            date_to=upload.covered_to,
            rows_path=rows_path(upload.pk),
            upload_id=upload.pk,
            progress=progress,
        )
        if result.platforms and result.account_ids:
            enqueue_upload_transform(
                platforms=result.platforms,
                account_ids=result.account_ids,
                date_from=upload.covered_from,
                date_to=upload.covered_to,
            )
        locked.status = Upload.Status.LANDED
        locked.rows_landed, locked.rows_replaced = result.inserted, result.deleted
        locked.finished_at = timezone.now()
        locked.attempts = 0
        locked.save()
    cache.delete(progress_key(upload.pk))
    return "landed"
