"""`{base}/_emulator/...`: the HTTP twin of `srv.state`, for tests in other processes and the demo."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from werkzeug.wrappers import Request, Response

from devtools.emulators import ga4_data, shopify_api
from devtools.emulators.config import GA4, PLATFORMS
from devtools.emulators.faults import ENDPOINTS, FAULT_KINDS, FaultSpecError
from devtools.emulators.http import json_body, json_response
from devtools.emulators.state import EmulatorState


def _accounts(state: EmulatorState) -> dict[str, Any]:
    return {p: [a.to_dict() for a in state.config.accounts(p)] for p in PLATFORMS}


def _index(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    return {
        "operations": sorted(f"{m} /_emulator/{name}" for (m, name) in _OPS),
        "fault_kinds": FAULT_KINDS,
        "endpoints": ENDPOINTS,
        "accounts": _accounts(state),
        "today": state.today().isoformat(),
    }


def _truth(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    a = request.args
    if not a.get("platform") or not a.get("account"):
        raise ValueError("platform and account are required")
    if a["platform"] == GA4:
        since, until = a.get("since"), a.get("until")
        return ga4_data.truth(
            state,
            a["account"],
            date.fromisoformat(since) if since else None,
            date.fromisoformat(until) if until else None,
        )
    return state.truth(a["platform"], a["account"], a.get("level", "campaign"), a.get("since"), a.get("until"))


def _anomalies(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    a = request.args
    if not a.get("platform") or not a.get("account"):
        raise ValueError("platform and account are required")
    return {"anomalies": state.anomalies(a["platform"], a["account"], a.get("since"), a.get("until"))}


def _restate(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    return {"restatement_versions": state.restate(body.get("platform"), int(body.get("steps", 1)))}


def _faults_get(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    return {"faults": state.list_faults()}


def _faults_post(state: EmulatorState, request: Request, body: Any) -> Any:
    specs = body if isinstance(body, list) else body.get("faults", [body]) if isinstance(body, dict) else None
    if not specs:
        raise ValueError("send a fault spec object, a list of them, or {'faults': [...]}")
    return {"faults": [state.add_fault(spec) for spec in specs]}


def _faults_clear(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    state.clear_faults()
    return {"faults": []}


def _revoke(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    return state.revoke(body.get("platform"), body.get("token"))


def _reset(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    return {"config": state.reset(body.get("config")).to_dict()}


def _stats(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    return state.stats()


def _config_get(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    return {"config": state.config.to_dict()}


def _config_post(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    return {"config": state.update_config(body.get("config", body)).to_dict()}


def _clock_get(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    return state.clock()


def _clock_post(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    seconds = float(body.get("advance_seconds", 0)) + 86400.0 * float(body.get("advance_days", 0))
    state.advance_clock(seconds)
    return state.clock()


def _tokens(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    return state.issue_tokens(str(body.get("platform")), body.get("scopes"), bool(body.get("long_lived", True)))


def _expire(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    token = body.get("token")
    if not token:
        raise ValueError("token is required")
    state.expire_token(str(token))
    return {"expired": True}


def _accounts_get(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    return _accounts(state)


_OPS: dict[tuple[str, str], Callable[[EmulatorState, Request, Any], Any]] = {
    ("GET", ""): _index,
    ("GET", "accounts"): _accounts_get,
    ("GET", "truth"): _truth,
    ("GET", "anomalies"): _anomalies,
    ("POST", "restate"): _restate,
    ("GET", "faults"): _faults_get,
    ("POST", "faults"): _faults_post,
    ("DELETE", "faults"): _faults_clear,
    ("POST", "faults/clear"): _faults_clear,
    ("POST", "revoke"): _revoke,
    ("POST", "reset"): _reset,
    ("GET", "stats"): _stats,
    ("GET", "config"): _config_get,
    ("POST", "config"): _config_post,
    ("GET", "clock"): _clock_get,
    ("POST", "clock"): _clock_post,
    ("POST", "tokens"): _tokens,
    ("POST", "expire"): _expire,
    ("POST", "shopify/webhook"): shopify_api.control_webhook,
    ("POST", "shopify/token"): shopify_api.control_token,
    ("GET", "shopify/truth"): shopify_api.control_truth,
}


def control(state: EmulatorState, request: Request, op: str) -> Response:
    op = op.strip("/")
    handler = _OPS.get((request.method, op))
    if handler is None:
        allowed = sorted(m for (m, name) in _OPS if name == op)
        if allowed:
            return json_response({"error": f"method not allowed; use {', '.join(allowed)}"}, 405)
        return json_response({"error": f"unknown control operation {op!r}"}, 404)
    try:
        body = json_body(request) if request.method in ("POST", "DELETE") else {}
        return json_response(handler(state, request, body if body is not None else {}))
    except (ValueError, KeyError, TypeError, FaultSpecError) as exc:
        return json_response({"error": str(exc)}, 400)
