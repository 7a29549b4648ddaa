"""Meta Graph / Marketing API: ad accounts, campaigns, ad sets, insights (sync and async).

https://graph.facebook.com/v24.0/...  ↔  {base}/meta/graph/v24.0/...   (any vNN.0 is accepted)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Request, Response

from devtools.emulators.auth import Grant
from devtools.emulators.config import META
from devtools.emulators.datagen import NEVER, AccountModel, from_ordinal, to_ordinal
from devtools.emulators.faults import COMMON_KINDS, Fault
from devtools.emulators.google_query import mutate_row
from devtools.emulators.http import (
    apply_delays,
    apply_row_splits,
    bearer_token,
    dumps,
    find_fault,
    json_response,
    truncate,
)
from devtools.emulators.meta_common import (
    MetaError,
    decode_cursor,
    encode_cursor,
    graph_headers,
    graph_url,
    html_502,
    invalid_param,
    list_param,
    meta_datetime,
    request_params,
    throttle_error,
    unsupported_get,
    usage_headers,
)
from devtools.emulators.meta_insights import (
    InsightsRequest,
    adset_effective,
    campaign_effective,
    compute,
    estimate_rows,
    parse_insights,
    render_rows,
)
from devtools.emulators.meta_oauth import access_token, token_error
from devtools.emulators.state import EmulatorState, ReportRun

_INSIGHTS_ENDPOINTS = frozenset({"insights", "insights.async", "report_run", "report_run.insights"})
_REPORT_KINDS = COMMON_KINDS | {
    "token_expiry",
    "revoked_grant",
    "empty_page",
    "bad_row",
    "too_much_data",
    "duplicate_row",
    "finer_level",
}
_TOO_MUCH = "Please reduce the amount of data you're asking for, then retry your request"
USER_ID = "10000000000000001"


@dataclass
class MetaCall:
    """An authenticated Graph request, with the usage headers its response will carry."""

    state: EmulatorState
    request: Request
    version: str
    endpoint: str
    path: str
    account_id: str | None
    token: str
    grant: Grant
    params: dict[str, str]
    trace: str
    headers: dict[str, str] = field(default_factory=dict)

    def respond(self, body: Any, status: int = 200) -> Response:
        return json_response(body, status, {**graph_headers(self.trace, self.version), **self.headers})

    def faults(self, page: int, kinds: frozenset[str] = _REPORT_KINDS) -> list[Fault]:
        """Take this request's faults; raise (or return a 502 page) for terminal ones."""
        fired = self.state.take_faults(META, self.endpoint, self.account_id, page, kinds)
        apply_delays(self.state, fired)
        if find_fault(fired, "html_502"):
            raise _HtmlError(502)
        if fault := find_fault(fired, "server_error"):
            status = int(fault.param("status"))
            if status in (502, 504):
                raise _HtmlError(status)
            if status == 503:
                raise MetaError(
                    "An unexpected error has occurred. Please retry your request later.",
                    2,
                    is_transient=True,
                    http_status=503,
                )
            raise MetaError("An unknown error occurred", 1, subcode=99, is_transient=True, http_status=500)
        if fault := find_fault(fired, "rate_limit"):
            code = int(fault.param("code") or (80000 if self.endpoint in _INSIGHTS_ENDPOINTS else 80004))
            err = throttle_error(code)
            err.http_status = int(fault.param("status") or 400)
            regain = max(1, math.ceil(int(fault.param("retry_after")) / 60))
            kind = "ads_insights" if self.endpoint in _INSIGHTS_ENDPOINTS else "ads_management"
            if fault.param("regain"):
                self.headers = usage_headers(self.state, self.account_id, kind, record=False, regain_override=regain)
            else:  # throttled, and no word on when access comes back
                self.headers = {}
            raise err
        if find_fault(fired, "token_expiry"):
            self.state.expire_token(self.token)
            raise token_error(self.state, "expired", self.token)
        if find_fault(fired, "revoked_grant"):
            self.state.revoke(token=self.token)
            raise token_error(self.state, "revoked", self.token)
        if find_fault(fired, "too_much_data"):
            raise MetaError(_TOO_MUCH, 1, http_status=500)
        return fired


class _HtmlError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _classify(parts: list[str], method: str) -> tuple[str, str | None]:
    """(endpoint name, ad account id) for a Graph path."""
    head = parts[0]
    if parts == ["oauth", "access_token"]:
        return "oauth.access_token", None
    if head == "me":
        if len(parts) == 1:
            return "me", None
        if parts[1:] == ["adaccounts"]:
            return "adaccounts", None
        if parts[1:] == ["permissions"] and method == "DELETE":
            return "permissions.delete", None
    if head.startswith("act_"):
        account = head[4:]
        if len(parts) == 1:
            return "account", account
        if len(parts) == 2 and parts[1] in ("campaigns", "adsets"):
            return parts[1], account
        if len(parts) == 2 and parts[1] == "insights":
            return ("insights.async" if method == "POST" else "insights"), account
    if head.isdigit():
        if len(parts) == 1:
            return "report_run", None
        if parts[1:] == ["insights"]:
            return "report_run.insights", None
    return "unknown", None


def graph(state: EmulatorState, request: Request, version: str, path: str) -> Response:
    parts = [p for p in path.split("/") if p]
    endpoint, account = _classify(parts or [""], request.method)
    if endpoint == "oauth.access_token":
        return access_token(state, request, version)
    trace = state.next_id(11)
    state.count_request(META, endpoint)
    state.sleep(state.config.latency_seconds)
    call: MetaCall | None = None
    try:
        call = _authenticate(state, request, version, endpoint, "/".join(parts), account)
        handler = _HANDLERS.get(endpoint)
        if handler is None:
            raise unsupported_get(parts[0] if parts else "")
        return handler(call)
    except _HtmlError as exc:
        return (
            html_502()
            if exc.status == 502
            else Response("<html><body>Gateway Timeout</body></html>", exc.status, content_type="text/html")
        )
    except MetaError as err:
        return err.to_response(trace, version, call.headers if call else None)


def _authenticate(
    state: EmulatorState, request: Request, version: str, endpoint: str, path: str, account: str | None
) -> MetaCall:
    minimum = state.config.meta_min_api_version
    if minimum is not None and int(version[1:].split(".")[0]) < minimum:
        raise MetaError(
            f"(#2635) You are calling a deprecated version of the Ads API. Please update to the latest version: v{minimum}.0.",
            2635,
        )
    params = request_params(request)
    token = params.get("access_token") or bearer_token(request)
    if not token:
        if endpoint == "me" or endpoint == "adaccounts":
            raise MetaError("An active access token must be used to query information about the current user.", 2500)
        raise MetaError("An access token is required to request this resource.", 104)
    with state.locked():
        status, _access, grant = state.tokens.check(token, META)
    if status != "ok" or grant is None:
        raise token_error(state, status, token)
    call = MetaCall(state, request, version, endpoint, path, account, token, grant, params, state.next_id(11))
    if account is not None:
        if state.account(META, account) is None:
            raise unsupported_get(f"act_{account}")
        if not {"ads_read", "ads_management"} & set(grant.scopes):
            raise MetaError(
                "(#200) Ad account owner has NOT grant ads_management or ads_read permission",
                200,
                type_="OAuthException",
            )
        kind = "ads_insights" if endpoint in _INSIGHTS_ENDPOINTS else "ads_management"
        if state.config.meta_enforce_rate_limit:
            pct, regain = state.meta_usage(account, kind, record=False)
            if pct >= 100:
                call.headers = usage_headers(state, account, kind, record=False, regain_override=regain)
                raise throttle_error(80000 if kind == "ads_insights" else 80004)
        call.headers = usage_headers(state, account, kind, record=True)
    return call


# ---------------------------------------------------------------------------- paging
def _limit(call: MetaCall) -> int:
    raw = call.params.get("limit")
    if raw is None or raw == "":
        return call.state.config.meta_default_limit
    if not str(raw).isdigit() or int(raw) < 1:
        raise invalid_param("param limit must be a positive integer")
    return int(raw)


def _window(call: MetaCall, total: int) -> tuple[int, int]:
    limit = _limit(call)
    if call.params.get("after"):
        start = decode_cursor(call.params["after"]) + 1
    elif call.params.get("before"):
        start = max(0, decode_cursor(call.params["before"]) - limit)
    else:
        start = 0
    start = max(0, min(start, total))
    return start, min(total, start + limit)


def _page_number(call: MetaCall) -> int:
    """1-based page index a request asks for, known before any data is computed."""
    limit = _limit(call)
    if call.params.get("after"):
        return (decode_cursor(call.params["after"]) + 1) // limit + 1
    if call.params.get("before"):
        return max(0, decode_cursor(call.params["before"]) - limit) // limit + 1
    return 1


def _paged_body(call: MetaCall, rows: list[str], start: int, stop: int, total: int, stay: bool = False) -> str:
    """`{"data": [...], "paging": {...}}`; `next` is absent on the last page, as on Graph."""
    if total == 0:
        return '{"data":[]}'
    base = {k: v for k, v in call.request.args.items() if k not in ("after", "before")}
    if stay:  # empty_page fault: an empty page that still points at the same rows
        before_c = after_c = encode_cursor(start - 1) if start > 0 else None
        paging: dict[str, Any] = {
            "cursors": {"before": before_c or encode_cursor(0), "after": after_c or encode_cursor(0)}
        }
        nxt = dict(base)
        if start > 0:
            nxt["after"] = encode_cursor(start - 1)
        paging["next"] = graph_url(call.request, call.version, call.path, nxt)
        return '{"data":[],"paging":' + dumps(paging) + "}"
    paging = {"cursors": {"before": encode_cursor(start), "after": encode_cursor(max(start, stop - 1))}}
    if start > 0:
        paging["previous"] = graph_url(call.request, call.version, call.path, {**base, "before": encode_cursor(start)})
    if stop < total:
        paging["next"] = graph_url(call.request, call.version, call.path, {**base, "after": encode_cursor(stop - 1)})
    return '{"data":[' + ",".join(rows) + '],"paging":' + dumps(paging) + "}"


def _apply_bad_row(rows: list[str], faults: list[Fault]) -> None:
    fault = find_fault(faults, "bad_row")
    if fault is None or not rows:
        return
    index = min(int(fault.param("row") or 0), len(rows) - 1)
    rows[index] = mutate_row(rows[index], str(fault.param("field") or "spend"), str(fault.param("mode")), camel=False)


# ---------------------------------------------------------------------------- entities
def _fields(call: MetaCall, allowed: dict[str, Callable[[int], Any]], node_type: str) -> list[str]:
    names = list_param(call.params, "fields") or ["id"]
    for name in names:
        if name not in allowed:
            raise invalid_param(f"Tried accessing nonexisting field ({name}) on node type ({node_type})")
    return names


def _render_objects(names: list[str], getters: dict[str, Callable[[int], Any]], indices: list[int]) -> list[str]:
    rows = []
    for i in indices:
        obj = {}
        for name in names:
            value = getters[name](i)
            if value is not None:
                obj[name] = value
        rows.append(dumps(obj))
    return rows


def _account_getters(state: EmulatorState) -> dict[str, Callable[[int], Any]]:
    specs = state.config.meta_accounts

    def tz_offset(i: int) -> int:
        offset = datetime.now(ZoneInfo(specs[i].time_zone)).utcoffset() or timedelta(0)
        return int(offset.total_seconds() // 3600)

    return {
        "id": lambda i: f"act_{specs[i].account_id}",
        "account_id": lambda i: specs[i].account_id,
        "name": lambda i: specs[i].name,
        "currency": lambda i: specs[i].currency,
        "timezone_name": lambda i: specs[i].time_zone,
        "timezone_offset_hours_utc": tz_offset,
        "account_status": lambda i: 1,
        "business_country_code": lambda i: specs[i].country.replace("UK", "GB"),
    }


def _list_response(
    call: MetaCall, names: list[str], getters: dict[str, Callable[[int], Any]], indices: list[int]
) -> Response:
    total = len(indices)
    faults = call.faults(_page_number(call))
    start, stop = _window(call, total)
    if find_fault(faults, "empty_page"):
        body = _paged_body(call, [], start, stop, total, stay=True)
    else:
        rows = _render_objects(names, getters, indices[start:stop])
        _apply_bad_row(rows, faults)
        apply_row_splits(rows, faults, finer_default="ad_id", camel=False)
        body = _paged_body(call, rows, start, stop, total)
    return truncate(call.respond(body), find_fault(faults, "truncated_json"))


def _me(call: MetaCall) -> Response:
    getters: dict[str, Callable[[int], Any]] = {"id": lambda _: USER_ID, "name": lambda _: "Bosco Demo User"}
    names = _fields(call, getters, "User")
    faults = call.faults(1)
    body = _render_objects(names, getters, [0])[0]
    return truncate(call.respond(body), find_fault(faults, "truncated_json"))


def _permissions_delete(call: MetaCall) -> Response:
    """`DELETE /me/permissions`: the user withdraws the app's access (Meta's revocation)."""
    call.state.revoke(token=call.token)
    return call.respond({"success": True})


def _adaccounts(call: MetaCall) -> Response:
    getters = _account_getters(call.state)
    names = _fields(call, getters, "AdAccount")
    return _list_response(call, names, getters, list(range(len(call.state.config.meta_accounts))))


def _account(call: MetaCall) -> Response:
    getters = _account_getters(call.state)
    names = _fields(call, getters, "AdAccount")
    faults = call.faults(1)
    index = next(i for i, s in enumerate(call.state.config.meta_accounts) if s.account_id == call.account_id)
    body = _render_objects(names, getters, [index])[0]
    return truncate(call.respond(body), find_fault(faults, "truncated_json"))


def _when(model: AccountModel, ordinal: int, hour: int) -> str:
    day = from_ordinal(ordinal)
    moment = datetime(day.year, day.month, day.day, hour, 0, tzinfo=ZoneInfo(model.spec.time_zone))
    return meta_datetime(moment.astimezone(UTC), model.spec.time_zone)


def _status_filter(call: MetaCall) -> set[str] | None:
    statuses = list_param(call.params, "effective_status")
    if statuses is not None:
        return set(statuses)
    raw = call.params.get("filtering")
    if raw:
        try:
            for rule in json.loads(raw):
                if rule.get("field") == "effective_status" and str(rule.get("operator", "")).upper() == "IN":
                    return {str(v) for v in rule.get("value", [])}
        except (ValueError, AttributeError) as exc:
            raise invalid_param("param filtering must be an array of {field, operator, value} objects") from exc
    return None


def _campaigns(call: MetaCall) -> Response:
    assert call.account_id is not None
    model = call.state.model(META, call.account_id)
    effective = campaign_effective(model)
    budget_unit = 10**model.decimals

    def stop_time(i: int) -> str | None:
        end = int(model.campaign_end[i])
        return None if end >= NEVER else _when(model, end, 23)

    getters: dict[str, Callable[[int], Any]] = {
        "id": lambda i: str(int(model.campaign_ids[i])),
        "name": lambda i: model.campaign_names[i],
        "account_id": lambda i: model.spec.account_id,
        "objective": lambda i: str(model.campaign_kind[i]),
        "status": lambda i: str(effective[i]),
        "configured_status": lambda i: str(effective[i]),
        "effective_status": lambda i: str(effective[i]),
        "buying_type": lambda i: "AUCTION",
        "daily_budget": lambda i: str(
            int(round(float(model.base_spend[i]) * 1.3 * budget_unit, -2 if budget_unit > 1 else 1))
        ),
        "created_time": lambda i: _when(model, int(model.campaign_start[i]) - 2, 10),
        "start_time": lambda i: _when(model, int(model.campaign_start[i]), 0),
        "stop_time": stop_time,
        "updated_time": lambda i: _when(model, min(int(model.campaign_end[i]), model.anchor), 9),
    }
    names = _fields(call, getters, "Campaign")
    wanted = _status_filter(call) or {"ACTIVE", "PAUSED"}
    indices = [i for i in range(model.n_campaigns) if effective[i] in wanted]
    return _list_response(call, names, getters, indices)


def _adsets(call: MetaCall) -> Response:
    assert call.account_id is not None
    model = call.state.model(META, call.account_id)
    effective = adset_effective(model)
    own = {"ENABLED": "ACTIVE", "PAUSED": "PAUSED", "REMOVED": "ARCHIVED"}
    budget_unit = 10**model.decimals

    def end_time(g: int) -> str | None:
        end = int(model.ag_end[g])
        return None if end >= NEVER else _when(model, end, 23)

    getters: dict[str, Callable[[int], Any]] = {
        "id": lambda g: str(int(model.ag_ids[g])),
        "name": lambda g: model.ag_names[g],
        "account_id": lambda g: model.spec.account_id,
        "campaign_id": lambda g: str(int(model.campaign_ids[model.ag_campaign[g]])),
        "status": lambda g: own[str(model.ag_state[g])],
        "configured_status": lambda g: own[str(model.ag_state[g])],
        "effective_status": lambda g: str(effective[g]),
        "optimization_goal": lambda g: "OFFSITE_CONVERSIONS",
        "billing_event": lambda g: "IMPRESSIONS",
        "daily_budget": lambda g: str(
            int(
                round(
                    float(model.base_spend[model.ag_campaign[g]] * model.ag_share[g]) * 1.3 * budget_unit,
                    -2 if budget_unit > 1 else 1,
                )
            )
        ),
        "created_time": lambda g: _when(model, int(model.ag_start[g]) - 1, 11),
        "start_time": lambda g: _when(model, int(model.ag_start[g]), 0),
        "end_time": end_time,
    }
    names = _fields(call, getters, "AdSet")
    wanted = _status_filter(call) or {"ACTIVE", "PAUSED", "CAMPAIGN_PAUSED"}
    indices = [g for g in range(model.n_ad_groups) if effective[g] in wanted]
    return _list_response(call, names, getters, indices)


# ---------------------------------------------------------------------------- insights
def _insights(call: MetaCall) -> Response:
    assert call.account_id is not None
    req = parse_insights(call.state, call.account_id, call.params)
    faults = call.faults(_page_number(call))
    limit = call.state.config.meta_max_rows_per_sync_request
    if limit is not None and estimate_rows(call.state, req) > limit:
        raise MetaError(_TOO_MUCH, 1, http_status=500)
    frame = compute(call.state, req)
    call.state.note_report_call(META)
    return _insights_page(call, req, frame, faults)


def _insights_page(call: MetaCall, req: InsightsRequest, frame: Any, faults: list[Fault]) -> Response:
    total = len(frame)
    start, stop = _window(call, total)
    if find_fault(faults, "empty_page"):
        body = _paged_body(call, [], start, stop, total, stay=True)
    else:
        rows = render_rows(call.state, req, frame, start, stop)
        _apply_bad_row(rows, faults)
        apply_row_splits(rows, faults, finer_default="ad_id", camel=False)
        call.state.count("rows_served", META, len(rows))
        body = _paged_body(call, rows, start, stop, total)
    return truncate(call.respond(body), find_fault(faults, "truncated_json"))


def _insights_async(call: MetaCall) -> Response:
    assert call.account_id is not None
    req = parse_insights(call.state, call.account_id, call.params)
    faults = call.faults(1, _REPORT_KINDS | {"job_failed"})
    limit = call.state.config.meta_max_rows_per_async_job
    too_big = limit is not None and estimate_rows(call.state, req) > limit
    run = call.state.new_report_run(call.account_id, req, fail=too_big or find_fault(faults, "job_failed") is not None)
    call.state.note_report_call(META)
    return truncate(call.respond({"report_run_id": run.id}), find_fault(faults, "truncated_json"))


def _run_status(state: EmulatorState, run: ReportRun) -> tuple[str, int]:
    """Deterministic lifecycle driven by polls; 100% shows up one poll before completion."""
    total = state.config.meta_async_polls_to_complete
    i = run.polls
    if run.fail:
        fail_at = max(1, min(2, total - 1))
        if i >= fail_at:
            return "Job Failed", min(100, round(100 * (fail_at - 1) / max(1, total - 1)))
    if run.completed or i >= total:
        return "Job Completed", 100
    if i <= 1:
        return "Job Not Started", 0
    if i == total - 1:
        return "Job Running", 100
    if i == 2:
        return "Job Started", round(100 * (i - 1) / (total - 1))
    return "Job Running", round(100 * (i - 1) / (total - 1))


def _find_run(call: MetaCall) -> ReportRun:
    run_id = call.path.split("/")[0]
    run = call.state.report_run(run_id)
    if run is None:
        raise unsupported_get(run_id)
    call.account_id = run.account_id
    call.headers = usage_headers(call.state, run.account_id, "ads_insights", record=True)
    return run


def _report_run(call: MetaCall) -> Response:
    run = _find_run(call)
    faults = call.faults(1, _REPORT_KINDS | {"job_failed"})
    state = call.state
    with state.locked():
        if find_fault(faults, "job_failed") and not run.completed:
            run.fail = True
        run.polls += 1
        status, pct = _run_status(state, run)
        if status == "Job Completed" and not run.completed:
            run.completed = True
            run.version = state.versions()[META]
            run.today = to_ordinal(state.today())
            run.completed_at = state.now()
    req: InsightsRequest = run.params
    body: dict[str, Any] = {
        "id": run.id,
        "account_id": run.account_id,
        "time_ref": int(run.created_at),
        "async_status": status,
        "async_percent_completion": pct,
        "is_running": status in ("Job Started", "Job Running"),
        "date_start": req.since.isoformat(),
        "date_stop": req.until.isoformat(),
    }
    if status == "Job Completed":
        body["time_completed"] = int(run.completed_at or run.created_at)
    return truncate(call.respond(body), find_fault(faults, "truncated_json"))


def _report_run_insights(call: MetaCall) -> Response:
    run = _find_run(call)
    faults = call.faults(_page_number(call), _REPORT_KINDS | {"report_not_ready"})
    if fault := find_fault(faults, "report_not_ready"):
        # Meta sometimes answers 2601 for a job it already called complete: it needs polling again.
        with call.state.locked():
            run.completed = False
            run.polls = max(0, call.state.config.meta_async_polls_to_complete - int(fault.param("polls")))
    if not run.completed:
        raise MetaError(
            "Error accessing adreport job.",
            2601,
            subcode=1815107,
            is_transient=True,
            user_title="Loading Async Ads Report Failed",
            user_msg="Sorry, the report cannot be loaded successfully. Please check if your job status is completed "
            "instead of failed or running before fetching the data.",
        )
    req: InsightsRequest = run.params
    frame = compute(call.state, req, version=run.version, today=run.today)
    return _insights_page(call, req, frame, faults)


_HANDLERS: dict[str, Callable[[MetaCall], Response]] = {
    "me": _me,
    "permissions.delete": _permissions_delete,
    "adaccounts": _adaccounts,
    "account": _account,
    "campaigns": _campaigns,
    "adsets": _adsets,
    "insights": _insights,
    "insights.async": _insights_async,
    "report_run": _report_run,
    "report_run.insights": _report_run_insights,
}
