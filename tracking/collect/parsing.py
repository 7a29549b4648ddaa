"""Turn one beacon (the snippet's JSON batch) into event rows, or say why it is refused.

Pure functions (no Django, no I/O) so the endpoint's rules are quick to test. What leaves here is
already reduced for privacy: the IP truncated (IPv4 /24, IPv6 /48), the user agent as browser / OS /
device classes, an e-mail only as its SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MAX_BODY_BYTES = 32 * 1024
MAX_EVENTS = 50
MAX_TEXT = 2000
MAX_PROPERTIES_BYTES = 4096
#: client clocks further off than this are refused; within it, occurred_at is clamped to received_at
MAX_FUTURE = dt.timedelta(minutes=10)
MAX_PAST = dt.timedelta(days=2)

KINDS = ("page_view", "event", "identify", "order")
CLICK_ID_PARAMS = ("gclid", "gbraid", "wbraid", "fbclid", "ttclid", "msclkid")
UTM_PARAMS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_BOTS = re.compile(
    r"bot|crawl|spider|slurp|headless|lighthouse|phantomjs|python-requests|python-httpx|curl/|wget|"
    r"go-http-client|java/|okhttp|scrapy|facebookexternalhit|preview|monitor|pingdom|uptime",
    re.IGNORECASE,
)

#: the columns of tracking_event a landed row fills, in COPY order
COLUMNS = (
    "event_id",
    "received_at",
    "occurred_at",
    "kind",
    "name",
    "anonymous_id",
    "session_hint",
    "customer_id",
    "email_sha256",
    "order_id",
    "checkout_token",
    "cart_token",
    "revenue",
    "currency",
    "url",
    "path",
    "referrer",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "click_id_type",
    "click_id",
    "ip_truncated",
    "browser",
    "os",
    "device",
    "properties",
)


class Rejected(Exception):
    """The whole beacon is refused; `reason` is the counter it is counted under."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Beacon:
    rows: list[dict[str, Any]]
    #: events dropped individually (bad field, clock far off), by reason
    dropped: dict[str, int]
    #: events whose times were shifted by the device's clock offset (more than a minute off)
    clock_corrected: int = 0


def is_bot(user_agent: str) -> bool:
    return not user_agent or bool(_BOTS.search(user_agent))


def truncate_ip(address: str) -> str:
    """IPv4 to its /24, IPv6 to its /48; '' for anything that is not an address."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def classify_user_agent(user_agent: str) -> tuple[str, str, str]:
    """(browser, os, device) classes only: no versions, no build strings."""
    ua = user_agent.lower()
    if "edg/" in ua:
        browser = "Edge"
    elif "opr/" in ua or "opera" in ua:
        browser = "Opera"
    elif "firefox/" in ua or "fxios" in ua:
        browser = "Firefox"
    elif "samsungbrowser" in ua:
        browser = "Samsung Internet"
    elif "chrome/" in ua or "chromium/" in ua or "crios" in ua:
        browser = "Chrome"
    elif "safari/" in ua:
        browser = "Safari"
    else:
        browser = "Other"
    if "android" in ua:
        os_name = "Android"
    elif "iphone" in ua or "ipad" in ua or "ipod" in ua:
        os_name = "iOS"
    elif "windows" in ua:
        os_name = "Windows"
    elif "mac os" in ua or "macintosh" in ua:
        os_name = "macOS"
    elif "cros" in ua:
        os_name = "ChromeOS"
    elif "linux" in ua:
        os_name = "Linux"
    else:
        os_name = "Other"
    if "ipad" in ua or "tablet" in ua or ("android" in ua and "mobile" not in ua):
        device = "tablet"
    elif "mobi" in ua or "iphone" in ua:
        device = "mobile"
    else:
        device = "desktop"
    return browser, os_name, device


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("not text")
    return str(value).replace("\x00", "")[:limit]


def sha256_email(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _occurred_at(value: Any, received_at: dt.datetime, offset: dt.timedelta) -> dt.datetime:
    """The client's time corrected by the batch's clock offset; refused when still far off."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("t must be epoch milliseconds")
    occurred = dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC) + offset
    if occurred > received_at + MAX_FUTURE or occurred < received_at - MAX_PAST:
        raise OverflowError("clock skew")
    return min(occurred, received_at)


def _from_url(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=False))
    fields = {name: query.get(name, "")[:MAX_TEXT] for name in UTM_PARAMS}
    fields["path"] = parts.path[:MAX_TEXT]
    fields["click_id_type"] = ""
    fields["click_id"] = ""
    for name in CLICK_ID_PARAMS:
        if query.get(name):
            fields["click_id_type"] = name
            fields["click_id"] = query[name][:500]
            break
    return fields


def _event_row(raw: Any, *, common: dict[str, Any], received_at: dt.datetime, offset: dt.timedelta) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError("an event must be an object")
    kind = raw.get("type")
    if kind not in KINDS:
        raise ValueError("unknown event type")
    event_id = str(uuid.UUID(str(raw.get("id", ""))))
    url = _text(raw.get("url"))
    row: dict[str, Any] = {
        **common,
        "event_id": event_id,
        "occurred_at": _occurred_at(raw.get("t"), received_at, offset),
        "kind": kind,
        "name": _text(raw.get("name"), 200) if kind == "event" else "",
        "anonymous_id": _text(raw.get("aid"), 64),
        "session_hint": _text(raw.get("sid"), 64),
        "url": url,
        "referrer": _text(raw.get("ref")),
        **_from_url(url),
    }
    row["referrer_host"] = (urlsplit(row["referrer"]).hostname or "")[:255] if row["referrer"] else ""
    # The snippet also sends the landing page's campaign parameters it remembered for the visit.
    for name in (*UTM_PARAMS, "click_id_type", "click_id"):
        if not row[name] and raw.get(name):
            row[name] = _text(raw.get(name), 500)
    if row["click_id_type"] and row["click_id_type"] not in CLICK_ID_PARAMS:
        raise ValueError("unknown click id type")
    data = raw.get("data") or {}
    if not isinstance(data, dict):
        raise ValueError("data must be an object")
    row["customer_id"] = _text(data.pop("customer_id", ""), 200)
    email_hash = _text(data.pop("email_sha256", ""), 64).lower()
    if email_hash and not _SHA256.match(email_hash):
        raise ValueError("email_sha256 must be a SHA-256 hex digest")
    email = data.pop("email", None)
    if email and not email_hash:
        email_hash = sha256_email(_text(email, 320))
    row["email_sha256"] = email_hash
    row["order_id"] = _text(data.pop("order_id", ""), 200) if kind == "order" else ""
    row["checkout_token"] = _text(data.pop("checkout_token", ""), 200)
    row["cart_token"] = _text(data.pop("cart_token", ""), 200)
    row["revenue"] = None
    row["currency"] = ""
    if kind == "order":
        if not row["order_id"]:
            raise ValueError("an order needs order_id")
        try:
            revenue = Decimal(str(data.pop("revenue", "0")))
        except InvalidOperation as exc:
            raise ValueError("revenue must be a number") from exc
        if not revenue.is_finite() or abs(revenue) >= Decimal("1e14"):
            raise ValueError("revenue out of range")
        row["revenue"] = str(revenue.quantize(Decimal("0.0001")))
        currency = _text(data.pop("currency", ""), 10).strip().upper()
        if not _CURRENCY.match(currency):
            raise ValueError("currency must be an ISO 4217 code")
        row["currency"] = currency
    else:
        for name in ("revenue", "currency", "order_id"):
            data.pop(name, None)
    properties = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if len(properties.encode()) > MAX_PROPERTIES_BYTES:
        raise ValueError("properties too large")
    row["properties"] = properties
    return row


def parse_beacon(body: bytes, *, received_at: dt.datetime, client_ip: str, user_agent: str) -> Beacon:
    """The rows of an acceptable beacon; `Rejected` for one refused as a whole."""
    if len(body) > MAX_BODY_BYTES:
        raise Rejected("oversized", f"The beacon is larger than {MAX_BODY_BYTES} bytes.")
    if is_bot(user_agent):
        raise Rejected("bot", "Requests from bots and crawlers are not collected.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected("malformed", "The beacon is not JSON.") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list) or not payload["events"]:
        raise Rejected("malformed", "The beacon needs a non-empty list of events.")
    if len(payload["events"]) > MAX_EVENTS:
        raise Rejected("oversized", f"A beacon carries at most {MAX_EVENTS} events.")
    # The snippet stamps the send time; the difference to our clock corrects every event's time
    # (a wrong device clock shifts all of them alike). No stamp: trust the event times as they are.
    offset = dt.timedelta(0)
    sent_at = payload.get("sent_at")
    if isinstance(sent_at, int | float) and not isinstance(sent_at, bool):
        client_now = dt.datetime.fromtimestamp(sent_at / 1000, tz=dt.UTC)
        skew = received_at - client_now
        if abs(skew) > dt.timedelta(days=365 * 5):
            raise Rejected("clock_skew", "The beacon's clock is years off.")
        offset = skew
    browser, os_name, device = classify_user_agent(user_agent)
    common = {
        "received_at": received_at,
        "ip_truncated": truncate_ip(client_ip),
        "browser": browser,
        "os": os_name,
        "device": device,
    }
    rows: list[dict[str, Any]] = []
    dropped: dict[str, int] = {}
    for raw in payload["events"]:
        try:
            rows.append(_event_row(raw, common=common, received_at=received_at, offset=offset))
        except OverflowError:
            dropped["clock_skew"] = dropped.get("clock_skew", 0) + 1
        except (ValueError, TypeError, AttributeError):
            dropped["invalid_event"] = dropped.get("invalid_event", 0) + 1
    if not rows:
        reason = max(dropped, key=lambda k: dropped[k]) if dropped else "malformed"
        raise Rejected(reason, "No event in the beacon is valid.")
    corrected = len(rows) if abs(offset) > dt.timedelta(minutes=1) else 0
    return Beacon(rows=rows, dropped=dropped, clock_corrected=corrected)


def encode_rows(rows: list[dict[str, Any]]) -> str:
    """The rows as one JSON text for the buffer (times as ISO strings)."""
    return json.dumps(
        [[row[c].isoformat() if isinstance(row[c], dt.datetime) else row[c] for c in COLUMNS] for row in rows],
        separators=(",", ":"),
        ensure_ascii=False,
    )
