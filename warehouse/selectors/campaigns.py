"""Reads behind the campaigns endpoints: filtering, sorting, and one batch load per page.

A campaign's API id is its natural key `platform:account_id:campaign_id` — the same string the
metrics layer returns in `campaign` and accepts as a `campaign` filter, so a client can go from
a metrics row to the campaign and back. The internal integer `campaign_key` is never exposed.

Account names and lifetime totals of a page are loaded with one query each (Sentry's
`get_attrs` batching), so a page of 500 campaigns is three queries, not a thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from bosco.api.params import is_valid_id
from warehouse.models import AdAccount, AdGroup, Campaign, CampaignSpan

_SPAN_COLUMNS = {"first_day", "last_day", "spend", "impressions", "clicks"}
_SPAN_FIELD = {"spend": "spend_micros"}


def split_id(value: str, parts: int) -> tuple[str, ...] | None:
    """`"meta:123:456"` → ("meta", "123", "456"); None when it cannot be an id of that shape."""
    if not is_valid_id(value):
        return None
    pieces = tuple(value.split(":"))
    if len(pieces) != parts or not all(pieces):
        return None
    return pieces


def campaigns_filter(
    campaigns: QuerySet[Campaign],
    *,
    platforms: list[str] | None = None,
    accounts: list[str] | None = None,
    statuses: list[str] | None = None,
    search: str | None = None,
) -> QuerySet[Campaign]:
    if platforms:
        campaigns = campaigns.filter(platform__in=platforms)
    if accounts:
        wanted = Q(platform__in=[])  # an account id of the wrong shape matches nothing
        for account in accounts:
            pieces = split_id(account, 2)
            if pieces:
                wanted |= Q(platform=pieces[0], account_id=pieces[1])
        campaigns = campaigns.filter(wanted)
    if statuses:
        campaigns = campaigns.filter(status__in=statuses)
    if search:
        campaigns = campaigns.filter(name__icontains=search)
    return campaigns


def campaign_ids_matching(
    *, search: str, platforms: list[str] | None = None, accounts: list[str] | None = None, limit: int
) -> list[str]:
    """Public ids of the campaigns whose name contains `search`, by name, at most `limit` of them."""
    found = campaigns_filter(Campaign.objects.all(), platforms=platforms, accounts=accounts, search=search)
    rows = found.order_by("name", "platform", "account_id", "campaign_id").values_list(
        "platform", "account_id", "campaign_id"
    )
    return [f"{p}:{a}:{c}" for p, a, c in rows[:limit]]


def ad_accounts() -> list[tuple[str, str, str]]:
    """Every ad account of the warehouse's account dimension: (platform, account id, name)."""
    return list(AdAccount.objects.values_list("platform", "account_id", "name"))


def campaigns_sort(campaigns: QuerySet[Campaign], sort: str) -> QuerySet[Campaign]:
    """Order by one field; ties (and then ids) break deterministically so pages never overlap."""
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name in _SPAN_COLUMNS:
        column = _SPAN_FIELD.get(name, name)
        span = CampaignSpan.objects.filter(campaign_key=OuterRef("pk")).values(column)[:1]
        campaigns = campaigns.annotate(_sort=Subquery(span))
        expression = F("_sort").desc(nulls_last=True) if descending else F("_sort").asc(nulls_last=True)
    else:
        expression = F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)
    return campaigns.order_by(expression, "platform", "account_id", "campaign_id")


def campaign_get(campaign_id: str) -> Campaign | None:
    pieces = split_id(campaign_id, 3)
    if pieces is None:
        return None
    platform, account_id, native_id = pieces
    return Campaign.objects.filter(platform=platform, account_id=account_id, campaign_id=native_id).first()


@dataclass(frozen=True)
class CampaignAttrs:
    account_name: str | None
    lifetime: dict[str, Any] | None


def _micros(value: int) -> Decimal:
    return Decimal(int(value)).scaleb(-6)


def campaigns_attrs(campaigns: list[Campaign]) -> dict[int, CampaignAttrs]:
    """Account names and lifetime totals for a page of campaigns, in two queries."""
    if not campaigns:
        return {}
    pairs = {(c.platform, c.account_id) for c in campaigns}
    accounts = Q(platform__in=[])
    for platform, account_id in pairs:
        accounts |= Q(platform=platform, account_id=account_id)
    names = {(a.platform, a.account_id): a.name for a in AdAccount.objects.filter(accounts)}
    spans = {s.campaign_key: s for s in CampaignSpan.objects.filter(campaign_key__in=[c.pk for c in campaigns])}
    out: dict[int, CampaignAttrs] = {}
    for campaign in campaigns:
        span = spans.get(campaign.pk)
        lifetime = (
            {
                "first_day": span.first_day,
                "last_day": span.last_day,
                "spend": _micros(span.spend_micros),
                "impressions": span.impressions,
                "clicks": span.clicks,
                "conversions": _micros(span.conversions_micros),
                "conversion_value": _micros(span.conversions_value_micros),
            }
            if span is not None
            else None
        )
        out[campaign.pk] = CampaignAttrs(
            account_name=names.get((campaign.platform, campaign.account_id)), lifetime=lifetime
        )
    return out


def campaign_as_dict(campaign: Campaign, attrs: CampaignAttrs, currency: str) -> dict[str, Any]:
    return {
        "id": f"{campaign.platform}:{campaign.account_id}:{campaign.campaign_id}",
        "platform": campaign.platform,
        "account": f"{campaign.platform}:{campaign.account_id}",
        "account_name": attrs.account_name,
        "campaign_id": campaign.campaign_id,
        "name": campaign.name,
        "status": campaign.status,
        "platform_status": campaign.platform_status,
        "objective": campaign.objective,
        "currency": currency,
        "lifetime": attrs.lifetime,
        "updated_at": campaign.updated_at,
    }


def ad_groups_of(campaign: Campaign) -> list[dict[str, Any]]:
    groups = AdGroup.objects.filter(
        platform=campaign.platform, account_id=campaign.account_id, campaign_id=campaign.campaign_id
    ).order_by("name", "ad_group_id")
    prefix = f"{campaign.platform}:{campaign.account_id}:{campaign.campaign_id}"
    return [
        {"id": f"{prefix}:{g.ad_group_id}", "ad_group_id": g.ad_group_id, "name": g.name, "status": g.status}
        for g in groups
    ]
