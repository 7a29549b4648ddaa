"""Google Analytics 4: the Admin API's property list and the Data API's reports.

  https://analyticsadmin.googleapis.com/v1beta/accountSummaries      ↔ {base}/ga4/admin/v1beta/accountSummaries
  https://analyticsadmin.googleapis.com/v1beta/properties/{id}       ↔ {base}/ga4/admin/v1beta/properties/{id}
  https://analyticsdata.googleapis.com/v1beta/properties/{id}:runReport        ↔ {base}/ga4/data/v1beta/...
  https://analyticsdata.googleapis.com/v1beta/properties/{id}:batchRunReports  ↔ {base}/ga4/data/v1beta/...

Tokens come from the Google OAuth emulator and must carry the `analytics.readonly` scope.
Reports have the Data API's shape: `dimensionHeaders`, `metricHeaders` (with types), rows of
`dimensionValues` / `metricValues` whose values are all strings, `rowCount` (all rows, not the
page), `metadata` (`currencyCode`, `timeZone`, and `dataLossFromOtherRow`,
`subjectToThresholding`, `samplingMetadatas` when they apply) and, when `returnPropertyQuota` is
set, `propertyQuota`. Paging is `offset` / `limit`. Errors are google.rpc.Status envelopes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from devtools.emulators.auth import GA4_SCOPE
from devtools.emulators.config import GA4, GOOGLE_ADS, AccountSpec, currency_decimals
from devtools.emulators.faults import COMMON_KINDS, Fault
from devtools.emulators.ga4_data import METRICS, TrafficRow, money_text, traffic
from devtools.emulators.http import (
    GOOGLE_502_HTML,
    apply_delays,
    bearer_token,
    find_fault,
    html_response,
    json_response,
    truncate,
)
from devtools.emulators.http import json_body as read_json
from devtools.emulators.state import EmulatorState

ANALYTICS_SCOPE = GA4_SCOPE
ACCOUNT_ID = "123456789"
DIMENSIONS = {
    "date": lambda r: r.day.strftime("%Y%m%d"),
    "sessionDefaultChannelGroup": lambda r: r.channel,
    "sessionSource": lambda r: r.source,
    "sessionMedium": lambda r: r.medium,
    "sessionSourceMedium": lambda r: f"{r.source} / {r.medium}",
    "sessionCampaignName": lambda r: r.campaign,
}
METRIC_TYPES = dict.fromkeys(METRICS, "TYPE_INTEGER") | {"purchaseRevenue": "TYPE_CURRENCY"}
_SCHEMA_LINK = "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
_RELATIVE = re.compile(r"^(?P<n>\d+)daysAgo$")
_KINDS = COMMON_KINDS | {
    "token_expiry",
    "revoked_grant",
    "permission_denied",
    "quota_exhausted",
    "missing_headers",
    "sampled",
    "bad_row",
    "duplicate_row",
}
# Kinds that spoil one report: in a batch each report takes its own, by its page (offset ÷ limit + 1).
_REPORT_KINDS = frozenset({"quota_exhausted", "missing_headers", "sampled", "bad_row", "duplicate_row"})


class ApiError(Exception):
    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message

    def response(self) -> Response:
        return json_response({"error": {"code": self.code, "message": self.message, "status": self.status}}, self.code)


class Html502(Exception):
    pass


def _invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", message)


def _permission_denied() -> ApiError:
    return ApiError(
        403,
        "PERMISSION_DENIED",
        "User does not have sufficient permissions for this property. To learn more about Property ID, see "
        "https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.",
    )


def _call(
    state: EmulatorState,
    request: Request,
    endpoint: str,
    property_id: str | None,
    work: Callable[[list[Fault]], Any],
    kinds: frozenset[str] = _KINDS,
) -> Response:
    """Shared prelude: count, faults, the Google token and its scope; then `work(fired)`."""
    state.count_request(GA4, endpoint)
    fired: list[Fault] = []
    try:
        page = _page_of(_json_or_none(request), endpoint)
        fired = state.take_faults(GA4, endpoint, property_id, page, kinds)
        apply_delays(state, fired)
        if find_fault(fired, "html_502"):
            raise Html502
        if fault := find_fault(fired, "server_error"):
            status = int(fault.param("status"))
            if status in (502, 504):
                raise Html502
            raise ApiError(
                status, "INTERNAL" if status == 500 else "UNAVAILABLE", "The service is currently unavailable."
            )
        if fault := find_fault(fired, "rate_limit"):
            raise ApiError(429, "RESOURCE_EXHAUSTED", "Too many requests. Try again later.")
        _check_token(state, request, fired)
        if find_fault(fired, "permission_denied"):
            raise _permission_denied()
        body = work(fired)
    except ApiError as err:
        return err.response()
    except Html502:
        return html_response(GOOGLE_502_HTML, 502)
    return truncate(json_response(body), find_fault(fired, "truncated_json"))


def _json_or_none(request: Request) -> Any:
    try:
        return read_json(request)
    except ValueError:
        return None


def _page_of(body: Any, endpoint: str = "runReport") -> int | None:
    """The page a report asks for; a batch's faults are scoped by its first report's page."""
    try:
        if endpoint == "batchRunReports":
            body = body["requests"][0]
        elif endpoint != "runReport":
            return None
        limit = int(body.get("limit") or 10_000)
        return int(body.get("offset") or 0) // max(1, limit) + 1
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        return None


def _check_token(state: EmulatorState, request: Request, fired: list[Fault]) -> None:
    token = bearer_token(request)
    with state.locked():
        if token and find_fault(fired, "revoked_grant"):
            state.tokens.revoke_token(token)
        if token and find_fault(fired, "token_expiry"):
            state.tokens.expire(token)
        status, _access, grant = state.tokens.check(token or "", GOOGLE_ADS)
    if status != "ok" or grant is None:
        raise ApiError(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
            "valid authentication credential.",
        )
    if ANALYTICS_SCOPE not in grant.scopes:
        raise ApiError(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.")


def _property(state: EmulatorState, property_id: str) -> AccountSpec:
    spec = state.account(GA4, property_id)
    if spec is None:
        raise _permission_denied()
    return spec


# ---------------------------------------------------------------------------- Admin API


def account_summaries(state: EmulatorState, request: Request) -> Response:
    def work(fired: list[Fault]) -> Any:
        props = [
            {
                "property": f"properties/{p.account_id}",
                "displayName": p.name,
                "propertyType": "PROPERTY_TYPE_ORDINARY",
                "parent": f"accounts/{ACCOUNT_ID}",
            }
            for p in state.config.ga4_properties
        ]
        return {
            "accountSummaries": [
                {
                    "name": f"accountSummaries/{ACCOUNT_ID}",
                    "account": f"accounts/{ACCOUNT_ID}",
                    "displayName": "Bosco Demo",
                    "propertySummaries": props,
                }
            ]
        }

    return _call(state, request, "accountSummaries", None, work)


def get_property(state: EmulatorState, request: Request, property_id: str) -> Response:
    def work(fired: list[Fault]) -> Any:
        p = _property(state, property_id)
        return {
            "name": f"properties/{p.account_id}",
            "propertyType": "PROPERTY_TYPE_ORDINARY",
            "createTime": "2023-03-14T09:26:53.162Z",
            "updateTime": "2025-06-02T12:00:00.000Z",
            "parent": f"accounts/{ACCOUNT_ID}",
            "displayName": p.name,
            "industryCategory": "SHOPPING",
            "timeZone": p.time_zone,
            "currencyCode": p.currency,
            "serviceLevel": "GOOGLE_ANALYTICS_STANDARD",
            "account": f"accounts/{ACCOUNT_ID}",
        }

    return _call(state, request, "accountSummaries", property_id, work)


# ---------------------------------------------------------------------------- Data API


def run_report(state: EmulatorState, request: Request, property_id: str) -> Response:
    def work(fired: list[Fault]) -> Any:
        try:
            body = read_json(request)
        except ValueError as exc:
            raise _invalid(str(exc)) from exc
        return _report(state, _property(state, property_id), body, fired)

    return _call(state, request, "runReport", property_id, work)


def batch_run_reports(state: EmulatorState, request: Request, property_id: str) -> Response:
    def work(fired: list[Fault]) -> Any:
        try:
            body = read_json(request)
        except ValueError as exc:
            raise _invalid(str(exc)) from exc
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise _invalid("requests must not be empty.")
        if len(requests) > 5:
            raise _invalid("Requests is limited to 5 in a batch.")
        prop = _property(state, property_id)
        reports = []
        for item in requests:
            if not isinstance(item, dict):
                raise _invalid("Each request must be a RunReportRequest.")
            named = item.get("property")
            if named and named != f"properties/{property_id}":
                raise _invalid("The property in each request must be empty or match the batch's property.")
            # GA4 answers a batch whole or not at all: a report that fails (quota, a bad
            # request) fails the batch with that report's error; flawed data stays in its report.
            own = state.take_faults(GA4, "batchRunReports", property_id, _page_of(item), _REPORT_KINDS)
            reports.append(_report(state, prop, item, own))
        return {"reports": reports, "kind": "analyticsData#batchRunReports"}

    return _call(state, request, "batchRunReports", property_id, work, _KINDS - _REPORT_KINDS)


def _day(value: Any, today: date) -> date:
    text = str(value or "")
    if text == "today":
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    if m := _RELATIVE.match(text):
        return today - timedelta(days=int(m["n"]))
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise _invalid(f"Invalid date: '{text}'. Use YYYY-MM-DD, NdaysAgo, yesterday, or today.") from exc


def _names(items: Any, what: str, known: dict[str, Any] | tuple[str, ...]) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise _invalid(f"{what}s must be a list.")
    names = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        if name not in known:
            raise _invalid(
                f"Field {name} is not a valid {what}. For a list of valid dimensions and metrics, see {_SCHEMA_LINK}"
            )
        if name in names:
            raise _invalid(f"Duplicate {what} name: {name}.")
        names.append(str(name))
    return names


def _int(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise _invalid(f"Invalid value for {name}: {value!r}") from exc


def _report(state: EmulatorState, prop: AccountSpec, body: dict[str, Any], fired: list[Fault]) -> dict[str, Any]:
    config = state.config
    dims = _names(body.get("dimensions"), "dimension", DIMENSIONS)
    metrics = _names(body.get("metrics"), "metric", tuple(METRICS))
    if not metrics:
        raise _invalid("A report must request at least one metric.")
    if len(dims) > 9 or len(metrics) > 10:
        raise _invalid("Requests are limited to 9 dimensions and 10 metrics.")
    ranges = body.get("dateRanges")
    if not isinstance(ranges, list) or len(ranges) != 1 or not isinstance(ranges[0], dict):
        raise _invalid("The emulator serves exactly one dateRange per report.")
    today = state.today()
    start, end = _day(ranges[0].get("startDate"), today), _day(ranges[0].get("endDate"), today)
    if end < start:
        raise _invalid("The date range's startDate must be before or equal to its endDate.")
    limit = _int(body.get("limit"), "limit", config.ga4_default_limit)
    offset = _int(body.get("offset"), "offset", 0)
    if not 0 < limit <= config.ga4_max_limit:
        raise _invalid(f"limit must be positive and at most {config.ga4_max_limit}.")
    if offset < 0:
        raise _invalid("offset must be non-negative.")
    state.note_report_call(GA4)

    rows = traffic(state, prop, start, end)
    metadata: dict[str, Any] = {"currencyCode": prop.currency, "timeZone": prop.time_zone}
    if config.ga4_threshold_users and {"totalUsers", "newUsers"} & set(metrics):
        kept = [r for r in rows if r.users >= config.ga4_threshold_users]
        if len(kept) < len(rows):
            metadata["subjectToThresholding"] = True
        rows = kept
    groups = _group(rows, dims)
    ordered = sorted(groups.items(), key=lambda kv: kv[0])
    if config.ga4_other_row_after is not None and len(ordered) > config.ga4_other_row_after:
        ordered = _fold_other(ordered, dims, config.ga4_other_row_after)
        metadata["dataLossFromOtherRow"] = True
    if find_fault(fired, "sampled"):
        total = sum(v[0] for _, v in ordered)
        metadata["samplingMetadatas"] = [{"samplesReadCount": str(total // 10), "samplingSpaceSize": str(total)}]
    page = ordered[offset : offset + limit]
    decimals = currency_decimals(prop.currency)
    out_rows = [_render(values, sums, metrics, decimals) for values, sums in page]
    _row_faults(out_rows, fired)
    cost = 10 + math.ceil(len(out_rows) / 1000)
    quota = _charge(state, prop.account_id, cost, fired)
    state.count("rows_served", GA4, len(out_rows))
    report: dict[str, Any] = {
        "dimensionHeaders": [{"name": d} for d in dims],
        "metricHeaders": [{"name": m, "type": METRIC_TYPES[m]} for m in metrics],
    }
    if out_rows:
        report["rows"] = out_rows
    if ordered:
        report["rowCount"] = len(ordered)
    report["metadata"] = metadata
    if body.get("returnPropertyQuota"):
        report["propertyQuota"] = quota
    report["kind"] = "analyticsData#runReport"
    if fault := find_fault(fired, "missing_headers"):
        report.pop(str(fault.param("field") or "metricHeaders"), None)
    return report


def _group(rows: list[TrafficRow], dims: list[str]) -> dict[tuple[str, ...], list[int]]:
    groups: dict[tuple[str, ...], list[int]] = {}
    for r in rows:
        values = tuple(DIMENSIONS[d](r) for d in dims)
        sums = groups.setdefault(values, [0] * len(METRICS))
        for i, m in enumerate(METRICS):
            sums[i] += r.metric(m)
    return groups


def _fold_other(
    ordered: list[tuple[tuple[str, ...], list[int]]], dims: list[str], keep: int
) -> list[tuple[tuple[str, ...], list[int]]]:
    """Keep the `keep` biggest rows; the rest become one "(other)" row per date (the date is kept)."""
    by_size = sorted(range(len(ordered)), key=lambda i: (-ordered[i][1][0], ordered[i][0]))
    kept = set(by_size[:keep])
    out = [ordered[i] for i in sorted(kept)]
    other: dict[tuple[str, ...], list[int]] = {}
    for i, (values, sums) in enumerate(ordered):
        if i in kept:
            continue
        folded = tuple(v if d == "date" else "(other)" for d, v in zip(dims, values, strict=True))
        acc = other.setdefault(folded, [0] * len(METRICS))
        for j, s in enumerate(sums):
            acc[j] += s
    return sorted(out + list(other.items()), key=lambda kv: kv[0])


def _render(values: tuple[str, ...], sums: list[int], metrics: list[str], decimals: int) -> dict[str, Any]:
    out = []
    for m in metrics:
        n = sums[METRICS.index(m)]
        out.append({"value": money_text(n, decimals) if m == "purchaseRevenue" else str(n)})
    return {"dimensionValues": [{"value": v} for v in values], "metricValues": out}


def _row_faults(rows: list[dict[str, Any]], fired: list[Fault]) -> None:
    if not rows:
        return
    if fault := find_fault(fired, "bad_row"):
        row = rows[min(int(fault.param("row") or 0), len(rows) - 1)]
        mode = fault.param("mode")
        if mode == "missing":
            row["metricValues"].pop()
        else:
            row["metricValues"][0] = {"value": None} if mode == "null" else {"value": "not-a-number"}
    if fault := find_fault(fired, "duplicate_row"):
        index = min(int(fault.param("row") or 0), len(rows) - 1)
        twin = {
            "dimensionValues": list(rows[index]["dimensionValues"]),
            "metricValues": list(rows[index]["metricValues"]),
        }
        rows.insert(index + 1, twin)


def _charge(state: EmulatorState, property_id: str, cost: int, fired: list[Fault]) -> dict[str, Any]:
    """Spend the property's core tokens; 429 when the hour's or the day's are used up."""
    config = state.config
    now = state.now()
    hour, day = int(now // 3600), int(now // 86400)
    forced = find_fault(fired, "quota_exhausted")
    with state.locked():
        book = state.ga4_quota.setdefault(property_id, {"hour": hour, "day": day, "used_hour": 0, "used_day": 0})
        if book["hour"] != hour:
            book.update(hour=hour, used_hour=0)
        if book["day"] != day:
            book.update(day=day, used_day=0)
        if (forced and forced.param("scope") == "daily") or book["used_day"] + cost > config.ga4_tokens_per_day:
            raise ApiError(
                429,
                "RESOURCE_EXHAUSTED",
                "Exhausted property tokens per day for this property. Quota resets at midnight Pacific Time.",
            )
        if forced or book["used_hour"] + cost > config.ga4_tokens_per_hour:
            raise ApiError(
                429,
                "RESOURCE_EXHAUSTED",
                "Exhausted property tokens per hour for this property. Quota resets at the top of the hour.",
            )
        book["used_hour"] += cost
        book["used_day"] += cost
        return {
            "tokensPerDay": {"consumed": cost, "remaining": config.ga4_tokens_per_day - book["used_day"]},
            "tokensPerHour": {"consumed": cost, "remaining": config.ga4_tokens_per_hour - book["used_hour"]},
            "concurrentRequests": {"consumed": 0, "remaining": 10},
            "serverErrorsPerProjectPerHour": {"consumed": 0, "remaining": 10},
            "potentiallyThresholdedRequestsPerHour": {"consumed": 0, "remaining": 120},
            "tokensPerProjectPerHour": {"consumed": cost, "remaining": config.ga4_tokens_per_hour * 35 // 100},
        }
