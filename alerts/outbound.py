"""Outgoing HTTP of the alerts (Slack and generic webhooks), safe against server-side request forgery.

A workspace member types a URL and Bosco's worker POSTs to it, so the URL must never let a member
reach inside Bosco's network. `url_check` is the one gate, used when a rule is saved AND before
every attempt:

- https only, unless `ALERTS_WEBHOOK_ALLOW_HTTP` (development and tests; production forces it off);
- no credentials in the URL, a host, a valid port, at most 2,000 characters;
- the host is resolved and EVERY address must be public: private, loopback, link-local, multicast,
  reserved, unspecified, shared (CGNAT), documentation, IPv4-mapped / 6to4 / Teredo IPv6 addresses
  are refused (loopback only when the test-only `ALERTS_WEBHOOK_ALLOW_LOOPBACK` is on).

`post_json` then connects to the address it vetted, not to whatever the name resolves to a moment
later (DNS rebinding): the URL is rewritten to the IP, while the `Host` header and the TLS SNI (and
so the certificate check) keep the original name. Redirects are never followed (a 3xx comes back as
it is and the caller records a failed delivery); timeouts are short; environment proxies are
ignored (a proxy would connect to the name again); at most 2 KB of the answer is read.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings

MAX_URL_LENGTH = 2000
#: bytes of a receiver's answer kept for the delivery log
ANSWER_EXCERPT = 2048
USER_AGENT = "Bosco-Alerts/1"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(ValueError):
    """The URL may not be used; the message says why, for the person who typed it."""


class SendFailed(Exception):
    """The receiver could not be reached (timeout, refused connection, TLS error): worth a retry."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    location: str
    excerpt: str
    elapsed_ms: int


def _refusal(address: Address) -> str | None:
    """Why an address may not be contacted, or None when it is a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if address.sixtofour is not None or address.teredo is not None:
            return "a tunnelled (6to4 / Teredo) IPv6 address"
    if address.is_loopback:
        return None if settings.ALERTS_WEBHOOK_ALLOW_LOOPBACK else "a loopback address"
    for reason, hit in (
        ("an unspecified address", address.is_unspecified),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a private address", address.is_private),
        ("a reserved address", address.is_reserved),
    ):
        if hit:
            return reason
    if not address.is_global:
        return "an address that is not on the public internet"
    return None


def _resolve(host: str, port: int) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"The host “{host}” cannot be resolved.") from exc
    addresses: list[Address] = []
    for info in infos:
        # the scope id of a link-local IPv6 address ("fe80::1%eth0") is not part of the address
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeURL(f"The host “{host}” has no address.")
    return addresses


@dataclass(frozen=True)
class CheckedURL:
    url: str
    scheme: str
    host: str
    port: int
    explicit_port: bool
    path: str
    query: str
    addresses: tuple[Address, ...]


def url_check(url: str) -> CheckedURL:
    """The URL taken apart, with its vetted addresses; `UnsafeURL` says what is wrong with it."""
    url = (url or "").strip()
    if not url:
        raise UnsafeURL("Give the URL notifications are sent to.")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURL(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UnsafeURL("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"Not a valid URL: {exc}.") from exc
    allowed = ("https", "http") if settings.ALERTS_WEBHOOK_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed:
        if parts.scheme == "http":
            raise UnsafeURL("Use an https:// URL: plain http is not allowed.")
        raise UnsafeURL("Not a valid URL: it must start with https://.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("Put no user name or password in the URL.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL("Not a valid URL: it names no host.")
    if port == 0:
        raise UnsafeURL("Not a valid URL: port 0.")
    effective_port = port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, effective_port)
    for address in addresses:
        reason = _refusal(address)
        if reason:
            named = host if host == str(address) else f"{host} ({address})"
            raise UnsafeURL(f"The URL points inside a private network: {named} is {reason}.")
    return CheckedURL(
        url=url,
        scheme=parts.scheme,
        host=host,
        port=effective_port,
        explicit_port=port is not None,
        path=parts.path or "/",
        query=parts.query,
        addresses=tuple(addresses),
    )


def url_display(url: str | None) -> str:
    """A URL as the page and the delivery log show it: scheme and host only (a Slack webhook URL's
    path is its secret)."""
    try:
        parts = urlsplit(url or "")
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(invalid URL)"
    return f"{parts.scheme}://{host}{port}/…" if host else "(no URL)"


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """`v1=` + hex HMAC-SHA256 of "<timestamp>.<body>" under the secret (docs/alerts.md)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def post_json(*, url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to the URL's vetted addresses (the next one when a connection is refused).
    `UnsafeURL` when the URL fails the gate now, `SendFailed` when the receiver cannot be reached;
    any HTTP answer (3xx included) is returned."""
    checked = url_check(url)
    failure: SendFailed | None = None
    for address in checked.addresses:
        try:
            return _post_to(checked, address, body, headers)
        except _Unreachable as exc:
            failure = SendFailed(str(exc))
    assert failure is not None  # url_check returns at least one address
    raise failure


class _Unreachable(SendFailed):
    """No connection to this address (the next vetted address may answer)."""


def _post_to(checked: CheckedURL, address: Address, body: bytes, headers: dict[str, str]) -> Answer:
    ip_host = f"[{address}]" if address.version == 6 else str(address)
    host_header = f"{checked.host}:{checked.port}" if checked.explicit_port else checked.host
    pinned = urlunsplit((checked.scheme, f"{ip_host}:{checked.port}", checked.path, checked.query, ""))
    timeout = float(settings.ALERTS_WEBHOOK_TIMEOUT)
    request_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers, "Host": host_header}
    started = time.monotonic()
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False) as client,
            client.stream(
                "POST",
                pinned,
                content=body,
                headers=request_headers,
                # TLS: SNI and the certificate check use the name, the socket uses the vetted IP
                extensions={"sni_hostname": checked.host},
            ) as response,
        ):
            excerpt = b""
            for chunk in response.iter_raw():
                excerpt += chunk
                if len(excerpt) >= ANSWER_EXCERPT:
                    break
    except httpx.ConnectError as exc:
        raise _Unreachable(f"cannot connect to {checked.host} ({address}): {exc}") from exc
    except httpx.TimeoutException as exc:
        raise SendFailed(f"timed out after {timeout:g} s ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
    return Answer(
        status_code=response.status_code,
        location=response.headers.get("location", ""),
        excerpt=excerpt[:ANSWER_EXCERPT].decode("utf-8", "replace"),
        elapsed_ms=int((time.monotonic() - started) * 1000),
    )
