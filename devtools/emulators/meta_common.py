"""Pieces every Meta Graph handler shares: error bodies, usage headers, cursors, parameters."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Request, Response

from devtools.emulators.config import META
from devtools.emulators.http import META_502_HTML, dumps, html_response, json_response
from devtools.emulators.state import EmulatorState

GRAPH_DOCS = "https://developers.facebook.com/docs/graph-api"
RATE_LIMIT_DOCS = "https://developers.facebook.com/docs/graph-api/overview/rate-limiting"


class MetaError(Exception):
    """A Graph API error; `to_response` renders Meta's `{"error": {...}}` body."""

    def __init__(
        self,
        message: str,
        code: int,
        *,
        type_: str = "OAuthException",
        subcode: int | None = None,
        http_status: int = 400,
        is_transient: bool | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
        auth_kind: str = "invalid_request",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.type = type_
        self.subcode = subcode
        self.http_status = http_status
        self.is_transient = is_transient
        self.user_title = user_title
        self.user_msg = user_msg
        self.auth_kind = auth_kind

    def body(self, trace_id: str) -> dict[str, Any]:
        err: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        if self.is_transient is not None:
            err["is_transient"] = self.is_transient
        if self.user_title:
            err["error_user_title"] = self.user_title
        if self.user_msg:
            err["error_user_msg"] = self.user_msg
        err["fbtrace_id"] = trace_id
        return {"error": err}

    def to_response(self, trace_id: str, version: str, headers: Mapping[str, str] | None = None) -> Response:
        safe = self.message.replace('"', "'").encode("ascii", "replace").decode()
        all_headers = graph_headers(trace_id, version)
        all_headers["WWW-Authenticate"] = f'OAuth "Facebook Platform" "{self.auth_kind}" "{safe}"'
        all_headers.update(headers or {})
        return json_response(self.body(trace_id), self.http_status, all_headers)


def graph_headers(trace_id: str, version: str) -> dict[str, str]:
    return {"facebook-api-version": version, "x-fb-trace-id": trace_id, "x-fb-request-id": trace_id + "A"}


def html_502() -> Response:
    return html_response(META_502_HTML, 502)


def unsupported_get(object_id: str) -> MetaError:
    return MetaError(
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        f"missing permissions, or does not support this operation. Please read the Graph API documentation at {GRAPH_DOCS}",
        100,
        type_="GraphMethodException",
        subcode=33,
    )


def invalid_param(message: str) -> MetaError:
    return MetaError(f"(#100) {message}", 100)


def throttle_error(code: int) -> MetaError:
    """The throttling errors connectors must back off on (codes 4, 17, 613, 80000-80014)."""
    if code == 4:
        return MetaError("(#4) Application request limit reached", 4, is_transient=True)
    if code == 17:
        return MetaError(
            "(#17) User request limit reached",
            17,
            subcode=2446079,
            is_transient=True,
            user_title="Ad Account Has Too Many API Calls",
            user_msg="There have been too many calls from this ad-account. Please wait a bit and try again.",
        )
    if code == 613:
        return MetaError(
            "(#613) Calls to this api have exceeded the rate limit.", 613, subcode=1487742, is_transient=True
        )
    preposition = "from" if code == 80000 else "to"
    return MetaError(
        f"(#{code}) There have been too many calls {preposition} this ad-account. Wait a bit and try again. "
        f"For more info, please refer to {RATE_LIMIT_DOCS}.",
        code,
        subcode=2446079,
        is_transient=True,
    )


def usage_headers(
    state: EmulatorState, account_id: str | None, kind: str, record: bool, regain_override: int | None = None
) -> dict[str, str]:
    """`X-Business-Use-Case-Usage` and friends: JSON inside header strings, as Meta sends them."""
    if account_id is None:
        return {"x-app-usage": dumps({"call_count": 0, "total_cputime": 0, "total_time": 0})}
    pct, regain = state.meta_usage(account_id, kind, record)
    if regain_override is not None:
        pct, regain = max(pct, 100.0), regain_override
    whole = round(pct)
    buc = {
        account_id: [
            {
                "type": kind,
                "call_count": whole,
                "total_cputime": max(0, whole - 3) if whole else 0,
                "total_time": max(0, whole - 1) if whole else 0,
                "estimated_time_to_regain_access": regain,
                "ads_api_access_tier": "standard_access",
            }
        ]
    }
    headers = {
        "X-Business-Use-Case-Usage": dumps(buc),
        "X-Ad-Account-Usage": dumps(
            {"acc_id_util_pct": pct, "reset_time_duration": regain * 60, "ads_api_access_tier": "standard_access"}
        ),
        "x-app-usage": dumps({"call_count": 0, "total_cputime": 0, "total_time": 0}),
    }
    if kind == "ads_insights":
        headers["X-FB-Ads-Insights-Throttle"] = dumps(
            {"app_id_util_pct": 0.0, "acc_id_util_pct": pct, "ads_api_access_tier": "standard_access"}
        )
    return headers


def encode_cursor(index: int) -> str:
    """Meta-style opaque cursor: base64 of the row index with '=' written as 'ZD'."""
    return base64.b64encode(str(index).encode()).decode().replace("=", "ZD")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.b64decode(cursor.replace("ZD", "=")).decode()
        return int(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_param("Invalid cursor") from exc


def request_params(request: Request) -> dict[str, str]:
    """Query string and form/JSON body merged (the SDKs POST form-encoded parameters)."""
    params = request.args.to_dict()
    if request.method == "POST":
        if request.mimetype == "application/json":
            try:
                body = json.loads(request.get_data() or b"{}")
            except json.JSONDecodeError as exc:
                raise invalid_param("Invalid JSON body") from exc
            for k, v in (body or {}).items():
                params[k] = v if isinstance(v, str) else dumps(v)
        else:
            params.update(request.form.to_dict())
    return params


def list_param(params: Mapping[str, str], name: str) -> list[str] | None:
    """A Graph list parameter, given as JSON (`["a","b"]`) or comma-separated (`a,b`)."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise invalid_param(f"param {name} must be an array.") from exc
        return [str(v) for v in value]
    return [p.strip() for p in text.split(",") if p.strip()]


def meta_datetime(epoch_or_date: datetime, tz_name: str) -> str:
    """Graph datetimes look like 2024-03-01T10:15:00-0800 (account time zone, no colon)."""
    local = epoch_or_date.astimezone(ZoneInfo(tz_name))
    return local.strftime("%Y-%m-%dT%H:%M:%S%z")


def graph_url(request: Request, version: str, path: str, params: Mapping[str, str]) -> str:
    return f"{request.host_url}meta/graph/{version}/{path}?{urlencode(params)}"


def now_utc(state: EmulatorState) -> datetime:
    return datetime.fromtimestamp(state.now(), tz=UTC)


__all__ = ["META", "MetaError", "html_502"]
