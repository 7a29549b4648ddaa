"""Run a parsed GAQL query against the generated data and render GoogleAdsRow JSON.

Rows are rendered as JSON text directly (not via dicts) because a backfill stream can be
hundreds of thousands of rows; the wire shape is Google's REST one: lowerCamelCase keys, int64 as
strings, doubles as numbers, enums as names, `resourceName` on every returned resource.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from devtools.emulators.config import GOOGLE_ADS
from devtools.emulators.datagen import (
    ACCOUNT,
    AD_GROUP,
    CAMPAIGN,
    AccountModel,
    Frame,
    I64Array,
    active_cells,
    bucket_frame,
    google_ad_group_type,
    iso_dates,
    to_ordinal,
)
from devtools.emulators.gaql import FIELDS, ROW_ORDER, Condition, FieldDef, Query, date_bounds, during_range
from devtools.emulators.state import EmulatorState

ObjArray = npt.NDArray[np.object_]


@dataclass
class QueryResult:
    query: Query
    model: AccountModel
    frame: Frame
    estimated_rows: int

    def __len__(self) -> int:
        return len(self.frame)


def _customer_value(model: AccountModel, name: str) -> Any:
    spec = model.spec
    return {
        "customer.resource_name": f"customers/{spec.account_id}",
        "customer.id": int(spec.account_id),
        "customer.descriptive_name": spec.name,
        "customer.currency_code": spec.currency,
        "customer.time_zone": spec.time_zone,
        "customer.auto_tagging_enabled": True,
        "customer.manager": False,
        "customer.test_account": False,
        "customer.status": "ENABLED",
    }[name]


def _entity_values(model: AccountModel, name: str) -> npt.NDArray[Any]:
    """Per-campaign or per-ad-group values of an attribute field (memoised on the model)."""
    cache_key = f"values:{name}"
    hit = model.cache.get(cache_key)
    if hit is not None:
        return hit  # type: ignore[return-value]
    cid = model.spec.account_id
    values: npt.NDArray[Any]
    if name == "campaign.id":
        values = model.campaign_ids
    elif name == "campaign.name":
        values = np.array(model.campaign_names, dtype=object)
    elif name == "campaign.status":
        values = model.campaign_state
    elif name == "campaign.advertising_channel_type":
        values = model.campaign_kind
    elif name == "campaign.resource_name":
        values = np.array([f"customers/{cid}/campaigns/{i}" for i in model.campaign_ids.tolist()], dtype=object)
    elif name == "ad_group.id":
        values = model.ag_ids
    elif name == "ad_group.name":
        values = np.array(model.ag_names, dtype=object)
    elif name == "ad_group.status":
        values = model.ag_state
    elif name == "ad_group.type":
        values = np.array([google_ad_group_type(k) for k in model.campaign_kind[model.ag_campaign]], dtype=object)
    elif name == "ad_group.campaign":
        values = _entity_values(model, "campaign.resource_name")[model.ag_campaign]
    elif name == "ad_group.resource_name":
        values = np.array([f"customers/{cid}/adGroups/{i}" for i in model.ag_ids.tolist()], dtype=object)
    else:
        raise KeyError(name)
    model.cache[cache_key] = values
    return values


def _metric_values(frame: Frame, name: str) -> npt.NDArray[Any]:
    cols = frame.cols
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "metrics.cost_micros":
            return cols["spend_micros"]
        if name == "metrics.impressions":
            return cols["impressions"]
        if name == "metrics.clicks":
            return cols["clicks"]
        if name == "metrics.conversions":
            return cols["conversions"] / 100.0
        if name == "metrics.conversions_value":
            return cols["value_micros"] / 1e6
        if name == "metrics.ctr":
            return np.where(cols["impressions"] > 0, cols["clicks"] / cols["impressions"], 0.0)
        if name == "metrics.average_cpc":
            return np.where(cols["clicks"] > 0, cols["spend_micros"] / cols["clicks"], np.nan)
    raise KeyError(name)


def _row_values(result_frame: Frame, model: AccountModel, name: str) -> npt.NDArray[Any]:
    """Values of any field for every row of a frame (for WHERE on rows and ORDER BY)."""
    fdef = FIELDS[name]
    if fdef.category == "metric":
        return _metric_values(result_frame, name)
    if name == "segments.date":
        return result_frame.day_start
    n = len(result_frame)
    if fdef.resource == "customer":
        return np.full(n, _customer_value(model, name), dtype=object)
    values = _entity_values(model, name)
    if result_frame.level == CAMPAIGN or fdef.resource == "ad_group":
        return values[result_frame.entity]
    return values[model.ag_campaign[result_frame.entity]]


def _like(pattern: str) -> re.Pattern[str]:
    out = []
    for ch in pattern:
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def _matches(values: npt.NDArray[Any], cond: Condition, fdef: FieldDef, today: date) -> npt.NDArray[np.bool_]:
    op, v = cond.op, cond.value
    if fdef.kind == "date":
        if op == "DURING":
            lo, hi = during_range(v, today)
            return (values >= to_ordinal(lo)) & (values <= to_ordinal(hi))  # type: ignore[no-any-return]
        if op == "BETWEEN":
            v = (to_ordinal(v[0]), to_ordinal(v[1]))
        elif op in ("IN", "NOT_IN"):
            v = [to_ordinal(x) for x in v]
        elif isinstance(v, date):
            v = to_ordinal(v)
    if op == "=":
        return np.asarray(values == v, dtype=bool)
    if op == "!=":
        return np.asarray(values != v, dtype=bool)
    if op in (">", ">=", "<", "<="):
        with np.errstate(invalid="ignore"):
            return {">": values > v, ">=": values >= v, "<": values < v, "<=": values <= v}[op]  # type: ignore[no-any-return]
    if op in ("IN", "NOT_IN"):
        wanted = set(v)
        hit = np.fromiter((x in wanted for x in values.tolist()), dtype=bool, count=len(values))
        return hit if op == "IN" else ~hit
    if op == "BETWEEN":
        return (values >= v[0]) & (values <= v[1])  # type: ignore[no-any-return]
    if op in ("LIKE", "NOT_LIKE"):
        rx = _like(str(v))
        hit = np.fromiter((bool(rx.fullmatch(str(x))) for x in values.tolist()), dtype=bool, count=len(values))
        return hit if op == "LIKE" else ~hit
    if op == "IS_NULL":
        return np.zeros(len(values), dtype=bool)
    return np.ones(len(values), dtype=bool)  # IS_NOT_NULL


def execute(state: EmulatorState, customer_id: str, query: Query) -> QueryResult:
    """Evaluate `query` for one customer: entity filters first, then days, then row filters."""
    model = state.model(GOOGLE_ADS, customer_id)
    window = state.window(GOOGLE_ADS)
    today = state.today()
    level = query.level
    camp_ok = np.ones(model.n_campaigns, dtype=bool)
    ag_ok = np.ones(model.n_ad_groups, dtype=bool)
    customer_ok = True
    row_conditions: list[Condition] = []
    for cond in query.where:
        fdef = FIELDS[cond.field]
        if fdef.resource == "customer":
            one = np.array([_customer_value(model, cond.field)], dtype=object)
            customer_ok = customer_ok and bool(_matches(one, cond, fdef, today)[0])
        elif fdef.resource == "campaign":
            camp_ok &= _matches(_entity_values(model, cond.field), cond, fdef, today)
        elif fdef.resource == "ad_group":
            ag_ok &= _matches(_entity_values(model, cond.field), cond, fdef, today)
        else:
            row_conditions.append(cond)
    ags = np.nonzero(ag_ok & camp_ok[model.ag_campaign])[0].astype(np.int64)
    empty = np.zeros(0, dtype=np.int64)

    if not query.metrics and not query.has_date_segment:
        if not customer_ok:
            entities: I64Array = empty
        elif level == ACCOUNT:
            entities = np.zeros(1, dtype=np.int64)
        elif level == CAMPAIGN:
            entities = np.nonzero(camp_ok)[0].astype(np.int64)
        else:
            entities = ags
        frame = Frame(level, entities, np.zeros(len(entities), np.int64), np.zeros(len(entities), np.int64), {})
        return QueryResult(query, model, _order_limit(frame, model, query), len(entities))

    since, until = date_bounds(query, today, state.history_start(GOOGLE_ADS))
    lo, hi = to_ordinal(since), to_ordinal(until)
    if not customer_ok:
        ags = empty
    if query.has_date_segment:
        estimate = active_cells(model, level, lo, hi, window, ags)
    else:
        estimate = 1 if level == ACCOUNT else len(np.unique(model.ag_campaign[ags])) if level == CAMPAIGN else len(ags)
    frame = state.frame(GOOGLE_ADS, model.spec.account_id, level, lo, hi, ags, window)
    date_conds = [c for c in row_conditions if c.field == "segments.date"]
    metric_conds = [c for c in row_conditions if c.field != "segments.date"]
    if date_conds:
        keep = np.ones(len(frame), dtype=bool)
        for cond in date_conds:
            keep &= _matches(frame.day_start, cond, FIELDS[cond.field], today)
        frame = frame.take(np.nonzero(keep)[0])
    if not query.has_date_segment:
        frame = bucket_frame(frame, lo, hi, None)
    if metric_conds:
        keep = np.ones(len(frame), dtype=bool)
        for cond in metric_conds:
            keep &= _matches(_metric_values(frame, cond.field), cond, FIELDS[cond.field], today)
        frame = frame.take(np.nonzero(keep)[0])
    if query.metrics:
        # Google drops rows whose selected metrics are all zero.
        nonzero = np.zeros(len(frame), dtype=bool)
        for name in query.metrics:
            vals = _metric_values(frame, name)
            nonzero |= np.nan_to_num(vals.astype(np.float64)) != 0
        frame = frame.take(np.nonzero(nonzero)[0])
    return QueryResult(query, model, _order_limit(frame, model, query), estimate)


def _order_limit(frame: Frame, model: AccountModel, query: Query) -> Frame:
    if query.order_by and len(frame) > 1:
        idx = np.arange(len(frame))
        for order in reversed(query.order_by):
            col = _row_values(frame, model, order.field)[idx]
            if order.descending:
                rev = idx[::-1]
                pos = np.argsort(col[::-1], kind="stable")
                idx = rev[pos][::-1]
            else:
                idx = idx[np.argsort(col, kind="stable")]
        frame = frame.take(idx)
    if query.limit is not None and len(frame) > query.limit:
        frame = frame.take(slice(0, query.limit))
    return frame


# ---------------------------------------------------------------------------- rendering
def json_double(value: float) -> str | None:
    """A double as Google's REST front end prints it: whole values without ".0" (`1`, `0`)."""
    if value != value:
        return None
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _json_value(fdef: FieldDef, value: Any) -> str | None:
    if fdef.kind == "int64":
        return f'"{int(value)}"'
    if fdef.kind == "double":
        return json_double(float(value))
    if fdef.kind == "bool":
        return "true" if value else "false"
    if fdef.kind == "enum":
        return f'"{value}"'
    return json.dumps(str(value), ensure_ascii=False)


def _entity_fragments(model: AccountModel, fdef: FieldDef) -> ObjArray:
    cache_key = f"frag:{fdef.name}"
    hit = model.cache.get(cache_key)
    if hit is None:
        values = _entity_values(model, fdef.name).tolist()
        prefix = f'"{fdef.json_name}":'
        hit = np.array([prefix + (_json_value(fdef, v) or "null") for v in values], dtype=object)
        model.cache[cache_key] = hit
    return hit  # type: ignore[return-value]


def _metric_fragments(frame: Frame, fdef: FieldDef) -> list[str | None]:
    prefix = f'"{fdef.json_name}":'
    values = _metric_values(frame, fdef.name)
    if fdef.kind == "int64":
        return [f'{prefix}"{v}"' for v in values.tolist()]
    out: list[str | None] = []
    for v in values.astype(np.float64).tolist():
        text = json_double(v)
        out.append(None if text is None else prefix + text)
    return out


def render_rows(result: QueryResult, start: int, stop: int) -> list[str]:
    """GoogleAdsRow JSON texts for rows [start, stop) of a result."""
    frame = result.frame.take(slice(start, stop))
    n = len(frame)
    if n == 0:
        return []
    model, query = result.model, result.query
    selected = [FIELDS[f] for f in query.select]
    level = frame.level
    groups: list[list[list[str | None]]] = []
    names: list[str] = []
    for resource in ROW_ORDER:
        fields = sorted((f for f in selected if f.resource == resource), key=lambda f: f.number)
        is_attribute = resource not in ("metrics", "segments")
        include = bool(fields) or (is_attribute and resource == query.resource)
        if not include:
            continue
        cols: list[list[str | None]] = []
        if is_attribute and not any(f.name.endswith(".resource_name") for f in fields):
            fields = [FIELDS[f"{resource}.resource_name"], *fields]
        for fdef in fields:
            if resource == "customer":
                frag = f'"{fdef.json_name}":' + (_json_value(fdef, _customer_value(model, fdef.name)) or "null")
                cols.append([frag] * n)
            elif resource in ("campaign", "ad_group"):
                frags = _entity_fragments(model, fdef)
                if level == CAMPAIGN or resource == "ad_group":
                    cols.append(frags[frame.entity].tolist())
                else:
                    cols.append(frags[model.ag_campaign[frame.entity]].tolist())
            elif resource == "metrics":
                cols.append(_metric_fragments(frame, fdef))
            else:  # segments.date
                cols.append([f'"date":"{d}"' for d in iso_dates(frame.day_start)])
        groups.append(cols)
        names.append(FIELDS[fields[0].name].json_resource if fields else resource)
    parts: list[list[str]] = []
    for name, cols in zip(names, groups, strict=True):
        head = f'"{name}":{{'
        if any(None in c for c in cols):
            inner = [",".join(p for p in t if p is not None) for t in zip(*cols, strict=True)]
        else:
            inner = [",".join(t) for t in zip(*cols, strict=True)]  # type: ignore[arg-type]
        parts.append([head + x + "}" for x in inner])
    return ["{" + ",".join(t) + "}" for t in zip(*parts, strict=True)]


def mutate_row(row_json: str, path: str, mode: str, camel: bool = True) -> str:
    """Break one rendered row (the bad_row fault): drop a field, null it, or change its type."""
    row = json.loads(row_json)
    keys = [_camel_path(p) if camel else p for p in path.split(".")]
    target = row
    for k in keys[:-1]:
        target = target.setdefault(k, {})
    last = keys[-1]
    if mode == "missing":
        target.pop(last, None)
    elif mode == "null":
        target[last] = None
    else:
        value = target.get(last)
        if isinstance(value, str):
            try:
                target[last] = int(value)
            except ValueError:
                target[last] = 12345
        elif isinstance(value, bool) or value is None:
            target[last] = "not-a-value"
        elif isinstance(value, int | float):
            target[last] = str(value)
        else:
            target[last] = "not-an-object"
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def split_row(row_json: str, *, finer: str | None = None, camel: bool = True) -> list[str]:
    """One rendered row as two rows sharing its key, each with about half of its counted metrics
    (the duplicate_row fault); with `finer`, the two differ in that field, as if the report had been
    asked at a finer level (the finer_level fault: `segments.device`, `ad_id`...)."""
    row = json.loads(row_json)
    first, second = json.loads(row_json), json.loads(row_json)
    metrics = "metrics" if isinstance(row.get("metrics"), dict) else None
    source = row[metrics] if metrics else row
    for key, value in source.items():
        if key in _SPLIT_METRICS and isinstance(value, str):
            half, rest = _halves(value)
            (first[metrics] if metrics else first)[key] = half
            (second[metrics] if metrics else second)[key] = rest
    if finer:
        keys = [_camel_path(p) if camel else p for p in finer.split(".")]
        values = ("MOBILE", "DESKTOP") if keys[-1] == "device" else ("120330000000000001", "120330000000000002")
        for copy, value in zip((first, second), values, strict=True):
            target = copy
            for k in keys[:-1]:
                target = target.setdefault(k, {})
            target[keys[-1]] = value
    return [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in (first, second)]


_SPLIT_METRICS = frozenset({"impressions", "clicks", "costMicros", "spend", "reach", "inline_link_clicks"})


def _halves(text: str) -> tuple[str, str]:
    """A counted metric sent as a string, cut in two parts that add up to it exactly."""
    from decimal import ROUND_DOWN, Decimal, InvalidOperation

    try:
        whole = Decimal(text)
    except InvalidOperation:
        return text, text
    exponent = whole.as_tuple().exponent
    step = Decimal(1).scaleb(exponent) if isinstance(exponent, int) else Decimal(1)  # keep the text's precision
    half = (whole / 2).quantize(step, rounding=ROUND_DOWN)
    return str(half), str(whole - half)


def _camel_path(part: str) -> str:
    head, *rest = part.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


__all__ = ["AD_GROUP", "QueryResult", "execute", "mutate_row", "render_rows", "split_row"]
