"""OAuth with Google (authorization code + PKCE, refresh tokens) and Meta (code, long-lived tokens).

Authlib builds the authorization URLs, checks PKCE and speaks the token endpoints; this module
adds what a sync engine needs around it: transient token-endpoint failures are retried like any
platform call, `invalid_grant` becomes `ReauthRequired`, and `ConnectionTokens` hands a sync a
valid access token, refreshing it at most once per rejection under a row lock, so two workers
never both spend a refresh token.

Meta has no refresh token. A long-lived user token (about 60 days) is exchanged for a fresh one
(`grant_type=fb_exchange_token`) while it is still valid; once it has expired, only the user can
re-authorise.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connectors import conf
from connectors.errors import (
    ApiTimeout,
    ConnectionFlowError,
    MalformedBody,
    OperatorError,
    PlatformRejected,
    RateLimited,
    ReauthRequired,
    ServerError,
    TransientApiError,
)
from connectors.http import CallStats, json_or_none, retry_after_seconds, with_retries
from connectors.models import Connection, Platform

logger = logging.getLogger("connectors.oauth")

GOOGLE_ADS_SCOPE = "https://www.googleapis.com/auth/adwords"
# GA4 is its own connection with its own Google grant: reading reports needs only this scope.
GA4_SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
GOOGLE_PLATFORMS = frozenset({Platform.GOOGLE_ADS.value, Platform.GA4.value})
# Read-only: Bosco reports on campaigns and never changes them.
META_SCOPES = "ads_read,business_management"
PLATFORM_LABELS: dict[str, str] = {
    Platform.GOOGLE_ADS.value: "Google Ads",
    Platform.META.value: "Meta",
    Platform.TIKTOK.value: "TikTok",
    Platform.GA4.value: "Google Analytics",
    Platform.SHOPIFY.value: "Shopify",
}
# Refresh a little before the platform's expiry, so a token never dies mid-request.
EXPIRY_SKEW = timedelta(seconds=90)


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: datetime | None
    scopes: str


def new_state() -> str:
    return secrets.token_urlsafe(32)


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def new_code_verifier() -> str:
    # RFC 7636: 43-128 characters from the unreserved set; token_urlsafe(64) gives 86.
    return secrets.token_urlsafe(64)


def _timeout() -> float:
    return float(settings.CONNECTORS_HTTP_TIMEOUT)


# ---------------------------------------------------------------------------------------------
# Token endpoint responses → errors
def _check_token_response(label: str) -> Any:
    """An authlib compliance hook: classify the raw token-endpoint response before it is parsed."""

    def hook(response: requests.Response) -> requests.Response:
        status = response.status_code
        if status == 429:
            raise RateLimited(
                f"{label} token endpoint throttled (HTTP 429)", retry_after=_requests_retry_after(response)
            )
        if status >= 500:
            raise ServerError(f"{label} token endpoint answered HTTP {status}")
        content_type = response.headers.get("content-type", "")
        if "json" not in content_type.lower():
            raise MalformedBody(
                f"{label} token endpoint answered HTTP {status} with {content_type or 'no content type'}"
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise MalformedBody(f"{label} token endpoint sent a body that is not valid JSON (HTTP {status})") from exc
        if not isinstance(body, dict):
            raise MalformedBody(f"{label} token endpoint sent JSON that is not an object (HTTP {status})")
        error = body.get("error")
        if isinstance(error, dict):  # Meta's Graph error shape
            raise _meta_token_error(error)
        return response

    return hook


def _requests_retry_after(response: requests.Response) -> float | None:
    raw = response.headers.get("retry-after", "")
    return float(raw) if raw.strip().isdigit() else None


def _client_rejected(label: str) -> OperatorError:
    """The token endpoint does not accept Bosco's OAuth client id or secret: Bosco's mistake,
    never the user's, so no connection is sent to re-authorise."""
    return OperatorError(
        f"the {label} token endpoint rejected Bosco's OAuth client (invalid_client): check the client id and secret",
        user_message=(
            f"{label} did not accept Bosco's own app credentials. This is a problem on Bosco's side, not with your "
            "connection: nothing needs doing on your part, and support has been alerted."
        ),
    )


def _meta_token_error(error: dict[str, Any]) -> Exception:
    code = error.get("code")
    message = str(error.get("message", "unknown error"))
    if code == 101 or (code == 1 and "client secret" in message.lower()):
        return _client_rejected("Meta")
    if code == 190:
        return ReauthRequired(
            f"Meta rejected the token: {message}",
            user_message="Meta no longer accepts Bosco's access token (it expired or was revoked). Re-authorise the connection to resume syncing.",
        )
    if code in (4, 17, 32, 613) or (isinstance(code, int) and 80000 <= code <= 80014):
        return RateLimited(f"Meta throttled the token exchange (code {code})")
    if error.get("is_transient") or code in (1, 2):
        return ServerError(f"Meta token endpoint error (code {code}): {message}")
    return OAuthError(error=str(code), description=message)


def _oauth_call(fn: Any, *, what: str, label: str, stats: CallStats | None) -> dict[str, Any]:
    """Run an authlib token call with the platform retry policy and Bosco's error classes."""

    def once() -> dict[str, Any]:
        try:
            return dict(fn())
        except requests.Timeout as exc:
            raise ApiTimeout(f"{what}: {label} token endpoint did not answer in time") from exc
        except requests.ConnectionError as exc:
            raise TransientApiError(f"{what}: could not reach the {label} token endpoint") from exc

    return with_retries(once, what=what, platform_label=label, stats=stats)


def _expires_at(body: dict[str, Any]) -> datetime | None:
    raw = body.get("expires_in")
    if raw is None or raw == "":
        return None
    try:
        seconds = int(raw)
    except (TypeError, ValueError) as exc:
        raise MalformedBody(f"token response has a non-numeric expires_in ({type(raw).__name__})") from exc
    return timezone.now() + timedelta(seconds=seconds)


def _access_token_of(body: dict[str, Any], label: str) -> str:
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise MalformedBody(f"{label} token response has no access_token")
    return token


# ---------------------------------------------------------------------------------------------
# Google
def _google_session(redirect_uri: str | None = None, *, scope: str = GOOGLE_ADS_SCOPE) -> OAuth2Session:
    session = OAuth2Session(
        client_id=settings.GOOGLE_ADS_CLIENT_ID,
        client_secret=settings.GOOGLE_ADS_CLIENT_SECRET,
        scope=scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name, not a secret
        default_timeout=_timeout(),
    )
    session.register_compliance_hook("access_token_response", _check_token_response("Google"))
    session.register_compliance_hook("refresh_token_response", _check_token_response("Google"))
    return session


def _meta_session(redirect_uri: str | None = None) -> OAuth2Session:
    session = OAuth2Session(
        client_id=settings.META_APP_ID,
        client_secret=settings.META_APP_SECRET,
        scope=META_SCOPES,
        redirect_uri=redirect_uri,
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name, not a secret
        default_timeout=_timeout(),
    )
    session.register_compliance_hook("access_token_response", _check_token_response("Meta"))
    return session


def authorization_url(*, platform: str, redirect_uri: str, state: str, code_verifier: str) -> str:
    """Where to send the person to grant access. Google gets PKCE (S256); Meta's web login has none."""
    if platform in GOOGLE_PLATFORMS:
        with _google_session(redirect_uri, scope=_google_scope(platform)) as session:
            url, _ = session.create_authorization_url(
                conf.google_endpoints().authorize,
                state=state,
                code_verifier=code_verifier,
                access_type="offline",  # a refresh token
                prompt="consent",  # ... every time, also on re-authorisation
                include_granted_scopes="true",
            )
        return str(url)
    if platform == Platform.META:
        with _meta_session(redirect_uri) as session:
            url, _ = session.create_authorization_url(conf.meta_endpoints().dialog, state=state)
        return str(url)
    if platform == Platform.TIKTOK:
        # TikTok's authorisation page is not standard OAuth: `app_id`, no scope (set on the app).
        query = urlencode({"app_id": settings.TIKTOK_APP_ID, "state": state, "redirect_uri": redirect_uri})
        return f"{conf.tiktok_endpoints().authorize}?{query}"
    raise ValueError(f"unknown platform {platform!r}")


def _google_scope(platform: str) -> str:
    return GA4_SCOPE if platform == Platform.GA4 else GOOGLE_ADS_SCOPE


def exchange_code(*, platform: str, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
    """Trade the authorization code for tokens (Meta: then for a long-lived token)."""
    label = PLATFORM_LABELS[platform]
    if platform == Platform.TIKTOK:
        return exchange_tiktok_code(code)
    try:
        if platform in GOOGLE_PLATFORMS:
            with _google_session(redirect_uri, scope=_google_scope(platform)) as session:
                body = _oauth_call(
                    lambda: session.fetch_token(conf.google_endpoints().token, code=code, code_verifier=code_verifier),
                    what="exchange the Google authorization code",
                    label=label,
                    stats=None,
                )
            refresh = body.get("refresh_token")
            if not isinstance(refresh, str) or not refresh:
                raise ConnectionFlowError(
                    "Google granted no refresh token",
                    user_message="Google did not grant Bosco offline access, so syncs could not run on their own. Please connect again.",
                )
            return TokenSet(_access_token_of(body, label), refresh, _expires_at(body), str(body.get("scope", "")))
        with _meta_session(redirect_uri) as session:
            body = _oauth_call(
                lambda: session.fetch_token(f"{conf.meta_endpoints().graph}/oauth/access_token", code=code),
                what="exchange the Meta authorization code",
                label=label,
                stats=None,
            )
        short = TokenSet(_access_token_of(body, label), "", _expires_at(body), META_SCOPES)
        return extend_meta_token(short.access_token, stats=None)
    except OAuthError as exc:
        if exc.error == "invalid_client":
            raise _client_rejected(label) from exc
        raise ConnectionFlowError(
            f"{label} refused the authorization code: {exc.error}",
            user_message=f"{label} did not accept the sign-in ({exc.error}). The link may have expired; please connect again.",
        ) from exc


def refresh_google_token(*, refresh_token: str, stats: CallStats | None) -> TokenSet:
    if not refresh_token:
        raise ReauthRequired("no Google refresh token stored", user_message=_reauth_message(Platform.GOOGLE_ADS))
    try:
        with _google_session() as session:
            body = _oauth_call(
                lambda: session.refresh_token(conf.google_endpoints().token, refresh_token=refresh_token),
                what="refresh the Google access token",
                label="Google",
                stats=stats,
            )
    except OAuthError as exc:
        if exc.error == "invalid_client":
            raise _client_rejected("Google") from exc
        if exc.error in ("invalid_grant", "unauthorized_client"):
            raise ReauthRequired(
                f"Google refused the refresh token: {exc.error}", user_message=_reauth_message(Platform.GOOGLE_ADS)
            ) from exc
        raise PlatformRejected(f"Google token refresh failed: {exc.error}") from exc
    # Google rarely rotates refresh tokens; keep the old one unless a new one came back.
    new_refresh = body.get("refresh_token") if isinstance(body.get("refresh_token"), str) else None
    return TokenSet(
        _access_token_of(body, "Google"), new_refresh or refresh_token, _expires_at(body), str(body.get("scope", ""))
    )


def extend_meta_token(access_token: str, *, stats: CallStats | None) -> TokenSet:
    """Exchange a valid Meta user token for a long-lived one (the only "refresh" Meta has)."""
    url = f"{conf.meta_endpoints().graph}/oauth/access_token"
    form = {
        "grant_type": "fb_exchange_token",
        "client_id": settings.META_APP_ID,
        "client_secret": settings.META_APP_SECRET,
        "fb_exchange_token": access_token,
    }

    def once() -> dict[str, Any]:
        try:
            response = httpx.post(url, data=form, timeout=_timeout())
        except httpx.TimeoutException as exc:
            raise ApiTimeout("Meta token exchange did not answer in time") from exc
        except httpx.TransportError as exc:
            raise TransientApiError("could not reach the Meta token endpoint") from exc
        body = json_or_none(response)
        if response.status_code >= 500 and not (isinstance(body, dict) and isinstance(body.get("error"), dict)):
            raise ServerError(f"Meta token endpoint answered HTTP {response.status_code}")
        if response.status_code == 429:
            raise RateLimited("Meta token endpoint throttled", retry_after=retry_after_seconds(response))
        if not isinstance(body, dict):
            raise MalformedBody(f"Meta token exchange sent a body that is not JSON (HTTP {response.status_code})")
        if isinstance(body.get("error"), dict):
            error = _meta_token_error(body["error"])
            if isinstance(error, OAuthError):
                raise PlatformRejected(f"Meta token exchange failed: {error.description}")
            raise error
        return body

    body = with_retries(once, what="exchange the Meta token", platform_label="Meta", stats=stats)
    return TokenSet(_access_token_of(body, "Meta"), "", _expires_at(body), META_SCOPES)


def exchange_tiktok_code(auth_code: str) -> TokenSet:
    """TikTok's auth code → a long-lived advertiser token (no refresh token, no expiry)."""
    url = f"{conf.tiktok_endpoints().api}/oauth2/access_token/"
    payload = {"app_id": settings.TIKTOK_APP_ID, "secret": settings.TIKTOK_APP_SECRET, "auth_code": auth_code}

    def once() -> dict[str, Any]:
        try:
            response = httpx.post(url, json=payload, timeout=_timeout())
        except httpx.TimeoutException as exc:
            raise ApiTimeout("TikTok token exchange did not answer in time") from exc
        except httpx.TransportError as exc:
            raise TransientApiError("could not reach the TikTok token endpoint") from exc
        body = json_or_none(response)
        if not isinstance(body, dict) or "code" not in body:
            if response.status_code >= 500 or response.status_code == 429:
                raise ServerError(f"TikTok token endpoint answered HTTP {response.status_code}")
            raise MalformedBody(f"TikTok token exchange sent no envelope (HTTP {response.status_code})")
        return body

    body = with_retries(
        _tiktok_envelope(once), what="exchange the TikTok auth code", platform_label="TikTok", stats=None
    )
    data = body.get("data")
    if not isinstance(data, dict):
        raise ConnectionFlowError("TikTok token exchange sent no data", user_message=_TIKTOK_FLOW_MESSAGE)
    raw_scopes = data.get("scope")
    scopes = raw_scopes if isinstance(raw_scopes, list) else []
    return TokenSet(_access_token_of(data, "TikTok"), "", None, ",".join(str(s) for s in scopes))


_TIKTOK_FLOW_MESSAGE = "TikTok did not accept the sign-in. The link may have expired; please connect again."
# 40100 and 5xxxx are worth retrying; 40108 is Bosco's app id or secret; the rest refuse the code.
_TIKTOK_RETRY_CODES = frozenset({40100, 40200, 40201, 50000, 50002})


def _tiktok_envelope(once: Any) -> Any:
    def checked() -> dict[str, Any]:
        body = once()
        code = body.get("code")
        if code == 0:
            return dict(body)
        message = str(body.get("message", ""))[:300]
        if code in _TIKTOK_RETRY_CODES:
            raise ServerError(f"TikTok token exchange: code {code}: {message}")
        if code == 40108:
            raise _client_rejected("TikTok")
        raise ConnectionFlowError(
            f"TikTok refused the auth code (code {code}): {message}", user_message=_TIKTOK_FLOW_MESSAGE
        )

    return checked


def revoke(*, platform: str, token: str) -> bool:
    """Best effort: tell the platform to forget the grant. Disconnecting never depends on it."""
    if not token or platform in (Platform.TIKTOK, Platform.SHOPIFY):
        # TikTok offers no revocation for advertiser tokens: the advertiser removes the app in TikTok.
        # A Shopify offline token lives until the merchant uninstalls the app (app/uninstalled).
        return False
    try:
        if platform in GOOGLE_PLATFORMS:
            response = httpx.post(conf.google_endpoints().revoke, data={"token": token}, timeout=_timeout())
        else:
            response = httpx.delete(
                f"{conf.meta_endpoints().graph}/me/permissions",
                headers={"Authorization": f"Bearer {token}"},
                timeout=_timeout(),
            )
    except httpx.HTTPError as exc:
        logger.warning("could not revoke the %s grant: %s", platform, type(exc).__name__)
        return False
    return response.status_code < 400


def _reauth_message(platform: str) -> str:
    return (
        f"{PLATFORM_LABELS[platform]} no longer accepts Bosco's access (the grant was revoked, expired or the "
        "password changed). Re-authorise the connection to resume syncing; synced data is kept."
    )


# ---------------------------------------------------------------------------------------------
# Tokens of a stored connection
class ConnectionTokens:
    """A valid access token for one connection, refreshed transparently and saved encrypted.

    `refresh(rejected=...)` is what a client calls after a 401: under a row lock it either adopts
    a token another worker refreshed meanwhile or refreshes once itself.
    """

    def __init__(self, connection: Connection, stats: CallStats) -> None:
        self.connection_id = connection.pk
        self.platform = connection.platform
        self.stats = stats
        self._access = connection.access_token or ""
        self._expires_at = connection.token_expires_at
        self._version = connection.token_version

    def access_token(self) -> str:
        if not self._access:
            raise ReauthRequired("connection has no credentials", user_message=_reauth_message(self.platform))
        now = timezone.now()
        if self._expires_at is not None:
            if self.platform in GOOGLE_PLATFORMS and self._expires_at - now <= EXPIRY_SKEW:
                return self.refresh(rejected=self._access)
            if self.platform == Platform.META:
                if self._expires_at <= now:
                    raise ReauthRequired("Meta token expired", user_message=_reauth_message(self.platform))
                if self._expires_at - now <= timedelta(days=settings.CONNECTORS_META_TOKEN_RENEW_DAYS):
                    return self.refresh(rejected=self._access)
        return self._access

    def refresh(self, *, rejected: str) -> str:
        with transaction.atomic():
            connection = Connection.objects.select_for_update().get(pk=self.connection_id)
            current = connection.access_token or ""
            if not current or connection.status == Connection.Status.DISCONNECTED:
                raise ReauthRequired("connection has no credentials", user_message=_reauth_message(self.platform))
            if current != rejected and connection.token_version != self._version:
                # Another worker refreshed while we waited for the lock: use its token.
                self._adopt(connection)
                return self._access
            if self.platform in (Platform.TIKTOK, Platform.SHOPIFY):
                # TikTok and Shopify offline tokens have no refresh: a rejected one means the grant is gone.
                raise ReauthRequired(f"{self.platform} token rejected", user_message=_reauth_message(self.platform))
            if self.platform in GOOGLE_PLATFORMS:
                tokens = refresh_google_token(refresh_token=connection.refresh_token or "", stats=self.stats)
            else:
                tokens = extend_meta_token(current, stats=self.stats)
            connection.access_token = tokens.access_token
            if tokens.refresh_token:
                connection.refresh_token = tokens.refresh_token
            connection.token_expires_at = tokens.expires_at
            connection.token_version += 1
            connection.save(
                update_fields=["access_token", "refresh_token", "token_expires_at", "token_version", "updated_at"]
            )
            self._adopt(connection)
        self.stats.token_refreshes += 1
        logger.info("refreshed the %s access token of connection %s", self.platform, self.connection_id)
        return self._access

    def _adopt(self, connection: Connection) -> None:
        self._access = connection.access_token or ""
        self._expires_at = connection.token_expires_at
        self._version = connection.token_version


class StaticTokens:
    """A token that cannot be refreshed (during the connect flow, before a connection exists)."""

    def __init__(self, access_token: str, platform: str, shop: str = "") -> None:
        self._access = access_token
        self.platform = platform
        self.shop = shop  # Shopify: the store the grant is for

    def access_token(self) -> str:
        return self._access

    def refresh(self, *, rejected: str) -> str:
        raise ReauthRequired("the new grant's token was rejected", user_message=_reauth_message(self.platform))


def code_challenge(code_verifier: str) -> str:
    """S256 challenge of a verifier (for tests and for platforms configured by hand)."""
    return create_s256_code_challenge(code_verifier)
