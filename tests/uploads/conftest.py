"""Fixtures for file uploads: a workspace in the German number format, files on a temporary disk.

Uploads are checked and landed by the real Celery worker (`celery_worker`, committed data) and the
warehouse transform it queues runs there too, so a test reads the unified fact at the end.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from warehouse.services import fx

CSV_DE = (
    "Datum;Kampagne;Konto;Kosten;Impressionen;Klicks;Konversionen;Umsatz\n"
    "01.11.2026;Brand DE;LI-1;1.234,56 €;10.000;250;12;2.500,00 €\n"
    "01.11.2026;Prospecting;LI-1;99,90 €;5.000;80;1;100,00 €\n"
    "02.11.2026;Brand DE;LI-1;1.000,00 €;9.000;200;10;2.000,00 €\n"
    "02.11.2026;Prospecting;LI-1;50,00 €;4.000;60;0;0,00 €\n"
)


def uploaded(name: str, content: bytes | str, encoding: str = "utf-8") -> SimpleUploadedFile:
    data = content.encode(encoding) if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def wait_for(predicate: Callable[[], Any], timeout: float = 60, what: str = "the upload") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def uploads_dir(settings: Any, tmp_path: Path) -> Path:
    settings.UPLOADS_DIR = tmp_path / "uploads"
    return settings.UPLOADS_DIR


def worker_idle(timeout: float = 60) -> None:
    """Wait until the in-process test worker has nothing queued or running (the warehouse run and
    the alert evaluation an upload starts), so the workspace's schema can be dropped."""
    import redis as redis_lib
    from celery.worker import state
    from django.conf import settings

    from bosco.queues import all_queue_names

    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    quiet_since = None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            busy = state.active_requests or state.reserved_requests or any(client.llen(q) for q in all_queue_names())
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 0.6:
                return
            time.sleep(0.1)
    finally:
        client.close()


@pytest.fixture
def ws(make_workspace: Callable[..., Any], uploads_dir: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A workspace (EUR, Europe/Berlin, German number format) whose schema is active in this thread."""
    slug = "upl" + str(abs(hash(request.node.name)) % 10**6)
    workspace = make_workspace(slug, reporting_currency="EUR", time_zone="Europe/Berlin", number_format="de-DE")
    connection.set_tenant(workspace)
    yield workspace
    if "celery_worker" in request.fixturenames:
        worker_idle()
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    connection.set_schema_to_public()


@pytest.fixture
def with_usd_rates(ws: Any) -> Any:
    rates = [r for r in fx.fx_rates_read(source=str(fx.SAMPLE_FILE)) if r.currency == "USD" and r.date.year == 2026]
    fx.fx_rates_load(rates=rates)
    return ws
