"""Declarative mappings of Airbyte source streams onto Bosco's unified ad-performance shape.

The shape: date, campaign (id and name), spend, impressions, clicks, conversions, value,
currency. A mapping (`StreamMapping`) names, per source and stream, where each field is in a record:
`"path"` or `"path|transform"`; paths are dot-separated keys (list positions as numbers).
Transforms: `micros` (millionths → units, e.g. Snapchat's and Pinterest's money), `urn_id`
(the id at the end of `urn:li:sponsoredCampaign:123`), `date` (the first ten characters of a
date or timestamp in the account's time zone). A missing field stays empty: the warehouse's
data tests then quarantine the row with the reason instead of inventing a zero.

Field names come from the stream schemas the packages ship (copies of the relevant schemas are
in tests/connectors/airbyte/schemas/, and the mapping tests feed records of those schemas).
Streams without a mapping stay raw: queryable in `raw_record` and exportable as CSV.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

#: the raw stream the unified rows land in (staged by warehouse/sql/staging/stg_airbyte__ad_performance_daily.sql)
UNIFIED_STREAM = "airbyte.ad_performance"
#: the raw stream carrying each Airbyte connection's account (name, currency, time zone)
ACCOUNT_STREAM = "airbyte.account"


@dataclass(frozen=True)
class StreamMapping:
    """Where each unified field is in one stream's records: "path" or "path|transform"; None = absent."""

    date: str
    campaign_id: str
    campaign_name: str | None = None
    spend: str | None = None
    impressions: str | None = None
    clicks: str | None = None
    conversions: str | None = None
    value: str | None = None
    currency: str | None = None


FIELDS = ("date", "campaign_id", "campaign_name", "spend", "impressions", "clicks", "conversions", "value", "currency")

MAPPINGS: dict[str, dict[str, StreamMapping]] = {
    # airbyte-source-file: a CSV/JSON dataset named "ad_performance" with Bosco's own column names
    "file": {
        "ad_performance": StreamMapping(
            date="date|date",
            campaign_id="campaign_id",
            campaign_name="campaign_name",
            spend="spend",
            impressions="impressions",
            clicks="clicks",
            conversions="conversions",
            value="value",
            currency="currency",
        )
    },
    # LinkedIn Marketing API adAnalytics, pivot CAMPAIGN, daily: money in the account's currency
    "linkedin_ads": {
        "ad_campaign_analytics": StreamMapping(
            date="start_date|date",
            campaign_id="string_of_pivot_values|urn_id",
            spend="costInLocalCurrency",
            impressions="impressions",
            clicks="clicks",
            conversions="externalWebsiteConversions",
            value="conversionValueInLocalCurrency",
        )
    },
    # Pinterest campaign analytics: money in micro-units of the ad account's currency
    "pinterest": {
        "campaign_analytics": StreamMapping(
            date="DATE|date",
            campaign_id="CAMPAIGN_ID",
            campaign_name="CAMPAIGN_NAME",
            spend="SPEND_IN_MICRO_DOLLAR|micros",
            impressions="IMPRESSION_1",
            clicks="CLICKTHROUGH_1",
            conversions="TOTAL_CONVERSIONS",
            value="TOTAL_CHECKOUT_VALUE_IN_MICRO_DOLLAR|micros",
        )
    },
    # Snapchat campaign stats, DAY granularity: spend and purchase value in micro-currency
    "snapchat_marketing": {
        "campaigns_stats_daily": StreamMapping(
            date="start_time|date",
            campaign_id="id",
            spend="spend|micros",
            impressions="impressions",
            clicks="swipes",
            conversions="conversion_purchases",
            value="conversion_purchases_value|micros",
        )
    },
    # Microsoft Advertising campaign performance report, daily
    "bing_ads": {
        "campaign_performance_report_daily": StreamMapping(
            date="TimePeriod|date",
            campaign_id="CampaignId",
            campaign_name="CampaignName",
            spend="Spend",
            impressions="Impressions",
            clicks="Clicks",
            conversions="Conversions",
            value="Revenue",
            currency="CurrencyCode",
        )
    },
    # Amazon Sponsored Products campaign report, daily; 7-day attribution (Amazon's default view)
    "amazon_ads": {
        "sponsored_products_campaigns_report_stream_daily": StreamMapping(
            date="date|date",
            campaign_id="campaignId",
            campaign_name="campaignName",
            spend="cost",
            impressions="impressions",
            clicks="clicks",
            conversions="purchases7d",
            value="sales7d",
        )
    },
}

_MICRO = Decimal(1_000_000)
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")


def mapping_for(source_key: str, stream: str) -> StreamMapping | None:
    return MAPPINGS.get(source_key, {}).get(stream)


def mapped_streams(source_key: str) -> set[str]:
    return set(MAPPINGS.get(source_key, {}))


def _lookup(record: Any, path: str) -> Any:
    node = record
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
        if node is None:
            return None
    return node


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "")) if isinstance(value, str) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _apply(value: Any, transform: str) -> Any:
    if value is None:
        return None
    if transform == "micros":
        number = _decimal(value)
        return None if number is None else number / _MICRO
    if transform == "urn_id":
        text = str(value)
        return text.rsplit(":", 1)[-1] or None
    if transform == "date":
        match = _DATE.match(str(value))
        return match.group(1) if match else None
    raise ValueError(f"unknown transform {transform!r}")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _number_text(value: Any) -> str | None:
    number = value if isinstance(value, Decimal) else _decimal(value)
    if number is None:
        return None
    return format(number.normalize(), "f") if number == number.to_integral_value() else format(number, "f")


def unified_row(mapping: StreamMapping, record: dict[str, Any]) -> tuple[date | None, dict[str, Any]]:
    """A record in the unified shape (numbers as decimal strings), and its date if it has a valid one."""
    out: dict[str, Any] = {}
    for name in FIELDS:
        spec = getattr(mapping, name)
        if spec is None:
            out[name] = None
            continue
        path, _, transform = spec.partition("|")
        value = _lookup(record, path)
        if transform:
            value = _apply(value, transform)
        if name in ("spend", "impressions", "clicks", "conversions", "value"):
            out[name] = _number_text(value)
        elif name == "currency":
            text = _text(value)
            out[name] = text.upper() if text else None
        else:
            out[name] = _text(value)
    day: date | None = None
    if out["date"]:
        try:
            day = date.fromisoformat(out["date"])
        except ValueError:
            out["date"] = None
    return day, out
