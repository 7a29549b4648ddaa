"""Warehouse benchmark: window transform, dashboard questions through the metrics layer, DuckDB.

Builds a large workspace (default 5 platforms × 2,000 campaigns × 3 years ≈ 11M fact rows;
`--quick`: 5 × 100 × 1 year) in a database of its own, then prints in one run median and p95 ms
for
  (a) the transformation of one sync's 30-day window (Google Ads, every campaign of the platform,
      a share of the days restated before each repetition),
  (b) the standard dashboard questions through Bosco's metrics layer (uncached): 30 / 90 / 365-day
      totals by platform, the 90-day daily series by platform, top-20 campaigns by spend and by
      ROAS over 90 days — each with its previous period,
  (c) the same questions in DuckDB over the same fact rows held in memory, and b/c per question,
plus the money-type measurement (sum over bigint micros vs numeric) behind the storage decision.
The last line is one JSON object with every figure.

    python bench/warehouse.py            # full size (reuses the generated workspace if present)
    python bench/warehouse.py --quick    # within a minute
    python bench/warehouse.py --fresh    # regenerate the data
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from typing import Any

from _common import emit, machine, setup_django, summarize_ms

END = date(2026, 11, 20)
PLATFORMS = ("google_ads", "meta", "tiktok", "microsoft_ads", "linkedin_ads")
CURRENCIES = ("EUR", "USD", "GBP", "JPY", "SEK")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--fresh", action="store_true", help="drop and regenerate the benchmark workspace")
    parser.add_argument("--campaigns", type=int, help="campaigns per platform (default 2000, quick 100)")
    parser.add_argument("--days", type=int, help="days of history (default 1095, quick 365)")
    parser.add_argument("--reps", type=int, help="repetitions per question (default 30, quick 10)")
    args = parser.parse_args()
    campaigns = args.campaigns or (100 if args.quick else 2000)
    days = args.days or (365 if args.quick else 1095)
    reps = args.reps or (10 if args.quick else 30)
    window_reps = 3 if args.quick else 7
    accounts_per_platform = 4 if campaigns >= 400 else 2
    setup_django("warehouse")

    from django.db import connection
    from django_tenants.utils import schema_context

    from accounts.models import User, Workspace
    from accounts.services import workspace_create, workspace_drop
    from devtools import synthetic
    from warehouse.services import fx
    from warehouse.services.transform import run_from

    spec = synthetic.SyntheticSpec(
        platforms=PLATFORMS,
        accounts_per_platform=accounts_per_platform,
        campaigns_per_account=campaigns // accounts_per_platform,
        ad_groups_per_campaign=1,
        currencies=CURRENCIES,
        seed=7,
    )
    start = END - timedelta(days=days - 1)
    label = f"bench {len(PLATFORMS)}x{campaigns}x{days}"
    slug = "bench-quick" if args.quick else "bench-full"
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is not None and (args.fresh or workspace.name != label):
        workspace_drop(workspace=workspace)
        workspace = None
    result: dict[str, Any] = {"suite": "warehouse", "quick": args.quick, "machine": machine()}
    owner = User.objects.filter(email="bench@bosco.local").first() or User.objects.create_user("bench@bosco.local", "x")
    generated = workspace is None
    if workspace is None:
        workspace = workspace_create(owner=owner, name=label, slug=slug, reporting_currency="EUR")
    with schema_context(workspace.schema_name):
        if generated:
            log(f"generating {label} …")
            fx.fx_rates_load(rates=fx.fx_rates_read(source=str(fx.SAMPLE_FILE)), since=start - timedelta(days=15))
            started = time.perf_counter()
            rows = 0
            with connection.cursor() as cursor:
                cursor.execute("SET work_mem = '256MB'")
            chunk_start = start
            while chunk_start <= END:
                chunk_end = min(END, chunk_start + timedelta(days=30))
                rows += synthetic.synthetic_facts_generate(spec=spec, date_from=chunk_start, date_to=chunk_end)
                chunk_start = chunk_end + timedelta(days=1)
            generate_s = time.perf_counter() - started
            log(f"  {rows:,} fact rows in {generate_s:.1f}s; building the rollups …")
            started = time.perf_counter()
            for root in ("rollup_day_platform", "rollup_day_account", "rollup_day_campaign"):
                run_from(model=root, kind="full")
            rollups_s = time.perf_counter() - started
            with connection.cursor() as cursor:
                cursor.execute("RESET work_mem")
                cursor.execute("VACUUM ANALYZE")
            result["build"] = {"fact_rows": rows, "generate_s": round(generate_s, 1), "rollups_s": round(rollups_s, 1)}
            log(f"  rollups in {rollups_s:.1f}s")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM fct_ad_performance_daily")
            result["fact_rows"] = cursor.fetchone()[0]
            for table in ("rollup_day_platform", "rollup_day_campaign", "rollup_campaign_cumulative"):
                cursor.execute(f"SELECT count(*) FROM {table}")
                result.setdefault("rollup_rows", {})[table] = cursor.fetchone()[0]
        log(f"{result['fact_rows']:,} fact rows")
        result["window_transform"] = bench_window(window_reps)
        questions = dashboard_questions()
        bosco = bench_bosco(questions, reps)
        duck = bench_duckdb(questions, reps)
        result["questions"] = {}
        for name in questions:
            b, c = bosco[name], duck[name]
            result["questions"][name] = {
                "bosco": b["timing"],
                "bosco_source": b["source"],
                "duckdb": c["timing"],
                "ratio_b_over_c": round(b["timing"]["median_ms"] / c["timing"]["median_ms"], 3),
                "same_answer": same_answer(b["answer"], c["answer"]),
            }
        result["money_types"] = bench_money_types(min(result["fact_rows"], 5_000_000), reps=5 if args.quick else 9)
    print_table(result)
    emit(result)


# --------------------------------------------------------------------------- (a) window transform


def bench_window(reps: int) -> dict[str, Any]:
    from devtools import synthetic
    from warehouse.models import Restatement
    from warehouse.services.transform import run_window

    window_from = END - timedelta(days=29)
    raw = synthetic.synthetic_raw_from_facts(platform="google_ads", date_from=window_from, date_to=END)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT array_agg(account_id) FROM dim_ad_account WHERE platform = 'google_ads'")
        accounts = cursor.fetchone()[0]

    def once(sync_run_id: int) -> dict[str, Any]:
        return run_window(
            connection_id=1,
            platform="google_ads",
            account_ids=accounts,
            date_from=window_from,
            date_to=END,
            sync_run_id=sync_run_id,
        )

    log(f"(a) window transform: {raw:,} raw rows of one Google Ads sync, {len(accounts)} accounts")
    first = once(1)  # the first sync of this window also fills staging: not what a routine sync costs
    samples: list[float] = []
    per_model: dict[str, list[float]] = {}
    restated = []
    for i in range(reps):
        changed = synthetic.synthetic_restate(
            stream="google_ads.ad_group_daily", date_from=END - timedelta(days=6), date_to=END, variant=i + 1
        )
        before = Restatement.objects.count()
        started = time.perf_counter()
        summary = once(i + 2)
        samples.append(time.perf_counter() - started)
        restated.append({"raw_rows_changed": changed, "restatements_logged": Restatement.objects.count() - before})
        for name, m in summary["models"].items():
            per_model.setdefault(name, []).append(m["duration_ms"])
    unchanged_started = time.perf_counter()
    once(99)
    unchanged_ms = (time.perf_counter() - unchanged_started) * 1000
    return {
        "raw_rows_in_window": raw,
        "first_run_ms": first["duration_ms"],
        **summarize_ms(samples),
        "rerun_without_changes_ms": round(unchanged_ms, 1),
        "restated_per_rep": restated[0] if restated else {},
        "model_median_ms": {name: round(statistics.median(v), 1) for name, v in per_model.items()},
    }


# --------------------------------------------------------------------------- (b) and (c) questions


def dashboard_questions() -> dict[str, Any]:
    from warehouse.queries import MetricsQuery

    totals = ("spend", "impressions", "clicks", "conversions", "conversion_value", "ctr", "cpc", "cpa", "roas")

    def last(n: int) -> tuple[date, date]:
        return END - timedelta(days=n - 1), END

    questions = {}
    for n in (30, 90, 365):
        d1, d2 = last(n)
        questions[f"totals_by_platform_{n}d"] = MetricsQuery(
            metrics=totals, dimensions=("platform",), date_from=d1, date_to=d2, compare="previous_period"
        )
    d1, d2 = last(90)
    questions["daily_series_by_platform_90d"] = MetricsQuery(
        metrics=("spend", "conversion_value", "roas"),
        dimensions=("day", "platform"),
        date_from=d1,
        date_to=d2,
        compare="previous_period",
    )
    for metric in ("spend", "roas"):
        questions[f"top20_campaigns_by_{metric}_90d"] = MetricsQuery(
            metrics=("spend", "clicks", "conversions", "conversion_value", "roas"),
            dimensions=("campaign",),
            date_from=d1,
            date_to=d2,
            compare="previous_period",
            order_by=(f"-{metric}",),
            limit=20,
        )
    return questions


def bench_bosco(questions: dict[str, Any], reps: int) -> dict[str, Any]:
    from warehouse.queries import metrics_query

    out = {}
    for name, q in questions.items():
        metrics_query(q)  # warm the plan cache and the buffer cache, like any served page
        samples = []
        result = None
        for _ in range(reps):
            started = time.perf_counter()
            result = metrics_query(q)
            samples.append(time.perf_counter() - started)
        assert result is not None
        out[name] = {"timing": summarize_ms(samples), "source": result.source, "answer": bosco_answer(name, result)}
        log(f"(b) {name}: {out[name]['timing']['median_ms']} ms via {result.source}")
    return out


def bosco_answer(name: str, result: Any) -> Any:
    if name.startswith("top20"):
        return [(r["platform"], r["account"].split(":")[1], r["campaign"].split(":")[2]) for r in result.rows]
    if name.startswith("totals"):
        return {r["platform"]: (int(r["spend"] * 1_000_000), r["impressions"]) for r in result.rows}
    return len(result.rows)


def bench_duckdb(questions: dict[str, Any], reps: int) -> dict[str, Any]:
    import duckdb
    from django.db import connection

    columns = (
        "date_day, platform, account_id, campaign_id, ad_group_id, impressions, clicks, spend_reporting_micros,"
        " conversions_micros, conversions_value_reporting_micros"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "facts.csv")
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            open(path, "wb") as out,
            cursor.cursor.copy(f"COPY (SELECT {columns} FROM fct_ad_performance_daily) TO STDOUT (FORMAT csv)") as copy,
        ):
            for block in copy:
                out.write(block)
        db = duckdb.connect(":memory:")
        db.execute(
            f"""CREATE TABLE facts AS SELECT * FROM read_csv('{path}', header = false, columns = {{
                'date_day': 'DATE', 'platform': 'VARCHAR', 'account_id': 'VARCHAR', 'campaign_id': 'VARCHAR',
                'ad_group_id': 'VARCHAR', 'impressions': 'BIGINT', 'clicks': 'BIGINT', 'spend': 'BIGINT',
                'conversions': 'BIGINT', 'conversion_value': 'BIGINT'}})"""
        )
        log(
            f"(c) DuckDB loaded {db.execute('SELECT count(*) FROM facts').fetchone()[0]:,} rows in {time.perf_counter() - started:.1f}s"
        )
    sums = "sum(impressions), sum(clicks), sum(spend) AS spend, sum(conversions), sum(conversion_value) AS value"

    def totals(q: Any) -> Any:
        (p1, p2) = q.compare_range()
        cur = db.execute(
            f"SELECT platform, {sums} FROM facts WHERE date_day BETWEEN ? AND ? GROUP BY platform ORDER BY platform",
            [q.date_from, q.date_to],
        ).fetchall()
        db.execute(
            f"SELECT platform, {sums} FROM facts WHERE date_day BETWEEN ? AND ? GROUP BY platform", [p1, p2]
        ).fetchall()
        return {row[0]: (int(row[3]), int(row[1])) for row in cur}

    def series(q: Any) -> Any:
        (p1, p2) = q.compare_range()
        sql = (
            "SELECT date_day, platform, sum(spend), sum(conversion_value) FROM facts WHERE date_day BETWEEN ? AND ?"
            " GROUP BY 1, 2 ORDER BY 1, 2"
        )
        cur = db.execute(sql, [q.date_from, q.date_to]).fetchall()
        db.execute(sql, [p1, p2]).fetchall()
        return len(cur)

    def top(q: Any) -> Any:
        (p1, p2) = q.compare_range()
        order = "sum(spend)" if q.order_by == ("-spend",) else "sum(conversion_value)::DOUBLE / nullif(sum(spend), 0)"
        cur = db.execute(
            f"""SELECT platform, account_id, campaign_id, {sums} FROM facts WHERE date_day BETWEEN ? AND ?
                GROUP BY 1, 2, 3 ORDER BY {order} DESC NULLS LAST, 1, 2, 3 LIMIT 20""",
            [q.date_from, q.date_to],
        ).fetchall()
        keys = [(r[0], r[1], r[2]) for r in cur]
        db.execute(
            f"""SELECT platform, account_id, campaign_id, {sums} FROM facts
                 WHERE date_day BETWEEN ? AND ? AND (platform, account_id, campaign_id) IN (SELECT * FROM (VALUES {", ".join("(?, ?, ?)" for _ in keys)}))
                 GROUP BY 1, 2, 3""",
            [p1, p2, *[v for k in keys for v in k]],
        ).fetchall()
        return keys

    out = {}
    for name, q in questions.items():
        fn = totals if name.startswith("totals") else series if name.startswith("daily") else top
        fn(q)
        samples = []
        answer = None
        for _ in range(reps):
            started = time.perf_counter()
            answer = fn(q)
            samples.append(time.perf_counter() - started)
        out[name] = {"timing": summarize_ms(samples), "answer": answer}
        log(f"(c) {name}: {out[name]['timing']['median_ms']} ms")
    db.close()
    return out


def same_answer(bosco: Any, duck: Any) -> bool:
    if isinstance(bosco, list) and isinstance(duck, list):
        # Ties on the ranking metric may order differently; the ranked values must agree.
        return len(bosco) == len(duck) and len(set(bosco) & set(duck)) >= len(bosco) - 2
    return bool(bosco == duck)


# --------------------------------------------------------------------------- money types


def bench_money_types(rows: int, reps: int) -> dict[str, Any]:
    """sum() and grouped sums over the same amounts stored as bigint micros and as numeric(18,6)."""
    from django.db import connection

    with connection.cursor() as cursor:
        # A plain (unlogged) table in the benchmark schema: temporary tables live in small
        # backend-local buffers and would measure I/O, not arithmetic.
        cursor.execute("DROP TABLE IF EXISTS _money")
        cursor.execute(
            f"""CREATE UNLOGGED TABLE _money AS
                SELECT platform, spend_micros, (spend_micros / 1000000.0)::numeric(18, 6) AS spend_numeric
                  FROM fct_ad_performance_daily LIMIT {int(rows)}"""
        )
        cursor.execute("VACUUM ANALYZE _money")
        cursor.execute("SET max_parallel_workers_per_gather = 0")  # compare the types, not the parallelism
        out: dict[str, Any] = {"rows": rows}
        for label, sql in (
            ("sum_bigint_micros", "SELECT sum(spend_micros) FROM _money"),
            ("sum_numeric", "SELECT sum(spend_numeric) FROM _money"),
            ("group_sum_bigint_micros", "SELECT platform, sum(spend_micros) FROM _money GROUP BY 1"),
            ("group_sum_numeric", "SELECT platform, sum(spend_numeric) FROM _money GROUP BY 1"),
        ):
            for _ in range(2):  # warm the cache
                cursor.execute(sql)
                cursor.fetchall()
            samples = []
            for _ in range(reps):
                started = time.perf_counter()
                cursor.execute(sql)
                cursor.fetchall()
                samples.append(time.perf_counter() - started)
            out[label] = summarize_ms(samples)
        cursor.execute("RESET max_parallel_workers_per_gather")
        cursor.execute(
            "SELECT pg_column_size(spend_micros), pg_column_size(spend_numeric) FROM _money ORDER BY spend_micros DESC LIMIT 1"
        )
        big_bytes, numeric_bytes = cursor.fetchone()
        out["bytes_per_value"] = {"bigint": big_bytes, "numeric_largest": numeric_bytes}
        for kind in ("sum", "group_sum"):
            out[f"{kind}_numeric_over_bigint"] = round(
                out[f"{kind}_numeric"]["median_ms"] / out[f"{kind}_bigint_micros"]["median_ms"], 2
            )
        cursor.execute("DROP TABLE _money")
    log(f"money types: {out}")
    return out


def print_table(result: dict[str, Any]) -> None:
    w = result["window_transform"]
    log(
        f"\n(a) window transform (30 days, {w['raw_rows_in_window']:,} raw rows): median {w['median_ms']} ms, p95 {w['p95_ms']} ms"
    )
    log(f"{'question':36} {'bosco ms (p95)':>18} {'duckdb ms (p95)':>18} {'b/c':>7}  source")
    for name, q in result["questions"].items():
        log(
            f"{name:36} {q['bosco']['median_ms']:>9.2f} ({q['bosco']['p95_ms']:>6.2f}) "
            f"{q['duckdb']['median_ms']:>9.2f} ({q['duckdb']['p95_ms']:>6.2f}) {q['ratio_b_over_c']:>7.3f}  {q['bosco_source']}"
        )


if __name__ == "__main__":
    main()
