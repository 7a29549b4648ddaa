"""Where a `next` parameter may send the browser: back to the host it came from, nowhere else.

Every view that redirects to a URL taken from the request goes through `safe_next`. Django's
`url_has_allowed_host_and_scheme` refuses other hosts, scheme-relative (`//evil`) and
backslash (`/\\evil`) tricks and, on an HTTPS request, plain-HTTP targets; the allowed host is the
request's own, never the `.<BOSCO_DOMAIN>` wildcard (any workspace host, one of which an attacker
can own).
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def is_same_host_url(request: HttpRequest, url: str) -> bool:
    return url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure())


def is_local_path(path: str) -> bool:
    """A path on the current host (`/…`), with no host, scheme or trick that reaches another."""
    return path.startswith("/") and url_has_allowed_host_and_scheme(path, allowed_hosts=set())


def safe_next(request: HttpRequest, candidate: str | None, fallback: str) -> str:
    """`candidate` when it stays on this host, else `fallback`."""
    if candidate and is_same_host_url(request, candidate):
        return candidate
    return fallback
