"""Shopify GraphQL Admin API: the shop (currency, time zone) and its orders, by `updated_at`.

Streams and their raw record keys (the warehouse builds staging on exactly these):

| stream          | key                        | date                            | payload |
|-----------------|----------------------------|---------------------------------|---------|
| `shopify.shop`  | `<shop>.myshopify.com`     | –                               | the `shop` object |
| `shopify.order` | `<shop>|<order id>`        | order date in the shop's zone   | the order node as received, `lineItems` as a plain list |

The ConnectionAccount of a Shopify connection is the shop (external id = its myshopify domain).
The engine's daily chunks are ranges of `updated_at` days in the shop's time zone, so an order
edited or refunded later is read again by the sync that covers the day it changed; a row's
`date` is still the day the order was placed. Chunks of at least `SHOPIFY_BULK_MIN_DAYS` days
(the backfill) run as a bulk operation: `bulkOperationRunQuery` → poll `node(id:)` until
COMPLETED → download the JSONL file, which is checked whole (size, every line, every child's
parent) before its first page lands; the saved cursor is the position in that file. Shorter
chunks page `orders(first:, after:, query:, sortKey: UPDATED_AT)` by cursor.

Throttling is by query cost: every answer says how many points are left in the shop's bucket and
how fast it refills (`extensions.cost.throttleStatus`); Bosco waits before a query that would not
fit, and a `THROTTLED` error is retried after the time the bucket needs.
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import orjson
from django.conf import settings

from connectors import conf
from connectors.errors import (
    AccessDenied,
    ConnectorError,
    CursorExpired,
    Deferred,
    PlatformRejected,
    RateLimited,
    ReauthRequired,
    ServerError,
    TooMuchData,
    TransientApiError,
)
from connectors.http import ApiSession, CallStats, RetryPolicy, json_or_none, wait, with_retries
from connectors.platforms import AccountInfo, Page, StreamSpec
from connectors.platforms import validation as v
from connectors.platforms.base import AuthenticatedApi, TokenSource
from warehouse.services.landing import RawRow

LABEL = "Shopify"
SHOP = StreamSpec("shopify.shop", daily=False)
ORDERS = StreamSpec("shopify.order", daily=True)
STREAMS: tuple[StreamSpec, ...] = (SHOP, ORDERS)
SHOP_RE = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
ORDER_GID = re.compile(r"^gid://shopify/Order/([0-9]+)$")
LINE_GID = re.compile(r"^gid://shopify/LineItem/([0-9]+)$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_MONEY_FIELDS = ("subtotalPriceSet", "totalDiscountsSet", "totalShippingPriceSet", "totalTaxSet", "totalPriceSet")

_MONEY = "{ shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }"
ORDER_FIELDS = (
    "id name createdAt processedAt updatedAt cancelledAt test currencyCode presentmentCurrencyCode sourceName "
    f"subtotalPriceSet {_MONEY} totalDiscountsSet {_MONEY} totalShippingPriceSet {_MONEY} "
    f"totalTaxSet {_MONEY} totalPriceSet {_MONEY} "
    "customer { id numberOfOrders } "
    "customerJourneySummary { customerOrderIndex firstVisit { landingPage referrerUrl "
    "utmParameters { source medium campaign content term } } } "
    f"refunds {{ id createdAt totalRefundedSet {_MONEY} }}"
)
LINE_FIELDS = f"id title sku quantity product {{ id }} originalUnitPriceSet {_MONEY}"
SHOP_QUERY = "{ shop { id name myshopifyDomain currencyCode ianaTimezone enabledPresentmentCurrencies } }"
ORDERS_QUERY = (
    "query Orders($first: Int!, $after: String, $query: String) { "
    "orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) { "
    f"edges {{ cursor node {{ {ORDER_FIELDS} lineItems(first: 100) {{ edges {{ node {{ {LINE_FIELDS} }} }} }} }} }} "
    "pageInfo { hasNextPage endCursor } } }"
)
BULK_RUN = (
    "mutation RunBulk($query: String!) { bulkOperationRunQuery(query: $query) { "
    "bulkOperation { id status } userErrors { field message } } }"
)
BULK_STATUS = (
    "query BulkStatus($id: ID!) { node(id: $id) { ... on BulkOperation { id status errorCode objectCount "
    "rootObjectCount fileSize url partialDataUrl } } }"
)
CURRENT_BULK = "{ currentBulkOperation { id status errorCode } }"


def valid_shop(value: object) -> str | None:
    """The shop's myshopify domain, lower-cased, or None when it is not one (never a URL or a path)."""
    if not isinstance(value, str):
        return None
    shop = value.strip().lower()
    # 64: the raw landing and quarantine tables key accounts by at most 64 characters
    return shop if len(shop) <= 64 and SHOP_RE.match(shop) else None


def classify(response: httpx.Response) -> ConnectorError | None:
    body = json_or_none(response)
    status = response.status_code
    errors = body.get("errors") if isinstance(body, dict) else None
    if status == 401:
        return ReauthRequired(
            f"Shopify refused the access token (HTTP 401): {str(errors)[:200]}",
            user_message=(
                "Shopify no longer accepts Bosco's access (the app was uninstalled or its access revoked). "
                "Reconnect the store to resume syncing; synced data is kept."
            ),
        )
    if status in (402, 403, 423):
        return AccessDenied(
            f"Shopify answered HTTP {status}: {str(errors)[:200]}",
            user_message="Shopify says the store is frozen, locked or no longer allows Bosco to read its orders.",
        )
    if status == 429:
        retry = response.headers.get("retry-after", "")
        return RateLimited("Shopify throttled Bosco (HTTP 429)", retry_after=float(retry) if retry.isdigit() else 2.0)
    if status >= 500:
        return ServerError(f"Shopify answered HTTP {status}")
    if status >= 400:
        return PlatformRejected(f"Shopify answered HTTP {status}: {str(errors)[:300]}")
    if isinstance(errors, list) and errors:
        codes = {str((e.get("extensions") or {}).get("code", "")) for e in errors if isinstance(e, dict)}
        if "THROTTLED" in codes:
            return RateLimited("Shopify: THROTTLED", retry_after=throttle_wait(body))
        if "MAX_COST_EXCEEDED" in codes:
            return TooMuchData("Shopify: the query costs more than a single query may")
        messages = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
        return PlatformRejected(f"Shopify GraphQL errors: {messages[:300]}")
    return None


def throttle_wait(body: Any, *, needed: float | None = None) -> float:
    """Seconds until the bucket holds `needed` points (the last query's cost when not given)."""
    try:
        cost = body["extensions"]["cost"]
        status = cost["throttleStatus"]
        available = float(status["currentlyAvailable"])
        rate = float(status["restoreRate"]) or 1.0
        want = float(needed if needed is not None else cost["requestedQueryCost"])
    except (KeyError, TypeError, ValueError):
        return 1.0
    return max(0.0, (want - available) / rate)


# Currency codes that passed the ISO 4217 shape check: a set lookup instead of a regex per amount.
_SEEN_CODES: set[str] = set()


def _money(bag: Any, path: str, currency: str | None) -> None:
    # The hot loop of a bulk backfill (about seven bags per order): type() checks and inlined
    # fast paths instead of helper calls; anything unusual takes the full check below.
    if type(bag) is not dict:
        raise v.FieldError(path, f"should be a money bag object, got {v.describe(bag)}")
    for side in ("shopMoney", "presentmentMoney"):
        money = bag.get(side)
        if type(money) is not dict:
            raise v.FieldError(f"{path}.{side}", f"should be an object, got {v.describe(money)}")
        amount = money.get("amount")
        # the usual "12.50" cheaply (ASCII digits with at most one point); the rest fully
        if not (type(amount) is str and amount.isascii() and amount.replace(".", "", 1).isdigit()):
            v.decimal_string(money, "amount", f"{path}.{side}.")
        code = money.get("currencyCode")
        if code not in _SEEN_CODES:
            if type(code) is not str or len(code) != 3 or not _CURRENCY.match(code):
                raise v.FieldError(f"{path}.{side}.currencyCode", f"should be an ISO 4217 code, got {v.describe(code)}")
            _SEEN_CODES.add(code)
    if currency is not None and bag["shopMoney"]["currencyCode"] != currency:
        raise v.FieldError(
            f"{path}.shopMoney.currencyCode", f"is {bag['shopMoney']['currencyCode']}, the order's is {currency}"
        )


def _moment(row: dict[str, Any], key: str) -> datetime:
    value = row.get(key)
    if not isinstance(value, str):
        raise v.FieldError(key, f"should be an ISO 8601 time, got {v.describe(value)}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise v.FieldError(key, f"is not a time: {value!r}") from exc
    if moment.tzinfo is None:
        raise v.FieldError(key, f"has no time zone: {value!r}")
    return moment


def parse_order(shop: str, zone: ZoneInfo, date_from: date | None, date_to: date | None) -> v.RowParser:
    """Validate one order (line items already attached as `lineItems: [...]`) and key it."""

    def parse(row: dict[str, Any]) -> RawRow:
        gid = row.get("id")
        match = ORDER_GID.match(gid) if isinstance(gid, str) else None
        if match is None:
            raise v.FieldError("id", f"should be gid://shopify/Order/<digits>, got {v.describe(gid)}")
        created = _moment(row, "createdAt")
        updated = _moment(row, "updatedAt")
        if date_from is not None and date_to is not None:
            v.within(updated.astimezone(zone).date(), date_from, date_to, "updatedAt")
        currency = row.get("currencyCode")
        if not isinstance(currency, str) or not _CURRENCY.match(currency):
            raise v.FieldError("currencyCode", f"should be an ISO 4217 code, got {v.describe(currency)}")
        for name in _MONEY_FIELDS:
            _money(row.get(name), name, currency)
        refunds = row.get("refunds")
        if not isinstance(refunds, list):
            raise v.FieldError("refunds", f"should be a list, got {v.describe(refunds)}")
        for i, refund in enumerate(refunds):
            if not isinstance(refund, dict):
                raise v.FieldError(f"refunds[{i}]", "should be an object")
            _moment(refund, "createdAt")
            _money(refund.get("totalRefundedSet"), f"refunds[{i}].totalRefundedSet", currency)
        lines = row.get("lineItems")
        if not isinstance(lines, list):
            raise v.FieldError("lineItems", f"should be a list, got {v.describe(lines)}")
        for i, line in enumerate(lines):
            if not isinstance(line, dict) or not isinstance(line.get("id"), str) or not LINE_GID.match(line["id"]):
                raise v.FieldError(f"lineItems[{i}].id", "should be gid://shopify/LineItem/<digits>")
            if type(line.get("quantity")) is not int or line["quantity"] < 0:
                raise v.FieldError(
                    f"lineItems[{i}].quantity", f"should be a whole number, got {v.describe(line.get('quantity'))}"
                )
            _money(line.get("originalUnitPriceSet"), f"lineItems[{i}].originalUnitPriceSet", currency)
        day = created.astimezone(zone).date()
        return RawRow(record_key=f"{shop}|{match.group(1)}", account_id=shop, date=day, payload=row)

    return parse


@dataclass
class BulkFile:
    rows: list[RawRow]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Parsing a bulk file allocates millions of dicts that all stay alive: Python's cyclic
    collector would scan the growing heap again and again (two thirds of the parse time) while
    finding nothing to free, so it waits until the file is read."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def orders_from_jsonl(data: bytes, *, where: str) -> list[dict[str, Any]]:
    """Orders with their `lineItems` from a bulk operation's JSONL; any malformed line rejects the file."""
    with _collector_paused():
        return _orders_from_lines(data, where)


def _orders_from_lines(data: bytes, where: str) -> list[dict[str, Any]]:
    orders: dict[str, dict[str, Any]] = {}
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            item = orjson.loads(raw)  # several times json's speed: bulk files run to gigabytes
        except ValueError as exc:
            raise v.envelope_error(where, LABEL, f"line {number} of the bulk file is not JSON ({exc})") from exc
        if not isinstance(item, dict):
            raise v.envelope_error(where, LABEL, f"line {number} of the bulk file is not an object")
        parent = item.pop("__parentId", None)
        if parent is None:
            if item.get("id") in orders:
                raise v.envelope_error(where, LABEL, f"line {number} repeats order {item.get('id')}")
            item["lineItems"] = []
            orders[str(item.get("id"))] = item
        else:
            owner = orders.get(str(parent))
            if owner is None:
                raise v.envelope_error(where, LABEL, f"line {number} belongs to {parent}, which is not before it")
            owner["lineItems"].append(item)
    return list(orders.values())


class ShopifyClient(AuthenticatedApi):
    platform = "shopify"
    label = LABEL
    streams = STREAMS

    def __init__(
        self, *, tokens: TokenSource, stats: CallStats | None = None, session: ApiSession | None = None
    ) -> None:
        self.policy = RetryPolicy.from_settings()
        session = session or ApiSession(platform_label=LABEL, classify=classify, stats=stats, policy=self.policy)
        super().__init__(tokens=tokens, session=session)
        self.version = settings.SHOPIFY_API_VERSION
        self.page_size = max(1, min(250, int(settings.SHOPIFY_PAGE_SIZE)))
        self.bulk_page = max(1, int(settings.SHOPIFY_BULK_PAGE_ORDERS))
        self._zones: dict[str, ZoneInfo] = {}
        self._bulk_urls: dict[str, dict[str, Any]] = {}
        self._bulk_files: dict[str, BulkFile] = {}
        self._next_cost: dict[str, tuple[float, float, float]] = {}  # shop → (available, rate, at)

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"X-Shopify-Access-Token": token}

    # ---------------------------------------------------------------- GraphQL
    def _graphql(self, shop: str, query: str, variables: dict[str, Any] | None, *, what: str, cost: float = 1) -> Any:
        self._respect_bucket(shop, cost)
        url = f"{conf.shopify_api(shop)}/api/{self.version}/graphql.json"
        body = self.authed_call("POST", url, what=what, json_body={"query": query, "variables": variables or {}})
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise v.envelope_error(what, LABEL, f"the response should carry a data object, got {v.describe(body)}")
        try:
            status = body["extensions"]["cost"]["throttleStatus"]
            self._next_cost[shop] = (
                float(status["currentlyAvailable"]),
                float(status["restoreRate"]) or 1.0,
                time.monotonic(),
            )
        except (KeyError, TypeError, ValueError):
            pass
        return body["data"]

    def _respect_bucket(self, shop: str, cost: float) -> None:
        """Wait until the shop's bucket holds this query's points instead of being THROTTLED."""
        known = self._next_cost.get(shop)
        if known is None:
            return
        available, rate, at = known
        available += (time.monotonic() - at) * rate
        if available < cost:
            wait((cost - available) / rate, reason="Shopify query cost", stats=self.session.stats, policy=self.policy)

    def shop_zone(self, shop: str) -> ZoneInfo:
        zone = self._zones.get(shop)
        if zone is None:
            info = self._shop(shop)
            try:
                zone = ZoneInfo(str(info.get("ianaTimezone")))
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise v.envelope_error(
                    f"shop {shop}", LABEL, f"unknown time zone {info.get('ianaTimezone')!r}"
                ) from exc
            self._zones[shop] = zone
        return zone

    def _shop(self, shop: str) -> dict[str, Any]:
        where = f"shop {shop}"
        data = self._graphql(shop, SHOP_QUERY, None, what=f"read {where}")
        info = data.get("shop")
        if not isinstance(info, dict):
            raise v.envelope_error(where, LABEL, f"data.shop should be an object, got {v.describe(info)}")
        try:
            v.string(info, "name")
            v.string(info, "ianaTimezone")
            code = v.string(info, "currencyCode") or ""
        except v.FieldError as exc:
            raise v.envelope_error(where, LABEL, f"{exc.path} {exc.problem}") from exc
        if not _CURRENCY.match(code):
            raise v.envelope_error(where, LABEL, f"currencyCode should be an ISO 4217 code, got {code!r}")
        if info.get("myshopifyDomain") not in (None, shop):
            raise v.envelope_error(where, LABEL, f"the answer is for {info.get('myshopifyDomain')!r}")
        return info

    # ---------------------------------------------------------------- accounts
    def list_accounts(self) -> list[AccountInfo]:
        shop = valid_shop(getattr(self.tokens, "shop", ""))
        if shop is None:
            raise PlatformRejected("no shop to list", user_message="Bosco does not know which Shopify store to read.")
        info = self._shop(shop)
        return [AccountInfo(shop, str(info["name"]), str(info["currencyCode"]), str(info["ianaTimezone"]))]

    # ---------------------------------------------------------------- chunks
    def _range_filter(self, shop: str, date_from: date, date_to: date) -> str:
        zone = self.shop_zone(shop)
        start = datetime.combine(date_from, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(date_to + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(UTC)
        return f"updated_at:>='{start:%Y-%m-%dT%H:%M:%SZ}' AND updated_at:<'{end:%Y-%m-%dT%H:%M:%SZ}'"

    def start_chunk(self, *, stream: StreamSpec, account_id: str, date_from: date, date_to: date) -> str:
        if stream.name != ORDERS.name or (date_to - date_from).days + 1 < int(settings.SHOPIFY_BULK_MIN_DAYS):
            return ""
        where = f"bulk orders of {account_id} {date_from}…{date_to}"
        inner = (
            f'{{ orders(query: "{self._range_filter(account_id, date_from, date_to)}") {{ edges {{ node {{ '
            f"{ORDER_FIELDS} lineItems {{ edges {{ node {{ {LINE_FIELDS} }} }} }} }} }} }} }}"
        )
        for _ in range(2):
            data = self._graphql(account_id, BULK_RUN, {"query": inner}, what=where, cost=10)
            result = data.get("bulkOperationRunQuery") or {}
            errors = result.get("userErrors") or []
            operation = result.get("bulkOperation")
            if isinstance(operation, dict) and isinstance(operation.get("id"), str) and not errors:
                return f"{account_id}|{operation['id']}"
            if any("in progress" in str(e.get("message", "")) for e in errors if isinstance(e, dict)):
                # An operation Bosco started before a crash (one per shop at a time): let it finish first.
                self._await_current(account_id, where)
                continue
            raise PlatformRejected(f"{where}: bulkOperationRunQuery refused: {errors}")
        raise ServerError(f"{where}: another bulk operation kept running")

    def _await_current(self, shop: str, where: str) -> None:
        deadline = time.monotonic() + float(settings.SHOPIFY_BULK_POLL_TIMEOUT)
        while time.monotonic() < deadline:
            data = self._graphql(shop, CURRENT_BULK, None, what=where)
            current = data.get("currentBulkOperation")
            if not isinstance(current, dict) or current.get("status") not in ("CREATED", "RUNNING", "CANCELING"):
                return
            wait(float(settings.SHOPIFY_BULK_POLL_INTERVAL), reason="Shopify bulk", stats=None, policy=self.policy)
        raise Deferred(f"{where}: another bulk operation is still running", retry_after=60.0)

    def wait_chunk(self, *, job_id: str) -> None:
        if not job_id:
            return
        shop, operation = job_id.split("|", 1)
        where = f"bulk operation {operation}"
        deadline = time.monotonic() + float(settings.SHOPIFY_BULK_POLL_TIMEOUT)
        while True:
            data = self._graphql(shop, BULK_STATUS, {"id": operation}, what=where)
            node = data.get("node")
            if not isinstance(node, dict):
                raise CursorExpired(f"{where}: Shopify no longer knows it")
            status = node.get("status")
            if status == "COMPLETED":
                self._bulk_urls[job_id] = node
                return
            if status == "FAILED" and node.get("errorCode") == "TIMEOUT":
                raise TooMuchData(f"{where}: timed out at Shopify")
            if status in ("FAILED", "CANCELED", "EXPIRED"):
                raise CursorExpired(f"{where}: {status} ({node.get('errorCode')})")
            if time.monotonic() > deadline:
                raise Deferred(f"{where}: still {status}", retry_after=60.0)
            wait(float(settings.SHOPIFY_BULK_POLL_INTERVAL), reason="Shopify bulk", stats=None, policy=self.policy)

    def _bulk_rows(self, job_id: str, date_from: date | None, date_to: date | None) -> list[RawRow]:
        cached = self._bulk_files.get(job_id)
        if cached is not None:
            return cached.rows
        shop = job_id.split("|", 1)[0]
        node = self._bulk_urls.get(job_id)
        if node is None:
            self.wait_chunk(job_id=job_id)
            node = self._bulk_urls[job_id]
        where = f"bulk file of {shop} {date_from}…{date_to}"
        url = node.get("url")
        if not url:
            rows: list[RawRow] = []  # no orders changed in the range: Shopify makes no file
        else:
            data = self._download(str(url), where)
            expected = node.get("fileSize")
            if expected is not None and str(expected).isdigit() and int(expected) != len(data):
                raise v.envelope_error(
                    where, LABEL, f"the file is {len(data)} bytes, Shopify said {expected} (cut off?)"
                )
            if data and not data.endswith(b"\n"):
                raise v.envelope_error(where, LABEL, "the file does not end with a complete line (cut off?)")
            orders = orders_from_jsonl(data, where=where)
            roots = node.get("rootObjectCount")
            if roots is not None and str(roots).isdigit() and int(roots) != len(orders):
                raise v.envelope_error(where, LABEL, f"the file holds {len(orders)} orders, Shopify said {roots}")
            parse = parse_order(shop, self.shop_zone(shop), date_from, date_to)
            rows = v.rows_of(orders, parse, where=where, platform_label=LABEL)
        self._bulk_files = {job_id: BulkFile(rows)}  # one file in memory at a time
        return rows

    def _download(self, url: str, where: str) -> bytes:
        def once() -> bytes:
            self.session.stats.api_calls += 1
            try:
                response = self.session.client.get(url)
            except httpx.TimeoutException as exc:
                raise TransientApiError(f"{where}: download timed out") from exc
            except httpx.TransportError as exc:
                raise TransientApiError(f"{where}: download failed ({type(exc).__name__})") from exc
            if response.status_code in (403, 404, 410):
                raise CursorExpired(f"{where}: the file is gone (HTTP {response.status_code})")
            if response.status_code >= 500:
                raise ServerError(f"{where}: HTTP {response.status_code}")
            if response.status_code != 200:
                raise PlatformRejected(f"{where}: HTTP {response.status_code}")
            return response.content

        return with_retries(once, what=where, platform_label=LABEL, stats=self.session.stats, policy=self.policy)

    def fetch_page(
        self,
        *,
        stream: StreamSpec,
        account_id: str,
        date_from: date | None,
        date_to: date | None,
        page_token: str,
        job_id: str,
    ) -> Page:
        shop = account_id
        if stream.name == SHOP.name:
            info = self._shop(shop)
            return Page(rows=[RawRow(record_key=shop, account_id=shop, date=None, payload=info)], next_token=None)
        assert date_from is not None and date_to is not None
        if job_id:
            rows = self._bulk_rows(job_id, date_from, date_to)
            offset = int(page_token) if page_token.isdigit() else 0
            end = offset + self.bulk_page
            return Page(rows=rows[offset:end], next_token=str(end) if end < len(rows) else None)
        where = f"orders of {shop} updated {date_from}…{date_to}"
        variables = {
            "first": self.page_size,
            "after": page_token or None,
            "query": self._range_filter(shop, date_from, date_to),
        }
        data = self._graphql(shop, ORDERS_QUERY, variables, what=where, cost=2 + 3 * self.page_size)
        orders = data.get("orders")
        if not isinstance(orders, dict) or not isinstance(orders.get("edges"), list):
            raise v.envelope_error(where, LABEL, f"data.orders.edges should be a list, got {v.describe(orders)}")
        page_info = orders.get("pageInfo")
        if not isinstance(page_info, dict) or not isinstance(page_info.get("hasNextPage"), bool):
            raise v.envelope_error(where, LABEL, f"pageInfo should say hasNextPage, got {v.describe(page_info)}")
        nodes: list[Any] = []
        for edge in orders["edges"]:
            node = edge.get("node") if isinstance(edge, dict) else None
            if isinstance(node, dict):
                node = dict(node)
                lines = node.get("lineItems")
                edges = lines.get("edges") if isinstance(lines, dict) else None
                node["lineItems"] = (
                    [e.get("node") for e in edges if isinstance(e, dict)] if isinstance(edges, list) else lines
                )
            nodes.append(node)
        rows = v.rows_of(
            nodes, parse_order(shop, self.shop_zone(shop), date_from, date_to), where=where, platform_label=LABEL
        )
        next_token = page_info.get("endCursor") if page_info["hasNextPage"] else None
        if page_info["hasNextPage"] and not isinstance(next_token, str):
            raise v.envelope_error(where, LABEL, "pageInfo says there is a next page but gives no endCursor")
        return Page(rows=rows, next_token=next_token)
