"""Dashboard pages benchmark: server time of every page beside the metrics layer's for the same data.

Builds (or reuses) the large workspace of the warehouse benchmark — the same spec, the same
builder: 5 platforms × 2,000 campaigns × 1,095 days ≈ 11M fact rows (`--quick`: 5 × 100 × 365 =
182,500) — in a database of its own, signs a user in with Django's test client on the
workspace host, and times each page's whole server response in-process (middleware, session,
queries, figures, template) over repeated requests:

  cold          — every cached answer of the workspace deleted before the request (the first
                  page anyone opens after a warehouse run);
  new question  — the same, but with the workspace-wide "data as of"/settling status already
                  cached, as it is after any earlier page since the run: a range, filter or
                  sort nobody asked for yet;
  warm          — the same request again (answers from the per-workspace cache, as for every
                  later visitor until the next warehouse run).

Beside each page: the metrics layer alone answering the same questions the page asks
(`metrics_query`, uncached, the questions recorded while rendering the page), and how many
SQL statements the page ran. Pages ask about windows ending on the data's last day (END), so
every range is full of data whatever today's date is. The last line is one JSON object.

    python bench/pages.py --quick       # within a minute or two
    python bench/pages.py               # full size (builds ≈ 11M fact rows once, then reuses them)
    python bench/pages.py --clone-from bosco_wh_bench_warehouse   # copy the warehouse benchmark's database
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from _common import ROOT, emit, machine, setup_django, summarize_ms

GOAL_MS = 100.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def warehouse_bench() -> Any:
    """bench/warehouse.py as a module (its name would clash with the `warehouse` app)."""
    spec = importlib.util.spec_from_file_location("bench_warehouse", ROOT / "bench" / "warehouse.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def clone_database(source: str, suite: str) -> None:
    """Create this benchmark's database as a copy of another (it must have no connections)."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bosco")
    parts = urlsplit(url)
    target = f"{parts.path.strip('/') or 'bosco'}_bench_{suite}"
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target,)).fetchone():
            log(f"{target} exists; --clone-from ignored")
            return
        log(f"copying database {source} to {target} …")
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, help="requests per page and cache state (default 20, quick 8)")
    parser.add_argument("--clone-from", help="copy this database (e.g. the warehouse benchmark's) instead of building")
    args = parser.parse_args()
    reps = args.reps or (8 if args.quick else 20)
    wb = warehouse_bench()
    campaigns, days = (100, 365) if args.quick else (2000, 1095)
    if args.clone_from:
        clone_database(args.clone_from, "pages")
    setup_django("pages")

    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    workspace = build_workspace(wb, campaigns=campaigns, days=days, quick=args.quick)
    result: dict[str, Any] = {"suite": "pages", "quick": args.quick, "machine": machine(), "reps": reps}
    result["load_average"] = os.getloadavg()
    result["fact_rows"] = fact_rows(workspace)
    log(f"{result['fact_rows']:,} fact rows in {workspace.schema_name}")
    result["pages"] = bench_pages(workspace, wb.END, reps)
    result["goal_ms"] = GOAL_MS
    result["pages_over_goal_cold"] = [n for n, p in result["pages"].items() if p["cold"]["median_ms"] > GOAL_MS]
    result["pages_over_goal_new_question"] = [
        n for n, p in result["pages"].items() if p["new_question"]["median_ms"] > GOAL_MS
    ]
    result["pages_over_goal_warm"] = [n for n, p in result["pages"].items() if p["warm"]["median_ms"] > GOAL_MS]
    print_table(result)
    emit(result)


# --------------------------------------------------------------------------- the workspace


def build_workspace(wb: Any, *, campaigns: int, days: int, quick: bool) -> Any:
    """The warehouse benchmark's workspace (same spec and builder), or the one already there."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from accounts.models import User, Workspace
    from accounts.services import workspace_create
    from devtools import synthetic
    from warehouse.services import fx
    from warehouse.services.transform import run_from

    slug = "bench-quick" if quick else "bench-full"
    label = f"bench {len(wb.PLATFORMS)}x{campaigns}x{days}"
    accounts_per_platform = 4 if campaigns >= 400 else 2
    owner = User.objects.filter(email="bench@bosco.local").first() or User.objects.create_user("bench@bosco.local", "x")
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is not None and workspace.name == label:
        ensure_member(workspace, owner)
        return workspace
    if workspace is not None:
        raise SystemExit(f"workspace {slug} holds {workspace.name!r}, not {label!r}; drop it or use another database")
    spec = synthetic.SyntheticSpec(
        platforms=wb.PLATFORMS,
        accounts_per_platform=accounts_per_platform,
        campaigns_per_account=campaigns // accounts_per_platform,
        ad_groups_per_campaign=1,
        currencies=wb.CURRENCIES,
        seed=7,
    )
    workspace = workspace_create(owner=owner, name=label, slug=slug, reporting_currency="EUR")
    start = wb.END - timedelta(days=days - 1)
    log(f"generating {label} …")
    with schema_context(workspace.schema_name):
        fx.fx_rates_load(rates=fx.fx_rates_read(source=str(fx.SAMPLE_FILE)), since=start - timedelta(days=15))
        with connection.cursor() as cursor:
            cursor.execute("SET work_mem = '256MB'")
        chunk_start, rows, started = start, 0, time.perf_counter()
        while chunk_start <= wb.END:
            chunk_end = min(wb.END, chunk_start + timedelta(days=30))
            rows += synthetic.synthetic_facts_generate(spec=spec, date_from=chunk_start, date_to=chunk_end)
            chunk_start = chunk_end + timedelta(days=1)
        log(f"  {rows:,} fact rows in {time.perf_counter() - started:.0f}s; building the rollups …")
        for root in ("rollup_day_platform", "rollup_day_account", "rollup_day_campaign"):
            run_from(model=root, kind="full")
        with connection.cursor() as cursor:
            cursor.execute("RESET work_mem")
            cursor.execute("VACUUM ANALYZE")
    ensure_member(workspace, owner)
    return workspace


def ensure_member(workspace: Any, user: Any) -> None:
    """The bench user's membership, and a connection so Data sources shows the warehouse's sections."""
    from django_tenants.utils import schema_context

    from accounts.models import Membership
    from accounts.roles import Role
    from connectors.models import Connection

    Membership.objects.get_or_create(user=user, workspace=workspace, defaults={"role": Role.OWNER})
    with schema_context(workspace.schema_name):
        if not Connection.objects.exists():
            connection = Connection.objects.create(
                platform="google_ads",
                label="Benchmark",
                status=Connection.Status.PAUSED,
                lookback_days=30,
                backfill_days=1095,
            )
            connection.accounts.create(
                external_id="1000000007", name="Benchmark account", currency="EUR", time_zone="UTC", selected=True
            )


def fact_rows(workspace: Any) -> int:
    from django.db import connection
    from django_tenants.utils import schema_context

    with schema_context(workspace.schema_name), connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'fct_ad_performance_daily'")
        estimate = int(cursor.fetchone()[0])
        if estimate > 0:
            return estimate
        cursor.execute("SELECT count(*) FROM fct_ad_performance_daily")
        return int(cursor.fetchone()[0])


# --------------------------------------------------------------------------- pages


def page_urls(workspace: Any, end: date) -> dict[str, tuple[str, dict[str, Any]]]:
    """(path, extra headers) per page; every range ends on the data's last day."""
    from django.db import connection
    from django_tenants.utils import schema_context

    def window(n: int, **extra: str) -> str:
        params = {"period": "custom", "from": (end - timedelta(days=n - 1)).isoformat(), "to": end.isoformat(), **extra}
        return "?" + "&".join(f"{k}={v}" for k, v in params.items())

    with schema_context(workspace.schema_name), connection.cursor() as cursor:
        cursor.execute(
            "SELECT platform || ':' || account_id || ':' || campaign_id, name FROM dim_campaign ORDER BY id LIMIT 1"
        )
        campaign, name = cursor.fetchone()
        cursor.execute("SELECT platform, platform || ':' || account_id FROM dim_ad_account ORDER BY 1, 2 LIMIT 1")
        platform, account = cursor.fetchone()
    word = str(name).split()[0]
    htmx: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}
    return {
        "overview_30d": ("/" + window(30), {}),
        "overview_90d_prev_year": ("/" + window(90, compare="previous_year"), {}),
        "overview_movers_fragment_30d": ("/" + window(30), {**htmx, "HTTP_HX_TARGET": "movers"}),
        "overview_platform_filter_30d": ("/" + window(30, platform=platform), {}),
        "channels_30d": ("/channels/" + window(30), {}),
        "channels_365d": ("/channels/" + window(365), {}),
        "campaigns_30d": ("/campaigns/" + window(30), {}),
        "campaigns_90d_by_roas": ("/campaigns/" + window(90, sort="-roas"), {}),
        "campaigns_30d_page_5_fragment": (
            "/campaigns/" + window(30, page="5"),
            {**htmx, "HTTP_HX_TARGET": "campaign-table"},
        ),
        "campaigns_30d_account_filter": ("/campaigns/" + window(30, account=account), {}),
        "campaigns_30d_search": ("/campaigns/" + window(30, q=word), {}),
        "campaign_detail_90d": (f"/campaigns/{campaign}/" + window(90), {}),
        "data_sources": ("/data-sources/", {}),
        "settings_billing": ("/settings/billing/", {}),
    }


@contextmanager
def recorded_questions() -> Any:
    """The MetricsQuery objects pages ask while this is open."""
    from insights.selectors import dashboards

    asked: list[Any] = []
    original = dashboards.answer

    def recording(query: Any) -> Any:
        asked.append(query)
        return original(query)

    dashboards.answer = recording  # type: ignore[assignment]
    try:
        yield asked
    finally:
        dashboards.answer = original  # type: ignore[assignment]


def drop_cached_answers(schema: str) -> int:
    """Delete this workspace's cached metric answers (and status) — nothing else in the cache."""
    import redis as redis_lib
    from django.conf import settings

    from bosco.redis_urls import cache_url_for

    client = redis_lib.Redis.from_url(cache_url_for(settings.REDIS_URL))
    try:
        keys = list(client.scan_iter(match=f"{schema}:*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


def bench_pages(workspace: Any, end: date, reps: int) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import schema_context

    from accounts.models import User
    from accounts.signals import SESSION_SCHEMA_KEY
    from insights.selectors.dashboards import data_status
    from warehouse.queries import metrics_query

    user = User.objects.get(email="bench@bosco.local")
    client = Client(HTTP_HOST=f"{workspace.slug}.localhost")
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[SESSION_SCHEMA_KEY] = workspace.schema_name
    session.save()
    out: dict[str, Any] = {}
    for name, (path, headers) in page_urls(workspace, end).items():
        first = client.get(path, **headers)  # plans and buffers warm, like any served page
        assert first.status_code == 200, (name, first.status_code, first.content[:500])
        cold, fresh, warm = [], [], []
        for _ in range(reps):
            drop_cached_answers(workspace.schema_name)
            started = time.perf_counter()
            response = client.get(path, **headers)
            cold.append(time.perf_counter() - started)
            assert response.status_code == 200
            started = time.perf_counter()
            client.get(path, **headers)
            warm.append(time.perf_counter() - started)
            drop_cached_answers(workspace.schema_name)
            with schema_context(workspace.schema_name):
                data_status()  # workspace-wide, cached by any earlier page since the last run
            started = time.perf_counter()
            client.get(path, **headers)
            fresh.append(time.perf_counter() - started)
        drop_cached_answers(workspace.schema_name)
        with recorded_questions() as asked, CaptureQueriesContext(connection) as captured:
            client.get(path, **headers)
        statements = [q for q in captured.captured_queries if not q["sql"].startswith("SET search_path")]
        layer = []
        sources = []
        with schema_context(workspace.schema_name):
            for query in asked:
                sources.append(metrics_query(query).source)
            for _ in range(max(3, reps // 2)):
                started = time.perf_counter()
                for query in asked:
                    metrics_query(query)
                layer.append(time.perf_counter() - started)
        out[name] = {
            "path": path,
            "cold": summarize_ms(cold),
            "new_question": summarize_ms(fresh),
            "warm": summarize_ms(warm),
            "metrics_layer": {**summarize_ms(layer), "questions": len(asked), "sources": sorted(set(sources))},
            "sql_statements_cold": len(statements),
            "bytes": len(response.content),
        }
        log(
            f"{name:34s} cold {out[name]['cold']['median_ms']:7.1f} ms  new question"
            f" {out[name]['new_question']['median_ms']:7.1f} ms  warm {out[name]['warm']['median_ms']:6.1f} ms"
            f"  metrics layer {out[name]['metrics_layer']['median_ms']:7.1f} ms ({len(asked)} questions)"
        )
    return out


def print_table(result: dict[str, Any]) -> None:
    log("")
    log(f"pages over {result['fact_rows']:,} fact rows — median / p95 ms, {result['reps']} requests each")
    log(f"{'page':34s} {'cold':>16s} {'new question':>16s} {'warm':>16s} {'metrics layer':>16s} {'SQL':>4s}")
    for name, p in result["pages"].items():
        cells = [p[k] for k in ("cold", "new_question", "warm", "metrics_layer")]
        log(
            f"{name:34s} "
            + " ".join(f"{c['median_ms']:7.1f} /{c['p95_ms']:7.1f}" for c in cells)
            + f" {p['sql_statements_cold']:4d}"
        )
    medians = [p["cold"]["median_ms"] for p in result["pages"].values()]
    log(f"cold medians: max {max(medians):.1f} ms, mean {statistics.mean(medians):.1f} ms; goal {GOAL_MS:.0f} ms")


if __name__ == "__main__":
    main()
