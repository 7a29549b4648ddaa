"""Connector settings resolved at call time, so tests and the demo can point Bosco at an emulator.

Each platform URL setting may be empty; it then falls back to the matching path under
`BOSCO_EMULATOR_URL`. Production sets every URL explicitly (docs/connectors.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from accounts.selectors import public_url


def _emulator(path: str) -> str:
    return settings.BOSCO_EMULATOR_URL.rstrip("/") + path


def _setting(name: str, emulator_path: str) -> str:
    value = getattr(settings, name, "") or ""
    return value.rstrip("/") if value else _emulator(emulator_path)


@dataclass(frozen=True)
class GoogleEndpoints:
    authorize: str
    token: str
    revoke: str
    api: str  # ends with the API version, e.g. https://googleads.googleapis.com/v21


@dataclass(frozen=True)
class MetaEndpoints:
    dialog: str
    graph: str  # ends with the Graph version, e.g. https://graph.facebook.com/v24.0


@dataclass(frozen=True)
class TikTokEndpoints:
    authorize: str
    api: str  # ends with the API version, e.g. https://business-api.tiktok.com/open_api/v1.3


def google_endpoints() -> GoogleEndpoints:
    return GoogleEndpoints(
        authorize=_setting("GOOGLE_OAUTH_AUTHORIZE_URL", "/google/o/oauth2/v2/auth"),
        token=_setting("GOOGLE_OAUTH_TOKEN_URL", "/google/token"),
        revoke=_setting("GOOGLE_OAUTH_REVOKE_URL", "/google/revoke"),
        api=f"{_setting('GOOGLE_ADS_API_URL', '/googleads')}/{settings.GOOGLE_ADS_API_VERSION}",
    )


def meta_endpoints() -> MetaEndpoints:
    return MetaEndpoints(
        dialog=_setting("META_OAUTH_DIALOG_URL", "/meta/dialog/oauth"),
        graph=f"{_setting('META_GRAPH_URL', '/meta/graph')}/{settings.META_GRAPH_VERSION}",
    )


@dataclass(frozen=True)
class Ga4Endpoints:
    admin: str  # ends with the API version, e.g. https://analyticsadmin.googleapis.com/v1beta
    data: str  # e.g. https://analyticsdata.googleapis.com/v1beta


def ga4_endpoints() -> Ga4Endpoints:
    return Ga4Endpoints(
        admin=f"{_setting('GA4_ADMIN_API_URL', '/ga4/admin')}/{settings.GA4_API_VERSION}",
        data=f"{_setting('GA4_DATA_API_URL', '/ga4/data')}/{settings.GA4_API_VERSION}",
    )


def tiktok_endpoints() -> TikTokEndpoints:
    return TikTokEndpoints(
        authorize=_setting("TIKTOK_OAUTH_AUTHORIZE_URL", "/tiktok/portal/auth"),
        api=f"{_setting('TIKTOK_API_URL', '/tiktok/open_api')}/{settings.TIKTOK_API_VERSION}",
    )


def shopify_api(shop: str) -> str:
    """The Admin API base of `shop` (`https://<shop>/admin` in production), without the version."""
    template = getattr(settings, "SHOPIFY_API_URL", "") or ""
    base = template.replace("{shop}", shop) if template else _emulator(f"/shopify/{shop}")
    return base.rstrip("/") + "/admin"


def lookback_days(platform: str) -> int:
    return int(settings.CONNECTORS_LOOKBACK_DAYS[platform])


def chunk_days(platform: str) -> int:
    return max(1, int(settings.CONNECTORS_CHUNK_DAYS.get(platform, 30)))


def max_history_days(platform: str) -> int:
    return int(settings.CONNECTORS_MAX_HISTORY_DAYS[platform])


def default_backfill_days(platform: str) -> int:
    return min(int(settings.CONNECTORS_BACKFILL_DAYS), max_history_days(platform))


def oauth_redirect_uri() -> str:
    """The one redirect URI registered with Google and Meta: the public site's shared callback.

    `CONNECTORS_OAUTH_REDIRECT_URI` when set; otherwise the public site's `/oauth/callback/`
    from `BOSCO_SCHEME`, `BOSCO_DOMAIN` and `BOSCO_PORT` — from settings, never from the
    request, because the platforms compare it character for character with the registered one.
    """
    explicit = getattr(settings, "CONNECTORS_OAUTH_REDIRECT_URI", "") or ""
    if explicit:
        return str(explicit)

    return public_url(path=reverse("oauth_callback", urlconf=settings.PUBLIC_SCHEMA_URLCONF))
