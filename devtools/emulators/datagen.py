"""Deterministic, realistic ad performance data, computed on demand.

Nothing is stored per day: each ad group's metrics for a day are a pure function of
(seed, platform, account, ad group, day, restatement version, today), vectorised with numpy so a
year of thousands of campaigns is computed in well under a second. Campaign and account rows are
sums of ad group rows, so "campaign totals = sum of ad groups" holds by construction, and money is
integer micros rounded to the currency's smallest unit, so sums are exact.

Longer than ~600 lines on purpose: the account model, the daily frame and the restatement rules
are one generator whose invariants (totals, exact money, determinism) hold only together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

from devtools.emulators.config import (
    CURRENCY_SCALE,
    GOOGLE_ADS,
    META,
    TIKTOK,
    AccountSpec,
    currency_decimals,
)
from devtools.emulators.hashing import (
    U64Array,
    as_u64,
    key,
    mix,
    noise_stream,
    stream,
    uniform,
    uniform_stream,
)

I64Array = npt.NDArray[np.int64]
F64Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
NEVER = 10**7  # an ordinal far beyond any real date: "has not ended"

# Levels of a report. Google's `customer` and Meta's `account` are both ACCOUNT; Meta's ad sets
# and Google's ad groups are both AD_GROUP.
ACCOUNT = "account"
CAMPAIGN = "campaign"
AD_GROUP = "ad_group"
LEVELS = (ACCOUNT, CAMPAIGN, AD_GROUP)

GOOGLE_CHANNELS = ("SEARCH", "PERFORMANCE_MAX", "SHOPPING", "DISPLAY", "VIDEO")
GOOGLE_CHANNEL_WEIGHTS = (0.5, 0.2, 0.15, 0.1, 0.05)
META_OBJECTIVES = ("OUTCOME_SALES", "OUTCOME_TRAFFIC", "OUTCOME_LEADS", "OUTCOME_AWARENESS")
META_OBJECTIVE_WEIGHTS = (0.6, 0.15, 0.15, 0.1)
TIKTOK_OBJECTIVES = ("WEB_CONVERSIONS", "TRAFFIC", "LEAD_GENERATION", "REACH")
TIKTOK_OBJECTIVE_WEIGHTS = (0.55, 0.2, 0.15, 0.1)

# (cpm low, cpm high, ctr low, ctr high, cvr low, cvr high, median daily spend) in USD.
# Google CVR is per click; Meta CVR is per link click. Figures are typical industry ranges.
_PROFILES: dict[str, tuple[float, float, float, float, float, float, float]] = {
    "SEARCH": (40.0, 180.0, 0.03, 0.08, 0.02, 0.06, 120.0),
    "PERFORMANCE_MAX": (5.0, 20.0, 0.008, 0.02, 0.015, 0.04, 150.0),
    "SHOPPING": (3.0, 12.0, 0.006, 0.015, 0.01, 0.03, 90.0),
    "DISPLAY": (1.0, 4.0, 0.002, 0.006, 0.002, 0.008, 50.0),
    "VIDEO": (4.0, 12.0, 0.003, 0.01, 0.001, 0.004, 60.0),
    "OUTCOME_SALES": (10.0, 25.0, 0.009, 0.02, 0.015, 0.05, 150.0),
    "OUTCOME_TRAFFIC": (5.0, 12.0, 0.012, 0.03, 0.002, 0.008, 60.0),
    "OUTCOME_LEADS": (8.0, 20.0, 0.008, 0.018, 0.05, 0.12, 80.0),
    "OUTCOME_AWARENESS": (2.0, 6.0, 0.002, 0.006, 0.0005, 0.002, 70.0),
    # TikTok in-feed video: cheaper reach than Meta (CPM about $4-10), CTR around 1%.
    "WEB_CONVERSIONS": (6.0, 11.0, 0.008, 0.016, 0.01, 0.035, 110.0),
    "TRAFFIC": (3.5, 8.0, 0.01, 0.02, 0.002, 0.006, 55.0),
    "LEAD_GENERATION": (5.0, 10.0, 0.007, 0.014, 0.04, 0.1, 60.0),
    "REACH": (2.0, 5.0, 0.003, 0.008, 0.0005, 0.002, 45.0),
}

# Day-of-week shape (Monday first): search peaks on weekdays, social on weekends.
_WEEK = {
    GOOGLE_ADS: np.array([1.06, 1.08, 1.06, 1.03, 0.96, 0.88, 0.93]),
    META: np.array([0.97, 0.96, 0.97, 0.99, 1.02, 1.05, 1.04]),
    TIKTOK: np.array([0.95, 0.95, 0.96, 0.99, 1.03, 1.07, 1.05]),
}

# Metric columns every frame carries (int64). Money is micros of the account currency (Meta's
# rounded to the currency's smallest unit, Google's not). `conversions` is hundredths of a conversion on Google (fractional
# data-driven attribution) and whole events on Meta (purchases or leads).
BASE_COLUMNS = ("spend_micros", "impressions", "clicks", "conversions", "value_micros")
META_COLUMNS = (
    "link_clicks",
    "reach",
    "landing_page_views",
    "add_to_cart",
    "initiate_checkout",
    "purchases",
    "leads",
)

# Random streams; each quantity draws from its own so adding one never shifts the others.
_S_CAMP_NOISE, _S_AG_NOISE, _S_ANOMALY, _S_ANOMALY_SIZE = 1, 2, 3, 4
_S_CPM, _S_CTR, _S_IMPR_ROUND, _S_CLICK_ROUND = 5, 6, 7, 8
_S_CVR, _S_CONV_ROUND, _S_AOV, _S_RESTATE_GAP, _S_RESTATE_RATE, _S_RESTATE_DOWN = (
    9,
    10,
    11,
    12,
    13,
    14,
)
_S_LINK, _S_LPV, _S_ATC, _S_CHECKOUT = 15, 16, 17, 18

# Anomaly rates per campaign-day: a spend spike, a delivery drop, a conversion-tracking outage.
SPIKE_RATE, DROP_RATE, OUTAGE_RATE = 0.003, 0.003, 0.002

_PLATFORM_CODE = {GOOGLE_ADS: 1, META: 2, TIKTOK: 3}

_THEMES: dict[str, tuple[str, ...]] = {
    "DE": ("Marke", "Schuhe Größe 42", "Herbst-Sale", "Wanderjacken", "Geschenkideen", "Outlet"),
    "FR": ("Marque", "Soldes d'été", "Vestes légères", "Idées cadeaux", "Nouveautés", "Déstockage"),
    "JP": ("ブランド", "セール", "新商品", "ギフト", "アウトドア", "リターゲティング"),
    "UK": ("Brand", "Trainers", "Winter Coats", "Gift Ideas", "Clearance", "New In"),
    "US": ("Brand", "Sneakers", "Rain Jackets", "Holiday Gifts", "Clearance", "Best Sellers"),
}
_GOOGLE_CHANNEL_LABELS = {
    "SEARCH": "Search",
    "PERFORMANCE_MAX": "PMax",
    "SHOPPING": "Shopping",
    "DISPLAY": "Display",
    "VIDEO": "YouTube",
}
_META_OBJECTIVE_LABELS = {
    "OUTCOME_SALES": "Sales",
    "OUTCOME_TRAFFIC": "Traffic",
    "OUTCOME_LEADS": "Leads",
    "OUTCOME_AWARENESS": "Awareness",
}
_TIKTOK_OBJECTIVE_LABELS = {
    "WEB_CONVERSIONS": "Conversions",
    "TRAFFIC": "Traffic",
    "LEAD_GENERATION": "Leads",
    "REACH": "Reach",
}
_TIKTOK_AD_GROUP_NAMES = ("Broad 18-34", "Interest Fashion", "Lookalike 2%", "Creators", "Smart+", "Retarget 30d")
_GOOGLE_AD_GROUP_NAMES = ("Exact", "Phrase", "Broad", "Competitors", "Generic", "DSA", "Long tail")
_META_AD_SET_NAMES = (
    "Broad 18-65+",
    "Lookalike 1% Purchasers",
    "Retargeting 30d",
    "Interests – Outdoor",
    "Advantage+ Audience",
    "Engagers 90d",
    "Customer list",
)
_GOOGLE_AD_GROUP_TYPES = {
    "SEARCH": "SEARCH_STANDARD",
    "PERFORMANCE_MAX": "UNKNOWN",
    "SHOPPING": "SHOPPING_PRODUCT_ADS",
    "DISPLAY": "DISPLAY_STANDARD",
    "VIDEO": "VIDEO_RESPONSIVE",
}


def to_ordinal(d: date) -> int:
    return d.toordinal()


def from_ordinal(n: int) -> date:
    return date.fromordinal(int(n))


def months_before(d: date, months: int) -> date:
    """The same day `months` calendar months earlier (clamped to the month's length)."""
    total = d.year * 12 + (d.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, min(d.day, day))
        except ValueError:
            continue
    return date(year, month, 28)


def iso_dates(ordinals: I64Array) -> list[str]:
    """Ordinals → 'YYYY-MM-DD' strings, vectorised through numpy datetime64."""
    if len(ordinals) == 0:
        return []
    as_dt = (np.asarray(ordinals, dtype=np.int64) - EPOCH_ORDINAL).astype("datetime64[D]")
    return np.datetime_as_string(as_dt, unit="D").tolist()  # type: ignore[no-any-return]


def _day_of_year(days: I64Array) -> I64Array:
    as_dt = (days - EPOCH_ORDINAL).astype("datetime64[D]")
    year_start = as_dt.astype("datetime64[Y]").astype("datetime64[D]")
    return (as_dt - year_start).astype(np.int64)


def _weekday(days: I64Array) -> I64Array:
    return (days + 6) % 7  # Monday = 0, matching date.weekday()


@dataclass(frozen=True)
class DayWindow:
    """What the emulator's calendar looks like for one platform at one moment."""

    today: int  # ordinal of the last (partial) day with data
    history_start: int  # ordinal of the oldest day with data
    version: int  # restatement version of the platform
    restatement_days: int
    today_fraction: float


@dataclass
class AccountModel:
    """The entity tree of one ad account and the per-entity parameters of its data."""

    platform: str
    spec: AccountSpec
    account_index: int
    anchor: int
    decimals: int
    # campaigns (index c)
    campaign_ids: I64Array
    campaign_names: list[str]
    campaign_kind: ObjArray  # Google channel type / Meta objective
    campaign_state: ObjArray  # "ENABLED" | "PAUSED" | "REMOVED" (platform-neutral)
    campaign_start: I64Array
    campaign_end: I64Array
    gap_start: I64Array
    gap_end: I64Array
    campaign_key: U64Array
    base_spend: F64Array
    cpm: F64Array
    ctr: F64Array
    cvr: F64Array
    aov: F64Array
    trend: F64Array
    weekly_amp: F64Array
    holiday_boost: F64Array
    link_share: F64Array
    frequency: F64Array
    atc_rate: F64Array
    is_lead: BoolArray
    fractional: BoolArray  # Google: data-driven (fractional) rather than whole conversions
    # ad groups / ad sets (index g), sorted by campaign
    ag_campaign: I64Array
    ag_ids: I64Array
    ag_names: list[str]
    ag_state: ObjArray
    ag_start: I64Array
    ag_end: I64Array
    ag_key: U64Array
    ag_share: F64Array
    ag_cpm_mult: F64Array
    ag_ctr_mult: F64Array
    ag_cvr_mult: F64Array
    campaign_ag_start: I64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    # Serialisers memoise per-entity JSON fragments here (names never change for a model).
    cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_campaigns(self) -> int:
        return len(self.campaign_ids)

    @property
    def n_ad_groups(self) -> int:
        return len(self.ag_ids)

    def campaign_index(self, ids: list[int]) -> I64Array:
        """Indices of the given campaign ids (unknown ids are dropped)."""
        arr = np.asarray(ids, dtype=np.int64)
        pos = np.searchsorted(self.campaign_ids, arr)
        pos = np.clip(pos, 0, self.n_campaigns - 1)
        return np.unique(pos[self.campaign_ids[pos] == arr])

    def ad_group_index(self, ids: list[int]) -> I64Array:
        arr = np.asarray(ids, dtype=np.int64)
        order = np.argsort(self.ag_ids)
        sorted_ids = self.ag_ids[order]
        pos = np.clip(np.searchsorted(sorted_ids, arr), 0, self.n_ad_groups - 1)
        return np.unique(order[pos[sorted_ids[pos] == arr]])

    def ad_groups_of(self, campaigns: I64Array) -> I64Array:
        return np.nonzero(np.isin(self.ag_campaign, campaigns))[0]


def _pick(u: F64Array, options: tuple[str, ...], weights: tuple[float, ...]) -> ObjArray:
    edges = np.cumsum(weights) / sum(weights)
    idx = np.minimum(np.searchsorted(edges, u, side="right"), len(options) - 1)
    return np.array(options, dtype=object)[idx]


def _between(u: F64Array, lo: F64Array | float, hi: F64Array | float) -> F64Array:
    return lo + (hi - lo) * u  # type: ignore[no-any-return]


def build_account_model(
    platform: str,
    spec: AccountSpec,
    account_index: int,
    seed: int,
    anchor: date,
    n_campaigns: int,
    ag_min: int,
    ag_max: int,
    history_months: int,
) -> AccountModel:
    """Derive the campaigns and ad groups of one account.

    Every per-campaign draw hashes the campaign's own index, so raising `campaigns_per_account`
    adds campaigns without changing the existing ones.
    """
    anchor_ord = to_ordinal(anchor)
    history_days = anchor_ord - to_ordinal(months_before(anchor, history_months))
    scale = CURRENCY_SCALE.get(spec.currency.upper(), 1.0)
    decimals = currency_decimals(spec.currency)
    account_key = key(seed, _PLATFORM_CODE[platform], int(spec.account_id))
    c = np.arange(n_campaigns, dtype=np.int64)
    ckey = mix(as_u64(c) ^ np.uint64(account_key))

    def u(stream_id: int) -> F64Array:
        return uniform_stream(ckey, 100 + stream_id)

    if platform == GOOGLE_ADS:
        kinds = _pick(u(1), GOOGLE_CHANNELS, GOOGLE_CHANNEL_WEIGHTS)
        campaign_ids = 21_000_000_000 + account_index * 1_000_000_000 + c * 7919 + 101
    elif platform == TIKTOK:
        kinds = _pick(u(1), TIKTOK_OBJECTIVES, TIKTOK_OBJECTIVE_WEIGHTS)
        campaign_ids = 1_780_000_000_000_000_000 + account_index * 10**12 + c * 7919 + 23
    else:
        kinds = _pick(u(1), META_OBJECTIVES, META_OBJECTIVE_WEIGHTS)
        campaign_ids = 120_200_000_000_000_000 + account_index * 10**12 + c * 7919 + 17

    # Lifecycle: a third ran before the history window began, most started inside it, a few are
    # brand new; some ended (paused or removed) and some paused for a while in the middle.
    u_start, u_when = u(2), u(3)
    start = np.where(
        u_start < 0.35,
        anchor_ord - history_days - np.floor(u_when * 400),
        np.where(
            u_start < 0.93,
            anchor_ord - history_days + np.floor(u_when * (history_days - 21)),
            anchor_ord - 1 - np.floor(u_when * 21),
        ),
    ).astype(np.int64)
    can_end = (anchor_ord - start) > 60
    ended = can_end & (u(4) < 0.18)
    end = np.where(ended, start + 30 + np.floor(u(5) * np.maximum(anchor_ord - start - 31, 1)), NEVER).astype(np.int64)
    end = np.where(ended, np.minimum(end, anchor_ord - 1), end)
    state = np.where(ended, np.where(u(6) < 0.7, "PAUSED", "REMOVED"), "ENABLED").astype(object)
    has_gap = (u(7) < 0.15) & ((np.minimum(end, anchor_ord) - start) > 40)
    gap_start = (start + 10 + np.floor(u(8) * np.maximum(np.minimum(end, anchor_ord) - start - 40, 1))).astype(np.int64)
    gap_end = np.where(has_gap, gap_start + 5 + np.floor(u(9) * 16), gap_start).astype(np.int64)

    profile = np.array([_PROFILES[k] for k in kinds], dtype=np.float64).reshape(n_campaigns, 7)
    spend_noise = noise_stream(ckey, 110)
    base_spend = profile[:, 6] * np.exp(0.9 * spend_noise) * scale
    cpm = _between(u(11), profile[:, 0], profile[:, 1]) * scale
    ctr = _between(u(12), profile[:, 2], profile[:, 3])
    cvr = _between(u(13), profile[:, 4], profile[:, 5])
    aov = 40.0 * np.exp(1.2 * u(14)) * scale
    trend = _between(u(15), -0.35, 0.6)
    weekly_amp = _between(u(16), 0.5, 1.5)
    is_sales = np.isin(kinds, ("OUTCOME_SALES", "SHOPPING", "PERFORMANCE_MAX", "WEB_CONVERSIONS"))
    holiday_boost = np.where(is_sales, _between(u(17), 0.2, 0.6), _between(u(17), 0.0, 0.15))
    link_share = _between(u(18), 0.55, 0.8)
    frequency = _between(u(19), 1.05, 1.5)
    atc_rate = _between(u(20), 0.04, 0.12)
    is_lead = np.isin(kinds, ("OUTCOME_LEADS", "LEAD_GENERATION"))
    fractional = u(23) < 0.5

    # Ad groups: 2-4 per campaign, contiguous per campaign (aggregation relies on it).
    n_ag = ag_min + np.floor(u(21) * (ag_max - ag_min + 1)).astype(np.int64)
    n_ag = np.minimum(n_ag, ag_max)
    ag_campaign = np.repeat(c, n_ag)
    first = np.concatenate(([0], np.cumsum(n_ag)[:-1])).astype(np.int64)
    k = np.arange(len(ag_campaign), dtype=np.int64) - np.repeat(first, n_ag)
    if platform == GOOGLE_ADS:
        ag_ids = 151_000_000_000 + account_index * 10_000_000_000 + ag_campaign * 97 + k * 13
    elif platform == TIKTOK:
        ag_ids = 1_781_000_000_000_000_031 + account_index * 10**12 + ag_campaign * 97 + k * 13
    else:
        ag_ids = 120_210_000_000_000_000 + account_index * 10**12 + ag_campaign * 97 + k * 13
    agkey = mix(as_u64(ag_ids) ^ np.uint64(account_key))

    def ua(stream_id: int) -> F64Array:
        return uniform_stream(agkey, 200 + stream_id)

    weights = 0.3 + ua(1)
    share = weights / np.add.reduceat(weights, first)[ag_campaign]
    camp_start = start[ag_campaign]
    camp_end = end[ag_campaign]
    ag_start = camp_start + np.where(k > 0, np.floor(ua(2) * 10), 0).astype(np.int64)
    live_until = np.minimum(camp_end, anchor_ord)
    ag_paused = (k > 0) & (ua(3) < 0.15) & ((live_until - ag_start) > 40)
    ag_end = np.where(
        ag_paused, ag_start + 20 + np.floor(ua(4) * np.maximum(live_until - ag_start - 21, 1)), camp_end
    ).astype(np.int64)
    ag_state = np.where(ag_paused, "PAUSED", state[ag_campaign]).astype(object)

    themes = _THEMES.get(spec.country.upper(), _THEMES["US"])
    theme_idx = np.floor(u(22) * len(themes)).astype(np.int64)
    ag_pool: tuple[str, ...]
    if platform == GOOGLE_ADS:
        labels = [_GOOGLE_CHANNEL_LABELS[x] for x in kinds]
        ag_pool = _GOOGLE_AD_GROUP_NAMES
    elif platform == TIKTOK:
        labels = [_TIKTOK_OBJECTIVE_LABELS[x] for x in kinds]
        ag_pool = _TIKTOK_AD_GROUP_NAMES
    else:
        labels = [_META_OBJECTIVE_LABELS[x] for x in kinds]
        ag_pool = _META_AD_SET_NAMES
    campaign_names = [
        f"{spec.country} | {labels[i]} | {themes[theme_idx[i]]} | {i + 1:03d}" for i in range(n_campaigns)
    ]
    ag_pick = np.floor(ua(5) * len(ag_pool)).astype(np.int64)
    ag_names = [f"{ag_pool[(ag_pick[j] + k[j]) % len(ag_pool)]} {k[j] + 1}" for j in range(len(ag_ids))]

    return AccountModel(
        platform=platform,
        spec=spec,
        account_index=account_index,
        anchor=anchor_ord,
        decimals=decimals,
        campaign_ids=campaign_ids.astype(np.int64),
        campaign_names=campaign_names,
        campaign_kind=kinds,
        campaign_state=state,
        campaign_start=start,
        campaign_end=end,
        gap_start=gap_start,
        gap_end=gap_end,
        campaign_key=ckey,
        base_spend=base_spend,
        cpm=cpm,
        ctr=ctr,
        cvr=cvr,
        aov=aov,
        trend=trend,
        weekly_amp=weekly_amp,
        holiday_boost=holiday_boost,
        link_share=link_share,
        frequency=frequency,
        atc_rate=atc_rate,
        is_lead=is_lead,
        fractional=fractional,
        ag_campaign=ag_campaign,
        ag_ids=ag_ids.astype(np.int64),
        ag_names=ag_names,
        ag_state=ag_state,
        ag_start=ag_start,
        ag_end=ag_end,
        ag_key=agkey,
        ag_share=share,
        ag_cpm_mult=np.exp(0.15 * noise_stream(agkey, 206)),
        ag_ctr_mult=np.exp(0.2 * noise_stream(agkey, 207)),
        ag_cvr_mult=np.exp(0.25 * noise_stream(agkey, 208)),
        campaign_ag_start=first,
    )


def google_ad_group_type(kind: str) -> str:
    return _GOOGLE_AD_GROUP_TYPES.get(kind, "SEARCH_STANDARD")


def _day_keys(days: I64Array) -> U64Array:
    return mix(as_u64(days * 2654435761 + 97))


def ad_group_grid(
    model: AccountModel, ags: I64Array, days: I64Array, window: DayWindow
) -> dict[str, npt.NDArray[np.int64]]:
    """Metrics of ad groups `ags` on `days` as (len(ags), len(days)) int64 arrays.

    Cells where the ad group did not serve are zero. The restatement version and `today` only
    touch conversions and conversion value inside the restatement window.
    """
    n_g, n_d = len(ags), len(days)
    camp = model.ag_campaign[ags]
    d = days[None, :]
    active = (d >= model.ag_start[ags][:, None]) & (d <= model.ag_end[ags][:, None])
    active &= ~((d >= model.gap_start[camp][:, None]) & (d < model.gap_end[camp][:, None]))
    active &= (d <= window.today) & (d >= window.history_start)
    columns = BASE_COLUMNS + (META_COLUMNS if model.platform == META else ())
    if n_g == 0 or n_d == 0 or not active.any():
        return {name: np.zeros((n_g, n_d), dtype=np.int64) for name in columns}

    dkeys = _day_keys(days)
    ag_base = mix(model.ag_key[ags][:, None] ^ dkeys[None, :])
    camp_base = mix(model.campaign_key[camp][:, None] ^ dkeys[None, :])

    age_since_start = np.maximum(d - model.campaign_start[camp][:, None], 0)
    ramp = 1.0 - 0.7 * np.exp(-age_since_start / 5.0)
    years = (d - model.anchor) / 365.25
    trend = np.exp(np.clip(model.trend[camp][:, None] * years, -1.5, 1.5))
    doy = _day_of_year(days)[None, :]
    season = 1.0 + 0.12 * np.cos(2.0 * math.pi * (doy - 340) / 365.25)
    holiday = ((doy >= 325) & (doy <= 335)) * model.holiday_boost[camp][:, None]
    week = _WEEK[model.platform][_weekday(days)][None, :]
    weekly = 1.0 + model.weekly_amp[camp][:, None] * (week - 1.0)

    u_anomaly = uniform_stream(camp_base, _S_ANOMALY)
    u_size = uniform_stream(camp_base, _S_ANOMALY_SIZE)
    spike = u_anomaly < SPIKE_RATE
    drop = (u_anomaly >= SPIKE_RATE) & (u_anomaly < SPIKE_RATE + DROP_RATE)
    outage = (u_anomaly >= SPIKE_RATE + DROP_RATE) & (u_anomaly < SPIKE_RATE + DROP_RATE + OUTAGE_RATE)
    anomaly = np.where(spike, 2.5 + 1.5 * u_size, np.where(drop, 0.1 + 0.2 * u_size, 1.0))

    noise = 0.12 * noise_stream(camp_base, _S_CAMP_NOISE) + 0.08 * noise_stream(ag_base, _S_AG_NOISE)
    spend = (
        model.base_spend[camp][:, None]
        * model.ag_share[ags][:, None]
        * ramp
        * trend
        * (season + holiday)
        * weekly
        * np.exp(noise)
        * anomaly
    )
    spend = np.where(d == window.today, spend * window.today_fraction, spend)
    spend = np.where(active, spend, 0.0)

    cpm = model.cpm[camp][:, None] * model.ag_cpm_mult[ags][:, None] * np.exp(0.08 * noise_stream(ag_base, _S_CPM))
    ctr = model.ctr[camp][:, None] * model.ag_ctr_mult[ags][:, None] * np.exp(0.1 * noise_stream(ag_base, _S_CTR))
    ctr = np.minimum(ctr, 0.4)
    impressions = np.floor(spend / cpm * 1000.0 + uniform_stream(ag_base, _S_IMPR_ROUND)).astype(np.int64)
    impressions = np.where(active, impressions, 0)
    clicks = np.floor(impressions * ctr + uniform_stream(ag_base, _S_CLICK_ROUND)).astype(np.int64)
    clicks = np.minimum(clicks, impressions)
    # Google reports cost and conversion value in plain micros (sub-cent amounts do occur); Meta
    # reports spend and action values in the currency's smallest unit (cents, whole yen).
    unit = 10**6 if model.platform == GOOGLE_ADS else 10**model.decimals
    to_micros = 10**6 // unit
    spend_minor = np.where(impressions > 0, np.rint(spend * unit), 0.0).astype(np.int64)
    out: dict[str, npt.NDArray[np.int64]] = {
        "spend_micros": spend_minor * to_micros,
        "impressions": impressions,
        "clicks": clicks,
    }

    if model.platform == META:
        link_clicks = np.floor(clicks * model.link_share[camp][:, None] + uniform_stream(ag_base, _S_LINK)).astype(
            np.int64
        )
        link_clicks = np.minimum(link_clicks, clicks)
        converting = link_clicks
    else:
        converting = clicks

    expected = (
        converting
        * model.cvr[camp][:, None]
        * model.ag_cvr_mult[ags][:, None]
        * np.exp(0.25 * noise_stream(ag_base, _S_CVR))
    )
    expected = np.where(outage, expected * 0.05, expected)
    per_conversion_value = model.aov[camp][:, None] * np.exp(0.15 * noise_stream(ag_base, _S_AOV))
    u_round = uniform_stream(ag_base, _S_CONV_ROUND)
    if model.platform == GOOGLE_ADS:
        # Hundredths: data-driven attribution gives fractional conversions (7.5, 0.59); campaigns
        # on last-click attribution count whole conversions (served as 3, not 3.0).
        quantum = np.where(model.fractional[camp], 1, 100)[:, None]
        conv_final = (np.floor(expected * 100.0 / quantum + u_round) * quantum).astype(np.int64)
        value_minor = np.rint(conv_final / 100.0 * per_conversion_value * unit)
    else:
        quantum = np.ones((1, 1), dtype=np.int64)
        conv_final = np.floor(expected + u_round).astype(np.int64)
        value_minor = np.rint(conv_final * per_conversion_value * unit)
        value_minor = np.where(model.is_lead[camp][:, None], 0.0, value_minor)
    conversions, value_minor = _restate(conv_final, value_minor, quantum, ag_base, days, window)
    out["conversions"] = conversions
    out["value_micros"] = value_minor.astype(np.int64) * to_micros

    if model.platform == META:
        is_lead = model.is_lead[camp][:, None]
        purchases = np.where(is_lead, 0, conversions)
        reach = np.where(impressions > 0, np.maximum(np.floor(impressions / model.frequency[camp][:, None]), 1), 0)
        lpv = np.floor(link_clicks * 0.78 + uniform_stream(ag_base, _S_LPV)).astype(np.int64)
        atc = np.floor(link_clicks * model.atc_rate[camp][:, None] + uniform_stream(ag_base, _S_ATC)).astype(np.int64)
        atc = np.where(is_lead, 0, np.maximum(atc, purchases))
        checkout = purchases + np.floor((atc - purchases) * 0.5 + uniform_stream(ag_base, _S_CHECKOUT)).astype(np.int64)
        checkout = np.minimum(checkout, atc)
        out.update(
            link_clicks=link_clicks,
            reach=reach.astype(np.int64),
            landing_page_views=lpv,
            add_to_cart=atc,
            initiate_checkout=checkout,
            purchases=purchases,
            leads=np.where(is_lead, conversions, 0),
        )
    return out


def _restate(
    conv_final: npt.NDArray[np.int64],
    value_final: F64Array,
    quantum: npt.NDArray[np.int64],
    ag_base: U64Array,
    days: I64Array,
    window: DayWindow,
) -> tuple[npt.NDArray[np.int64], F64Array]:
    """Served conversions inside the restatement window.

    Recent days are under-reported (late conversions not yet attributed). Each restatement
    version closes part of the gap, so values mostly grow, by less the older the day; now and
    then a version corrects a little downwards. Days older than the window are final.
    """
    age = window.today - days
    cols = np.nonzero((age >= 0) & (age < window.restatement_days))[0]
    if len(cols) == 0:
        return conv_final, value_final
    sub = ag_base[:, cols]
    gap0 = 0.35 * np.exp(-age[cols] / 6.0)[None, :] * (0.6 + 0.8 * uniform_stream(sub, _S_RESTATE_GAP))
    rate = 0.45 + 0.35 * uniform_stream(sub, _S_RESTATE_RATE)
    completeness = 1.0 - gap0 * rate**window.version
    if window.version > 0:
        u_down = uniform(stream(sub ^ np.uint64(key(window.version, 7)), _S_RESTATE_DOWN))
        completeness -= np.where(u_down < 0.08, 0.04 * gap0 + 0.01, 0.0)
    completeness = np.clip(completeness, 0.0, 1.0)
    conv = conv_final.copy()
    value = value_final.copy()
    q = np.broadcast_to(quantum, conv_final.shape)[:, cols]
    conv[:, cols] = (np.floor(conv_final[:, cols] / q * completeness + 0.5) * q).astype(np.int64)
    value[:, cols] = np.rint(value_final[:, cols] * completeness)
    return conv, value


@dataclass
class Frame:
    """Report rows: one per (entity, period) with data, ordered by entity then period."""

    level: str
    entity: I64Array  # campaign or ad group index (0 for the account level)
    day_start: I64Array
    day_stop: I64Array
    cols: dict[str, npt.NDArray[np.int64]]

    def __len__(self) -> int:
        return len(self.entity)

    def take(self, idx: npt.NDArray[np.int64] | slice) -> Frame:
        return Frame(
            level=self.level,
            entity=self.entity[idx],
            day_start=self.day_start[idx],
            day_stop=self.day_stop[idx],
            cols={k: v[idx] for k, v in self.cols.items()},
        )

    @property
    def nbytes(self) -> int:
        return int(sum(v.nbytes for v in self.cols.values()) + self.entity.nbytes * 3)


def _empty_frame(level: str, columns: tuple[str, ...]) -> Frame:
    z = np.zeros(0, dtype=np.int64)
    return Frame(level, z, z, z, dict.fromkeys(columns, z))


def selected_ad_groups(model: AccountModel, campaigns: I64Array | None, ad_groups: I64Array | None) -> I64Array:
    ags = np.arange(model.n_ad_groups, dtype=np.int64)
    if campaigns is not None:
        ags = ags[np.isin(model.ag_campaign[ags], campaigns)]
    if ad_groups is not None:
        ags = ags[np.isin(ags, ad_groups)]
    return ags


def active_cells(model: AccountModel, level: str, since: int, until: int, window: DayWindow, ags: I64Array) -> int:
    """Upper bound on the rows a daily report would return (entity-days in flight).

    Used to decide "too much data" before computing anything, as the real APIs do.
    """
    lo, hi = max(since, window.history_start), min(until, window.today)
    if hi < lo or len(ags) == 0:
        return 0
    if level == ACCOUNT:
        return hi - lo + 1
    if level == CAMPAIGN:
        camps = np.unique(model.ag_campaign[ags])
        s, e = model.campaign_start[camps], model.campaign_end[camps]
    else:
        s, e = model.ag_start[ags], model.ag_end[ags]
    span = np.minimum(e, hi) - np.maximum(s, lo) + 1
    return int(np.clip(span, 0, None).sum())


def daily_frame(
    model: AccountModel,
    level: str,
    since: int,
    until: int,
    window: DayWindow,
    ags: I64Array,
    chunk_cells: int = 400_000,
) -> Frame:
    """Daily rows at `level` for ad groups `ags` between `since` and `until` (ordinals).

    Works in chunks of whole campaigns so memory stays bounded for multi-year backfills of
    thousands of campaigns, and so concatenated chunks keep the (entity, day) order.
    """
    columns = BASE_COLUMNS + (META_COLUMNS if model.platform == META else ())
    lo, hi = max(since, window.history_start), min(until, window.today)
    if hi < lo or len(ags) == 0:
        return _empty_frame(level, columns)
    days = np.arange(lo, hi + 1, dtype=np.int64)
    per_chunk = max(1, chunk_cells // len(days))
    camp_of = model.ag_campaign[ags]
    # Chunk boundaries at campaign changes so each chunk aggregates whole campaigns.
    boundaries = np.concatenate(([0], np.nonzero(np.diff(camp_of))[0] + 1, [len(ags)]))
    parts: list[Frame] = []
    start_b = 0
    account_acc: dict[str, npt.NDArray[np.int64]] | None = None
    while start_b < len(boundaries) - 1:
        end_b = start_b + 1
        while end_b < len(boundaries) - 1 and boundaries[end_b + 1] - boundaries[start_b] <= per_chunk:
            end_b += 1
        chunk = ags[boundaries[start_b] : boundaries[end_b]]
        grid = ad_group_grid(model, chunk, days, window)
        if level == ACCOUNT:
            sums = {k: v.sum(axis=0, keepdims=True) for k, v in grid.items()}
            if account_acc is None:
                account_acc = sums
            else:
                for k in account_acc:
                    account_acc[k] = account_acc[k] + sums[k]
        else:
            if level == CAMPAIGN:
                chunk_camps = model.ag_campaign[chunk]
                starts = np.concatenate(([0], np.nonzero(np.diff(chunk_camps))[0] + 1))
                grid = {k: np.add.reduceat(v, starts, axis=0) for k, v in grid.items()}
                entities = chunk_camps[starts]
            else:
                entities = chunk
            parts.append(_rows_from_grid(level, entities, days, grid))
        start_b = end_b
    if level == ACCOUNT:
        assert account_acc is not None
        return _rows_from_grid(level, np.zeros(1, dtype=np.int64), days, account_acc)
    if not parts:
        return _empty_frame(level, columns)
    return Frame(
        level=level,
        entity=np.concatenate([p.entity for p in parts]),
        day_start=np.concatenate([p.day_start for p in parts]),
        day_stop=np.concatenate([p.day_stop for p in parts]),
        cols={c: np.concatenate([p.cols[c] for p in parts]) for c in columns},
    )


def _rows_from_grid(level: str, entities: I64Array, days: I64Array, grid: dict[str, npt.NDArray[np.int64]]) -> Frame:
    ei, di = np.nonzero(grid["impressions"] > 0)
    return Frame(
        level=level,
        entity=entities[ei],
        day_start=days[di],
        day_stop=days[di],
        cols={k: v[ei, di] for k, v in grid.items()},
    )


def bucket_frame(frame: Frame, since: int, until: int, step: int | None) -> Frame:
    """Sum daily rows into periods of `step` days from `since` (None: the whole range).

    Rows are sorted by (entity, day), so (entity, bucket) keys are sorted too and np.add.reduceat
    sums them exactly in int64 (bincount would go through float64 and lose micros).
    """
    if len(frame) == 0:
        return frame
    bucket = np.zeros(len(frame), dtype=np.int64) if step is None else (frame.day_start - since) // step
    change = np.ones(len(frame), dtype=bool)
    change[1:] = (np.diff(frame.entity) != 0) | (np.diff(bucket) != 0)
    starts = np.nonzero(change)[0]
    b = bucket[starts]
    if step is None:
        d0 = np.full(len(starts), since, dtype=np.int64)
        d1 = np.full(len(starts), until, dtype=np.int64)
    else:
        d0 = since + b * step
        d1 = np.minimum(d0 + step - 1, until)
    return Frame(
        level=frame.level,
        entity=frame.entity[starts],
        day_start=d0,
        day_stop=d1,
        cols={k: np.add.reduceat(v, starts) for k, v in frame.cols.items()},
    )


def anomaly_days(model: AccountModel, since: int, until: int, window: DayWindow) -> list[dict[str, object]]:
    """The injected anomalies on days campaigns served, for evaluating anomaly detection."""
    lo, hi = max(since, window.history_start), min(until, window.today)
    if hi < lo:
        return []
    days = np.arange(lo, hi + 1, dtype=np.int64)
    camps = np.arange(model.n_campaigns, dtype=np.int64)
    base = mix(model.campaign_key[:, None] ^ _day_keys(days)[None, :])
    u_anomaly = uniform_stream(base, _S_ANOMALY)
    u_size = uniform_stream(base, _S_ANOMALY_SIZE)
    d = days[None, :]
    live = (d >= model.campaign_start[:, None]) & (d <= model.campaign_end[:, None])
    live &= ~((d >= model.gap_start[:, None]) & (d < model.gap_end[:, None]))
    limit = SPIKE_RATE + DROP_RATE + OUTAGE_RATE
    ci, di = np.nonzero(live & (u_anomaly < limit))
    out: list[dict[str, object]] = []
    for c, j in zip(ci.tolist(), di.tolist(), strict=True):
        ua, us = float(u_anomaly[c, j]), float(u_size[c, j])
        if ua < SPIKE_RATE:
            kind, factor, metric = "spike", 2.5 + 1.5 * us, "spend"
        elif ua < SPIKE_RATE + DROP_RATE:
            kind, factor, metric = "drop", 0.1 + 0.2 * us, "spend"
        else:
            kind, factor, metric = "tracking_outage", 0.05, "conversions"
        out.append(
            {
                "date": from_ordinal(int(days[j])).isoformat(),
                "campaign_id": str(int(model.campaign_ids[camps[c]])),
                "kind": kind,
                "metric": metric,
                "factor": round(factor, 3),
            }
        )
    out.sort(key=lambda r: (str(r["date"]), str(r["campaign_id"])))
    return out
