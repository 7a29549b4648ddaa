"""`/_emulator/...`: the control operations over HTTP, for `make run` and for processes without the handle.

GET  /_emulator/                      clock, webhook endpoint, object counts
GET  /_emulator/events                events with their delivery attempts
POST /_emulator/advance               days=, seconds=   (move the clock; renewals, trial ends, retries)
POST /_emulator/fail_next_payments    count=1           (0 clears)
POST /_emulator/fail_next_requests    count=1, status=500
POST /_emulator/redeliver/<evt_id>    send an event again now (or a held one out of order)
POST /_emulator/webhooks/pause | /_emulator/webhooks/resume
POST /_emulator/reset
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from werkzeug.wrappers import Request, Response

from devtools.stripe_emulator.state import StripeState


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, indent=2), status=status, content_type="application/json")


def _number(request: Request, name: str, default: float) -> float:
    raw = request.values.get(name)
    if raw is None or raw == "":
        return default
    return float(raw)


def control(state: StripeState, request: Request, op: str) -> Response:
    op = op.strip("/")
    try:
        return _dispatch(state, request, op)
    except ValueError as exc:
        return _json({"error": str(exc)}, 400)
    except KeyError as exc:
        return _json({"error": f"unknown id {exc}"}, 404)


def _dispatch(state: StripeState, request: Request, op: str) -> Response:
    if request.method == "GET" and op == "":
        with state.lock:
            counts = {kind: len(ids) for kind, ids in state.order.items()}
            return _json(
                {
                    "now": state.now(),
                    "webhook_url": state.deliverer.url,
                    "objects": counts,
                    "held_events": state.deliverer.held(),
                    "request_count": state.request_count,
                }
            )
    if request.method == "GET" and op == "events":
        deliveries = [asdict(d) for d in state.deliveries()]
        events = [
            {
                "id": e["id"],
                "type": e["type"],
                "created": e["created"],
                "deliveries": [d for d in deliveries if d["event_id"] == e["id"]],
            }
            for e in state.events()
        ]
        return _json(events)
    if request.method != "POST":
        return _json({"error": f"unknown control operation {request.method} {op}"}, 404)
    if op == "advance":
        events = state.advance(days=_number(request, "days", 0), seconds=_number(request, "seconds", 0))
        return _json({"now": state.now(), "events": [{"id": e["id"], "type": e["type"]} for e in events]})
    if op == "fail_next_payments":
        state.fail_next_payments(int(_number(request, "count", 1)))
    elif op == "fail_next_requests":
        state.fail_next_requests(int(_number(request, "count", 1)), int(_number(request, "status", 500)))
    elif op.startswith("redeliver/"):
        delivery = state.redeliver(op.removeprefix("redeliver/"))
        return _json(asdict(delivery))
    elif op == "webhooks/pause":
        state.pause_webhooks()
    elif op == "webhooks/resume":
        state.resume_webhooks()
    elif op == "reset":
        state.reset()
    else:
        return _json({"error": f"unknown control operation {op}"}, 404)
    return _json({"ok": True})
