"""Installing Bosco's Shopify app on a shop: the install URL, HMAC checks, the offline token.

Shopify signs what it sends: the install and callback redirects carry `hmac`, the hex HMAC-SHA256
of the other query parameters (sorted, `key=value` joined with `&`) under the app's secret, and
webhooks carry `X-Shopify-Hmac-Sha256`, the base64 HMAC-SHA256 of the raw body. Both are compared
in constant time. The token is an offline (shop-wide, non-expiring) access token: no
`grant_options[]=per-user` is asked for, so syncs keep working when the installing person leaves.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings

from connectors import conf
from connectors.errors import ConnectionFlowError, MalformedBody, OperatorError, ServerError
from connectors.http import with_retries
from connectors.oauth import TokenSet

#: read-only: orders (with refunds and line items), customers (new vs returning), products (names)
SCOPES = "read_orders,read_customers,read_products"
_FLOW_MESSAGE = "Shopify did not accept the install. The link may have expired; please connect the store again."


def authorization_url(*, shop: str, redirect_uri: str, state: str) -> str:
    query = urlencode(
        {"client_id": settings.SHOPIFY_API_KEY, "scope": SCOPES, "redirect_uri": redirect_uri, "state": state}
    )
    return f"{conf.shopify_api(shop)}/oauth/authorize?{query}"


def query_signature(params: Mapping[str, str]) -> str:
    message = "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in ("hmac", "signature"))
    return hmac.new(settings.SHOPIFY_API_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()


def query_is_signed(params: Mapping[str, str]) -> bool:
    """True when the query's `hmac` is Shopify's signature of the rest of it."""
    given = params.get("hmac") or ""
    # Bytes: compare_digest refuses str with non-ASCII characters, and a forged hmac may carry them.
    return bool(given) and hmac.compare_digest(query_signature(params).encode(), str(given).lower().encode())


def webhook_is_signed(body: bytes, signature: str) -> bool:
    digest = hmac.new(settings.SHOPIFY_API_SECRET.encode(), body, hashlib.sha256).digest()
    return bool(signature) and hmac.compare_digest(base64.b64encode(digest), signature.strip().encode())


def exchange_code(*, shop: str, code: str) -> TokenSet:
    """POST /admin/oauth/access_token with the app's key and secret → the shop's offline token."""
    url = f"{conf.shopify_api(shop)}/oauth/access_token"
    payload = {"client_id": settings.SHOPIFY_API_KEY, "client_secret": settings.SHOPIFY_API_SECRET, "code": code}

    def once() -> dict[str, Any]:
        try:
            response = httpx.post(url, json=payload, timeout=float(settings.CONNECTORS_HTTP_TIMEOUT))
        except httpx.HTTPError as exc:
            raise ServerError(f"Shopify token endpoint unreachable ({type(exc).__name__})") from exc
        if response.status_code >= 500:
            raise ServerError(f"Shopify token endpoint answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise MalformedBody("Shopify token endpoint sent no JSON") from exc
        if not isinstance(body, dict):
            raise MalformedBody("Shopify token endpoint sent JSON that is not an object")
        if body.get("error") == "invalid_client":
            raise OperatorError(
                "Shopify rejected Bosco's app key or secret (invalid_client)",
                user_message=(
                    "Shopify did not accept Bosco's own app credentials. This is a problem on Bosco's side, not "
                    "with your store: support has been alerted."
                ),
            )
        if response.status_code >= 400 or not isinstance(body.get("access_token"), str):
            raise ConnectionFlowError(
                f"Shopify refused the code: {body.get('error')} {body.get('error_description', '')}",
                user_message=_FLOW_MESSAGE,
            )
        return body

    body = with_retries(once, what="exchange the Shopify code", platform_label="Shopify", stats=None)
    return TokenSet(str(body["access_token"]), "", None, str(body.get("scope", "")))
