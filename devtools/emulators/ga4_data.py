"""Deterministic GA4 traffic, consistent with the emulated ad platforms.

A property's sessions are the sum of two parts, per day:

- **paid**: every campaign of every emulated ad account that sends its clicks to this property
  (the account's currency equals the property's, else the first property) lands
  `clicks × landing rate` sessions (70–95 %, per campaign) under GA4's auto-tagged source /
  medium (`google / cpc`, `facebook / paid`, `tiktok / paid`) and the campaign's own name, so a
  campaign's sessions rise and fall with its clicks on the ad emulator;
- **unpaid**: an organic, direct, social, referral and e-mail baseline with a weekly pattern, a
  yearly season and noise.

Key events are sessions × a conversion rate per campaign (fewer than the ad platforms claim:
the platforms' over-reporting is the point of comparing them), purchase revenue is key events ×
an order value in the property currency. The last `ga4_processing_days` days are still being
processed: they are served at a fraction of their final value that grows with the GA4
restatement version (`POST /_emulator/restate {"platform": "ga4"}`), older days never change.
Dates are the ad accounts' own dates (the emulator does not shift days between time zones).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from devtools.emulators.config import CURRENCY_SCALE, GA4, GOOGLE_ADS, META, TIKTOK, AccountSpec, currency_decimals
from devtools.emulators.datagen import CAMPAIGN, from_ordinal, selected_ad_groups, to_ordinal
from devtools.emulators.hashing import key
from devtools.emulators.state import EmulatorState

AD_PLATFORMS = (GOOGLE_ADS, META, TIKTOK)
SOURCE_MEDIUM = {GOOGLE_ADS: ("google", "cpc"), META: ("facebook", "paid"), TIKTOK: ("tiktok", "paid")}
GOOGLE_CHANNEL_GROUP = {
    "SEARCH": "Paid Search",
    "PERFORMANCE_MAX": "Cross-network",
    "SHOPPING": "Paid Shopping",
    "DISPLAY": "Display",
    "VIDEO": "Paid Video",
}
# (channel group, source, medium, campaign, share of the unpaid baseline)
UNPAID = (
    ("Organic Search", "google", "organic", "(organic)", 0.42),
    ("Direct", "(direct)", "(none)", "(direct)", 0.30),
    ("Organic Social", "l.instagram.com", "referral", "(referral)", 0.09),
    ("Referral", "blog.bosco-partners.example", "referral", "(referral)", 0.07),
    ("Email", "newsletter", "email", "weekly-digest", 0.07),
    ("Organic Search", "bing", "organic", "(organic)", 0.05),
)
_WEEK = (1.04, 1.03, 1.0, 0.98, 0.94, 0.97, 1.04)
METRICS = ("sessions", "engagedSessions", "totalUsers", "newUsers", "keyEvents", "purchaseRevenue")


@dataclass(frozen=True)
class TrafficRow:
    day: date
    channel: str
    source: str
    medium: str
    campaign: str
    sessions: int
    engaged: int
    users: int
    new_users: int
    key_events: int
    revenue_minor: int  # purchase revenue in the property currency's smallest unit

    def metric(self, name: str) -> int:
        return {
            "sessions": self.sessions,
            "engagedSessions": self.engaged,
            "totalUsers": self.users,
            "newUsers": self.new_users,
            "keyEvents": self.key_events,
            "purchaseRevenue": self.revenue_minor,
        }[name]


def _u(*parts: int) -> float:
    return (key(*parts) >> 11) / float(1 << 53)


def property_of(state: EmulatorState, spec: AccountSpec) -> AccountSpec:
    """The property an ad account sends its visitors to."""
    props = state.config.ga4_properties
    return next((p for p in props if p.currency == spec.currency), props[0])


def completeness(state: EmulatorState, day: int, today: int, version: int) -> float:
    """Share of a day's final numbers GA4 has processed (1 for days past the processing delay)."""
    age = today - day
    delay = state.config.ga4_processing_days
    if age >= delay:
        return 1.0
    share = min(1.0, 0.55 + 0.4 * age / max(1, delay) + 0.12 * version)
    return share * (state.config.today_fraction if age == 0 else 1.0)


def _split(state: EmulatorState, seed: int, sessions: int, cvr: float, aov: float, dec: int) -> tuple[int, ...]:
    engaged = int(sessions * (0.52 + 0.2 * _u(seed, 1)))
    users = max(min(sessions, 1), int(sessions * (0.78 + 0.12 * _u(seed, 2))))
    new_users = int(users * (0.45 + 0.3 * _u(seed, 3)))
    key_events = int(sessions * cvr * (0.8 + 0.4 * _u(seed, 4)))
    revenue = round(key_events * aov * (0.85 + 0.3 * _u(seed, 5)) * 10**dec)
    return engaged, users, new_users, key_events, revenue


def traffic(state: EmulatorState, prop: AccountSpec, since: date, until: date) -> list[TrafficRow]:
    """Every row GA4 would report for the property at (date, channel, source, medium, campaign)."""
    config = state.config
    window = state.window(GA4)
    lo, hi = max(to_ordinal(since), window.history_start), min(to_ordinal(until), window.today)
    if hi < lo:
        return []
    version = window.version
    dec = currency_decimals(prop.currency)
    scale = CURRENCY_SCALE.get(prop.currency, 1.0)
    pid = int(prop.account_id)
    seed = config.seed
    rows: list[TrafficRow] = []
    for platform in AD_PLATFORMS:
        source, medium = SOURCE_MEDIUM[platform]
        for spec in config.accounts(platform):
            if property_of(state, spec).account_id != prop.account_id:
                continue
            model = state.model(platform, spec.account_id)
            ags = selected_ad_groups(model, None, None)
            frame = state.frame(platform, spec.account_id, CAMPAIGN, lo, hi, ags, state.window(platform))
            clicks = frame.cols["link_clicks" if platform == META else "clicks"].tolist()
            for i, (c, day) in enumerate(zip(frame.entity.tolist(), frame.day_start.tolist(), strict=True)):
                cid = int(model.campaign_ids[c])
                rate = 0.7 + 0.25 * _u(seed, cid, 11)
                share = completeness(state, day, window.today, version)
                sessions = int(clicks[i] * rate * share)
                if sessions <= 0:
                    continue
                kind = str(model.campaign_kind[c])
                channel = GOOGLE_CHANNEL_GROUP.get(kind, "Paid Search") if platform == GOOGLE_ADS else "Paid Social"
                cvr = (0.006 if bool(model.is_lead[c]) else 0.012) + 0.02 * _u(seed, cid, 12)
                aov = (45.0 + 60.0 * _u(seed, cid, 13)) * scale
                split = _split(state, key(seed, cid, day), sessions, cvr, aov, dec)
                rows.append(
                    TrafficRow(from_ordinal(day), channel, source, medium, model.campaign_names[c], sessions, *split)
                )
    base = 2500.0 * (1 + (pid % 7) / 10)
    for day in range(lo, hi + 1):
        d = from_ordinal(day)
        season = 1.0 + 0.25 * np.exp(-(((d.timetuple().tm_yday - 330) / 18.0) ** 2))
        share = completeness(state, day, window.today, version)
        for j, (channel, source, medium, campaign, part) in enumerate(UNPAID):
            noise = 0.85 + 0.3 * _u(seed, pid, day, j)
            sessions = int(base * part * _WEEK[d.weekday()] * season * noise * share)
            if sessions <= 0:
                continue
            cvr = 0.015 + 0.01 * _u(seed, pid, j, 21)
            aov = (55.0 + 30.0 * _u(seed, pid, j, 22)) * scale
            split = _split(state, key(seed, pid, day, j, 23), sessions, cvr, aov, dec)
            rows.append(TrafficRow(d, channel, source, medium, campaign, sessions, *split))
    return rows


def truth(state: EmulatorState, property_id: str, since: date | None, until: date | None) -> dict[str, object]:
    """What runReport serves now, at the finest grain, money in exact decimal text."""
    prop = state.account(GA4, property_id)
    if prop is None:
        raise ValueError(f"unknown GA4 property {property_id!r}")
    today = state.today()
    since = since or today - timedelta(days=29)
    until = until or today
    dec = currency_decimals(prop.currency)
    out = []
    for r in traffic(state, prop, since, until):
        out.append(
            {
                "date": r.day.isoformat(),
                "channel_group": r.channel,
                "source": r.source,
                "medium": r.medium,
                "campaign": r.campaign,
                "sessions": r.sessions,
                "engaged_sessions": r.engaged,
                "total_users": r.users,
                "new_users": r.new_users,
                "key_events": r.key_events,
                "purchase_revenue": money_text(r.revenue_minor, dec),
            }
        )
    return {
        "platform": GA4,
        "property": prop.account_id,
        "currency": prop.currency,
        "time_zone": prop.time_zone,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "today": today.isoformat(),
        "restatement_version": state.window(GA4).version,
        "rows": out,
    }


def money_text(minor: int, decimals: int) -> str:
    if decimals == 0:
        return str(minor)
    return f"{minor // 10**decimals}.{minor % 10**decimals:0{decimals}d}"
