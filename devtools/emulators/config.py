"""Configuration of the platform emulators.

Everything that shapes the emulated data or behaviour lives in one frozen dataclass so a test, a
benchmark or the demo can say exactly which world it runs against, and two servers started with
the same config serve the same bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

GOOGLE_ADS = "google_ads"
META = "meta"
TIKTOK = "tiktok"
# Google Analytics 4: not an ad platform, but it shares the fault book, versions and truth.
GA4 = "ga4"
PLATFORMS: tuple[str, ...] = (GOOGLE_ADS, META, TIKTOK, GA4)
#: not an ad platform: the store (orders) emulator; its data follows the ad platforms' spend
SHOPIFY = "shopify"

# Currencies whose smallest unit is the whole unit (ISO 4217 exponent 0). Meta reports JPY spend
# as "1234", never "1234.00"; Google still uses micros for them.
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "CLP", "ISK", "HUF", "TWD", "VND"})

# Rough units of each currency per US dollar, so a JPY account spends thousands per day and a
# EUR account tens: realistic magnitudes for connectors and dashboards, not exchange rates.
CURRENCY_SCALE: dict[str, float] = {
    "USD": 1.0,
    "EUR": 0.92,
    "GBP": 0.79,
    "SEK": 10.5,
    "JPY": 150.0,
    "CHF": 0.88,
    "CAD": 1.36,
    "AUD": 1.52,
}


def currency_decimals(currency: str) -> int:
    """Digits after the decimal point in the smallest unit of `currency`."""
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


@dataclass(frozen=True)
class AccountSpec:
    """One ad account: Google customer id (10 digits), Meta ad account id (digits, no `act_`) or
    TikTok advertiser id (19 digits)."""

    account_id: str
    name: str
    currency: str
    time_zone: str
    country: str

    def __post_init__(self) -> None:
        if not self.account_id.isdigit():
            raise ValueError(f"account_id must be digits only, got {self.account_id!r}")
        if len(self.currency) != 3:
            raise ValueError(f"currency must be an ISO 4217 code, got {self.currency!r}")

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> AccountSpec:
        return cls(
            account_id=str(data["account_id"]).removeprefix("act_").replace("-", ""),
            name=str(data["name"]),
            currency=str(data["currency"]).upper(),
            time_zone=str(data["time_zone"]),
            country=str(data.get("country", "US")),
        )


DEFAULT_GOOGLE_ACCOUNTS: tuple[AccountSpec, ...] = (
    AccountSpec("1234567890", "Bosco Demo DE", "EUR", "Europe/Berlin", "DE"),
    AccountSpec("2345678901", "Bosco Demo US", "USD", "America/New_York", "US"),
    AccountSpec("3456789012", "Bosco Demo UK", "GBP", "Europe/London", "UK"),
)

DEFAULT_META_ACCOUNTS: tuple[AccountSpec, ...] = (
    AccountSpec("1010203040506071", "Bosco Demo US", "USD", "America/Los_Angeles", "US"),
    AccountSpec("1020304050607082", "Bosco Démo FR", "EUR", "Europe/Paris", "FR"),
    AccountSpec("1030405060708093", "Bosco デモ JP", "JPY", "Asia/Tokyo", "JP"),
)

DEFAULT_TIKTOK_ACCOUNTS: tuple[AccountSpec, ...] = (
    AccountSpec("7301000000000000011", "Bosco Demo US", "USD", "America/New_York", "US"),
    AccountSpec("7302000000000000022", "Bosco Demo DE", "EUR", "Europe/Berlin", "DE"),
)

# GA4 properties: numeric property ids, each with its reporting currency and time zone. Ad
# accounts send their clicks to the property of their currency (else the first property).
DEFAULT_GA4_PROPERTIES: tuple[AccountSpec, ...] = (
    AccountSpec("412345678", "Bosco Demo Shop (US)", "USD", "America/New_York", "US"),
    AccountSpec("498765432", "Bosco Démo Boutique (EU)", "EUR", "Europe/Berlin", "DE"),
)


@dataclass(frozen=True)
class EmulatorConfig:
    """Knobs of the emulated platforms. Defaults mirror the real platforms where one exists."""

    # --- data -------------------------------------------------------------------------------
    seed: int = 1
    # Last day with data (the partial current day). None: the emulator clock's UTC date.
    today: date | None = None
    # Day the entity set (campaign start/end dates) is anchored to. None: the first `today`.
    # Anchoring keeps history fixed while the clock or `today` advances during a test.
    anchor_date: date | None = None
    # Share of a full day already served on `today` (the current day is partial).
    today_fraction: float = 0.5
    campaigns_per_account: int = 24
    ad_groups_per_campaign_min: int = 2
    ad_groups_per_campaign_max: int = 4
    # Reporting history each platform keeps (Meta insights and Google Ads: about 37 months).
    history_months: int = 37
    google_accounts: tuple[AccountSpec, ...] = field(default=DEFAULT_GOOGLE_ACCOUNTS)
    meta_accounts: tuple[AccountSpec, ...] = field(default=DEFAULT_META_ACCOUNTS)
    tiktok_accounts: tuple[AccountSpec, ...] = field(default=DEFAULT_TIKTOK_ACCOUNTS)
    ga4_properties: tuple[AccountSpec, ...] = field(default=DEFAULT_GA4_PROPERTIES)

    # --- restatement ------------------------------------------------------------------------
    google_restatement_days: int = 30
    meta_restatement_days: int = 28
    # TikTok's default attribution window is 7 days after the click: the last week still moves.
    tiktok_restatement_days: int = 7
    # Advance a platform's restatement version after every N report calls (None: only on demand).
    auto_restate_every_n_report_calls: int | None = None

    # --- Google Ads API ---------------------------------------------------------------------
    google_page_size: int = 10_000
    google_stream_batch_size: int = 10_000
    # Requests whose result would exceed this many rows fail with DEADLINE_EXCEEDED (504).
    google_max_rows_per_request: int | None = 1_000_000
    # Basic access allows 15,000 operations a day; None disables the quota.
    google_daily_operation_limit: int | None = None
    google_require_developer_token: bool = True
    google_min_api_version: int | None = None

    # --- Meta Marketing API -----------------------------------------------------------------
    meta_default_limit: int = 25
    # Synchronous insights that would return more rows fail with code 1 ("reduce the amount").
    meta_max_rows_per_sync_request: int | None = 100_000
    # Async report runs above this size end as "Job Failed".
    meta_max_rows_per_async_job: int | None = 5_000_000
    # GET /{report_run_id} calls until "Job Completed" (the call before shows 100% but running).
    meta_async_polls_to_complete: int = 5
    # Business-use-case budget per ad account and hour, used for the usage headers.
    meta_calls_per_hour: int = 600
    # When True, exceeding the budget answers code 80000/80004 like the real API.
    meta_enforce_rate_limit: bool = False
    meta_min_api_version: int | None = None

    # --- TikTok Business API -------------------------------------------------------------
    # `page_size` of report/integrated/get and the entity lists: default 10, at most 1000.
    tiktok_default_page_size: int = 10
    tiktok_max_page_size: int = 1000
    # Longest date span of one daily (stat_time_day) synchronous report, in days.
    tiktok_max_report_days: int = 30
    # Synchronous reports that would return more rows fail with code 40067 (use async tasks).
    tiktok_max_rows_per_sync_request: int | None = 100_000
    # Asynchronous report tasks (report/task/create/): longest span, rows above which the task
    # ends FAILED, check/ calls until SUCCESS (QUEUING first, then PROCESSING), and how long a
    # finished task's file can be downloaded (seconds of the emulator clock).
    tiktok_max_async_report_days: int = 365
    tiktok_max_rows_per_async_task: int | None = 5_000_000
    tiktok_async_polls_to_complete: int = 3
    tiktok_async_task_ttl_seconds: int = 3600

    # --- Google Analytics 4 (Admin API + Data API) ---------------------------------------
    # GA4 processes a day for about 48 hours: the last `ga4_processing_days` days grow on later
    # reads (each restatement version closes part of the gap), older days never change.
    ga4_processing_days: int = 2
    # `limit` of runReport without one (the API's default is 10,000; at most 250,000).
    ga4_default_limit: int = 10_000
    ga4_max_limit: int = 250_000
    # Property quota (core tokens): per day and per hour, as the Standard property quota.
    ga4_tokens_per_day: int = 200_000
    ga4_tokens_per_hour: int = 40_000
    # Distinct rows a report may hold before the rest folds into one "(other)" row (None: never).
    ga4_other_row_after: int | None = None
    # Reports with user metrics and a campaign dimension are thresholded: rows with fewer users
    # than this are withheld and `subjectToThresholding` is true (0: never).
    ga4_threshold_users: int = 0
    # --- Shopify (GraphQL Admin API) -----------------------------------------------------
    # Every `<shop>.myshopify.com` is served; all shops sell in this currency and time zone.
    shopify_currency: str = "USD"
    shopify_time_zone: str = "America/New_York"
    shopify_api_key: str = "emulator-shopify-key"
    shopify_api_secret: str = "emulator-shopify-secret"  # noqa: S105 - the emulator's public fake secret
    # Cost-based throttling: a leaky bucket per shop (points), refilled per second.
    shopify_bucket_size: int = 2000
    shopify_restore_rate: int = 100
    # `node(id:)` polls of a bulk operation before it reports COMPLETED.
    shopify_bulk_polls_to_complete: int = 2
    # Platforms' claimed conversion value ÷ real store revenue lies in [low, high] per day.
    shopify_claim_factor_low: float = 1.2
    shopify_claim_factor_high: float = 1.6
    # Store revenue that no ad claims (organic, e-mail), as a share of the ad-driven revenue.
    shopify_organic_share: float = 0.0

    # --- OAuth ------------------------------------------------------------------------------
    google_client_id: str = "bosco-emulator.apps.googleusercontent.com"
    google_client_secret: str = "emulator-google-secret"  # noqa: S105 - the emulator's public fake secret
    meta_app_id: str = "100000000000001"
    meta_app_secret: str = "emulator-meta-secret"  # noqa: S105 - the emulator's public fake secret
    tiktok_app_id: str = "7300000000000000001"
    tiktok_app_secret: str = "emulator-tiktok-secret"  # noqa: S105 - the emulator's public fake secret
    google_access_token_lifetime: int = 3600
    meta_short_lived_token_lifetime: int = 7200
    meta_long_lived_token_lifetime: int = 60 * 86400
    auth_code_lifetime: int = 600

    # --- transport --------------------------------------------------------------------------
    # Added to every platform response, to make the demo feel like a remote API.
    latency_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.campaigns_per_account < 1:
            raise ValueError("campaigns_per_account must be >= 1")
        if not 1 <= self.ad_groups_per_campaign_min <= self.ad_groups_per_campaign_max <= 9:
            raise ValueError("need 1 <= ad_groups_per_campaign_min <= max <= 9")
        if not 0.0 < self.today_fraction <= 1.0:
            raise ValueError("today_fraction must be in (0, 1]")
        if self.google_page_size < 1 or self.google_stream_batch_size < 1:
            raise ValueError("page and batch sizes must be >= 1")
        if self.meta_async_polls_to_complete < 1:
            raise ValueError("meta_async_polls_to_complete must be >= 1")
        if self.tiktok_async_polls_to_complete < 1:
            raise ValueError("tiktok_async_polls_to_complete must be >= 1")
        if self.history_months < 1:
            raise ValueError("history_months must be >= 1")
        if not 1 <= self.tiktok_default_page_size <= self.tiktok_max_page_size:
            raise ValueError("need 1 <= tiktok_default_page_size <= tiktok_max_page_size")
        for accounts in (self.google_accounts, self.meta_accounts, self.tiktok_accounts, self.ga4_properties):
            ids = [a.account_id for a in accounts]
            if len(ids) != len(set(ids)) or not ids:
                raise ValueError("account ids must be unique and non-empty")
        if any(len(a.account_id) != 10 for a in self.google_accounts):
            raise ValueError("Google Ads customer ids have 10 digits")

    def accounts(self, platform: str) -> tuple[AccountSpec, ...]:
        if platform == GOOGLE_ADS:
            return self.google_accounts
        if platform == META:
            return self.meta_accounts
        if platform == TIKTOK:
            return self.tiktok_accounts
        if platform == GA4:
            return self.ga4_properties
        raise ValueError(f"unknown platform {platform!r}")

    def restatement_days(self, platform: str) -> int:
        if platform == GOOGLE_ADS:
            return self.google_restatement_days
        if platform == TIKTOK:
            return self.tiktok_restatement_days
        if platform == GA4:
            return self.ga4_processing_days
        return self.meta_restatement_days

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, date):
                value = value.isoformat()
            elif f.name in _ACCOUNT_FIELDS:
                value = [a.to_dict() for a in value]
            out[f.name] = value
        return out

    def replace(self, changes: Mapping[str, Any]) -> EmulatorConfig:
        """A copy with `changes` applied; values may come from JSON (dates as ISO strings)."""
        known = {f.name: f for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(unknown)}")
        parsed: dict[str, Any] = {}
        for name, value in changes.items():
            parsed[name] = _coerce(name, value, getattr(self, name))
        return dataclasses.replace(self, **parsed)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> EmulatorConfig:
        return cls().replace(data)


_DATE_FIELDS = frozenset({"today", "anchor_date"})
_ACCOUNT_FIELDS = frozenset({"google_accounts", "meta_accounts", "tiktok_accounts", "ga4_properties"})
_OPTIONAL_INT_FIELDS = frozenset(
    {
        "auto_restate_every_n_report_calls",
        "google_max_rows_per_request",
        "google_daily_operation_limit",
        "google_min_api_version",
        "meta_max_rows_per_sync_request",
        "meta_max_rows_per_async_job",
        "meta_min_api_version",
        "tiktok_max_rows_per_sync_request",
        "tiktok_max_rows_per_async_task",
        "ga4_other_row_after",
    }
)


def _coerce(name: str, value: Any, current: Any) -> Any:
    """Turn a JSON value into the field's Python type, failing loudly on nonsense."""
    if name in _DATE_FIELDS:
        if value is None or isinstance(value, date):
            return value
        return date.fromisoformat(str(value))
    if name in _ACCOUNT_FIELDS:
        return tuple(a if isinstance(a, AccountSpec) else AccountSpec.from_mapping(a) for a in value)
    if name in _OPTIONAL_INT_FIELDS:
        return None if value is None else int(value)
    if isinstance(current, bool):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if isinstance(current, int):
        return int(value)
    if isinstance(current, float):
        return float(value)
    if isinstance(current, str):
        return str(value)
    return value
