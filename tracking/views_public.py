"""The collect endpoint and the snippet, on the public host (no session, no CSRF: beacons carry none).

POST /collect/v1/<public key>: one beacon (a JSON batch of events, sent as text/plain so browsers
need no preflight). 204 once its events are durable in the buffer; 4xx with a short JSON reason
otherwise, every refusal counted (per workspace when the key names one). OPTIONS answers CORS
preflights for the workspace's allowed origins.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from bosco import tasks
from bosco.api.failed_auth import client_ip
from bosco.metrics import COLLECT_BEACONS
from tracking import snippet
from tracking.collect import buffer
from tracking.collect.parsing import MAX_BODY_BYTES, Rejected, encode_rows, parse_beacon, truncate_ip
from tracking.services.settings import key_config

logger = logging.getLogger(__name__)

STATUS = {
    "unknown_key": 404,
    "rotated_key": 410,
    "disabled": 403,
    "read_only": 403,
    "forged_origin": 403,
    "oversized": 413,
    "malformed": 400,
    "invalid_event": 400,
    "clock_skew": 400,
    "bot": 403,
    "rate_limited_ip": 429,
    "rate_limited_key": 429,
}
MESSAGES = {
    "unknown_key": "No workspace has this tracking key.",
    "rotated_key": "This tracking key was replaced; copy the new snippet from Settings → Tracking.",
    "disabled": "Tracking is switched off for this workspace.",
    "read_only": "This workspace is read-only; events are not collected.",
    "forged_origin": "This site is not one of the workspace's allowed origins.",
    "rate_limited_ip": "Too many beacons from this address; slow down.",
    "rate_limited_key": "Too many beacons for this workspace; slow down.",
}


def _cors(response: HttpResponse, origin: str) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    return response


def _refuse(
    reason: str, *, schema: str | None, origin: str = "", message: str = "", count: bool = True
) -> HttpResponse:
    if count:
        buffer.count(schema or buffer.UNKNOWN, f"rejected:{reason}")
    COLLECT_BEACONS.labels(outcome="rejected", reason=reason).inc()
    response = JsonResponse({"error": reason, "message": message or MESSAGES.get(reason, "")}, status=STATUS[reason])
    return _cors(response, origin) if origin else response


def _request_origin(request: HttpRequest) -> str:
    return request.headers.get("Origin", "").rstrip("/").lower()


@csrf_exempt
def collect(request: HttpRequest, public_key: str) -> HttpResponse:
    if request.method not in ("POST", "OPTIONS"):
        return HttpResponse(status=405, headers={"Allow": "POST, OPTIONS"})
    config = key_config(public_key)
    status = config["status"]
    if status == "unknown":
        return _refuse("unknown_key", schema=None)
    schema = config["schema"]
    if status == "retired":
        return _refuse("rotated_key", schema=schema)
    origin = _request_origin(request)
    # Only the workspace's own sites: a page elsewhere cannot post into its data from a browser.
    if not origin or origin not in config["origins"]:
        return _refuse("forged_origin", schema=schema)
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = "POST"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "86400"
        return _cors(response, origin)
    if not config["enabled"]:
        return _refuse("disabled", schema=schema, origin=origin)
    if config["read_only"]:
        return _refuse("read_only", schema=schema, origin=origin)
    length = int(request.headers.get("Content-Length") or 0)
    if length > MAX_BODY_BYTES:
        return _refuse("oversized", schema=schema, origin=origin, message=f"At most {MAX_BODY_BYTES} bytes.")
    ip = client_ip(request)
    try:
        beacon = parse_beacon(
            request.body[: MAX_BODY_BYTES + 1],
            received_at=timezone.now(),
            client_ip=ip,
            user_agent=request.headers.get("User-Agent", ""),
        )
    except Rejected as exc:
        return _refuse(exc.reason, schema=schema, origin=origin, message=str(exc))
    extra = {f"rejected:{reason}": n for reason, n in beacon.dropped.items()}
    if beacon.clock_corrected:
        extra["clock_corrected"] = beacon.clock_corrected
    accepted, detail = buffer.append(
        schema=schema,
        public_key=public_key,
        # the flood limit counts by the truncated address too: a /24 (IPv6 /48) is one sender
        ip_key=truncate_ip(ip) or "unknown",
        payload=encode_rows(beacon.rows),
        accepted=len(beacon.rows),
        extra_counts=extra,
    )
    if not accepted:
        return _refuse(detail, schema=schema, origin=origin, count=False)
    COLLECT_BEACONS.labels(outcome="accepted", reason="").inc()
    if detail == "schedule":
        tasks.enqueue("tracking.tasks.land_events", schema, countdown=1.0)
    return _cors(HttpResponse(status=204), origin)


@require_GET
def snippet_file(request: HttpRequest, version: str) -> HttpResponse:
    try:
        body = snippet.source(version)
    except KeyError:
        return HttpResponse("No such snippet version.", status=404, content_type="text/plain")
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    # A version never changes (tracking.snippet): cache it for a year, anywhere.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    # Pages on the customer's sites load it with crossorigin="anonymous" (subresource integrity).
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
