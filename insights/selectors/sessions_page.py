"""The Channels page's GA4 part: sessions and conversion rate per channel group and UTM campaign.

Read from the warehouse's sessions selectors (a layer below); shown only once a GA4 property has
landed, so a workspace without GA4 sees the Channels page it always had.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from warehouse.selectors import sessions


@dataclass(frozen=True)
class ChannelSessions:
    channels: list[sessions.SessionsRow]
    campaigns: list[sessions.SessionsRow]
    total: sessions.SessionsRow
    flags: sessions.SessionsFlags
    date_from: date
    date_to: date


def channel_sessions(*, date_from: date, date_to: date, campaign_limit: int = 25) -> ChannelSessions | None:
    """None when no GA4 property is connected (the page then has no sessions section)."""
    if not sessions.ga4_connected():
        return None
    channels = sessions.sessions_by_channel(date_from=date_from, date_to=date_to)
    return ChannelSessions(
        channels=channels,
        campaigns=sessions.sessions_by_campaign(date_from=date_from, date_to=date_to, limit=campaign_limit),
        total=sessions.sessions_total(channels),
        flags=sessions.sessions_flags(date_from=date_from, date_to=date_to),
        date_from=date_from,
        date_to=date_to,
    )
