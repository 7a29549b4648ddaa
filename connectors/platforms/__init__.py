"""One module per ad platform: its API client, its streams and the validation of what it sends.

Every client offers the same small surface to the sync engine (`PlatformClient`): list the
accounts a grant can read, and read one page of one stream for one account and date chunk. A
page is validated completely before it is returned, so a malformed page never lands partly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from warehouse.services.landing import RawRow


@dataclass(frozen=True)
class StreamSpec:
    name: str  # the RawRecord stream, e.g. "google_ads.ad_group_daily"
    daily: bool  # rows carry a date and are fetched in date chunks; else a full snapshot per run


@dataclass(frozen=True)
class AccountInfo:
    external_id: str
    name: str
    currency: str
    time_zone: str


@dataclass
class Page:
    rows: list[RawRow]
    next_token: str | None  # None: the chunk (or snapshot) is complete


class PlatformClient(Protocol):
    platform: str
    label: str
    streams: tuple[StreamSpec, ...]

    def list_accounts(self) -> list[AccountInfo]: ...

    def start_chunk(self, *, stream: StreamSpec, account_id: str, date_from: date, date_to: date) -> str:
        """Begin a report for a chunk; returns a job id to save ("" when the platform has no jobs)."""
        ...

    def wait_chunk(self, *, job_id: str) -> None: ...

    def fetch_page(
        self,
        *,
        stream: StreamSpec,
        account_id: str,
        date_from: date | None,
        date_to: date | None,
        page_token: str,
        job_id: str,
    ) -> Page: ...

    def close(self) -> None: ...


def client_for(platform: str, *, tokens: Any, stats: Any = None) -> PlatformClient:
    """The client of `platform`, authenticating with `tokens` (a `base.TokenSource`)."""
    # Imported here: the clients import this package's shared types, so importing them at module
    # level would make the package and its clients import each other.
    from connectors.platforms.ga4 import Ga4Client
    from connectors.platforms.google_ads import GoogleAdsClient
    from connectors.platforms.meta import MetaClient
    from connectors.platforms.shopify import ShopifyClient
    from connectors.platforms.tiktok import TikTokClient

    if platform == "google_ads":
        return GoogleAdsClient(tokens=tokens, stats=stats)
    if platform == "meta":
        return MetaClient(tokens=tokens, stats=stats)
    if platform == "tiktok":
        return TikTokClient(tokens=tokens, stats=stats)
    if platform == "ga4":
        return Ga4Client(tokens=tokens, stats=stats)
    if platform == "shopify":
        return ShopifyClient(tokens=tokens, stats=stats)
    raise ValueError(f"unknown platform {platform!r}")
