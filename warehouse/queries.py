"""The one query function for unified ad metrics: pages, API, digests and insights all call it.

    from warehouse.queries import MetricsQuery, metrics_query

    result = metrics_query(MetricsQuery(
        metrics=("spend", "roas"),
        dimensions=("campaign",),
        date_from=date(2026, 8, 1), date_to=date(2026, 10, 29),
        filters={"platform": ("google_ads", "meta")},
        compare="previous_period",
        order_by=("-spend",), limit=20,
    ))
    result.rows[0] == {"campaign": "meta:1020…:3001", "campaign_name": "…", "platform": "meta",
                       "spend": Decimal("1234.56"), "spend_previous": …, "spend_change": 0.12, "roas": 3.1, …}

It answers from the smallest table that can: day × platform or day × account rollups for
totals and series, the campaign cumulative rollup for per-campaign range totals (two rows per
campaign whatever the range), week/month/day × campaign rollups for campaign series, and the
fact only for ad-group questions. Every ratio is computed from sums, never averaged. Money is in
the workspace's reporting currency.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection

from bosco.replica import read_connection
from warehouse import metrics as m

TIME_DIMENSIONS = ("day", "week", "month")
DIMENSIONS = (*TIME_DIMENSIONS, "platform", "account", "campaign", "ad_group")
FILTERS = ("platform", "account", "campaign")
COMPARES = ("previous_period", "previous_year")
MAX_RANGE_DAYS = 3 * 366 + 31


#: each answering table's key: a question at exactly that grain reads rows without aggregating
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "rollup_day_platform": ("date_day", "platform"),
    "rollup_day_account": ("date_day", "platform", "account_id"),
    "rollup_day_campaign": ("date_day", "campaign_key"),
    "rollup_week_campaign": ("week_start", "campaign_key"),
    "rollup_month_campaign": ("month_start", "campaign_key"),
}


@dataclass(frozen=True)
class FactSource:
    """Where the sums of one non-ad source live: a daily fact with reporting-currency money.

    A SumMetric's column is read from the fact as it is (counts: `orders`), money in the reporting
    currency: `<x>_micros` from `<x>_reporting_micros` (the facts' naming convention). Every source
    is summed by day (bucketed into weeks or months) and joined to the others on the period's
    position, so a ratio of two sources (MER: orders over ads) is a ratio of sums of the same days.
    """

    table: str
    date_column: str

    def column_for(self, column: str) -> str:
        if column.endswith("_micros"):
            return column.removesuffix("_micros") + "_reporting_micros"
        return column


#: the facts besides the ad fact (which answers from its rollups, "ads"); add a source here and its
#: SumMetrics in warehouse/metrics.py with `source=` its key (docs/warehouse.md, "Metrics from two facts")
FACT_SOURCES: dict[str, FactSource] = {
    "orders": FactSource(table="fct_orders_daily", date_column="date_day"),
    "sessions": FactSource(table="fct_sessions_daily", date_column="date_day"),
}


class QueryError(ValueError):
    """The question cannot be asked this way; the message says why (shown to API users)."""


@dataclass(frozen=True)
class MetricsQuery:
    """A typed, hashable metrics question.

    filters: {"platform": ("meta",), "account": ("meta:1020…",), "campaign": ("meta:1020…:3001",)}
    compare: "previous_period" (same length, just before) or "previous_year" (52 weeks earlier,
    so weekdays line up), or None. order_by: metric or dimension names, "-" for descending.
    """

    metrics: tuple[str, ...]
    date_from: date
    date_to: date
    dimensions: tuple[str, ...] = ()
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    compare: str | None = None
    order_by: tuple[str, ...] = ()
    limit: int | None = None
    #: rows to skip before `limit` (a table's later pages: the compare period, names and the
    #: rows sent back are then only the page's, not every row before it)
    offset: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "dimensions", tuple(self.dimensions))
        object.__setattr__(self, "order_by", tuple(self.order_by))
        object.__setattr__(self, "filters", {k: tuple(v) for k, v in sorted(dict(self.filters).items()) if v})
        if not self.metrics:
            raise QueryError("ask for at least one metric")
        for name in self.metrics:
            try:
                m.resolve(name)
            except m.UnknownMetric as exc:
                raise QueryError(str(exc)) from exc
        unknown = [d for d in self.dimensions if d not in DIMENSIONS]
        if unknown:
            raise QueryError(f"unknown dimensions {unknown}; known: {', '.join(DIMENSIONS)}")
        if len(set(self.dimensions)) != len(self.dimensions):
            raise QueryError("a dimension is listed twice")
        if sum(d in TIME_DIMENSIONS for d in self.dimensions) > 1:
            raise QueryError("use at most one of day, week, month")
        bad = [f for f in self.filters if f not in FILTERS]
        if bad:
            raise QueryError(f"unknown filters {bad}; known: {', '.join(FILTERS)}")
        if self.date_from > self.date_to:
            raise QueryError("date_from is after date_to")
        if (self.date_to - self.date_from).days > MAX_RANGE_DAYS:
            raise QueryError("the date range is longer than three years")
        if self.compare not in (None, *COMPARES):
            raise QueryError(f"compare must be one of {COMPARES}")
        for key in self.order_by:
            name = key.lstrip("-")
            if name not in self.dimensions and name not in self.metrics:
                raise QueryError(f"order_by {name!r} is neither a requested metric nor a dimension")
        if self.limit is not None and not 1 <= self.limit <= 10_000:
            raise QueryError("limit must be between 1 and 10000")
        if not 0 <= self.offset <= 100_000:
            raise QueryError("offset must be between 0 and 100000")
        if self.sources != {"ads"}:
            entities = [d for d in self.dimensions if d not in TIME_DIMENSIONS]
            other = [f for f in self.filters if f != "platform"]
            if entities or other:
                names = ", ".join(n for n in self.metrics if m.metric_sources(n) != {"ads"})
                raise QueryError(
                    f"{names}: store metrics are answered for the whole workspace by day, week or month "
                    "(no platform, account, campaign or ad group breakdown); a platform filter narrows the ad spend"
                )

    @property
    def sources(self) -> frozenset[str]:
        """The facts the question reads ({"ads"} for every ad metric; more for store and blended ones)."""
        found: set[str] = set()
        for name in self.metrics:
            found |= m.metric_sources(name)
        return frozenset(found)

    @property
    def time_dimension(self) -> str | None:
        return next((d for d in self.dimensions if d in TIME_DIMENSIONS), None)

    def compare_range(self) -> tuple[date, date] | None:
        if self.compare == "previous_period":
            length = self.date_to - self.date_from
            prev_to = self.date_from - timedelta(days=1)
            return prev_to - length, prev_to
        if self.compare == "previous_year":
            return self.date_from - timedelta(days=364), self.date_to - timedelta(days=364)
        return None

    def cache_key(self) -> str:
        """Stable across processes; the cache backend adds the workspace schema."""
        payload = json.dumps(
            {
                "m": self.metrics,
                "d": self.dimensions,
                "f": self.filters,
                "from": self.date_from.isoformat(),
                "to": self.date_to.isoformat(),
                "c": self.compare,
                "o": self.order_by,
                "l": self.limit,
                # only when set, so the keys of questions without an offset stay what they were
                **({"off": self.offset} if self.offset else {}),
            },
            sort_keys=True,
        )
        return "wh:metrics:" + hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass
class MetricsResult:
    query: MetricsQuery
    rows: list[dict[str, Any]]
    #: the table that answered (for tests, logs and the benchmark)
    source: str
    currency: str
    compare_range: tuple[date, date] | None = None

    @property
    def columns(self) -> list[str]:
        return list(self.rows[0]) if self.rows else []

    def to_frame(self) -> Any:
        # pandas takes ~0.7 s to import and only notebooks and exports ask for a frame: import on use.
        import pandas as pd

        return pd.DataFrame(self.rows)


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Plan:
    source: str
    time_column: str  # the table's date column
    time_expr: str | None  # the bucket expression for the requested grain


#: the ISO week's Monday and the month's first day of a date column, in date arithmetic:
#: `date_trunc()` takes a timestamp with time zone, so every row paid a date → timestamptz → date
#: round trip through the session's time zone (the same days, ~40 % slower over a year of rows)
WEEK_START_SQL = "({c} - (extract(isodow FROM {c})::int - 1))"
MONTH_START_SQL = "({c} - (extract(day FROM {c})::int - 1))"


def _aligned_weeks(d1: date, d2: date) -> bool:
    return d1.weekday() == 0 and d2.weekday() == 6


def _aligned_months(d1: date, d2: date) -> bool:
    return d1.day == 1 and (d2 + timedelta(days=1)).day == 1


def _plan(q: MetricsQuery, d1: date, d2: date) -> _Plan:
    dims, filters, grain = set(q.dimensions), set(q.filters), q.time_dimension
    bucket = {"day": "{c}", "week": WEEK_START_SQL, "month": MONTH_START_SQL}
    if "ad_group" in dims:
        return _Plan("fct_ad_performance_daily", "date_day", bucket[grain] if grain else None)
    if "campaign" in dims or "campaign" in filters:
        if grain is None:
            return _Plan("rollup_campaign_cumulative", "date_day", None)
        if grain == "month" and _aligned_months(d1, d2):
            return _Plan("rollup_month_campaign", "month_start", "{c}")
        if grain == "week" and _aligned_weeks(d1, d2):
            return _Plan("rollup_week_campaign", "week_start", "{c}")
        return _Plan("rollup_day_campaign", "date_day", bucket[grain])
    if "account" in dims or "account" in filters:
        return _Plan("rollup_day_account", "date_day", bucket[grain] if grain else None)
    return _Plan("rollup_day_platform", "date_day", bucket[grain] if grain else None)


# --------------------------------------------------------------------------- SQL


def _sum_columns(q: MetricsQuery) -> list[m.SumMetric]:
    return m.base_sums(q.metrics)


def _filter_sql(q: MetricsQuery, source: str, alias: str, params: dict[str, Any]) -> str:
    clauses = []
    if "platform" in q.filters:
        params["f_platform"] = list(q.filters["platform"])
        clauses.append(f"{alias}.platform = ANY(%(f_platform)s)")
    if "account" in q.filters:
        params["f_account"] = list(q.filters["account"])
        clauses.append(f"({alias}.platform || ':' || {alias}.account_id) = ANY(%(f_account)s)")
    if "campaign" in q.filters:
        if source == "fct_ad_performance_daily":
            params["f_campaign"] = list(q.filters["campaign"])
            clauses.append(
                f"({alias}.platform || ':' || {alias}.account_id || ':' || {alias}.campaign_id) = ANY(%(f_campaign)s)"
            )
        else:
            params["f_campaign_keys"] = _campaign_keys(q.filters["campaign"])
            clauses.append(f"{alias}.campaign_key = ANY(%(f_campaign_keys)s)")
    return "".join(f" AND {c}" for c in clauses)


def _campaign_keys(ids: Sequence[str]) -> list[int]:
    """The campaign_keys of public campaign ids ("platform:account:campaign").

    An id with exactly two colons can only equal `platform || ':' || account_id || ':' ||
    campaign_id` for the row whose three columns are its three parts, so those are looked up on
    the natural-key index (a search passes up to 500 ids; comparing each against the
    concatenation of every campaign cost ~15 ms at 10,000 campaigns). Any other id keeps the
    concatenation match, so the answer is the same for every input.
    """
    parts = [i.split(":") for i in ids]
    exact = [p for p in parts if len(p) == 3]
    other = [i for i, p in zip(ids, parts, strict=True) if len(p) != 3]
    keys: list[int] = []
    with connection.cursor() as cursor:
        if exact:
            cursor.execute(
                "SELECT c.id FROM unnest(%s::text[], %s::text[], %s::text[]) AS k(platform, account_id, campaign_id)"
                " JOIN dim_campaign c"
                " ON c.platform = k.platform AND c.account_id = k.account_id AND c.campaign_id = k.campaign_id",
                [[p[0] for p in exact], [p[1] for p in exact], [p[2] for p in exact]],
            )
            keys += [row[0] for row in cursor.fetchall()]
        if other:
            cursor.execute(
                "SELECT id FROM dim_campaign WHERE (platform || ':' || account_id || ':' || campaign_id) = ANY(%s)",
                [other],
            )
            keys += [row[0] for row in cursor.fetchall()]
    return sorted(set(keys))


def _entity_columns(q: MetricsQuery, plan: _Plan, alias: str) -> list[tuple[str, str]]:
    """(name, SQL) of the non-time GROUP BY columns; the same names whatever the source."""
    dims = set(q.dimensions)
    if "ad_group" in dims:
        names = ["_platform", "_account_id", "_campaign_id", "_ad_group_id"]
        return [(n, f"{alias}.{n.removeprefix('_')}") for n in names]
    if "campaign" in dims:
        if plan.source == "fct_ad_performance_daily":
            return [(n, f"{alias}.{n.removeprefix('_')}") for n in ("_platform", "_account_id", "_campaign_id")]
        return [("_campaign_key", f"{alias}.campaign_key")]
    if "account" in dims:
        return [("_platform", f"{alias}.platform"), ("_account_id", f"{alias}.account_id")]
    if "platform" in dims:
        return [("_platform", f"{alias}.platform")]
    return []


def _time_columns(
    q: MetricsQuery, plan: _Plan, alias: str, d1: date, tag: str, params: dict[str, Any]
) -> list[tuple[str, str]]:
    """The time bucket and its position in the period (how compare rows line up)."""
    grain = q.time_dimension
    if grain is None:
        return []
    assert plan.time_expr is not None
    bucket = plan.time_expr.format(c=f"{alias}.{plan.time_column}")
    if grain == "day":
        params[f"{tag}_p0"] = d1
        position = f"({bucket} - %({tag}_p0)s::date)"
    elif grain == "week":
        params[f"{tag}_p0"] = d1 - timedelta(days=d1.weekday())
        position = f"(({bucket} - %({tag}_p0)s::date) / 7)"
    else:
        params[f"{tag}_p0"] = d1.year * 12 + d1.month
        position = f"(extract(year FROM {bucket})::int * 12 + extract(month FROM {bucket})::int - %({tag}_p0)s)"
    return [(grain, bucket), ("_pos", position)]


def _inner_sql(
    q: MetricsQuery, plan: _Plan, d1: date, d2: date, params: dict[str, Any], tag: str, keys_from: str | None = None
) -> str:
    """Grouped sums of the stored columns over [d1, d2]; `keys_from` limits campaigns to a CTE's."""
    sums = _sum_columns(q)
    if plan.source == "rollup_campaign_cumulative":
        return _range_totals_sql(q, sums, d1, d2, params, tag, keys_from)
    fact = plan.source == "fct_ad_performance_daily"
    column = {
        "spend_micros": "spend_reporting_micros" if fact else "spend_micros",
        "conversions_value_micros": "conversions_value_reporting_micros" if fact else "conversions_value_micros",
    }
    groups = _time_columns(q, plan, "t", d1, tag, params) + _entity_columns(q, plan, "t")
    params[f"{tag}_from"], params[f"{tag}_to"] = d1, d2
    where = f"t.{plan.time_column} BETWEEN %({tag}_from)s AND %({tag}_to)s" + _filter_sql(q, plan.source, "t", params)
    if keys_from is not None:
        where += f" AND t.campaign_key IN (SELECT _campaign_key FROM {keys_from})"  # nosec B608 # registry identifiers, bound values
    if {e for n, e in groups if n != "_pos"} == {f"t.{c}" for c in TABLE_KEYS.get(plan.source, ())}:
        # The question's grain is the table's own: its rows are the answer, no aggregation.
        select = [f"{e} AS {n}" for n, e in groups] + [
            f"t.{column.get(s.column, s.column)} AS {s.column}" for s in sums
        ]
        return f"SELECT {', '.join(select)} FROM {plan.source} t WHERE {where}"  # nosec B608 # registry identifiers, bound values
    # coalesce: a totals question over days without data answers zeros, not nothing
    select = [f"{e} AS {n}" for n, e in groups] + [
        f"coalesce(sum(t.{column.get(s.column, s.column)}), 0)::bigint AS {s.column}" for s in sums
    ]
    group_by = f" GROUP BY {', '.join(str(i + 1) for i in range(len(groups)))}" if groups else ""
    return f"SELECT {', '.join(select)} FROM {plan.source} t WHERE {where}{group_by}"  # nosec B608 # registry identifiers, bound values


def _range_totals_sql(
    q: MetricsQuery,
    sums: list[m.SumMetric],
    d1: date,
    d2: date,
    params: dict[str, Any],
    tag: str,
    keys_from: str | None,
) -> str:
    """Per-campaign totals over [d1, d2] as cum(d2) − cum(d1 − 1): two index ranges of one day each."""
    params[f"{tag}_d1"], params[f"{tag}_d2"], params[f"{tag}_before"] = d1, d2, d1 - timedelta(days=1)
    per_campaign = ", ".join(
        f"(CASE WHEN s.last_day <= %({tag}_d2)s THEN s.{c} ELSE e.{c} END)"
        f" - (CASE WHEN s.first_day >= %({tag}_d1)s THEN 0 ELSE b.{c} END) AS {c}"
        for c in (s.column for s in sums)
    )
    inner = (
        f"SELECT s.campaign_key, s.platform, s.account_id, {per_campaign}"  # nosec B608 # registry identifiers, bound values
        " FROM rollup_campaign_span s"
        f" LEFT JOIN rollup_campaign_cumulative e ON e.date_day = %({tag}_d2)s AND e.campaign_key = s.campaign_key"
        f" LEFT JOIN rollup_campaign_cumulative b ON b.date_day = %({tag}_before)s AND b.campaign_key = s.campaign_key"
        f" WHERE s.first_day <= %({tag}_d2)s AND s.last_day >= %({tag}_d1)s"
        + _filter_sql(q, "rollup_campaign_span", "s", params)
        + (f" AND s.campaign_key IN (SELECT _campaign_key FROM {keys_from})" if keys_from else "")  # nosec B608 # registry identifiers, bound values
    )
    groups = _entity_columns(q, _Plan("rollup_campaign_cumulative", "date_day", None), "t")
    if [n for n, _ in groups] == ["_campaign_key"]:
        return f"SELECT t.campaign_key AS _campaign_key, {', '.join(f't.{s.column}' for s in sums)} FROM ({inner}) t"  # nosec B608 # registry identifiers, bound values
    select = [f"{e} AS {n}" for n, e in groups] + [
        f"coalesce(sum(t.{s.column}), 0)::bigint AS {s.column}" for s in sums
    ]
    group_by = f" GROUP BY {', '.join(str(i + 1) for i in range(len(groups)))}" if groups else ""
    return f"SELECT {', '.join(select)} FROM ({inner}) t{group_by}"  # nosec B608 # registry identifiers, bound values


def _order_sql(q: MetricsQuery, alias: str, group_names: list[str]) -> list[str]:
    parts = []
    for key in q.order_by:
        desc = key.startswith("-")
        name = key.lstrip("-")
        if name in q.metrics:
            parts.append(f"{m.sql_order_expression(name, alias)} {'DESC' if desc else 'ASC'} NULLS LAST")
        else:
            for column in _dimension_columns(name, group_names):
                parts.append(f"{alias}.{column} {'DESC' if desc else 'ASC'}")
    # Ties break on the dimension keys, so LIMIT is deterministic.
    return parts + [f"{alias}.{n}" for n in group_names if n != "_pos"]


def _dimension_columns(dimension: str, group_names: list[str]) -> list[str]:
    if dimension in TIME_DIMENSIONS:
        return [dimension]
    mapping = {
        "platform": ["_platform"],
        "account": ["_platform", "_account_id"],
        "campaign": ["_campaign_key", "_platform", "_account_id", "_campaign_id"],
        "ad_group": ["_platform", "_account_id", "_campaign_id", "_ad_group_id"],
    }
    return [c for c in mapping[dimension] if c in group_names]


def _label_sql(q: MetricsQuery, group_names: list[str], params: dict[str, Any]) -> tuple[list[str], str]:
    """Public ids and names of the row's entities, and the joins that provide them."""
    dims = set(q.dimensions)
    joins = ""
    if "_campaign_key" in group_names:
        joins += " JOIN dim_campaign dc ON dc.id = r._campaign_key"
        if "f_campaign_keys" in params:
            # Redundant (every row's key is one of them), but it lets the planner read just those
            # campaigns' names by key instead of hashing the whole dimension for a page's rows.
            joins += " AND dc.id = ANY(%(f_campaign_keys)s)"
        platform, account_id, campaign_id = "dc.platform", "dc.account_id", "dc.campaign_id"
    else:
        platform, account_id, campaign_id = "r._platform", "r._account_id", "r._campaign_id"
        if "_campaign_id" in group_names:
            joins += (
                " LEFT JOIN dim_campaign dc ON dc.platform = r._platform AND dc.account_id = r._account_id"
                " AND dc.campaign_id = r._campaign_id"
            )
    columns: list[str] = []
    if dims & {"platform", "account", "campaign", "ad_group"}:
        columns.append(f"{platform} AS platform")
    if dims & {"account", "campaign", "ad_group"}:
        joins += f" LEFT JOIN dim_ad_account da ON da.platform = {platform} AND da.account_id = {account_id}"
        columns += [
            f"{platform} || ':' || {account_id} AS account",
            f"coalesce(da.name, {account_id}) AS account_name",
        ]
    if dims & {"campaign", "ad_group"}:
        columns += [
            f"{platform} || ':' || {account_id} || ':' || {campaign_id} AS campaign",
            f"coalesce(dc.name, {campaign_id}) AS campaign_name",
        ]
    if "ad_group" in dims:
        joins += (
            " LEFT JOIN dim_ad_group dg ON dg.platform = r._platform AND dg.account_id = r._account_id"
            " AND dg.ad_group_id = r._ad_group_id"
        )
        columns += [
            f"{platform} || ':' || {account_id} || ':' || {campaign_id} || ':' || r._ad_group_id AS ad_group",
            "coalesce(dg.name, r._ad_group_id) AS ad_group_name",
        ]
    return columns, joins


def data_currency() -> str | None:
    """The reporting currency the stored facts are in (may lag a just-changed setting)."""
    with read_connection().cursor() as cursor:
        cursor.execute(
            "SELECT coalesce((SELECT reporting_currency FROM fct_ad_performance_daily LIMIT 1),"
            " (SELECT reporting_currency FROM fct_orders_daily LIMIT 1))"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _period_sql(
    q: MetricsQuery, plan: _Plan, d1: date, d2: date, params: dict[str, Any], tag: str, keys_from: str | None = None
) -> str:
    """One period's sums: from the ad tables alone, or every source's sums joined by period position."""
    if q.sources == {"ads"}:
        return _inner_sql(q, plan, d1, d2, params, tag, keys_from)
    sums = _sum_columns(q)
    time = _time_columns(q, plan, "t", d1, tag, params)
    names = [n for n, _ in time]
    parts: list[str] = []
    for source in sorted(q.sources):
        mine = [s for s in sums if s.source == source]
        if not mine:
            continue
        if source == "ads":
            ads_q = MetricsQuery(
                metrics=tuple(s.name for s in mine),
                dimensions=q.dimensions,
                date_from=d1,
                date_to=d2,
                filters=q.filters,
            )
            inner = _inner_sql(ads_q, plan, d1, d2, params, f"{tag}a")
        else:
            inner = _fact_sql(q, FACT_SOURCES[source], mine, d1, d2, params, f"{tag}{source[:3]}")
        # UNION ALL matches columns by position: every part lists all sums in one order
        select = [*names, *(s.column if s.source == source else f"NULL::bigint AS {s.column}" for s in sums)]
        parts.append(f"SELECT {', '.join(select)} FROM ({inner}) {source}_part")  # nosec B608 # registry identifiers
    combined = [*names, *(f"coalesce(sum(u.{s.column}), 0)::bigint AS {s.column}" for s in sums)]
    group_by = f" GROUP BY {', '.join(names)}" if names else ""
    return f"SELECT {', '.join(combined)} FROM ({' UNION ALL '.join(parts)}) u{group_by}"  # nosec B608 # registry identifiers


def _fact_sql(
    q: MetricsQuery,
    source: FactSource,
    sums: list[m.SumMetric],
    d1: date,
    d2: date,
    params: dict[str, Any],
    tag: str,
) -> str:
    """A non-ad fact's sums over [d1, d2], bucketed like the ad side (same `_pos` numbering)."""
    bucket = {"day": "{c}", "week": WEEK_START_SQL, "month": MONTH_START_SQL}
    grain = q.time_dimension
    plan = _Plan(source.table, source.date_column, bucket[grain] if grain else None)
    groups = _time_columns(q, plan, "t", d1, tag, params)
    params[f"{tag}_from"], params[f"{tag}_to"] = d1, d2
    select = [f"{e} AS {n}" for n, e in groups] + [
        f"coalesce(sum(t.{source.column_for(s.column)}), 0)::bigint AS {s.column}" for s in sums
    ]
    group_by = f" GROUP BY {', '.join(str(i + 1) for i in range(len(groups)))}" if groups else ""
    where = f"t.{source.date_column} BETWEEN %({tag}_from)s AND %({tag}_to)s"
    return f"SELECT {', '.join(select)} FROM {source.table} t WHERE {where}{group_by}"  # nosec B608 # registry identifiers, bound values


def metrics_query(query: MetricsQuery) -> MetricsResult:
    """Answer a metrics question with one SQL statement over the smallest table that can.

    current period → (ORDER BY … LIMIT … OFFSET) → LEFT JOIN the compare period on the same entities and
    the same position in the period → metrics from sums → public ids and names.
    """
    q = query
    params: dict[str, Any] = {}
    plan = _plan(q, q.date_from, q.date_to)
    group_names = [n for n, _ in _time_columns(q, plan, "t", q.date_from, "x", {})] + [
        n for n, _ in _entity_columns(q, plan, "t")
    ]
    ctes = [f"cur AS ({_period_sql(q, plan, q.date_from, q.date_to, params, 'c')})"]
    limited = q.limit is not None or q.offset > 0
    if limited:
        # A totals question (no dimensions, no order) has nothing to order by: it is one row.
        top_order = ", ".join(_order_sql(q, "r", group_names))
        order_clause = f" ORDER BY {top_order}" if top_order else ""
        limit_clause = f" LIMIT {int(q.limit)}" if q.limit is not None else ""
        offset_clause = f" OFFSET {int(q.offset)}" if q.offset else ""
        ctes.append(f"top AS (SELECT * FROM cur r{order_clause}{limit_clause}{offset_clause})")  # nosec B608 # registry identifiers, bound values
    rows_cte = "top" if limited else "cur"
    compare = q.compare_range()
    select = [f"r.{n}" for n in group_names if n in TIME_DIMENSIONS]
    labels, joins = _label_sql(q, group_names, params)
    select += labels
    select += [f"{m.sql_value(name, 'r')} AS {name}" for name in q.metrics]
    if compare is not None:
        prev_plan = _plan(q, *compare)
        keys_from = (
            rows_cte
            if limited and "_campaign_key" in group_names and prev_plan.source != "fct_ad_performance_daily"
            else None
        )
        ctes.append(f"prev AS ({_period_sql(q, prev_plan, compare[0], compare[1], params, 'p', keys_from)})")
        match = [n for n in group_names if n not in TIME_DIMENSIONS]
        on = " AND ".join(f"p.{n} = r.{n}" for n in match) or "true"
        joins = f" LEFT JOIN prev p ON {on}" + joins
        for name in q.metrics:
            current, previous = m.sql_value(name, "r"), m.sql_value(name, "p")
            select.append(f"{previous} AS {name}_previous")
            select.append(
                f"(({current})::float8 - ({previous})::float8) / nullif(abs(({previous})::float8), 0) AS {name}_change"
            )
    order = ", ".join(_order_sql(q, "r", group_names))
    sql = f"WITH {', '.join(ctes)} SELECT {', '.join(select)} FROM {rows_cte} r{joins}" + (  # nosec B608 # registry identifiers, bound values
        f" ORDER BY {order}" if order else ""
    )
    with read_connection().cursor() as cursor:  # a page's read may use the replica (bosco/replica.py)
        cursor.execute(sql, params)
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    source = "+".join(
        [plan.source] * ("ads" in q.sources) + [FACT_SOURCES[k].table for k in sorted(q.sources - {"ads"})]
    )
    return MetricsResult(query=q, rows=rows, source=source, currency=data_currency() or "", compare_range=compare)


def data_version() -> int:
    """Changes whenever a warehouse run finishes: part of every cached answer's key."""
    with read_connection().cursor() as cursor:
        # Finished, not only successful: a failed run may have committed some of its models.
        cursor.execute("SELECT coalesce(max(id), 0) FROM wh_transform_run WHERE finished_at IS NOT NULL")
        return int(cursor.fetchone()[0])


def metrics_query_cached(query: MetricsQuery, *, timeout: int = 300) -> MetricsResult:
    """`metrics_query` through the per-workspace cache; a new warehouse run invalidates it."""
    key = f"{query.cache_key()}:v{data_version()}"
    hit = cache.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    result = metrics_query(query)
    cache.set(key, result, timeout)
    return result
