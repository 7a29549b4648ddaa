"""Google Ads API REST: listAccessibleCustomers, googleAds:search and googleAds:searchStream.

  https://googleads.googleapis.com/v21/...  ↔  {base}/googleads/v21/...   (any vNN is accepted)

Errors use google.rpc.Status with a GoogleAdsFailure detail whose `@type` carries the version the
client called; auth-layer 401s have no details, like the real front end.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from devtools.emulators.auth import GOOGLE_ADS_SCOPE
from devtools.emulators.config import GOOGLE_ADS
from devtools.emulators.faults import COMMON_KINDS, Fault
from devtools.emulators.gaql import GaqlError, Query, parse_query
from devtools.emulators.google_query import QueryResult, execute, mutate_row, render_rows
from devtools.emulators.http import (
    GOOGLE_502_HTML,
    JSON_UTF8,
    apply_delays,
    apply_row_splits,
    bearer_token,
    dumps,
    find_fault,
    html_response,
    json_body,
    json_response,
    stream_response,
    truncate,
)
from devtools.emulators.state import EmulatorState

_AUTH_HELP = "See https://developers.google.com/identity/sign-in/web/devconsole-project."
_REPORT_KINDS = COMMON_KINDS | {
    "token_expiry",
    "revoked_grant",
    "empty_page",
    "bad_row",
    "too_much_data",
    "ads_error",
    "duplicate_row",
    "finer_level",
}
# google.rpc.Status name of each HTTP status the ads_error fault may use.
_RPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# The messages Google documents for the codes tests use most; any other code gets a generic one.
_CODE_MESSAGES = {
    "NOT_ADS_USER": (
        "The Google account that generated the OAuth access token is not associated with a Google Ads account. "
        "Create a new account, or add the Google account to an existing Google Ads account."
    ),
    "OAUTH_TOKEN_EXPIRED": "OAuth token in the header has expired.",
    "OAUTH_TOKEN_REVOKED": "OAuth token in the header has been revoked.",
    "CUSTOMER_NOT_ENABLED": "The customer account can't be accessed because it is not yet enabled or has been deactivated.",
    "DEVELOPER_TOKEN_NOT_APPROVED": "The developer token is only approved for use with test accounts.",
    "USER_PERMISSION_DENIED": "User doesn't have permission to access customer.",
}
_PERMISSION_MSG = (
    "User doesn't have permission to access customer. Note: If you're accessing a client customer, the "
    "manager's customer id must be set in the 'login-customer-id' header. See "
    "https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid"
)


@dataclass
class GoogleCall:
    """A request that passed transport, auth and header checks."""

    version: str
    endpoint: str
    customer_id: str | None
    token: str
    request_id: str


def _status_body(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


def ads_error(
    call_version: str,
    request_id: str,
    http_status: int,
    status: str,
    message: str,
    errors: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
) -> Response:
    body = _status_body(http_status, status, message)
    body["error"]["details"] = [
        {
            "@type": f"type.googleapis.com/google.ads.googleads.{call_version}.errors.GoogleAdsFailure",
            "errors": errors,
            "requestId": request_id,
        }
    ]
    return json_response(body, http_status, {"request-id": request_id, **(headers or {})})


def _unauthenticated(missing: bool) -> Response:
    if missing:
        message = (
            "Request is missing required authentication credential. Expected OAuth 2 access token, "
            f"login cookie or other valid authentication credential. {_AUTH_HELP}"
        )
    else:
        message = (
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
            f"cookie or other valid authentication credential. {_AUTH_HELP}"
        )
    www = 'Bearer realm="https://accounts.google.com/"' + ("" if missing else ', error="invalid_token"')
    return json_response(_status_body(401, "UNAUTHENTICATED", message), 401, {"WWW-Authenticate": www})


def _query_error(call: GoogleCall, exc: GaqlError) -> Response:
    err: dict[str, Any] = {"errorCode": {"queryError": exc.code}, "message": exc.message}
    if exc.trigger is not None:
        err["trigger"] = {"stringValue": exc.trigger}
    return ads_error(
        call.version, call.request_id, 400, "INVALID_ARGUMENT", "Request contains an invalid argument.", [err]
    )


def _request_error(call: GoogleCall, code: str, message: str, field: str | None = None) -> Response:
    err: dict[str, Any] = {"errorCode": {"requestError": code}, "message": message}
    if field:
        err["location"] = {"fieldPathElements": [{"fieldName": field}]}
    return ads_error(
        call.version, call.request_id, 400, "INVALID_ARGUMENT", "Request contains an invalid argument.", [err]
    )


def _version_ok(state: EmulatorState, version: str) -> bool:
    minimum = state.config.google_min_api_version
    return minimum is None or int(version[1:]) >= minimum


def _prelude(
    state: EmulatorState, request: Request, version: str, endpoint: str, customer_id: str | None
) -> GoogleCall | Response:
    """Transport, auth and header checks, in the order the real API applies them."""
    state.count_request(GOOGLE_ADS, endpoint)
    state.sleep(state.config.latency_seconds)
    request_id = state.next_id()
    if not _version_ok(state, version):
        return json_response(
            _status_body(404, "NOT_FOUND", f"Version {version} of the Google Ads API has been sunset."), 404
        )
    token = bearer_token(request)
    if not token:
        return _unauthenticated(missing=True)
    with state.locked():
        status, _access, grant = state.tokens.check(token, GOOGLE_ADS)
    if status != "ok" or grant is None:
        return _unauthenticated(missing=False)
    call = GoogleCall(version, endpoint, customer_id, token, request_id)
    if GOOGLE_ADS_SCOPE not in grant.scopes:
        return json_response(
            _status_body(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes."), 403
        )
    developer_token = request.headers.get("developer-token", "").strip()
    if state.config.google_require_developer_token and not developer_token:
        return _request_error(call, "DEVELOPER_TOKEN_PARAMETER_MISSING", "developer-token parameter is missing.")
    if customer_id is not None:
        if not customer_id.isdigit():
            return _request_error(call, "INVALID_CUSTOMER_ID", f"Invalid customer ID '{customer_id}'.", "customer_id")
        login = request.headers.get("login-customer-id", "").strip()
        if login and not login.isdigit():
            return ads_error(
                version,
                request_id,
                400,
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                [
                    {
                        "errorCode": {"requestError": "INVALID_LOGIN_CUSTOMER_ID_SERVING_CUSTOMER_ID_COMBINATION"},
                        "message": f"Invalid login-customer-id header '{login}'.",
                    }
                ],
            )
        if state.account(GOOGLE_ADS, customer_id) is None or (login and state.account(GOOGLE_ADS, login) is None):
            return ads_error(
                version,
                request_id,
                403,
                "PERMISSION_DENIED",
                "The caller does not have permission",
                [{"errorCode": {"authorizationError": "USER_PERMISSION_DENIED"}, "message": _PERMISSION_MSG}],
            )
    retry = state.google_operation(developer_token or "-")
    if retry is not None:
        return _rate_limited(call, retry, "DEVELOPER", "Number of operations for basic access")
    return call


def _rate_limited(call: GoogleCall, retry_after: int, scope: str, rate_name: str) -> Response:
    err = {
        "errorCode": {"quotaError": "RESOURCE_EXHAUSTED"},
        "message": f"Too many requests. Retry in {retry_after} seconds.",
        "details": {"quotaErrorDetails": {"rateScope": scope, "rateName": rate_name, "retryDelay": f"{retry_after}s"}},
    }
    return ads_error(
        call.version,
        call.request_id,
        429,
        "RESOURCE_EXHAUSTED",
        "Resource has been exhausted (e.g. check quota).",
        [err],
        {"Retry-After": str(retry_after)},
    )


def _deadline_exceeded(call: GoogleCall) -> Response:
    err = {"errorCode": {"internalError": "DEADLINE_EXCEEDED"}, "message": "The request took longer than a deadline."}
    return ads_error(
        call.version,
        call.request_id,
        504,
        "DEADLINE_EXCEEDED",
        "Deadline expired before operation could complete.",
        [err],
    )


def _fault_response(state: EmulatorState, call: GoogleCall, faults: list[Fault]) -> Response | None:
    """Terminal faults: the request fails before any data is produced."""
    apply_delays(state, faults)
    if find_fault(faults, "html_502"):
        return html_response(GOOGLE_502_HTML, 502)
    if fault := find_fault(faults, "server_error"):
        status = int(fault.param("status"))
        if status == 502:
            return html_response(GOOGLE_502_HTML, 502)
        if status == 504:
            return _deadline_exceeded(call)
        if status == 503:
            err = {
                "errorCode": {"internalError": "TRANSIENT_ERROR"},
                "message": "The service is currently unavailable.",
            }
            return ads_error(
                call.version, call.request_id, 503, "UNAVAILABLE", "The service is currently unavailable.", [err]
            )
        err = {"errorCode": {"internalError": "INTERNAL_ERROR"}, "message": "An internal error has occurred."}
        return ads_error(call.version, call.request_id, 500, "INTERNAL", "Internal error encountered.", [err])
    if fault := find_fault(faults, "rate_limit"):
        resp = _rate_limited(call, int(fault.param("retry_after")), "ACCOUNT", "Requests per account per second")
        if fault.param("status"):
            resp.status_code = int(fault.param("status"))
        return resp
    if find_fault(faults, "token_expiry"):
        state.expire_token(call.token)
        return _unauthenticated(missing=False)
    if find_fault(faults, "revoked_grant"):
        state.revoke(token=call.token)
        return _unauthenticated(missing=False)
    if find_fault(faults, "too_much_data"):
        return _deadline_exceeded(call)
    if fault := find_fault(faults, "ads_error"):
        return _coded_error(call, fault)
    return None


def _coded_error(call: GoogleCall, fault: Fault) -> Response:
    """A GoogleAdsFailure with the fault's error code, under the HTTP status it asks for."""
    status = int(fault.param("status"))
    code = str(fault.param("code"))
    rpc = _RPC_STATUS.get(status, "UNKNOWN")
    err = {
        "errorCode": {str(fault.param("category")): code},
        "message": _CODE_MESSAGES.get(code, f"{code.replace('_', ' ').capitalize()}."),
    }
    message = (
        "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or "
        f"other valid authentication credential. {_AUTH_HELP}"
        if status == 401
        else "The caller does not have permission"
        if status == 403
        else "Request contains an invalid argument."
    )
    return ads_error(call.version, call.request_id, status, rpc, message, [err])


def list_accessible_customers(state: EmulatorState, request: Request, version: str) -> Response:
    call = _prelude(state, request, version, "listAccessibleCustomers", None)
    if isinstance(call, Response):
        return call
    faults = state.take_faults(GOOGLE_ADS, call.endpoint, None, None, _REPORT_KINDS)
    if (resp := _fault_response(state, call, faults)) is not None:
        return resp
    names = [f"customers/{a.account_id}" for a in state.config.google_accounts]
    resp = json_response({"resourceNames": names}, 200, {"request-id": call.request_id})
    return truncate(resp, find_fault(faults, "truncated_json"))


# ---------------------------------------------------------------------------- paging
def _query_signature(customer_id: str, query_text: str) -> str:
    normal = " ".join(query_text.split())
    return hashlib.blake2b(f"{customer_id}|{normal}".encode(), digest_size=9).hexdigest()


def _page_token(sig: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{sig}:{offset}".encode()).decode().rstrip("=")


def _parse_page_token(token: str, sig: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        got_sig, offset = raw.split(":")
        if got_sig != sig or int(offset) < 0:
            return None
        return int(offset)
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass
class _Parsed:
    query: Query
    text: str
    body: dict[str, Any]


def _parse_request(call: GoogleCall, request: Request) -> _Parsed | Response:
    try:
        body = json_body(request)
    except ValueError as exc:
        return json_response(_status_body(400, "INVALID_ARGUMENT", str(exc)), 400)
    if not isinstance(body, dict):
        return json_response(_status_body(400, "INVALID_ARGUMENT", "Invalid JSON payload received."), 400)
    if "pageSize" in body or "page_size" in body:
        return _request_error(
            call,
            "PAGE_SIZE_NOT_SUPPORTED",
            "Setting the page size is not supported. Search Responses will have fixed page size of '10000' rows.",
            "page_size",
        )
    text = body.get("query")
    if not isinstance(text, str) or not text.strip():
        err = {
            "errorCode": {"fieldError": "REQUIRED"},
            "message": "The required field was not present.",
            "location": {"fieldPathElements": [{"fieldName": "query"}]},
        }
        return ads_error(
            call.version, call.request_id, 400, "INVALID_ARGUMENT", "Request contains an invalid argument.", [err]
        )
    try:
        query = parse_query(text)
    except GaqlError as exc:
        return _query_error(call, exc)
    return _Parsed(query, text, body)


def _run(state: EmulatorState, call: GoogleCall, parsed: _Parsed) -> QueryResult | Response:
    assert call.customer_id is not None
    try:
        result = execute(state, call.customer_id, parsed.query)
    except GaqlError as exc:
        return _query_error(call, exc)
    limit = state.config.google_max_rows_per_request
    if limit is not None and result.estimated_rows > limit:
        return _deadline_exceeded(call)
    state.note_report_call(GOOGLE_ADS)
    return result


def _apply_bad_row(rows: list[str], fault: Fault | None, query: Query) -> None:
    if fault is None or not rows:
        return
    index = min(int(fault.param("row") or 0), len(rows) - 1)
    path = fault.param("field") or ("metrics.cost_micros" if query.metrics else query.select[0])
    rows[index] = mutate_row(rows[index], str(path), str(fault.param("mode")))


def search(state: EmulatorState, request: Request, version: str, customer_id: str) -> Response:
    call = _prelude(state, request, version, "search", customer_id)
    if isinstance(call, Response):
        return call
    parsed = _parse_request(call, request)
    if isinstance(parsed, Response):
        return parsed
    page_size = state.config.google_page_size
    sig = _query_signature(customer_id, parsed.text)
    offset = 0
    token = parsed.body.get("pageToken") or parsed.body.get("page_token")
    if token:
        got = _parse_page_token(str(token), sig)
        if got is None:
            return _request_error(call, "INVALID_PAGE_TOKEN", "Page token is invalid.", "page_token")
        offset = got
    faults = state.take_faults(GOOGLE_ADS, "search", customer_id, offset // page_size + 1, _REPORT_KINDS)
    if (resp := _fault_response(state, call, faults)) is not None:
        return resp
    result = _run(state, call, parsed)
    if isinstance(result, Response):
        return result
    total = len(result)
    settings = parsed.body.get("searchSettings") or {}
    want_total = bool(settings.get("returnTotalResultsCount") or parsed.body.get("returnTotalResultsCount"))
    body_parts: list[str] = []
    if find_fault(faults, "empty_page"):
        # An empty page that still points at the same rows: clients must keep paging.
        next_offset: int | None = offset
        rows: list[str] = []
    else:
        rows = render_rows(result, offset, min(offset + page_size, total))
        _apply_bad_row(rows, find_fault(faults, "bad_row"), parsed.query)
        apply_row_splits(rows, faults, finer_default="segments.device", camel=True)
        next_offset = offset + page_size if offset + page_size < total else None
        state.count("rows_served", GOOGLE_ADS, len(rows))
    if rows:
        body_parts.append('"results":[' + ",".join(rows) + "]")
    if next_offset is not None:
        body_parts.append(f'"nextPageToken":"{_page_token(sig, next_offset)}"')
    if want_total:
        body_parts.append(f'"totalResultsCount":"{total}"')
    body_parts.append(f'"fieldMask":{dumps(parsed.query.field_mask())}')
    body_parts.append(f'"requestId":"{call.request_id}"')
    body_parts.append(f'"queryResourceConsumption":"{_consumption(total)}"')
    resp = json_response("{" + ",".join(body_parts) + "}", 200, {"request-id": call.request_id})
    return truncate(resp, find_fault(faults, "truncated_json"))


def _consumption(rows: int) -> int:
    return 100 + 2 * rows


def search_stream(state: EmulatorState, request: Request, version: str, customer_id: str) -> Response:
    call = _prelude(state, request, version, "searchStream", customer_id)
    if isinstance(call, Response):
        return call
    parsed = _parse_request(call, request)
    if isinstance(parsed, Response):
        return parsed
    faults = state.take_faults(GOOGLE_ADS, "searchStream", customer_id, 1, _REPORT_KINDS)
    if (resp := _fault_response(state, call, faults)) is not None:
        return resp
    result = _run(state, call, parsed)
    if isinstance(result, Response):
        return result
    batches = _stream_batches(state, call, parsed, result, faults)
    truncated = find_fault(faults, "truncated_json")
    if truncated is not None:
        resp = Response("".join(batches), 200, {"request-id": call.request_id}, content_type=JSON_UTF8)
        return truncate(resp, truncated)
    return stream_response(batches, 200, {"request-id": call.request_id})


def _stream_batches(
    state: EmulatorState, call: GoogleCall, parsed: _Parsed, result: QueryResult, faults: list[Fault]
) -> Iterator[str]:
    """`[batch, batch, ...]` produced lazily; an empty result is one batch without `results`."""
    total = len(result)
    size = state.config.google_stream_batch_size
    mask = dumps(parsed.query.field_mask())
    tail = f'"fieldMask":{mask},"requestId":"{call.request_id}"'
    consumption = f',"queryResourceConsumption":"{_consumption(total)}"'
    bad_row = find_fault(faults, "bad_row")
    yield "["
    first = True
    if find_fault(faults, "empty_page"):
        yield "{" + tail + "}"
        first = False
    if total == 0:
        yield ("" if first else ",") + "{" + tail + consumption + "}"
        yield "]"
        return
    for start in range(0, total, size):
        stop = min(start + size, total)
        rows = render_rows(result, start, stop)
        if start == 0:
            _apply_bad_row(rows, bad_row, parsed.query)
        state.count("rows_served", GOOGLE_ADS, len(rows))
        last = consumption if stop >= total else ""
        yield ("" if first else ",") + '{"results":[' + ",".join(rows) + "]," + tail + last + "}"
        first = False
    yield "]"
