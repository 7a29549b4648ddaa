"""HTTP plumbing shared by the platform handlers: JSON bodies, fault side effects, routing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from devtools.emulators.faults import Fault
from devtools.emulators.state import EmulatorState

JSON_UTF8 = "application/json; charset=UTF-8"

Handler = Callable[..., Response]


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None, content_type: str = JSON_UTF8
) -> Response:
    text = body if isinstance(body, str | bytes) else dumps(body)
    return Response(text, status=status, headers=headers or {}, content_type=content_type)


def html_response(html: str, status: int = 200) -> Response:
    return Response(html, status=status, content_type="text/html; charset=UTF-8")


GOOGLE_502_HTML = (
    "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n"
    "  <title>Error 502 (Server Error)!!1</title>\n"
    "  <p><b>502.</b> <ins>That’s an error.</ins>\n"
    "  <p>The server encountered a temporary error and could not complete your request."
    "<p>Please try again in 30 seconds.  <ins>That’s all we know.</ins>\n"
)
META_502_HTML = (
    "<!DOCTYPE html><html><head><title>Error</title></head><body>"
    "<h1>Sorry, something went wrong.</h1><p>We're working on it and we'll get it fixed as soon as "
    "we can.</p></body></html>"
)


def find_fault(faults: Iterable[Fault], *kinds: str) -> Fault | None:
    return next((f for f in faults if f.kind in kinds), None)


def apply_delays(state: EmulatorState, faults: list[Fault]) -> None:
    """Slow and hanging responses: wait first, then answer normally (if anyone still listens)."""
    for fault in faults:
        if fault.kind in ("slow", "hang"):
            state.sleep(float(fault.param("delay")))


def apply_row_splits(rows: list[str], faults: Iterable[Fault], *, finer_default: str, camel: bool) -> None:
    """The duplicate_row and finer_level faults: one row of the page becomes two with its key."""
    from devtools.emulators.google_query import split_row

    for fault in faults:
        if fault.kind not in ("duplicate_row", "finer_level") or not rows:
            continue
        index = min(int(fault.param("row") or 0), len(rows) - 1)
        finer = str(fault.param("field") or finer_default) if fault.kind == "finer_level" else None
        rows[index : index + 1] = split_row(rows[index], finer=finer, camel=camel)


def truncate(response: Response, fault: Fault | None) -> Response:
    """Cut the body mid-way: a valid HTTP response whose JSON is broken."""
    if fault is None:
        return response
    body = response.get_data()
    fraction = min(max(float(fault.param("fraction")), 0.0), 0.99)
    cut = body[: max(1, int(len(body) * fraction))] if body else b""
    response.set_data(cut)
    return response


def stream_response(chunks: Iterator[str], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A chunked response: big report bodies are produced while they are sent."""
    return Response(
        (c.encode() for c in chunks),
        status=status,
        headers=headers or {},
        content_type=JSON_UTF8,
        direct_passthrough=True,
    )


def json_body(request: Request) -> Any:
    """The request body as JSON; raises ValueError with a Google-like message when invalid."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"Invalid JSON payload received. {exc.msg} at position {exc.pos}.") from exc


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    parts = header.split(None, 1)
    if len(parts) == 2 and parts[0].lower() in ("bearer", "oauth"):
        return parts[1].strip()
    return None


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    handler: Handler


def route(methods: str, pattern: str, handler: Handler) -> Route:
    return Route(frozenset(methods.split(",")), re.compile(pattern), handler)
