"""Reads the uploads app needs from the warehouse: the campaigns offline conversions match."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection


@dataclass(frozen=True)
class CampaignTarget:
    platform: str
    account_id: str
    campaign_id: str
    name: str
    currency: str | None


def campaign_match_targets() -> list[CampaignTarget]:
    """Every campaign of a connected platform with its account's currency (uploaded sources excluded:
    offline conversions belong to campaigns that spend on a platform)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.platform, c.account_id, c.campaign_id, coalesce(c.name, ''), a.currency
              FROM dim_campaign c
              LEFT JOIN dim_ad_account a ON a.platform = c.platform AND a.account_id = c.account_id
             WHERE c.platform NOT LIKE 'upload\\_%%'
             ORDER BY c.platform, c.account_id, c.campaign_id
            """
        )
        return [CampaignTarget(*row) for row in cursor.fetchall()]
