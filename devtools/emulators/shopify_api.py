"""Shopify: app install (OAuth with HMAC-signed queries), the GraphQL Admin API, bulk operations, webhooks.

  https://{shop}/admin/oauth/authorize                 ↔  {base}/shopify/{shop}/admin/oauth/authorize
  https://{shop}/admin/oauth/access_token              ↔  {base}/shopify/{shop}/admin/oauth/access_token
  https://{shop}/admin/api/{version}/graphql.json      ↔  {base}/shopify/{shop}/admin/api/{version}/graphql.json
  (bulk operation result files)                        ↔  {base}/shopify/_bulk/{id}.jsonl

The GraphQL endpoint recognises the operations Bosco sends — `shop`, `orders(first, after,
query, sortKey)`, `bulkOperationRunQuery`, `node(id:)` / `currentBulkOperation` — by their field
names and answers with every field Bosco's queries select (it does not interpret selections).
Every answer carries `extensions.cost` with the shop's leaky bucket (`shopify_bucket_size` points,
refilled at `shopify_restore_rate` per second); a query costing more than is left answers
`THROTTLED` (HTTP 200, `errors[].extensions.code`, no `data`), as Shopify does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from werkzeug.wrappers import Request, Response

from devtools.emulators.config import SHOPIFY
from devtools.emulators.google_oauth import consent_page
from devtools.emulators.http import apply_delays, find_fault, html_response, json_response
from devtools.emulators.shopify_data import (
    ShopData,
    decode_cursor,
    encode_cursor,
    iso,
    line_nodes,
    order_node,
)
from devtools.emulators.state import EmulatorState

SHOP_RE = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
SCOPES = "read_orders,read_customers,read_products"
ORDER_COST = 3  # an order with its line items, roughly what Shopify's calculator charges
_FILTER = re.compile(r"(created_at|updated_at):(>=|<=|>|<)'?([0-9T:+\-.Z]+)'?")


@dataclass
class BulkOperation:
    id: str
    shop: str
    query: str
    created_at: datetime
    polls: int = 0
    status: str = "CREATED"
    body: bytes = b""
    object_count: int = 0
    root_count: int = 0


@dataclass
class ShopifyBook:
    """Everything the Shopify emulator remembers; reset with the emulator."""

    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code → (shop, redirect_uri)
    tokens: dict[str, str] = field(default_factory=dict)  # access token → shop
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # shop → (available, at)
    operations: dict[str, BulkOperation] = field(default_factory=dict)
    shops: dict[tuple[int, str], ShopData] = field(default_factory=dict)
    sequence: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)


def book(state: EmulatorState) -> ShopifyBook:
    with state.locked():
        if state.shopify is None:
            state.shopify = ShopifyBook()
        return state.shopify  # type: ignore[no-any-return]


def shop_data(state: EmulatorState, shop: str) -> ShopData:
    b = book(state)
    with b.lock:
        key = (id(state.config), shop)
        data = b.shops.get(key)
        if data is None:
            data = b.shops[key] = ShopData(state, shop)
        return data


def query_hmac(params: dict[str, str], secret: str) -> str:
    """Shopify's signature of a query: HMAC-SHA256 (hex) of the other parameters, sorted, joined with &."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def body_hmac(body: bytes, secret: str) -> str:
    """A webhook's signature: base64 of HMAC-SHA256 over the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _errors(message: str, status: int) -> Response:
    return json_response({"errors": message}, status)


# ---------------------------------------------------------------------------------------------- OAuth
def authorize(state: EmulatorState, request: Request, shop: str) -> Response:
    state.count_request(SHOPIFY, "oauth.authorize")
    args = request.args
    if not SHOP_RE.match(shop):
        return html_response("<!doctype html><p id=error>There is no store at this address.</p>", 404)
    if args.get("client_id") != state.config.shopify_api_key:
        return html_response("<!doctype html><p id=error>Oauth error invalid_request: client_id is invalid.</p>", 400)
    if not args.get("redirect_uri"):
        return html_response("<!doctype html><p id=error>redirect_uri is missing.</p>", 400)
    with state.locked():
        consent = state.tokens.new_consent(SHOPIFY, {**dict(args.items()), "shop": shop})
    base = request.script_root + f"/shopify/{shop}/admin/oauth/authorize/decision"
    return html_response(
        consent_page(
            platform_label="Shopify",
            app_name="Bosco",
            scopes=[s.replace("_", " ") for s in (args.get("scope") or SCOPES).split(",")],
            allow_href=f"{base}?{urlencode({'consent': consent.id, 'decision': 'allow'})}",
            deny_href=f"{base}?{urlencode({'consent': consent.id, 'decision': 'deny'})}",
        )
    )


def decision(state: EmulatorState, request: Request, shop: str) -> Response:
    """Install → redirect with `code, hmac, host, shop, state, timestamp`, signed with the app secret."""
    with state.locked():
        consent = state.tokens.consents.pop(request.args.get("consent", ""), None)
    if consent is None or consent.platform != SHOPIFY:
        return html_response("<!doctype html><p id=error>This install request has expired.</p>", 400)
    params = consent.params
    redirect_uri = params["redirect_uri"]
    if request.args.get("decision") != "allow":
        # Shopify has no "deny" redirect: the merchant simply does not install. Back to the app, unsigned.
        query = {"state": params.get("state", ""), "error": "access_denied"}
        return Response(status=302, headers={"Location": f"{redirect_uri}?{urlencode(query)}"})
    b = book(state)
    code = state.next_id(32)
    with b.lock:
        b.codes[code] = (shop, redirect_uri)
    query = {
        "code": code,
        "host": base64.b64encode(f"{shop}/admin".encode()).decode().rstrip("="),
        "shop": shop,
        "state": params.get("state", ""),
        "timestamp": str(int(state.now())),
    }
    query["hmac"] = query_hmac(query, state.config.shopify_api_secret)
    sep = "&" if "?" in redirect_uri else "?"
    return Response(status=302, headers={"Location": f"{redirect_uri}{sep}{urlencode(query)}"})


def access_token(state: EmulatorState, request: Request, shop: str) -> Response:
    state.count_request(SHOPIFY, "oauth.access_token")
    fired = state.take_faults(SHOPIFY, "oauth.access_token", shop, None, {"server_error"})
    if find_fault(fired, "server_error"):
        return _errors("Internal Server Error", 503)
    try:
        body = json.loads(request.get_data() or b"{}") if request.is_json else request.form.to_dict()
    except json.JSONDecodeError:
        return _errors("invalid JSON", 400)
    config = state.config
    if body.get("client_id") != config.shopify_api_key or body.get("client_secret") != config.shopify_api_secret:
        return json_response({"error": "invalid_client", "error_description": "Client credentials are invalid"}, 400)
    b = book(state)
    with b.lock:
        found = b.codes.pop(str(body.get("code", "")), None)
        if found is None or found[0] != shop:
            return json_response(
                {
                    "error": "invalid_request",
                    "error_description": "The authorization code was not found or was already used",
                },
                400,
            )
        token = "shpat_" + state.next_id(32)
        b.tokens[token] = shop
    return json_response({"access_token": token, "scope": SCOPES})


def issue_token(state: EmulatorState, shop: str) -> str:
    """A token for `shop` without the consent page (the demo and tests)."""
    b = book(state)
    with b.lock:
        token = "shpat_" + state.next_id(32)
        b.tokens[token] = shop
    return token


def uninstall(state: EmulatorState, shop: str) -> None:
    """The merchant removed the app: its tokens stop working."""
    b = book(state)
    with b.lock:
        for token in [t for t, s in b.tokens.items() if s == shop]:
            del b.tokens[token]


# ---------------------------------------------------------------------------------------------- GraphQL
def _cost(requested: int, actual: int | None, available: float, config: Any) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": float(config.shopify_bucket_size),
                "currentlyAvailable": int(available),
                "restoreRate": float(config.shopify_restore_rate),
            },
        }
    }


def _spend(state: EmulatorState, shop: str, requested: int, force_throttle: bool) -> tuple[bool, float]:
    """Take `requested` points from the shop's bucket; False when there are not enough."""
    config = state.config
    b = book(state)
    with b.lock:
        now = state.now()
        available, at = b.buckets.get(shop, (float(config.shopify_bucket_size), now))
        available = min(float(config.shopify_bucket_size), available + (now - at) * config.shopify_restore_rate)
        if force_throttle or requested > available:
            b.buckets[shop] = (available, now)
            return False, available
        available -= requested
        b.buckets[shop] = (available, now)
        return True, available


def graphql(state: EmulatorState, request: Request, shop: str, version: str) -> Response:
    state.count_request(SHOPIFY, "graphql")
    fired = state.take_faults(
        SHOPIFY,
        "graphql",
        shop,
        None,
        {"server_error", "html_502", "slow", "hang", "truncated_json", "throttled", "revoked_grant"},
    )
    apply_delays(state, fired)
    if find_fault(fired, "html_502"):
        return html_response("<html><body><h1>502 Bad Gateway</h1></body></html>", 502)
    if find_fault(fired, "server_error"):
        return _errors("Internal Server Error", 503)
    token = request.headers.get("X-Shopify-Access-Token", "")
    b = book(state)
    with b.lock:
        token_shop = b.tokens.get(token)
    if token_shop != shop or find_fault(fired, "revoked_grant"):
        return _errors("[API] Invalid API key or access token (unrecognized login or wrong password)", 401)
    try:
        body = json.loads(request.get_data() or b"{}")
    except json.JSONDecodeError:
        return json_response({"errors": [{"message": "Invalid JSON in request body"}]}, 400)
    query = str(body.get("query", ""))
    variables = body.get("variables") or {}
    if "bulkOperationRunQuery" in query:
        requested, work = 10, lambda: _bulk_run(state, shop, str(variables.get("query", "")))
    elif "currentBulkOperation" in query or "node(id:" in query:
        base = request.host_url.rstrip("/") + request.script_root
        requested, work = 1, lambda: _bulk_status(state, shop, variables.get("id"), base)
    elif "orders(" in query:
        first = int(variables.get("first") or 50)
        if not 1 <= first <= 250:
            return json_response({"errors": [{"message": "first must be between 1 and 250"}]})
        requested, work = 2 + first * ORDER_COST, lambda: _orders(state, shop, first, variables)
    elif "shop" in query:
        requested, work = 1, lambda: _shop(state, shop)
    else:
        return json_response({"errors": [{"message": "Field is not supported by the emulator"}]})
    ok, available = _spend(state, shop, requested, bool(find_fault(fired, "throttled")))
    if not ok:
        return json_response(
            {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits",
                        },
                    }
                ],
                "extensions": _cost(requested, None, available, state.config),
            }
        )
    try:
        data, actual = work()
    except ValueError as exc:
        return json_response(
            {"errors": [{"message": str(exc)}], "extensions": _cost(requested, 1, available, state.config)}
        )
    response = json_response({"data": data, "extensions": _cost(requested, actual, available, state.config)})
    if fault := find_fault(fired, "truncated_json"):
        raw = response.get_data()
        response.set_data(raw[: max(1, int(len(raw) * float(fault.param("fraction"))))])
    return response


def _shop(state: EmulatorState, shop: str) -> tuple[dict[str, Any], int]:
    data = shop_data(state, shop)
    name = shop.removesuffix(".myshopify.com").replace("-", " ").title()
    return {
        "shop": {
            "id": f"gid://shopify/Shop/{abs(hash(shop)) % 10**10}",
            "name": name,
            "myshopifyDomain": shop,
            "currencyCode": data.currency,
            "ianaTimezone": str(data.zone),
            "enabledPresentmentCurrencies": [data.currency],
        }
    }, 1


def parse_filter(text: str) -> tuple[str, datetime | None, datetime | None]:
    """`updated_at:>='2026-11-01T00:00:00Z' AND updated_at:<'…'` → (field, since, until)."""
    field_name, since, until = "created_at", None, None
    for name, op, value in _FILTER.findall(text):
        field_name = name
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if op in (">=", ">"):
            since = moment
        else:
            until = moment
    return field_name, since, until


def _orders(state: EmulatorState, shop: str, first: int, variables: dict[str, Any]) -> tuple[dict[str, Any], int]:
    data = shop_data(state, shop)
    now = data.now()
    field_name, since, until = parse_filter(str(variables.get("query") or ""))
    orders = data.orders_between(field_name, since, until)
    after = variables.get("after")
    start = 0
    if after:
        decoded = decode_cursor(str(after))
        if decoded is None:
            raise ValueError(f"Invalid cursor for current pagination sort: {after}")
        last_id, last_value = decoded
        for start, order in enumerate(orders):  # noqa: B007 - the position is the answer
            moment = order.updated_at(now) if field_name == "updated_at" else order.created_at
            if (moment.replace(microsecond=0), order.id) > (last_value, last_id):
                break
        else:
            start = len(orders)
    page = orders[start : start + first]
    edges = []
    for order in page:
        moment = order.updated_at(now) if field_name == "updated_at" else order.created_at
        edges.append({"cursor": encode_cursor(order, moment), "node": order_node(order, data, now, nested_lines=True)})
    has_next = start + first < len(orders)
    return {
        "orders": {
            "edges": edges,
            "pageInfo": {
                "hasNextPage": has_next,
                "hasPreviousPage": start > 0,
                "startCursor": edges[0]["cursor"] if edges else None,
                "endCursor": edges[-1]["cursor"] if edges else None,
            },
        }
    }, 2 + len(page) * ORDER_COST


# ---------------------------------------------------------------------------------------------- bulk
def _bulk_run(state: EmulatorState, shop: str, inner: str) -> tuple[dict[str, Any], int]:
    b = book(state)
    with b.lock:
        running = [o for o in b.operations.values() if o.shop == shop and o.status in ("CREATED", "RUNNING")]
        if running:
            return {
                "bulkOperationRunQuery": {
                    "bulkOperation": None,
                    "userErrors": [
                        {
                            "field": None,
                            "message": f"A bulk query operation for this app and shop is already in progress: {running[0].id}.",
                        }
                    ],
                }
            }, 10
        if "orders" not in inner:
            return {
                "bulkOperationRunQuery": {
                    "bulkOperation": None,
                    "userErrors": [{"field": ["query"], "message": "Invalid bulk query: only orders are emulated"}],
                }
            }, 10
        b.sequence += 1
        op = BulkOperation(
            id=f"gid://shopify/BulkOperation/{720_000 + b.sequence}",
            shop=shop,
            query=inner,
            created_at=datetime.fromtimestamp(state.now()).astimezone(),
        )
        b.operations[op.id] = op
    return {"bulkOperationRunQuery": {"bulkOperation": {"id": op.id, "status": "CREATED"}, "userErrors": []}}, 10


def bulk_jsonl(state: EmulatorState, shop: str, query: str) -> tuple[bytes, int, int]:
    """The JSONL file of a bulk orders query: (bytes, lines, orders). Orders first, their line items after."""
    data = shop_data(state, shop)
    now = data.now()
    field_name, since, until = parse_filter(query)
    lines: list[str] = []
    roots = 0
    for order in data.orders_between(field_name, since, until):
        node = order_node(order, data, now, nested_lines=False)
        lines.append(json.dumps(node, separators=(",", ":")))
        roots += 1
        for line in line_nodes(order, data.currency):
            lines.append(json.dumps({**line, "__parentId": node["id"]}, separators=(",", ":")))
    return (("\n".join(lines) + "\n").encode() if lines else b""), len(lines), roots


def _render_jsonl(state: EmulatorState, op: BulkOperation) -> None:
    op.body, op.object_count, op.root_count = bulk_jsonl(state, op.shop, op.query)


def _bulk_status(state: EmulatorState, shop: str, op_id: Any, base: str) -> tuple[dict[str, Any], int]:
    b = book(state)
    with b.lock:
        if op_id:
            op = b.operations.get(str(op_id))
            if op is None or op.shop != shop:
                return {"node": None}, 1
        else:
            ops = [o for o in b.operations.values() if o.shop == shop]
            if not ops:
                return {"currentBulkOperation": None}, 1
            op = ops[-1]
        op.polls += 1
        if op.status in ("CREATED", "RUNNING"):
            if op.polls >= state.config.shopify_bulk_polls_to_complete:
                _render_jsonl(state, op)
                op.status = "COMPLETED"
            else:
                op.status = "RUNNING"
        done = op.status == "COMPLETED"
        node = {
            "id": op.id,
            "status": op.status,
            "errorCode": None,
            "createdAt": iso(op.created_at),
            "completedAt": iso(op.created_at) if done else None,
            "objectCount": str(op.object_count if done else 0),
            "rootObjectCount": str(op.root_count if done else 0),
            "fileSize": str(len(op.body)) if done and op.body else None,
            "url": f"{base}/shopify/_bulk/{op.id.rsplit('/', 1)[1]}.jsonl" if done and op.body else None,
            "partialDataUrl": None,
        }
    return ({"node": node} if op_id else {"currentBulkOperation": node}), 1


def bulk_file(state: EmulatorState, request: Request, op_number: str) -> Response:
    state.count_request(SHOPIFY, "bulk.file")
    b = book(state)
    with b.lock:
        op = b.operations.get(f"gid://shopify/BulkOperation/{op_number}")
    if op is None or op.status != "COMPLETED":
        return Response(
            "<?xml version='1.0'?><Error><Code>NoSuchKey</Code></Error>", status=404, content_type="application/xml"
        )
    body = op.body
    fired = state.take_faults(SHOPIFY, "bulk.file", op.shop, None, {"bulk_truncated", "bulk_malformed", "server_error"})
    if find_fault(fired, "server_error"):
        return Response("<Error><Code>InternalError</Code></Error>", status=500, content_type="application/xml")
    if fault := find_fault(fired, "bulk_truncated"):
        body = body[: max(1, int(len(body) * float(fault.param("fraction"))))]
    if fault := find_fault(fired, "bulk_malformed"):
        lines = body.split(b"\n")
        index = min(int(fault.param("line") or 0), max(0, len(lines) - 2))
        lines[index] = lines[index][: max(1, len(lines[index]) // 2)] + b"<garbage"
        body = b"\n".join(lines)
    return Response(body, content_type="application/jsonl")


# ---------------------------------------------------------------------------------------------- webhooks
def webhook_request(
    state: EmulatorState, *, topic: str, shop: str, payload: dict[str, Any], forge: bool = False
) -> tuple[bytes, dict[str, str]]:
    """The body and headers Shopify sends for a webhook (signed with the app secret; `forge` signs wrong)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    secret = state.config.shopify_api_secret + ("-forged" if forge else "")
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": body_hmac(body, secret),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2025-07",
        "X-Shopify-Webhook-Id": state.next_id(36),
        "X-Shopify-Triggered-At": datetime.fromtimestamp(state.now()).astimezone().isoformat(),
        "X-Shopify-Event-Id": state.next_id(20),
    }
    return body, headers


def send_webhook(
    state: EmulatorState, *, url: str, topic: str, shop: str, payload: dict[str, Any], forge: bool = False
) -> int:
    """POST a signed webhook to `url`; returns the receiver's status code."""
    body, headers = webhook_request(state, topic=topic, shop=shop, payload=payload, forge=forge)
    if topic == "app/uninstalled" and not forge:
        uninstall(state, shop)
    response = httpx.post(url, content=body, headers=headers, timeout=30)
    return response.status_code


def control_webhook(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    """`POST /_emulator/shopify/webhook {url, topic, shop, payload, forge}`."""
    for name in ("url", "topic", "shop"):
        if not body.get(name):
            raise ValueError(f"{name} is required")
    status = send_webhook(
        state,
        url=str(body["url"]),
        topic=str(body["topic"]),
        shop=str(body["shop"]),
        payload=dict(body.get("payload") or {}),
        forge=bool(body.get("forge")),
    )
    return {"status": status}


def control_token(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    shop = str(body.get("shop") or "")
    if not SHOP_RE.match(shop):
        raise ValueError("shop must be <name>.myshopify.com")
    return {"access_token": issue_token(state, shop), "scope": SCOPES}


def control_truth(state: EmulatorState, request: Request, body: dict[str, Any]) -> Any:
    a = request.args
    shop = a.get("shop") or ""
    if not SHOP_RE.match(shop):
        raise ValueError("shop must be <name>.myshopify.com")
    return shop_data(state, shop).truth(date.fromisoformat(a["since"]), date.fromisoformat(a["until"]))
