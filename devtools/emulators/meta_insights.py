"""Meta Ads Insights: request parsing, computation and row rendering (sync and async share it).

Every metric is a JSON string, ids are strings, each row carries `date_start`/`date_stop`, and
`actions`/`action_values` are lists of {"action_type", "value"}. Purchases appear under the
aliases the real API uses (`purchase`, `offsite_conversion.fb_pixel_purchase`, `omni_purchase`)
with the same value, so a connector that picks one type counts each purchase once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from devtools.emulators.config import META
from devtools.emulators.datagen import (
    ACCOUNT,
    AD_GROUP,
    CAMPAIGN,
    AccountModel,
    Frame,
    I64Array,
    active_cells,
    bucket_frame,
    iso_dates,
    months_before,
    to_ordinal,
)
from devtools.emulators.meta_common import MetaError, invalid_param, list_param
from devtools.emulators.state import EmulatorState

LEVELS = {"account": ACCOUNT, "campaign": CAMPAIGN, "adset": AD_GROUP}
INSIGHTS_FIELDS = frozenset(
    {
        "account_id",
        "account_name",
        "account_currency",
        "campaign_id",
        "campaign_name",
        "adset_id",
        "adset_name",
        "ad_id",
        "ad_name",
        "objective",
        "impressions",
        "clicks",
        "spend",
        "reach",
        "frequency",
        "cpm",
        "cpc",
        "ctr",
        "inline_link_clicks",
        "inline_link_click_ctr",
        "cost_per_inline_link_click",
        "actions",
        "action_values",
        "purchase_roas",
        "date_start",
        "date_stop",
    }
)
DEFAULT_FIELDS = ("impressions", "spend")
ATTRIBUTION_WINDOWS = ("1d_click", "7d_click", "28d_click", "1d_view", "1d_ev", "dda", "default")
REMOVED_WINDOWS = ("7d_view", "28d_view")

# (action_type, column). Aliases of one event share a column, as in the real API.
ACTION_TYPES: tuple[tuple[str, str], ...] = (
    ("link_click", "link_clicks"),
    ("landing_page_view", "landing_page_views"),
    ("page_engagement", "engagement"),
    ("post_engagement", "engagement"),
    ("add_to_cart", "add_to_cart"),
    ("offsite_conversion.fb_pixel_add_to_cart", "add_to_cart"),
    ("omni_add_to_cart", "add_to_cart"),
    ("initiate_checkout", "initiate_checkout"),
    ("offsite_conversion.fb_pixel_initiate_checkout", "initiate_checkout"),
    ("omni_initiated_checkout", "initiate_checkout"),
    ("lead", "leads"),
    ("offsite_conversion.fb_pixel_lead", "leads"),
    ("purchase", "purchases"),
    ("offsite_conversion.fb_pixel_purchase", "purchases"),
    ("omni_purchase", "purchases"),
)
ACTION_VALUE_TYPES = ("purchase", "offsite_conversion.fb_pixel_purchase", "omni_purchase")
DATE_PRESETS = frozenset(
    {
        "today",
        "yesterday",
        "last_3d",
        "last_7d",
        "last_14d",
        "last_28d",
        "last_30d",
        "last_90d",
        "this_month",
        "last_month",
        "maximum",
    }
)


@dataclass(frozen=True)
class InsightsRequest:
    account_id: str
    level: str  # ACCOUNT | CAMPAIGN | AD_GROUP
    fields: tuple[str, ...]
    since: date
    until: date
    step: int | None  # days per row; None = all_days
    campaign_ids: tuple[int, ...] | None
    adset_ids: tuple[int, ...] | None
    campaign_statuses: tuple[str, ...] | None
    adset_statuses: tuple[str, ...] | None
    ad_statuses: tuple[str, ...] | None
    windows: tuple[str, ...]


def _preset_range(preset: str, today: date, history_start: date) -> tuple[date, date]:
    one = timedelta(days=1)
    if preset == "today":
        return today, today
    if preset == "yesterday":
        return today - one, today - one
    if preset.startswith("last_") and preset.endswith("d"):
        n = int(preset[5:-1])
        return today - timedelta(days=n), today - one
    if preset == "this_month":
        return today.replace(day=1), today
    if preset == "last_month":
        end = today.replace(day=1) - one
        return end.replace(day=1), end
    return history_start, today  # maximum


def parse_insights(state: EmulatorState, account_id: str, params: Mapping[str, str]) -> InsightsRequest:
    """Validate insights parameters the way the Graph API does; raises MetaError."""
    level_name = params.get("level") or "account"
    if level_name == "ad":
        raise invalid_param("level=ad is not served by the emulator (no ads are generated); use adset.")
    if level_name not in LEVELS:
        raise invalid_param("param level must be one of {ad, adset, campaign, account}")
    fields = tuple(list_param(params, "fields") or DEFAULT_FIELDS)
    for name in fields:
        if name not in INSIGHTS_FIELDS:
            raise invalid_param(
                f"{name} is not valid for fields param. please check "
                "https://developers.facebook.com/docs/marketing-api/reference/ads-insights/ for all valid values"
            )
    if params.get("breakdowns") not in (None, "", "[]"):
        raise invalid_param("breakdowns are not supported by the emulator")
    if params.get("time_ranges"):
        raise invalid_param("time_ranges is not supported by the emulator; use time_range")
    action_breakdowns = list_param(params, "action_breakdowns")
    if action_breakdowns not in (None, ["action_type"]):
        raise invalid_param("only action_breakdowns=['action_type'] is supported by the emulator")
    today = state.today()
    history_start = months_before(today, state.config.history_months)
    raw_range = params.get("time_range")
    if raw_range:
        try:
            tr = json.loads(raw_range)
            since, until = date.fromisoformat(tr["since"]), date.fromisoformat(tr["until"])
        except (ValueError, KeyError, TypeError) as exc:
            raise invalid_param(
                "param time_range must be a JSON object with since and until dates (YYYY-MM-DD)"
            ) from exc
    else:
        preset = params.get("date_preset") or "last_30d"
        if preset not in DATE_PRESETS:
            raise invalid_param(f"date_preset must be one of {sorted(DATE_PRESETS)}")
        since, until = _preset_range(preset, today, history_start)
    if since > until:
        raise invalid_param("Since must be less than or equal to until")
    if since < history_start:
        raise MetaError(
            "(#3018) The start date of the time range cannot be beyond 37 months from the current date", 3018
        )
    raw_step = (params.get("time_increment") or "all_days").strip()
    step: int | None
    if raw_step == "all_days":
        step = None
    elif raw_step.isdigit() and 1 <= int(raw_step) <= 90:
        step = int(raw_step)
    else:
        raise invalid_param("time_increment must be all_days or an integer between 1 and 90 (monthly is not emulated)")
    windows = tuple(list_param(params, "action_attribution_windows") or ())
    for w in windows:
        if w in REMOVED_WINDOWS:
            raise invalid_param(f"The attribution window {w} is no longer supported. Use 1d_view with click windows.")
        if w not in ATTRIBUTION_WINDOWS:
            raise invalid_param(f"action_attribution_windows[] must be one of {list(ATTRIBUTION_WINDOWS)}")
    ids, statuses = _parse_filtering(params.get("filtering"))
    return InsightsRequest(
        account_id=account_id,
        level=LEVELS[level_name],
        fields=fields,
        since=since,
        until=until,
        step=step,
        campaign_ids=ids.get("campaign_ids"),
        adset_ids=ids.get("adset_ids"),
        campaign_statuses=statuses.get("campaign_statuses"),
        adset_statuses=statuses.get("adset_statuses"),
        ad_statuses=statuses.get("ad_statuses"),
        windows=windows,
    )


def _parse_filtering(raw: str | None) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[str, ...]]]:
    """Supported `filtering` rules → (id filters, effective-status filters)."""
    ids: dict[str, tuple[int, ...]] = {}
    statuses: dict[str, tuple[str, ...]] = {}
    if not raw:
        return ids, statuses
    try:
        rules = json.loads(raw)
        assert isinstance(rules, list)
    except (ValueError, AssertionError) as exc:
        raise invalid_param("param filtering must be an array of {field, operator, value} objects") from exc
    targets = {
        "campaign.id": "campaign_ids",
        "adset.id": "adset_ids",
        "campaign.effective_status": "campaign_statuses",
        "adset.effective_status": "adset_statuses",
        "ad.effective_status": "ad_statuses",
    }
    for rule in rules:
        field_name, op, value = rule.get("field"), str(rule.get("operator", "")).upper(), rule.get("value")
        if field_name not in targets:
            raise invalid_param(f"Filtering field {field_name} is not supported by the emulator")
        if op not in ("IN", "EQUAL"):
            raise invalid_param(f"Filtering operator {op} is not supported by the emulator for {field_name}")
        values = value if isinstance(value, list) else [value]
        name = targets[field_name]
        if name.endswith("_ids"):
            ids[name] = tuple(int(v) for v in values)
        else:
            statuses[name] = tuple(str(v) for v in values)
    return ids, statuses


# ---------------------------------------------------------------------------- statuses
def campaign_effective(model: AccountModel) -> npt.NDArray[np.object_]:
    return np.array(
        [{"ENABLED": "ACTIVE", "PAUSED": "PAUSED", "REMOVED": "ARCHIVED"}[s] for s in model.campaign_state],
        dtype=object,
    )


def adset_effective(model: AccountModel, for_ads: bool = False) -> npt.NDArray[np.object_]:
    camp = campaign_effective(model)[model.ag_campaign]
    own = model.ag_state
    out = []
    for c, s in zip(camp.tolist(), own.tolist(), strict=True):
        if c == "ARCHIVED" or s == "REMOVED":
            out.append("ARCHIVED")
        elif s == "PAUSED":
            out.append("ADSET_PAUSED" if for_ads else "PAUSED")
        elif c == "PAUSED":
            out.append("CAMPAIGN_PAUSED")
        else:
            out.append("ACTIVE")
    return np.array(out, dtype=object)


def _selected_ad_groups(model: AccountModel, req: InsightsRequest) -> I64Array:
    keep = np.ones(model.n_ad_groups, dtype=bool)
    if req.campaign_ids is not None:
        keep &= np.isin(model.campaign_ids[model.ag_campaign], np.array(req.campaign_ids, dtype=np.int64))
    if req.adset_ids is not None:
        keep &= np.isin(model.ag_ids, np.array(req.adset_ids, dtype=np.int64))
    if req.campaign_statuses is not None:
        keep &= np.isin(campaign_effective(model)[model.ag_campaign], req.campaign_statuses)
    if req.adset_statuses is not None:
        keep &= np.isin(adset_effective(model), req.adset_statuses)
    if req.ad_statuses is not None:
        keep &= np.isin(adset_effective(model, for_ads=True), req.ad_statuses)
    return np.nonzero(keep)[0].astype(np.int64)


def estimate_rows(state: EmulatorState, req: InsightsRequest) -> int:
    model = state.model(META, req.account_id)
    window = state.window(META)
    ags = _selected_ad_groups(model, req)
    cells = active_cells(model, req.level, to_ordinal(req.since), to_ordinal(req.until), window, ags)
    if req.step is None:
        return min(cells, 1 if req.level == ACCOUNT else len(ags))
    return -(-cells // req.step)


def compute(state: EmulatorState, req: InsightsRequest, version: int | None = None, today: int | None = None) -> Frame:
    """Insights rows for a request (rows with no impressions are omitted, as Meta does)."""
    model = state.model(META, req.account_id)
    window = state.window(META, version=version, today=today)
    ags = _selected_ad_groups(model, req)
    lo, hi = to_ordinal(req.since), to_ordinal(req.until)
    frame = state.frame(META, req.account_id, req.level, lo, hi, ags, window)
    if req.step != 1:
        frame = bucket_frame(frame, lo, hi, req.step)
    return frame


# ---------------------------------------------------------------------------- rendering
def _decimal(minor: list[int], decimals: int) -> list[str]:
    if decimals == 0:
        return [str(v) for v in minor]
    unit = 10**decimals
    return [f"{v // unit}.{v % unit:0{decimals}d}" for v in minor]


def _ratio(num: npt.NDArray[np.float64], den: npt.NDArray[np.float64], scale: float = 1.0) -> list[str | None]:
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(den > 0, num * scale / den, np.nan)
    return [None if v != v else f"{v:.6f}" for v in values.tolist()]


def _split(total: int, window: str) -> int:
    """Deterministic share of an attributed total credited to one attribution window."""
    view = total // 8
    click7 = total - view
    return {
        "1d_click": click7 * 3 // 4,
        "7d_click": click7,
        "28d_click": click7 + click7 // 10,
        "1d_view": view,
        "1d_ev": 0,
        "dda": total,
        "default": total,
    }[window]


def _action_column(
    values: dict[str, list[int]], types: tuple[tuple[str, str], ...], windows: tuple[str, ...], decimals: int | None
) -> list[str | None]:
    """`[{"action_type": ..., "value": ...}, ...]` texts per row, zero-valued types omitted.

    Built column by column (one pass per action type) because this is the hot loop of big
    insights pages; a row without any action gets None and the key is left out, like Meta does.
    """
    n = len(next(iter(values.values())))

    def fmt(v: int) -> str:
        if decimals is None or decimals == 0:
            return str(v)
        unit = 10**decimals
        return f"{v // unit}.{v % unit:0{decimals}d}"

    body_by_column: dict[str, list[str | None]] = {}
    for _, column in types:
        if column in body_by_column:
            continue
        col = values[column]
        if windows:
            body_by_column[column] = [
                None
                if v <= 0
                else '"value":"' + fmt(v) + '"' + "".join(f',"{w}":"{fmt(_split(v, w))}"' for w in windows) + "}"
                for v in col
            ]
        elif decimals is None or decimals == 0:
            body_by_column[column] = [None if v <= 0 else f'"value":"{v}"}}' for v in col]
        else:
            body_by_column[column] = [None if v <= 0 else f'"value":"{fmt(v)}"}}' for v in col]
    per_type = [
        [None if b is None else f'{{"action_type":"{action_type}",{b}' for b in body_by_column[column]]
        for action_type, column in types
    ]
    result: list[str | None] = []
    for items in zip(*per_type, strict=True):
        present = [x for x in items if x is not None]
        result.append("[" + ",".join(present) + "]" if present else None)
    assert len(result) == n
    return result


def render_rows(state: EmulatorState, req: InsightsRequest, frame: Frame, start: int, stop: int) -> list[str]:
    """Insights row JSON texts for rows [start, stop) of `frame`, fields in request order."""
    part = frame.take(slice(start, stop))
    n = len(part)
    if n == 0:
        return []
    model = state.model(META, req.account_id)
    spec = model.spec
    dec = model.decimals
    micro_unit = 10 ** (6 - dec)
    cols = part.cols
    spend_minor = (cols["spend_micros"] // micro_unit).tolist()
    spend_units = cols["spend_micros"] / 1e6
    impressions = cols["impressions"].astype(np.float64)
    clicks = cols["clicks"].astype(np.float64)
    link = cols["link_clicks"].astype(np.float64)
    counts = {k: v.tolist() for k, v in cols.items()}
    counts["engagement"] = (cols["clicks"] + cols["impressions"] // 400).tolist()
    value_minor = (cols["value_micros"] // micro_unit).tolist()
    if part.level == CAMPAIGN:
        camp_idx = part.entity
    elif part.level == AD_GROUP:
        camp_idx = model.ag_campaign[part.entity]
    else:
        camp_idx = None
    columns: list[list[str | None]] = []
    for name in req.fields:
        if name in ("date_start", "date_stop", "ad_id", "ad_name"):
            continue
        prefix = f'"{name}":'
        col: list[str | None]
        if name == "account_id":
            col = [f'{prefix}"{spec.account_id}"'] * n
        elif name == "account_name":
            col = [prefix + json.dumps(spec.name, ensure_ascii=False)] * n
        elif name == "account_currency":
            col = [f'{prefix}"{spec.currency}"'] * n
        elif name in ("campaign_id", "campaign_name", "objective"):
            if camp_idx is None:
                continue
            if name == "campaign_id":
                col = [f'{prefix}"{v}"' for v in model.campaign_ids[camp_idx].tolist()]
            elif name == "campaign_name":
                col = [prefix + json.dumps(model.campaign_names[c], ensure_ascii=False) for c in camp_idx.tolist()]
            else:
                col = [f'{prefix}"{model.campaign_kind[c]}"' for c in camp_idx.tolist()]
        elif name in ("adset_id", "adset_name"):
            if part.level != AD_GROUP:
                continue
            if name == "adset_id":
                col = [f'{prefix}"{v}"' for v in model.ag_ids[part.entity].tolist()]
            else:
                col = [prefix + json.dumps(model.ag_names[g], ensure_ascii=False) for g in part.entity.tolist()]
        elif name in ("impressions", "clicks", "reach", "inline_link_clicks"):
            key = {"inline_link_clicks": "link_clicks"}.get(name, name)
            col = [f'{prefix}"{v}"' for v in counts[key]]
        elif name == "spend":
            col = [f'{prefix}"{v}"' for v in _decimal(spend_minor, dec)]
        elif name in ("frequency", "cpm", "cpc", "ctr", "inline_link_click_ctr", "cost_per_inline_link_click"):
            num, den, scale = {
                "frequency": (impressions, cols["reach"].astype(np.float64), 1.0),
                "cpm": (spend_units, impressions, 1000.0),
                "cpc": (spend_units, clicks, 1.0),
                "ctr": (clicks, impressions, 100.0),
                "inline_link_click_ctr": (link, impressions, 100.0),
                "cost_per_inline_link_click": (spend_units, link, 1.0),
            }[name]
            col = [None if v is None else f'{prefix}"{v}"' for v in _ratio(num, den, scale)]
        elif name == "actions":
            lists = _action_column(counts, ACTION_TYPES, req.windows, None)
            col = [None if x is None else prefix + x for x in lists]
        elif name == "action_values":
            types = tuple((t, "value") for t in ACTION_VALUE_TYPES)
            lists = _action_column({"value": value_minor}, types, req.windows, dec)
            col = [None if x is None else prefix + x for x in lists]
        else:  # purchase_roas
            roas = _ratio(cols["value_micros"].astype(np.float64), cols["spend_micros"].astype(np.float64))
            col = [
                None
                if r is None or value_minor[i] == 0
                else f'{prefix}[{{"action_type":"omni_purchase","value":"{r}"}}]'
                for i, r in enumerate(roas)
            ]
        columns.append(col)
    starts = iso_dates(part.day_start)
    stops = starts if req.step == 1 else iso_dates(part.day_stop)
    columns.append([f'"date_start":"{a}","date_stop":"{b}"' for a, b in zip(starts, stops, strict=True)])
    return ["{" + ",".join(p for p in t if p is not None) + "}" for t in zip(*columns, strict=True)]
