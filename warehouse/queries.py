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

from warehouse import metrics as m

TIME_DIMENSIONS = ("day", "week", "month")
DIMENSIONS = (*TIME_DIMENSIONS, "platform", "account", "campaign", "ad_group")
FILTERS = ("platform", "account", "campaign")
COMPARES = ("previous_period", "previous_year")
MAX_RANGE_DAYS = 3 * 366 + 31


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
        import pandas as pd

        return pd.DataFrame(self.rows)


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Plan:
    source: str
    time_column: str  # the table's date column
    time_expr: str | None  # the bucket expression for the requested grain


def _aligned_weeks(d1: date, d2: date) -> bool:
    return d1.weekday() == 0 and d2.weekday() == 6


def _aligned_months(d1: date, d2: date) -> bool:
    return d1.day == 1 and (d2 + timedelta(days=1)).day == 1


def _plan(q: MetricsQuery, d1: date, d2: date) -> _Plan:
    dims, filters, grain = set(q.dimensions), set(q.filters), q.time_dimension
    bucket = {"day": "{c}", "week": "date_trunc('week', {c})::date", "month": "date_trunc('month', {c})::date"}
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
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM dim_campaign WHERE (platform || ':' || account_id || ':' || campaign_id) = ANY(%s)",
            [list(ids)],
        )
        return [row[0] for row in cursor.fetchall()]


def _group_columns(q: MetricsQuery, plan: _Plan, alias: str) -> list[tuple[str, str]]:
    """(output name, SQL expression) of the GROUP BY, in the query's dimension order."""
    out: list[tuple[str, str]] = []
    for d in q.dimensions:
        if d in TIME_DIMENSIONS:
            assert plan.time_expr is not None
            out.append((d, plan.time_expr.format(c=f"{alias}.{plan.time_column}")))
        elif d == "platform":
            out.append(("platform", f"{alias}.platform"))
        elif d == "account":
            out.append(("_platform", f"{alias}.platform"))
            out.append(("_account_id", f"{alias}.account_id"))
        elif d == "campaign":
            if plan.source == "fct_ad_performance_daily":
                out.extend(
                    [
                        ("_platform", f"{alias}.platform"),
                        ("_account_id", f"{alias}.account_id"),
                        ("_campaign_id", f"{alias}.campaign_id"),
                    ]
                )
            else:
                out.append(("_campaign_key", f"{alias}.campaign_key"))
        elif d == "ad_group":
            out.extend(
                [
                    ("_platform", f"{alias}.platform"),
                    ("_account_id", f"{alias}.account_id"),
                    ("_campaign_id", f"{alias}.campaign_id"),
                    ("_ad_group_id", f"{alias}.ad_group_id"),
                ]
            )
    seen: set[str] = set()
    return [(n, e) for n, e in out if not (n in seen or seen.add(n))]  # type: ignore[func-returns-value]


def _inner_sql(q: MetricsQuery, plan: _Plan, d1: date, d2: date, params: dict[str, Any], tag: str) -> str:
    sums = _sum_columns(q)
    if plan.source == "rollup_campaign_cumulative":
        return _range_totals_sql(q, sums, d1, d2, params, tag)
    fact = plan.source == "fct_ad_performance_daily"
    column = {
        "spend_micros": "spend_reporting_micros" if fact else "spend_micros",
        "conversions_value_micros": "conversions_value_reporting_micros" if fact else "conversions_value_micros",
    }
    groups = _group_columns(q, plan, "t")
    select = [f"{e} AS {n}" for n, e in groups] + [
        f"sum(t.{column.get(s.column, s.column)})::bigint AS {s.column}" for s in sums
    ]
    params[f"{tag}_from"], params[f"{tag}_to"] = d1, d2
    where = f"t.{plan.time_column} BETWEEN %({tag}_from)s AND %({tag}_to)s"
    where += _filter_sql(q, plan.source, "t", params)
    group_by = f" GROUP BY {', '.join(str(i + 1) for i in range(len(groups)))}" if groups else ""
    return f"SELECT {', '.join(select)} FROM {plan.source} t WHERE {where}{group_by}"


def _range_totals_sql(
    q: MetricsQuery, sums: list[m.SumMetric], d1: date, d2: date, params: dict[str, Any], tag: str
) -> str:
    """Per-campaign totals over [d1, d2] as cum(d2) − cum(d1 − 1), two index ranges of one day each."""
    params[f"{tag}_d1"], params[f"{tag}_d2"], params[f"{tag}_before"] = d1, d2, d1 - timedelta(days=1)
    per_campaign = ", ".join(
        f"(CASE WHEN s.last_day <= %({tag}_d2)s THEN s.{c} ELSE e.{c} END)"
        f" - (CASE WHEN s.first_day >= %({tag}_d1)s THEN 0 ELSE b.{c} END) AS {c}"
        for c in (s.column for s in sums)
    )
    inner = (
        f"SELECT s.campaign_key, s.platform, s.account_id, {per_campaign}"
        " FROM rollup_campaign_span s"
        f" LEFT JOIN rollup_campaign_cumulative e ON e.date_day = %({tag}_d2)s AND e.campaign_key = s.campaign_key"
        f" LEFT JOIN rollup_campaign_cumulative b ON b.date_day = %({tag}_before)s AND b.campaign_key = s.campaign_key"
        f" WHERE s.first_day <= %({tag}_d2)s AND s.last_day >= %({tag}_d1)s"
        + _filter_sql(q, "rollup_campaign_span", "s", params)
    )
    groups = _group_columns(q, _Plan("rollup_campaign_cumulative", "date_day", None), "t")
    if [n for n, _ in groups] == ["_campaign_key"]:
        return f"SELECT t.campaign_key AS _campaign_key, {', '.join(f't.{s.column}' for s in sums)} FROM ({inner}) t"
    select = [f"{e} AS {n}" for n, e in groups] + [f"sum(t.{s.column})::bigint AS {s.column}" for s in sums]
    group_by = f" GROUP BY {', '.join(str(i + 1) for i in range(len(groups)))}" if groups else ""
    return f"SELECT {', '.join(select)} FROM ({inner}) t{group_by}"


def _order_sql(q: MetricsQuery, group_names: list[str]) -> str:
    parts = []
    for key in q.order_by:
        desc = key.startswith("-")
        name = key.lstrip("-")
        if name in q.metrics:
            expr = m.sql_order_expression(name, "q")
        else:
            expr = ", ".join(f"q.{n}" for n in _dimension_columns(name, group_names))
        parts.append(f"{expr} {'DESC' if desc else 'ASC'} NULLS LAST")
    # Ties break on the dimension keys, so LIMIT is deterministic.
    parts.extend(f"q.{n}" for n in group_names)
    return f" ORDER BY {', '.join(parts)}" if parts else ""


def _dimension_columns(dimension: str, group_names: list[str]) -> list[str]:
    mapping = {
        "platform": ["platform", "_platform"],
        "account": ["_platform", "_account_id"],
        "campaign": ["_campaign_key", "_platform", "_account_id", "_campaign_id"],
        "ad_group": ["_platform", "_account_id", "_campaign_id", "_ad_group_id"],
    }
    if dimension in TIME_DIMENSIONS:
        return [dimension]
    return [c for c in mapping[dimension] if c in group_names][:4]


def _execute(
    q: MetricsQuery, plan: _Plan, d1: date, d2: date, *, keys: list[int] | None = None
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {}
    inner = _inner_sql(q, plan, d1, d2, params, "p")
    groups = [n for n, _ in _group_columns(q, plan, "t")]
    where = ""
    if keys is not None:
        params["only_keys"] = keys
        where = " WHERE q._campaign_key = ANY(%(only_keys)s)"
    sql = f"SELECT * FROM ({inner}) q{where}{_order_sql(q, groups) if keys is None else ''}"
    if q.limit is not None and keys is None:
        sql += f" LIMIT {int(q.limit)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --------------------------------------------------------------------------- shaping


def _labels(rows: list[dict[str, Any]]) -> None:
    """Replace internal keys by public ids ("platform:account:campaign") and names."""
    campaign_keys = {r["_campaign_key"] for r in rows if r.get("_campaign_key") is not None}
    accounts = {(r["_platform"], r["_account_id"]) for r in rows if "_account_id" in r}
    campaigns_by_key: dict[int, tuple[str, str, str, str | None]] = {}
    campaign_names: dict[tuple[str, str, str], str | None] = {}
    account_names: dict[tuple[str, str], str | None] = {}
    with connection.cursor() as cursor:
        if campaign_keys:
            cursor.execute(
                "SELECT id, platform, account_id, campaign_id, name FROM dim_campaign WHERE id = ANY(%s)",
                [list(campaign_keys)],
            )
            for key, platform, account_id, campaign_id, name in cursor.fetchall():
                campaigns_by_key[key] = (platform, account_id, campaign_id, name)
        wanted = {(r["_platform"], r["_account_id"], r["_campaign_id"]) for r in rows if "_campaign_id" in r}
        if wanted:
            cursor.execute(
                "SELECT platform, account_id, campaign_id, name FROM dim_campaign"
                " WHERE (platform || ':' || account_id || ':' || campaign_id) = ANY(%s)",
                [[":".join(w) for w in wanted]],
            )
            campaign_names = {(p, a, c): n for p, a, c, n in cursor.fetchall()}
        accounts |= {(platform, account_id) for platform, account_id, _, _ in campaigns_by_key.values()}
        if accounts:
            cursor.execute(
                "SELECT platform, account_id, name FROM dim_ad_account WHERE (platform || ':' || account_id) = ANY(%s)",
                [[f"{p}:{a}" for p, a in accounts]],
            )
            account_names = {(p, a): n for p, a, n in cursor.fetchall()}
    for row in rows:
        key = row.pop("_campaign_key", None)
        if key is not None:
            platform, account_id, campaign_id, name = campaigns_by_key.get(key, ("?", "?", str(key), None))
            row["_platform"], row["_account_id"], row["_campaign_id"] = platform, account_id, campaign_id
            row["campaign_name"] = name or campaign_id
        platform = row.pop("_platform", None)
        account_id = row.pop("_account_id", None)
        campaign_id = row.pop("_campaign_id", None)
        ad_group_id = row.pop("_ad_group_id", None)
        if platform is not None:
            row.setdefault("platform", platform)
        if account_id is not None:
            row["account"] = f"{platform}:{account_id}"
            row["account_name"] = account_names.get((platform, account_id)) or account_id
        if campaign_id is not None:
            row["campaign"] = f"{platform}:{account_id}:{campaign_id}"
            if "campaign_name" not in row:
                row["campaign_name"] = campaign_names.get((platform, account_id, campaign_id)) or campaign_id
        if ad_group_id is not None:
            row["ad_group"] = f"{platform}:{account_id}:{campaign_id}:{ad_group_id}"


def _bucket_position(grain: str, bucket: date, start: date) -> int:
    if grain == "day":
        return (bucket - start).days
    if grain == "week":
        return (bucket - (start - timedelta(days=start.weekday()))).days // 7
    return (bucket.year - start.year) * 12 + bucket.month - start.month


def _row_key(q: MetricsQuery, row: dict[str, Any], start: date) -> tuple[Any, ...]:
    key: list[Any] = []
    for d in q.dimensions:
        if d in TIME_DIMENSIONS:
            key.append(_bucket_position(d, row[d], start))
        else:
            key.append(row.get(d))
    return tuple(key)


def _metric_values(q: MetricsQuery, row: dict[str, Any]) -> dict[str, Any]:
    sums = {s.column: row.pop(s.column) for s in m.base_sums(q.metrics)}
    return m.compute(q.metrics, sums)


def data_currency() -> str | None:
    """The reporting currency the stored facts are in (may lag a just-changed setting)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reporting_currency FROM fct_ad_performance_daily LIMIT 1")
        row = cursor.fetchone()
    return row[0] if row else None


def metrics_query(query: MetricsQuery) -> MetricsResult:
    """Answer a metrics question from the smallest rollup that can (see the module docstring)."""
    q = query
    plan = _plan(q, q.date_from, q.date_to)
    rows = _execute(q, plan, q.date_from, q.date_to)
    compare = q.compare_range()
    previous: dict[tuple[Any, ...], dict[str, Any]] = {}
    if compare is not None:
        prev_plan = _plan(q, *compare)
        keys = None
        if q.limit is not None and "campaign" in q.dimensions and prev_plan.source != "fct_ad_performance_daily":
            keys = [r["_campaign_key"] for r in rows if r.get("_campaign_key") is not None]
        prev_query = q if keys is not None else _without_limit(q)
        prev_rows = _execute(prev_query, prev_plan, *compare, keys=keys) if keys != [] else []
        _labels(prev_rows)
        for row in prev_rows:
            previous[_row_key(q, row, compare[0])] = _metric_values(q, row)
    _labels(rows)
    out = []
    for row in rows:
        key = _row_key(q, row, q.date_from)
        values = _metric_values(q, row)
        shaped = {**row, **values}
        if compare is not None:
            before = previous.get(key, {})
            for name in q.metrics:
                shaped[f"{name}_previous"] = before.get(name)
                shaped[f"{name}_change"] = m.relative_change(values[name], before.get(name))
        out.append(shaped)
    return MetricsResult(query=q, rows=out, source=plan.source, currency=data_currency() or "", compare_range=compare)


def _without_limit(q: MetricsQuery) -> MetricsQuery:
    return MetricsQuery(
        metrics=q.metrics,
        date_from=q.date_from,
        date_to=q.date_to,
        dimensions=q.dimensions,
        filters=q.filters,
        order_by=(),
        limit=None,
    )


def data_version() -> int:
    """Changes whenever a warehouse run succeeds: part of every cached answer's key."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM wh_transform_run WHERE status = 'success'")
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
