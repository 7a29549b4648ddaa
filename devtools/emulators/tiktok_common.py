"""Pieces every TikTok Business API handler shares: the envelope, errors, auth and parameters.

Every answer, success or failure, is HTTP 200 with `{"code", "message", "request_id", "data"}`;
`code` 0 means success. Connectors must read `code`, never the HTTP status alone (only gateway
failures, 5xx HTML pages, break that rule).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from devtools.emulators.config import TIKTOK, AccountSpec
from devtools.emulators.faults import COMMON_KINDS, Fault
from devtools.emulators.http import apply_delays, find_fault, html_response, json_response
from devtools.emulators.state import EmulatorState

# Error codes of the v1.3 envelope that connectors have to tell apart.
OK = 0
NO_PERMISSION = 40001
INVALID_PARAM = 40002
TOO_MUCH_DATA = 40067
RATE_LIMITED = 40100
TOKEN_EXPIRED = 40102
TOKEN_MISSING = 40104
TOKEN_INVALID = 40105
AUTH_CODE_INVALID = 40110
APP_INVALID = 40108
SYSTEM_ERROR = 50000

_GATEWAY_HTML = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"
)


class TikTokError(Exception):
    """A non-zero `code` in the envelope."""

    def __init__(self, code: int, message: str, http_status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


class GatewayError(Exception):
    """A 5xx HTML page from TikTok's gateway instead of an envelope."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def request_id(state: EmulatorState) -> str:
    """Like TikTok's: the UTC time to the second followed by 18 hex-ish characters."""
    stamp = datetime.fromtimestamp(state.now(), tz=UTC).strftime("%Y%m%d%H%M%S")
    return stamp + state.next_id(18).replace("-", "0").replace("_", "1").upper()


def envelope(state: EmulatorState, data: Any, code: int = OK, message: str = "OK", status: int = 200) -> Response:
    body = {"code": code, "message": message, "request_id": request_id(state), "data": data}
    return json_response(body, status, {"X-Tt-Logid": body["request_id"]})


def error_response(state: EmulatorState, err: TikTokError | GatewayError) -> Response:
    if isinstance(err, GatewayError):
        return html_response(_GATEWAY_HTML.replace("502 Bad Gateway", f"{err.status} Gateway Error"), err.status)
    return envelope(state, {}, err.code, err.message, err.http_status)


def rate_limited() -> TikTokError:
    return TikTokError(RATE_LIMITED, "Too many requests. Please retry in some time.")


def invalid_param(message: str) -> TikTokError:
    return TikTokError(INVALID_PARAM, message)


def common_faults(
    state: EmulatorState, endpoint: str, account: str | None, page: int | None, kinds: Any
) -> list[Fault]:
    """Take this request's faults; raise for the ones that end it before any work is done."""
    fired = state.take_faults(TIKTOK, endpoint, account, page, COMMON_KINDS | set(kinds))
    apply_delays(state, fired)
    if find_fault(fired, "html_502"):
        raise GatewayError(502)
    if fault := find_fault(fired, "server_error"):
        status = int(fault.param("status"))
        if status in (502, 504):
            raise GatewayError(status)
        raise TikTokError(SYSTEM_ERROR, "System error. Please try again later.")
    if fault := find_fault(fired, "rate_limit"):
        err = rate_limited()
        err.http_status = int(fault.param("status") or 200)
        raise err
    return fired


def params_of(request: Request) -> dict[str, str]:
    """Query string, plus a JSON body for POST endpoints (values re-encoded as JSON text)."""
    params = request.args.to_dict()
    if request.method == "POST":
        try:
            body = json.loads(request.get_data() or b"{}")
        except json.JSONDecodeError as exc:
            raise invalid_param("Invalid JSON body.") from exc
        if not isinstance(body, dict):
            raise invalid_param("The request body must be a JSON object.")
        for k, v in body.items():
            params[k] = v if isinstance(v, str) else json.dumps(v)
    return params


def json_param(params: Mapping[str, str], name: str, default: Any = None) -> Any:
    """A parameter TikTok takes as JSON text (`["a","b"]`, `{"campaign_ids": [...]}`)."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise invalid_param(f"{name}: Not a valid JSON value.") from exc


def int_param(params: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise invalid_param(f"{name}: Not a valid integer.") from exc
    if not lo <= value <= hi:
        raise invalid_param(f"{name}: Must be greater than or equal to {lo} and less than or equal to {hi}.")
    return value


def check_token(state: EmulatorState, request: Request) -> str:
    """The `Access-Token` header must hold a live TikTok token; returns it."""
    token = request.headers.get("Access-Token", "").strip()
    if not token:
        raise TikTokError(TOKEN_MISSING, "Access token is null, you should add it in the request header.")
    with state.locked():
        status, _access, _grant = state.tokens.check(token, TIKTOK)
    if status == "expired":
        raise TikTokError(TOKEN_EXPIRED, "Access token has expired. Please re-authorize the advertiser.")
    if status != "ok":
        raise TikTokError(TOKEN_INVALID, "Access token is incorrect or has been revoked.")
    return token


def token_faults(state: EmulatorState, token: str, fired: list[Fault]) -> None:
    """token_expiry / revoked_grant: the token dies now, and this very request sees it."""
    with state.locked():
        if find_fault(fired, "revoked_grant"):
            state.tokens.revoke_token(token)
        if find_fault(fired, "token_expiry"):
            state.tokens.expire(token)
    if find_fault(fired, "revoked_grant", "token_expiry"):
        check_token_value(state, token)


def check_token_value(state: EmulatorState, token: str) -> None:
    with state.locked():
        status, _access, _grant = state.tokens.check(token, TIKTOK)
    if status == "expired":
        raise TikTokError(TOKEN_EXPIRED, "Access token has expired. Please re-authorize the advertiser.")
    if status != "ok":
        raise TikTokError(TOKEN_INVALID, "Access token is incorrect or has been revoked.")


def advertiser(state: EmulatorState, advertiser_id: str | None) -> AccountSpec:
    """An advertiser the token may read (every grant reaches every emulated advertiser)."""
    if not advertiser_id:
        raise invalid_param("advertiser_id: Missing data for required field.")
    spec = state.account(TIKTOK, str(advertiser_id))
    if spec is None:
        raise TikTokError(
            NO_PERMISSION, f"No permission to operate advertiser {advertiser_id}. Please check the authorization."
        )
    return spec


@dataclass(frozen=True)
class Page:
    """`page` / `page_size` of a list endpoint and the `page_info` its answer carries."""

    page: int
    page_size: int

    @classmethod
    def parse(cls, state: EmulatorState, params: Mapping[str, str]) -> Page:
        config = state.config
        page = int_param(params, "page", 1, 1, 10**6)
        size = int_param(params, "page_size", config.tiktok_default_page_size, 1, config.tiktok_max_page_size)
        return cls(page, size)

    def bounds(self, total: int) -> tuple[int, int]:
        start = min((self.page - 1) * self.page_size, total)
        return start, min(start + self.page_size, total)

    def info(self, total: int) -> dict[str, int]:
        pages = -(-total // self.page_size) if total else 0
        return {"page": self.page, "page_size": self.page_size, "total_number": total, "total_page": pages}
