"""TikTok's asynchronous report tasks, for daily chunks too large for the synchronous report.

A chunk goes through a task when its estimate (days × the advertiser's ad groups) is above
`CONNECTORS_TIKTOK_ASYNC_MIN_ROWS`, or when the synchronous report answers 40067 ("too much
data"). `report/task/create/` (POST, the same report selection) returns a `task_id`; the job id
Bosco saves with the cursor is `<advertiser_id>:<task_id>`, so a resumed run polls the same task
instead of creating another. `report/task/check/` is polled with a growing interval until
`SUCCESS`; past `CONNECTORS_TIKTOK_POLL_TIMEOUT` the worker is freed and the run resumes polling
later (`Deferred`). `report/task/download/` answers the file itself, CSV with a header row; its
rows become the same `{"dimensions", "metrics"}` objects the synchronous report sends, so they
pass the same validation and land the same way, as one page whose commit moves the cursor.

A task that ends `FAILED` fails the run with a clear message (nothing of the chunk landed; the
next sync asks again). A check or download refused for the task itself (expired file, unknown
task: TikTok's invalid-parameter answer) restarts the chunk with a new task, a bounded number of
times (`CursorExpired`).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
from django.conf import settings

from connectors.errors import CursorExpired, Deferred, PlatformRejected, ReportFailed
from connectors.http import ApiSession, parse_json, wait
from connectors.platforms import validation as v

LABEL = "TikTok"
DIMENSIONS = ("adgroup_id", "stat_time_day")
STATUSES = frozenset({"QUEUING", "PROCESSING", "SUCCESS", "FAILED", "CANCELED"})


def job_id_of(advertiser_id: str, task_id: str) -> str:
    return f"{advertiser_id}:{task_id}"


def split_job_id(job_id: str) -> tuple[str, str]:
    advertiser_id, _, task_id = job_id.partition(":")
    if not advertiser_id.isdigit() or not task_id.isdigit():
        raise CursorExpired(f"the saved TikTok report task {job_id!r} is not <advertiser>:<task>")
    return advertiser_id, task_id


def task_data(body: Any, where: str) -> dict[str, Any]:
    """`data` of a task answer (create or check), which has no `list`."""
    if not isinstance(body, dict):
        raise v.envelope_error(where, LABEL, f"the response should be a JSON object, got {v.describe(body)}")
    if body.get("code") != 0:
        raise v.envelope_error(where, LABEL, f"code should be 0, got {v.describe(body.get('code'))}")
    data = body.get("data")
    if not isinstance(data, dict):
        raise v.envelope_error(where, LABEL, f"data should be an object, got {v.describe(data)}")
    return data


def task_gone(exc: PlatformRejected, job_id: str) -> CursorExpired:
    """A plain refusal of a saved task (not a permission error): it expired or never existed."""
    return CursorExpired(f"TikTok report task {job_id} can no longer be read: {exc.message}")


def download_body(where: str) -> Callable[[httpx.Response], str]:
    """The download answers a file; a JSON body here is an envelope where a file was expected."""

    def parse(response: httpx.Response) -> str:
        content_type = response.headers.get("content-type", "").lower()
        if "csv" not in content_type:
            body = parse_json(response, what=where, platform_label=LABEL)
            raise v.envelope_error(where, LABEL, f"expected the report file (CSV), got {v.describe(body)}")
        try:
            return response.content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise v.envelope_error(where, LABEL, "the report file is not UTF-8 text") from exc

    return parse


def rows_from_csv(text: str, where: str) -> list[dict[str, Any]]:
    """CSV lines → `{"dimensions": {...}, "metrics": {...}}`, as the synchronous report sends them.

    The header must name every column once; a line with another number of cells rejects the
    whole file. Empty cells become null, which the row validation then refuses for a metric.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise v.envelope_error(where, LABEL, "the report file is empty (no header line)") from None
    except csv.Error as exc:
        raise v.envelope_error(where, LABEL, f"the report file is not CSV ({exc})") from exc
    if len(set(header)) != len(header):
        raise v.envelope_error(where, LABEL, f"the report file's header repeats a column: {header[:20]}")
    missing = [d for d in DIMENSIONS if d not in header]
    if missing:
        raise v.envelope_error(where, LABEL, f"the report file has no {', '.join(missing)} column")
    rows: list[dict[str, Any]] = []
    try:
        for line, cells in enumerate(reader, start=2):
            if not cells:
                continue  # a trailing blank line
            if len(cells) != len(header):
                raise v.envelope_error(
                    where, LABEL, f"line {line} of the report file has {len(cells)} cells, the header {len(header)}"
                )
            values = {name: cell if cell != "" else None for name, cell in zip(header, cells, strict=True)}
            dims = {d: values.pop(d) for d in DIMENSIONS}
            rows.append({"dimensions": dims, "metrics": values})
    except csv.Error as exc:
        raise v.envelope_error(where, LABEL, f"the report file is not CSV ({exc})") from exc
    return rows


def poll_task(session: ApiSession, check: Callable[[], str], *, job_id: str) -> None:
    """Call `check()` (one report/task/check/, returning the status) until SUCCESS, with backoff."""
    base = float(settings.CONNECTORS_TIKTOK_POLL_INTERVAL)
    interval = base
    deadline = time.monotonic() + float(settings.CONNECTORS_TIKTOK_POLL_TIMEOUT)
    while True:
        status = check()
        if status == "SUCCESS":
            return
        if status in ("FAILED", "CANCELED"):
            raise ReportFailed(
                f"TikTok report task {job_id} ended {status}",
                user_message=(
                    f"TikTok could not prepare a large report (task {job_id.partition(':')[2]} ended {status}). Nothing "
                    "of that date range was saved and data synced before is kept; the next sync asks again. If it "
                    "keeps failing, contact support."
                ),
            )
        if time.monotonic() > deadline:
            # The task id is saved with the cursor: free the worker and poll the same task later.
            raise Deferred(
                f"TikTok report task {job_id} still {status} after the polling timeout",
                retry_after=max(60.0, base * 10),
                user_message="TikTok is still preparing a large report; the sync picks it up again by itself in a minute or two.",
            )
        wait(interval, reason="TikTok report task", stats=session.stats, policy=session.policy)
        interval = min(interval * 1.5, base * 10)


def check_status(data: dict[str, Any], where: str) -> str:
    status = data.get("status")
    if status not in STATUSES:
        raise v.envelope_error(where, LABEL, f"status should be one of {sorted(STATUSES)}, got {v.describe(status)}")
    return str(status)


def span_days(date_from: date, date_to: date) -> int:
    return (date_to - date_from).days + 1
