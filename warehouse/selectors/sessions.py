"""GA4 sessions beside ad spend: reads of `fct_sessions_daily` for pages, by channel and campaign.

The measures and ratios are the catalogue's (`warehouse.metrics.SESSION_SUMS` / `SESSION_RATIOS`):
sums of the stored columns over exactly the rows asked for, ratios of those sums. Revenue is in
the workspace's reporting currency. Rows GA4 folded into "(other)", reports it thresholded and
days it is still processing are counted and flagged here, so a page can say so next to the
numbers instead of presenting them as complete.

A UTM campaign is matched to ad spend by name: GA4's `sessionCampaignName` is the ad platform's
campaign name when the platform auto-tags (Google Ads) or the URL carries `utm_campaign={{name}}`
(Meta, TikTok), so the same name in `dim_campaign` is the campaign that paid for the visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection

from warehouse.metrics import SESSION_RATIOS, SESSION_SUMS

_SUMS = ("sessions", "engaged_sessions", "total_users", "key_events", "purchase_revenue_reporting_micros")


@dataclass(frozen=True)
class SessionsRow:
    label: str  # the channel group, or the campaign name
    detail: str  # "source / medium" of a campaign row ("" for channel rows)
    sessions: int
    engaged_sessions: int
    key_events: int
    purchase_revenue: Decimal  # reporting currency
    spend: Decimal | None  # ad spend of the campaigns with this name (campaign rows), reporting currency
    is_other: bool  # GA4 folded rows into this one: its dimensions are "(other)"

    def metric(self, name: str) -> float | int | Decimal | None:
        """A catalogue metric of this row: a session sum or a ratio of them."""
        values: dict[str, Decimal | int | None] = {
            "sessions": self.sessions,
            "engaged_sessions": self.engaged_sessions,
            "key_events": self.key_events,
            "purchase_revenue": self.purchase_revenue,
        }
        if name in SESSION_RATIOS:
            return SESSION_RATIOS[name].value(values)
        return values[SESSION_SUMS[name].name]

    @property
    def conversion_rate(self) -> float | None:
        value = self.metric("ga4_conversion_rate")
        return None if value is None else float(value)

    @property
    def engagement_rate(self) -> float | None:
        value = self.metric("engagement_rate")
        return None if value is None else float(value)

    @property
    def cost_per_session(self) -> Decimal | None:
        if self.spend is None or not self.sessions:
            return None
        return (self.spend / self.sessions).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class SessionsFlags:
    """What GA4 said about the numbers in the range."""

    thresholded: bool  # some reports withheld rows below GA4's privacy thresholds
    other_rows: bool  # some reports folded rows into "(other)"
    settling_from: date | None  # the first day GA4 may still be processing
    properties: tuple[str, ...]  # display names (or ids) of the properties counted


def ga4_connected() -> bool:
    """Whether any GA4 property has landed (the Channels page shows sessions only then)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM stg_ga4__property)")
        return bool(cursor.fetchone()[0])


def _rows(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _money(micros: int | None) -> Decimal:
    return Decimal(int(micros or 0)).scaleb(-6)


def sessions_by_channel(*, date_from: date, date_to: date) -> list[SessionsRow]:
    """One row per default channel group, most sessions first."""
    rows = _rows(
        f"""SELECT channel_group, {", ".join(f"sum({c})" for c in _SUMS)}, bool_or(is_other)
              FROM fct_sessions_daily
             WHERE date_day BETWEEN %(date_from)s AND %(date_to)s
             GROUP BY channel_group
             ORDER BY sum(sessions) DESC, channel_group""",  # nosec B608 # column names from this module
        {"date_from": date_from, "date_to": date_to},
    )
    return [
        SessionsRow(channel, "", int(s), int(e), int(k), _money(r), None, bool(other))
        for channel, s, e, _users, k, r, other in rows
    ]


def sessions_by_campaign(*, date_from: date, date_to: date, limit: int = 25) -> list[SessionsRow]:
    """UTM campaigns with the most sessions, each with the ad spend of campaigns of that name."""
    rows = _rows(
        f"""WITH visits AS (
                SELECT campaign, source || ' / ' || medium AS source_medium,
                       {", ".join(f"sum({c}) AS {c}" for c in _SUMS)}, bool_or(is_other) AS is_other
                  FROM fct_sessions_daily
                 WHERE date_day BETWEEN %(date_from)s AND %(date_to)s
                   AND campaign NOT IN ('(organic)', '(direct)', '(referral)', '(not set)')
                 GROUP BY campaign, source, medium
                 ORDER BY sum(sessions) DESC, campaign, source_medium
                 LIMIT %(limit)s
            ), spend AS (
                SELECT c.name, sum(r.spend_micros) AS spend_micros
                  FROM rollup_day_campaign r
                  JOIN dim_campaign c ON c.id = r.campaign_key
                 WHERE r.date_day BETWEEN %(date_from)s AND %(date_to)s
                   AND c.name IN (SELECT campaign FROM visits)
                 GROUP BY c.name
            )
            SELECT v.campaign, v.source_medium, {", ".join(f"v.{c}" for c in _SUMS)}, s.spend_micros, v.is_other
              FROM visits v LEFT JOIN spend s ON s.name = v.campaign
             ORDER BY v.sessions DESC, v.campaign, v.source_medium""",  # nosec B608 # column names from this module
        {"date_from": date_from, "date_to": date_to, "limit": limit},
    )
    return [
        SessionsRow(name, detail, int(s), int(e), int(k), _money(r), None if spend is None else _money(spend), bool(o))
        for name, detail, s, e, _users, k, r, spend, o in rows
    ]


def sessions_total(rows: list[SessionsRow]) -> SessionsRow:
    """The sum of channel rows (every session belongs to exactly one channel group)."""
    return SessionsRow(
        "Total",
        "",
        sum(r.sessions for r in rows),
        sum(r.engaged_sessions for r in rows),
        sum(r.key_events for r in rows),
        sum((r.purchase_revenue for r in rows), Decimal(0)),
        None,
        any(r.is_other for r in rows),
    )


def sessions_flags(*, date_from: date, date_to: date) -> SessionsFlags:
    (thresholded, other, settling), *_ = _rows(
        """SELECT coalesce(bool_or(is_thresholded), false), coalesce(bool_or(has_other_row OR is_other), false),
                  min(date_day) FILTER (WHERE is_settling)
             FROM fct_sessions_daily WHERE date_day BETWEEN %(date_from)s AND %(date_to)s""",
        {"date_from": date_from, "date_to": date_to},
    )
    names = _rows("SELECT coalesce(name, account_id) FROM stg_ga4__property ORDER BY 1", {})
    return SessionsFlags(bool(thresholded), bool(other), settling, tuple(n for (n,) in names))
