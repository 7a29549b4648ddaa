"""TikTok asynchronous report tasks: `report/task/create/`, `report/task/check/`, `report/task/download/`.

  POST report/task/create/   JSON body with the same report selection as report/integrated/get
                             (advertiser_id, report_type BASIC, data_level, dimensions, metrics,
                             start_date, end_date), spans up to `tiktok_max_async_report_days`
                             → data {"task_id": "..."}
  GET  report/task/check/    ?advertiser_id=&task_id= → data {"task_id", "status", "message"};
                             status QUEUING on the first check, PROCESSING until the
                             `tiktok_async_polls_to_complete`-th check, then SUCCESS (or FAILED
                             when the report is over `tiktok_max_rows_per_async_task` rows, or a
                             `job_failed` fault fired on create or check)
  GET  report/task/download/ ?advertiser_id=&task_id= → the report file itself, CSV (text/csv):
                             a header of the dimension then metric names in the order asked, one
                             line per row, every value as its synchronous report string

Errors keep the envelope (HTTP 200, `code`, `message`, `request_id`): an unknown task, one not yet
finished, or one whose file is past `tiktok_async_task_ttl_seconds` (or hit by a `task_expired`
fault) answer 40002; a 40067 on create means even a task may not cover the span. The rows are frozen when the task succeeds (restatement version and today),
so a download equals the synchronous report of that moment.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
from werkzeug.wrappers import Request, Response

from devtools.emulators.config import TIKTOK, AccountSpec
from devtools.emulators.datagen import ACCOUNT, AD_GROUP, CAMPAIGN, to_ordinal
from devtools.emulators.faults import Fault
from devtools.emulators.http import find_fault
from devtools.emulators.state import EmulatorState, ReportRun
from devtools.emulators.tiktok_api import apply_row_faults, call_endpoint, report_cells
from devtools.emulators.tiktok_common import (
    TOO_MUCH_DATA,
    GatewayError,
    TikTokError,
    advertiser,
    check_token,
    common_faults,
    error_response,
    invalid_param,
    params_of,
    token_faults,
)
from devtools.emulators.tiktok_report import ReportRequest, render_rows

_AUTH_KINDS = frozenset({"token_expiry", "revoked_grant"})
_LEVEL = {"AUCTION_ADVERTISER": ACCOUNT, "AUCTION_CAMPAIGN": CAMPAIGN, "AUCTION_ADGROUP": AD_GROUP}


def task_create(state: EmulatorState, request: Request) -> Response:
    def work(spec: AccountSpec, params: dict[str, str], fired: list[Fault]) -> dict[str, Any]:
        req = ReportRequest.parse(state, spec, params, max_days=state.config.tiktok_max_async_report_days)
        model = state.model(TIKTOK, spec.account_id)
        limit = state.config.tiktok_max_rows_per_async_task
        if find_fault(fired, "too_much_data"):
            raise TikTokError(TOO_MUCH_DATA, "The data volume is too large. Please narrow the date range.")
        too_big = limit is not None and report_cells(model, req) > limit
        run = state.new_report_run(spec.account_id, req, fail=too_big or find_fault(fired, "job_failed") is not None)
        return {"task_id": run.id}

    return call_endpoint(state, request, "report.task.create", _AUTH_KINDS | {"job_failed", "too_much_data"}, work)


def _task(state: EmulatorState, spec: AccountSpec, params: dict[str, str]) -> ReportRun:
    task_id = params.get("task_id", "")
    if not task_id:
        raise invalid_param("task_id: Missing data for required field.")
    run = state.report_run(task_id)
    if run is None or run.account_id != spec.account_id or not isinstance(run.params, ReportRequest):
        raise invalid_param(f"task_id: Task {task_id} does not exist.")
    return run


def task_check(state: EmulatorState, request: Request) -> Response:
    def work(spec: AccountSpec, params: dict[str, str], fired: list[Fault]) -> dict[str, Any]:
        run = _task(state, spec, params)
        with state.locked():
            if find_fault(fired, "job_failed") and not run.completed:
                run.fail = True
            run.polls += 1
            if run.fail:
                status = "FAILED"
            elif run.completed or run.polls >= state.config.tiktok_async_polls_to_complete:
                status = "SUCCESS"
                if not run.completed:
                    run.completed = True
                    run.version = state.versions()[TIKTOK]
                    run.today = to_ordinal(state.today())
                    run.completed_at = state.now()
            else:
                status = "QUEUING" if run.polls == 1 else "PROCESSING"
        message = "The report is too large or could not be generated." if status == "FAILED" else ""
        return {"task_id": run.id, "status": status, "message": message}

    return call_endpoint(state, request, "report.task.check", _AUTH_KINDS | {"job_failed"}, work)


def task_download(state: EmulatorState, request: Request) -> Response:
    """The finished task's file as CSV; errors as the usual envelope."""
    state.count_request(TIKTOK, "report.task.download")
    try:
        params = params_of(request)
        fired = common_faults(
            state,
            "report.task.download",
            params.get("advertiser_id"),
            None,
            _AUTH_KINDS | {"bad_row", "duplicate_row", "task_expired"},
        )
        token_faults(state, check_token(state, request), fired)
        spec = advertiser(state, params.get("advertiser_id"))
        run = _task(state, spec, params)
        if not run.completed:
            raise invalid_param(f"task_id: Task {run.id} is not finished yet; check its status first.")
        expired = state.now() - (run.completed_at or 0.0) > state.config.tiktok_async_task_ttl_seconds
        if expired or find_fault(fired, "task_expired"):
            raise invalid_param(f"task_id: The file of task {run.id} has expired. Please create a new task.")
        body = _csv(state, spec, run, fired)
    except (TikTokError, GatewayError) as err:
        return error_response(state, err)
    response = Response(body, 200, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="report_{run.id}.csv"'
    return response


def _csv(state: EmulatorState, spec: AccountSpec, run: ReportRun, fired: list[Fault]) -> bytes:
    req: ReportRequest = run.params
    model = state.model(TIKTOK, spec.account_id)
    window = state.window(TIKTOK, version=run.version, today=run.today)
    ags = np.arange(model.n_ad_groups, dtype=np.int64)
    frame = state.frame(
        TIKTOK, spec.account_id, _LEVEL[req.data_level], to_ordinal(req.start), to_ordinal(req.end), ags, window
    )
    rows = render_rows(model, req, frame)
    apply_row_faults(rows, fired)
    state.count("rows_served", TIKTOK, len(rows))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*req.dimensions, *req.metrics])
    for row in rows:
        dims, metrics = row["dimensions"], row["metrics"]
        # A missing or null value is an empty cell, as in TikTok's files.
        writer.writerow([*(dims.get(d) or "" for d in req.dimensions), *(metrics.get(m) or "" for m in req.metrics)])
    return out.getvalue().encode()
