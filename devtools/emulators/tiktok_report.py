"""TikTok `report/integrated/get/`: request validation and row rendering.

Rows look like `{"dimensions": {"campaign_id": "17…", "stat_time_day": "2026-11-14 00:00:00"},
"metrics": {"spend": "26.64", "impressions": "5204", ...}}`: every metric is a string, money
has the currency's decimals, rates are percentages with two decimals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from devtools.emulators.config import AccountSpec
from devtools.emulators.datagen import AccountModel, Frame, iso_dates
from devtools.emulators.state import EmulatorState
from devtools.emulators.tiktok_common import invalid_param, json_param

LEVEL_ID = {"AUCTION_ADVERTISER": "advertiser_id", "AUCTION_CAMPAIGN": "campaign_id", "AUCTION_ADGROUP": "adgroup_id"}
# Attribute metrics: names and parents of the row's entity, and the advertiser's currency.
ATTRIBUTES = {
    "AUCTION_ADVERTISER": frozenset({"advertiser_name", "currency"}),
    "AUCTION_CAMPAIGN": frozenset({"campaign_name", "objective_type", "currency"}),
    "AUCTION_ADGROUP": frozenset({"adgroup_name", "campaign_id", "campaign_name", "objective_type", "currency"}),
}
NUMERIC = frozenset(
    {
        "spend",
        "impressions",
        "clicks",
        "ctr",
        "cpc",
        "cpm",
        "conversion",
        "cost_per_conversion",
        "conversion_rate",
        "complete_payment",
        "total_complete_payment_rate",
        "complete_payment_roas",
    }
)
DEFAULT_METRICS = ("spend", "impressions", "clicks")


@dataclass(frozen=True)
class ReportRequest:
    data_level: str
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    start: date
    end: date

    @classmethod
    def parse(
        cls, state: EmulatorState, spec: AccountSpec, params: Mapping[str, str], max_days: int | None = None
    ) -> ReportRequest:
        if params.get("report_type") != "BASIC":
            raise invalid_param("report_type: The emulator serves BASIC reports only.")
        if params.get("service_type", "AUCTION") != "AUCTION":
            raise invalid_param("service_type: Must be one of AUCTION.")
        level = params.get("data_level", "")
        if level not in LEVEL_ID:
            raise invalid_param(f"data_level: Must be one of {', '.join(LEVEL_ID)}.")
        dimensions = json_param(params, "dimensions")
        if not isinstance(dimensions, list) or sorted(map(str, dimensions)) != sorted(
            [LEVEL_ID[level], "stat_time_day"]
        ):
            raise invalid_param(f'dimensions: For {level} daily reports use ["{LEVEL_ID[level]}", "stat_time_day"].')
        metrics = json_param(params, "metrics", list(DEFAULT_METRICS))
        if not isinstance(metrics, list) or not metrics:
            raise invalid_param("metrics: Must be a non-empty list.")
        allowed = NUMERIC | ATTRIBUTES[level]
        unknown = [str(m) for m in metrics if m not in allowed]
        if unknown:
            raise invalid_param(f"metrics: Invalid metric {unknown[0]!r} for data_level {level}.")
        start, end = _date(params, "start_date"), _date(params, "end_date")
        if end < start:
            raise invalid_param("end_date: Must be on or after start_date.")
        limit = max_days or state.config.tiktok_max_report_days
        if (end - start).days + 1 > limit:
            raise invalid_param(f"The time span between start_date and end_date cannot exceed {limit} days.")
        return cls(level, tuple(map(str, dimensions)), tuple(map(str, metrics)), start, end)


def _date(params: Mapping[str, str], name: str) -> date:
    raw = params.get(name, "")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise invalid_param(f"{name}: Must be a date in the format YYYY-MM-DD.") from exc


def _money(minor: int, decimals: int) -> str:
    if decimals == 0:
        return str(minor)
    return f"{minor // 10**decimals}.{minor % 10**decimals:0{decimals}d}"


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> str:
    return f"{numerator * scale / denominator:.2f}" if denominator else "0.00"


def render_rows(model: AccountModel, req: ReportRequest, frame: Frame) -> list[dict[str, Any]]:
    days = iso_dates(frame.day_start)
    cols = {k: v.tolist() for k, v in frame.cols.items()}
    entity = frame.entity.tolist()
    decimals = model.decimals
    per_minor = 10 ** (6 - decimals)
    rows: list[dict[str, Any]] = []
    for i, day in enumerate(days):
        spend_minor = cols["spend_micros"][i] // per_minor
        spend = spend_minor / 10**decimals
        impressions, clicks, conv = cols["impressions"][i], cols["clicks"][i], cols["conversions"][i]
        value = cols["value_micros"][i] // per_minor
        payments = 0 if value == 0 else conv  # lead campaigns convert without a payment
        numbers = {
            "spend": _money(spend_minor, decimals),
            "impressions": str(impressions),
            "clicks": str(clicks),
            "ctr": _ratio(clicks, impressions, 100.0),
            "cpc": _ratio(spend, clicks),
            "cpm": _ratio(spend, impressions, 1000.0),
            "conversion": str(conv),
            "cost_per_conversion": _ratio(spend, conv),
            "conversion_rate": _ratio(conv, clicks, 100.0),
            "complete_payment": str(payments),
            "total_complete_payment_rate": _money(value, decimals),
            "complete_payment_roas": _ratio(value / 10**decimals, spend),
        }
        attributes = _attributes(model, req.data_level, entity[i])
        metrics = {m: numbers[m] if m in numbers else attributes[m] for m in req.metrics}
        dims = {LEVEL_ID[req.data_level]: attributes["_id"], "stat_time_day": f"{day} 00:00:00"}
        rows.append({"dimensions": dims, "metrics": metrics})
    return rows


def _attributes(model: AccountModel, level: str, e: int) -> dict[str, str]:
    spec = model.spec
    out = {"currency": spec.currency, "advertiser_name": spec.name}
    if level == "AUCTION_ADVERTISER":
        out["_id"] = spec.account_id
        return out
    c = e if level == "AUCTION_CAMPAIGN" else int(model.ag_campaign[e])
    out.update(
        campaign_id=str(int(model.campaign_ids[c])),
        campaign_name=model.campaign_names[c],
        objective_type=str(model.campaign_kind[c]),
    )
    if level == "AUCTION_CAMPAIGN":
        out["_id"] = out["campaign_id"]
    else:
        out.update(_id=str(int(model.ag_ids[e])), adgroup_name=model.ag_names[e])
    return out
