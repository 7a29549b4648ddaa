"""TikTok Business API v1.3: advertiser info, campaigns, ad groups and synchronous reports.

  https://business-api.tiktok.com/open_api/v1.3/...  ↔  {base}/tiktok/open_api/v1.3/...
Reports (`report/integrated/get/`, report_type BASIC, data levels AUCTION_ADVERTISER /
AUCTION_CAMPAIGN / AUCTION_ADGROUP, dimension `stat_time_day`) page with `page` / `page_size` and
return every metric as a JSON string in the advertiser's currency and time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from werkzeug.wrappers import Request, Response

from devtools.emulators.config import TIKTOK, AccountSpec
from devtools.emulators.datagen import ACCOUNT, AD_GROUP, CAMPAIGN, NEVER, AccountModel, from_ordinal, to_ordinal
from devtools.emulators.faults import Fault
from devtools.emulators.http import find_fault, truncate
from devtools.emulators.state import EmulatorState
from devtools.emulators.tiktok_common import (
    TOO_MUCH_DATA,
    GatewayError,
    Page,
    TikTokError,
    advertiser,
    check_token,
    common_faults,
    envelope,
    error_response,
    invalid_param,
    json_param,
    params_of,
    token_faults,
)
from devtools.emulators.tiktok_report import ReportRequest, render_rows

_AUTH_KINDS = frozenset({"token_expiry", "revoked_grant"})
_REPORT_KINDS = _AUTH_KINDS | {"empty_page", "bad_row", "too_much_data", "duplicate_row"}
_STATUS = {"ENABLED": "ENABLE", "PAUSED": "DISABLE", "REMOVED": "DISABLE"}
_SECONDARY = {"ENABLED": "STATUS_ENABLE", "PAUSED": "STATUS_DISABLE", "REMOVED": "STATUS_DELETE"}


def call_endpoint(
    state: EmulatorState, request: Request, endpoint: str, kinds: frozenset[str], work: Callable[..., Any]
) -> Response:
    """The shared prelude: count, faults, token, advertiser; then `work(spec, params, fired)`."""
    state.count_request(TIKTOK, endpoint)
    try:
        params = params_of(request)
        account = params.get("advertiser_id")
        page = params.get("page")
        fired = common_faults(state, endpoint, account, int(page) if page and page.isdigit() else None, kinds)
        token = check_token(state, request)
        token_faults(state, token, fired)
        if endpoint == "advertiser.info":
            data = work(params)
        else:
            data = work(advertiser(state, account), params, fired)
    except (TikTokError, GatewayError) as err:
        return error_response(state, err)
    return truncate(envelope(state, data), find_fault(fired, "truncated_json"))


def _time(ordinal: int) -> str:
    """Entity timestamps: the campaign's first day at 09:00 UTC, as TikTok prints them."""
    return f"{from_ordinal(int(ordinal)).isoformat()} 09:00:00"


def advertiser_info(state: EmulatorState, request: Request) -> Response:
    """GET ?advertiser_ids=["..."] → currency and time zone of each advertiser."""

    def work(params: dict[str, str]) -> dict[str, Any]:
        ids = json_param(params, "advertiser_ids")
        if not isinstance(ids, list) or not ids or len(ids) > 100:
            raise invalid_param("advertiser_ids: Must be a list of 1 to 100 advertiser ids.")
        return {"list": [_advertiser_row(advertiser(state, str(i))) for i in ids]}

    return call_endpoint(state, request, "advertiser.info", _AUTH_KINDS, work)


def _advertiser_row(spec: AccountSpec) -> dict[str, Any]:
    return {
        "advertiser_id": spec.account_id,
        "name": spec.name,
        "currency": spec.currency,
        "timezone": spec.time_zone,
        "display_timezone": spec.time_zone,
        "country": spec.country if spec.country != "UK" else "GB",
        "status": "STATUS_ENABLE",
        "role": "ROLE_ADVERTISER",
        "company": "Bosco Demo Ltd",
        "language": "en",
    }


def _filtering_ids(params: dict[str, str], name: str) -> set[int] | None:
    filtering = json_param(params, "filtering", {})
    if not isinstance(filtering, dict):
        raise invalid_param("filtering: Not a valid JSON object.")
    ids = filtering.get(name)
    if ids is None:
        return None
    try:
        return {int(i) for i in ids}
    except (TypeError, ValueError) as exc:
        raise invalid_param(f"filtering.{name}: Must be a list of ids.") from exc


def campaign_get(state: EmulatorState, request: Request) -> Response:
    def work(spec: AccountSpec, params: dict[str, str], fired: list[Fault]) -> dict[str, Any]:
        model = state.model(TIKTOK, spec.account_id)
        wanted = _filtering_ids(params, "campaign_ids")
        rows = [_campaign_row(model, c) for c in range(model.n_campaigns) if _wanted(model.campaign_ids[c], wanted)]
        return _paged(state, params, rows)

    return call_endpoint(state, request, "campaigns", _AUTH_KINDS, work)


def adgroup_get(state: EmulatorState, request: Request) -> Response:
    def work(spec: AccountSpec, params: dict[str, str], fired: list[Fault]) -> dict[str, Any]:
        model = state.model(TIKTOK, spec.account_id)
        campaigns = _filtering_ids(params, "campaign_ids")
        wanted = _filtering_ids(params, "adgroup_ids")
        rows = [
            _adgroup_row(model, g)
            for g in range(model.n_ad_groups)
            if _wanted(model.campaign_ids[model.ag_campaign[g]], campaigns) and _wanted(model.ag_ids[g], wanted)
        ]
        return _paged(state, params, rows)

    return call_endpoint(state, request, "adgroups", _AUTH_KINDS, work)


def _wanted(entity_id: np.int64, wanted: set[int] | None) -> bool:
    return wanted is None or int(entity_id) in wanted


def _paged(state: EmulatorState, params: dict[str, str], rows: list[dict[str, Any]]) -> dict[str, Any]:
    page = Page.parse(state, params)
    start, stop = page.bounds(len(rows))
    return {"list": rows[start:stop], "page_info": page.info(len(rows))}


def _campaign_row(model: AccountModel, c: int) -> dict[str, Any]:
    status = str(model.campaign_state[c])
    return {
        "advertiser_id": model.spec.account_id,
        "campaign_id": str(int(model.campaign_ids[c])),
        "campaign_name": model.campaign_names[c],
        "objective_type": str(model.campaign_kind[c]),
        "operation_status": _STATUS[status],
        "secondary_status": "CAMPAIGN_" + _SECONDARY[status],
        "budget_mode": "BUDGET_MODE_INFINITE",
        "budget": 0.0,
        "create_time": _time(model.campaign_start[c]),
        "modify_time": _time(model.campaign_end[c] if model.campaign_end[c] < NEVER else model.campaign_start[c]),
    }


def _adgroup_row(model: AccountModel, g: int) -> dict[str, Any]:
    status = str(model.ag_state[g])
    return {
        "advertiser_id": model.spec.account_id,
        "campaign_id": str(int(model.campaign_ids[model.ag_campaign[g]])),
        "adgroup_id": str(int(model.ag_ids[g])),
        "adgroup_name": model.ag_names[g],
        "operation_status": _STATUS[status],
        "secondary_status": "ADGROUP_" + _SECONDARY[status],
        "placement_type": "PLACEMENT_TYPE_AUTOMATIC",
        "create_time": _time(model.ag_start[g]),
    }


def report(state: EmulatorState, request: Request) -> Response:
    """GET report/integrated/get/: daily BASIC reports, paged, restated inside the lookback."""

    def work(spec: AccountSpec, params: dict[str, str], fired: list[Fault]) -> dict[str, Any]:
        req = ReportRequest.parse(state, spec, params)
        page = Page.parse(state, params)
        state.note_report_call(TIKTOK)
        model = state.model(TIKTOK, spec.account_id)
        window = state.window(TIKTOK)
        ags = np.arange(model.n_ad_groups, dtype=np.int64)
        limit = state.config.tiktok_max_rows_per_sync_request
        too_much = find_fault(fired, "too_much_data")
        if too_much or (limit is not None and report_cells(model, req) > limit):
            raise TikTokError(
                TOO_MUCH_DATA, "The data volume is too large. Please narrow the date range or use async reports."
            )
        level = {"AUCTION_ADVERTISER": ACCOUNT, "AUCTION_CAMPAIGN": CAMPAIGN, "AUCTION_ADGROUP": AD_GROUP}
        frame = state.frame(
            TIKTOK, spec.account_id, level[req.data_level], to_ordinal(req.start), to_ordinal(req.end), ags, window
        )
        start, stop = page.bounds(len(frame))
        rows = [] if find_fault(fired, "empty_page") else render_rows(model, req, frame.take(slice(start, stop)))
        apply_row_faults(rows, fired)
        state.count("rows_served", TIKTOK, len(rows))
        return {"list": rows, "page_info": page.info(len(frame))}

    return call_endpoint(state, request, "report", _REPORT_KINDS, work)


def report_cells(model: AccountModel, req: ReportRequest) -> int:
    """Upper bound of the rows: entities times days (the real API refuses before computing)."""
    days = (req.end - req.start).days + 1
    per_day = {"AUCTION_ADVERTISER": 1, "AUCTION_CAMPAIGN": model.n_campaigns, "AUCTION_ADGROUP": model.n_ad_groups}
    return days * per_day[req.data_level]


def apply_row_faults(rows: list[dict[str, Any]], fired: list[Fault]) -> None:
    """bad_row breaks one metric of one row; duplicate_row repeats a row with halved spend."""
    if not rows:
        return
    if fault := find_fault(fired, "bad_row"):
        row = rows[min(int(fault.param("row") or 0), len(rows) - 1)]
        name = str(fault.param("field") or "spend")
        mode = fault.param("mode")
        if mode == "missing":
            row["metrics"].pop(name, None)
        else:
            row["metrics"][name] = None if mode == "null" else "not-a-number"
    if fault := find_fault(fired, "duplicate_row"):
        index = min(int(fault.param("row") or 0), len(rows) - 1)
        twin = {"dimensions": dict(rows[index]["dimensions"]), "metrics": dict(rows[index]["metrics"])}
        twin["metrics"]["spend"] = f"{float(twin['metrics']['spend']) / 2:.2f}"
        rows.insert(index + 1, twin)
