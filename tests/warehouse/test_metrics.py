"""The metrics layer: one definition per metric, ratios of sums (never averages), the smallest
rollup that can answer, compare periods — checked against a naive aggregation of the facts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.synthetic import SyntheticSpec, synthetic_raw_land
from warehouse import metrics as m
from warehouse.queries import MetricsQuery, QueryError, metrics_query, metrics_query_cached
from warehouse.services.transform import run_window

pytestmark = pytest.mark.django_db

SPEC = SyntheticSpec(
    platforms=("google_ads", "meta"),
    accounts_per_platform=2,
    campaigns_per_account=3,
    ad_groups_per_campaign=2,
    currencies=("EUR", "USD", "GBP", "JPY"),
    seed=3,
)
D1, D2 = date(2026, 8, 3), date(2026, 10, 25)  # a Monday … a Sunday
COLUMNS = ("impressions", "clicks", "spend_micros", "conversions_micros", "conversions_value_micros")


@pytest.fixture(scope="module")
def committed_facts(
    django_db_setup: None, django_db_blocker: Any, sample_rates: list[Any]
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """One workspace with synthetic facts for the whole module (the tests only read it).

    Built once and committed; each test still runs in its own rolled-back transaction.
    """
    from accounts.models import User
    from accounts.services import workspace_create, workspace_drop
    from warehouse.services import fx

    with django_db_blocker.unblock():
        owner, _ = User.objects.get_or_create(email="metrics@warehouse.example")
        workspace = workspace_create(owner=owner, name="Metrics", slug="wh-metrics", reporting_currency="EUR")
        try:
            with schema_context(workspace.schema_name):
                fx.fx_rates_load(rates=sample_rates)
                synthetic_raw_land(spec=SPEC, date_from=D1, date_to=D2)
                for platform in SPEC.platforms:
                    accounts = [a["account_id"] for a in SPEC.accounts() if a["platform"] == platform]
                    run_window(
                        connection_id=1,
                        platform=platform,
                        account_ids=accounts,
                        date_from=D1,
                        date_to=D2,
                        sync_run_id=1,
                    )
                with connection.cursor() as cursor:
                    cursor.execute(
                        """SELECT date_day, platform, account_id, campaign_id, ad_group_id, impressions, clicks,
                                  spend_reporting_micros, conversions_micros, conversions_value_reporting_micros
                             FROM fct_ad_performance_daily"""
                    )
                    names = ["date_day", "platform", "account_id", "campaign_id", "ad_group_id", *COLUMNS]
                    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            yield workspace.schema_name, rows
        finally:
            connection.set_schema_to_public()
            workspace_drop(workspace=workspace)
            owner.delete()


@pytest.fixture
def facts(db: None, committed_facts: tuple[str, list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    schema, rows = committed_facts
    with schema_context(schema):
        yield rows


def _bucket(grain: str, day: date) -> date:
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def _entity_key(dims: tuple[str, ...], row: dict[str, Any]) -> tuple[str, ...]:
    p, a, c, g = row["platform"], row["account_id"], row["campaign_id"], row["ad_group_id"]
    ids = {"platform": p, "account": f"{p}:{a}", "campaign": f"{p}:{a}:{c}", "ad_group": f"{p}:{a}:{c}:{g}"}
    return tuple(ids[d] for d in dims if d in ids)


def _naive(facts: list[dict[str, Any]], q: MetricsQuery, d1: date, d2: date) -> dict[tuple[Any, ...], dict[str, int]]:
    """Sum the facts per (time position, entities), the slow and obvious way."""
    grain = q.time_dimension
    sums: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    if not q.dimensions:
        sums[()] = dict.fromkeys(COLUMNS, 0)  # a totals question always has its one row
    for row in facts:
        if not d1 <= row["date_day"] <= d2:
            continue
        if "platform" in q.filters and row["platform"] not in q.filters["platform"]:
            continue
        if "account" in q.filters and f"{row['platform']}:{row['account_id']}" not in q.filters["account"]:
            continue
        if (
            "campaign" in q.filters
            and f"{row['platform']}:{row['account_id']}:{row['campaign_id']}" not in q.filters["campaign"]
        ):
            continue
        position: tuple[Any, ...] = ()
        if grain:
            bucket, start = _bucket(grain, row["date_day"]), _bucket(grain, d1)
            if grain == "month":
                position = ((bucket.year - start.year) * 12 + bucket.month - start.month,)
            else:
                position = ((bucket - start).days // (7 if grain == "week" else 1),)
        key = position + _entity_key(q.dimensions, row)
        for column in COLUMNS:
            sums[key][column] += row[column]
    return dict(sums)


def _result_key(q: MetricsQuery, row: dict[str, Any], d1: date) -> tuple[Any, ...]:
    grain = q.time_dimension
    position: tuple[Any, ...] = ()
    if grain:
        bucket, start = row[grain], _bucket(grain, d1)
        if grain == "month":
            position = ((bucket.year - start.year) * 12 + bucket.month - start.month,)
        else:
            position = ((bucket - start).days // (7 if grain == "week" else 1),)
    return position + tuple(row[d] for d in q.dimensions if d != grain)


def _assert_same(q: MetricsQuery, rows: list[dict[str, Any]], facts: list[dict[str, Any]]) -> None:
    evaluate = m.Evaluator(q.metrics)
    expected = _naive(facts, q, q.date_from, q.date_to)
    got = {_result_key(q, row, q.date_from): row for row in rows}
    if q.limit is None:
        assert set(got) == set(expected)
    else:
        assert len(rows) == min(q.limit, len(expected)) and set(got) <= set(expected)
    for key, row in got.items():
        want = evaluate(expected[key])
        for name in q.metrics:
            assert row[name] == want[name], (key, name)
    compare = q.compare_range()
    if compare is not None:
        previous = _naive(facts, q, *compare)
        for key, row in got.items():
            want = evaluate(previous[key]) if key in previous else dict.fromkeys(q.metrics)
            for name in q.metrics:
                assert row[f"{name}_previous"] == want[name], (key, name, "previous")
                assert row[f"{name}_change"] == m.relative_change(row[name], want[name]), (key, name, "change")
    if q.limit is not None and q.order_by:
        name = q.order_by[0].lstrip("-")
        ranked = sorted((v for v in (evaluate(s)[name] for s in expected.values()) if v is not None), reverse=True)[
            : q.limit
        ]
        # PostgreSQL ranks by its exact numeric ratio; 8.0 and 7.999999999999999 may tie there.
        assert [row[name] for row in rows if row[name] is not None] == pytest.approx(
            ranked[: len([r for r in rows if r[name] is not None])], rel=1e-9
        )


queries = st.builds(
    lambda metrics, grain, entities, start, length, compare, platform_filter, ranked, capped: MetricsQuery(
        metrics=tuple(metrics),
        dimensions=((grain,) if grain else ()) + tuple(entities),
        date_from=start,
        date_to=start + timedelta(days=length),
        compare=compare,
        filters={"platform": (platform_filter,)} if platform_filter else {},
        order_by=(f"-{metrics[0]}",) if ranked else (),
        limit=3 if ranked or capped else None,
    ),
    # the ad fact's metrics (store and blended ones are answered by day only: test_store_metrics.py)
    metrics=st.lists(
        st.sampled_from(sorted(n for n in m.METRICS if m.metric_sources(n) == {"ads"})),
        min_size=1,
        max_size=4,
        unique=True,
    ),
    grain=st.sampled_from([None, "day", "week", "month"]),
    entities=st.sampled_from([(), ("platform",), ("account",), ("campaign",), ("ad_group",), ("platform", "campaign")]),
    start=st.dates(min_value=D1 - timedelta(days=10), max_value=D2),
    length=st.integers(min_value=0, max_value=70),
    compare=st.sampled_from([None, "previous_period", "previous_year"]),
    platform_filter=st.sampled_from([None, "google_ads", "meta"]),
    ranked=st.booleans(),
    capped=st.booleans(),  # a limit without an order (a totals question is one row)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=queries)
def test_every_answer_equals_ratios_of_sums_over_the_facts(facts: list[dict[str, Any]], q: MetricsQuery) -> None:
    _assert_same(q, metrics_query(q).rows, facts)


@pytest.mark.parametrize(
    ("dimensions", "filters", "date_from", "date_to", "source"),
    [
        (("platform",), {}, D1, D2, "rollup_day_platform"),
        (("day", "platform"), {}, D1, D2, "rollup_day_platform"),
        (("account",), {}, D1, D2, "rollup_day_account"),
        (("month",), {"account": ("x:1",)}, D1, D2, "rollup_day_account"),
        (("campaign",), {}, D1, D2, "rollup_campaign_cumulative"),
        (("platform",), {"campaign": ("x:1:2",)}, D1, D2, "rollup_campaign_cumulative"),
        (("week", "campaign"), {}, D1, D2, "rollup_week_campaign"),
        (("week", "campaign"), {}, D1 + timedelta(days=1), D2, "rollup_day_campaign"),
        (("month", "campaign"), {}, date(2026, 8, 1), date(2026, 9, 30), "rollup_month_campaign"),
        (("day", "campaign"), {}, D1, D2, "rollup_day_campaign"),
        (("ad_group",), {}, D1, D2, "fct_ad_performance_daily"),
    ],
)
def test_the_smallest_table_that_can_answer_is_used(
    facts: list[dict[str, Any]], dimensions: tuple[str, ...], filters: dict, date_from: date, date_to: date, source: str
) -> None:
    q = MetricsQuery(
        metrics=("spend", "roas"), dimensions=dimensions, filters=filters, date_from=date_from, date_to=date_to
    )
    result = metrics_query(q)
    assert result.source == source
    _assert_same(q, result.rows, facts)


def test_top_campaigns_carry_names_ids_and_their_previous_period(facts: list[dict[str, Any]]) -> None:
    q = MetricsQuery(
        metrics=("spend", "roas"),
        dimensions=("campaign",),
        date_from=date(2026, 9, 26),
        date_to=D2,
        compare="previous_period",
        order_by=("-spend",),
        limit=5,
    )
    rows = metrics_query(q).rows
    assert len(rows) == 5
    assert rows == sorted(rows, key=lambda r: r["spend"], reverse=True)
    first = rows[0]
    assert set(first) >= {"platform", "account", "account_name", "campaign", "campaign_name", "spend_previous"}
    assert first["campaign"].startswith(f"{first['account']}:") and first["campaign_name"].startswith(
        ("Search", "Prospecting")
    )
    assert isinstance(first["spend"], Decimal) and first["spend_previous"] > 0
    _assert_same(q, rows, facts)
    result = metrics_query(q)
    assert result.currency == "EUR" and result.compare_range == (date(2026, 8, 27), date(2026, 9, 25))
    frame = result.to_frame()
    assert list(frame["campaign"]) == [r["campaign"] for r in rows]


def test_offset_pages_are_slices_of_the_whole_ranking(facts: list[dict[str, Any]]) -> None:
    base = {
        "metrics": ("spend", "roas"),
        "dimensions": ("campaign",),
        "date_from": date(2026, 9, 26),
        "date_to": D2,
        "compare": "previous_period",
        "order_by": ("-spend", "campaign"),
    }
    everything = metrics_query(MetricsQuery(**base)).rows  # type: ignore[arg-type]
    pages = [
        metrics_query(MetricsQuery(**base, limit=5, offset=offset)).rows  # type: ignore[arg-type]
        for offset in range(0, len(everything) + 5, 5)
    ]
    assert len(everything) == 12 and [len(p) for p in pages] == [5, 5, 2, 0]
    assert [row for page in pages for row in page] == everything
    with pytest.raises(QueryError, match="offset"):
        MetricsQuery(**base, limit=5, offset=-1)  # type: ignore[arg-type]


def test_cached_answers_are_invalidated_by_the_next_run(facts: list[dict[str, Any]]) -> None:
    q = MetricsQuery(metrics=("spend",), date_from=D1, date_to=D2)
    first = metrics_query_cached(q)
    assert metrics_query_cached(q).rows == first.rows
    with connection.cursor() as cursor:
        cursor.execute("UPDATE rollup_day_platform SET spend_micros = spend_micros + 1000000 WHERE date_day = %s", [D2])
    assert metrics_query_cached(q).rows == first.rows, "served from the cache"
    accounts = [a["account_id"] for a in SPEC.accounts() if a["platform"] == "meta"]
    run_window(connection_id=1, platform="meta", account_ids=accounts, date_from=D2, date_to=D2, sync_run_id=2)
    assert metrics_query_cached(q).rows != first.rows, "a new run changes the cache key"


def test_ratios_are_computed_from_sums_never_averaged() -> None:
    days = [{"clicks": 1, "impressions": 10}, {"clicks": 10, "impressions": 1000}]
    totals = {"clicks": 11, "impressions": 1010}
    ctr = m.compute(["ctr"], totals)["ctr"]
    assert ctr == pytest.approx(100 * 11 / 1010)
    assert ctr != pytest.approx(sum(m.compute(["ctr"], d)["ctr"] for d in days) / 2)
    assert m.compute(["roas", "cpa", "spend"], {"spend_micros": 0, "conversions_micros": 0}) == {
        "roas": None,
        "cpa": None,
        "spend": Decimal(0),
    }
    assert m.compute(["revenue"], {"conversions_value_micros": 12_345_678})["revenue"] == Decimal("12.345678")


def test_bad_questions_are_refused_with_a_reason() -> None:
    with pytest.raises(QueryError, match="unknown metric"):
        MetricsQuery(metrics=("profit",), date_from=D1, date_to=D2)
    with pytest.raises(QueryError, match="store metrics are answered for the whole workspace"):
        MetricsQuery(metrics=("mer",), dimensions=("campaign",), date_from=D1, date_to=D2)
    with pytest.raises(QueryError, match="at most one of day, week, month"):
        MetricsQuery(metrics=("spend",), dimensions=("day", "week"), date_from=D1, date_to=D2)
    with pytest.raises(QueryError, match="after"):
        MetricsQuery(metrics=("spend",), date_from=D2, date_to=D1)
    with pytest.raises(QueryError, match="order_by"):
        MetricsQuery(metrics=("spend",), order_by=("-roas",), date_from=D1, date_to=D2)
    assert (
        MetricsQuery(metrics=("spend",), date_from=D1, date_to=D2).cache_key()
        == MetricsQuery(metrics=["spend"], date_from=D1, date_to=D2, filters={"platform": ()}).cache_key()
    )
