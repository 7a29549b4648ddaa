"""What the Data sources page shows: the model graph with last runs, data tests, quarantine and
restated numbers — selectors and their fragment templates."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from devtools.synthetic import SyntheticSpec, synthetic_raw_land, synthetic_restate
from warehouse import selectors
from warehouse.services.transform import run_window

from .conftest import google_daily

pytestmark = pytest.mark.django_db

SPEC = SyntheticSpec(platforms=("google_ads",), accounts_per_platform=1, campaigns_per_account=2, seed=2)
D1, D2 = date(2026, 11, 1), date(2026, 11, 14)
ACCOUNT = SPEC.accounts()[0]["account_id"]


def _sync(sync_run_id: int) -> dict[str, Any]:
    return run_window(
        connection_id=3, platform="google_ads", account_ids=[ACCOUNT], date_from=D1, date_to=D2, sync_run_id=sync_run_id
    )


@pytest.fixture
def history(with_rates: Any, land: Any) -> Any:
    started = timezone.now()
    synthetic_raw_land(spec=SPEC, date_from=D1, date_to=D2)
    land("google_ads.ad_group_daily", [google_daily(ACCOUNT, D2, "999", "9991", clicks="-3")])
    _sync(1)
    synthetic_restate(stream="google_ads.ad_group_daily", date_from=D2 - timedelta(days=3), date_to=D2, every_nth=1)
    _sync(2)
    return started


def test_the_model_graph_lists_every_model_with_its_inputs_and_last_run(history: Any) -> None:
    graph = selectors.lineage_graph()
    nodes = {n.name: n for n in graph.nodes}
    assert nodes["raw_record"].layer == "sources" and nodes["raw_record"].last_run is None
    fact = nodes["fct_ad_performance_daily"]
    assert "dim_ad_account" in fact.inputs and fact.last_run is not None and fact.last_run.status == "success"
    assert [layer for layer, _ in graph.layers()] == ["sources", "seeds", "staging", "dimensions", "facts", "rollups"]
    html = render_to_string("warehouse/_lineage.html", {"graph": graph})
    assert "fct_ad_performance_daily" in html and "badge-good" in html and "<code>wh_fx_rate</code>" in html


def test_data_tests_and_the_quarantine_show_what_failed_and_why(history: Any) -> None:
    results = selectors.data_test_results_latest()
    assert results[0].status == "fail", "failures come first"
    assert any(r.test == "freshness" and r.status == "pass" for r in results)
    html = render_to_string("warehouse/_data_tests.html", {"results": results})
    assert "badge-bad" in html and "stg_google_ads__ad_group_daily" in html
    groups = selectors.quarantine_summary()
    assert [(g.test, g.reason, g.rows) for g in groups] == [("non_negative", "negative value in clicks", 1)]
    html = render_to_string("warehouse/_quarantine.html", {"groups": groups})
    assert "negative value in clicks" in html
    assert selectors.data_test_failures_since(since=history).filter(status="fail").exists()


def test_restated_numbers_are_summed_per_campaign_and_metric_since_a_moment(history: Any) -> None:
    restated = selectors.restatements_since(since=history)
    assert restated and {r.metric for r in restated} == {"conversions", "conversions_value"}
    top = restated[0]
    assert top.first_day >= D2 - timedelta(days=3) and top.last_day <= D2 and top.change > 0
    html = render_to_string("warehouse/_restatements.html", {"restatements": restated, "since": history})
    assert top.campaign_name in html and "conversions_value" in html
    assert selectors.restatements_since(since=timezone.now()) == []
    log = list(selectors.restatement_log(since=history))
    assert log and all(entry.old_value != entry.new_value for entry in log)


def test_runs_and_status_for_the_page_header(history: Any) -> None:
    runs = list(selectors.transform_runs_recent(limit=5))
    assert [r.status for r in runs] == ["success", "success"]
    html = render_to_string("warehouse/_runs.html", {"runs": runs})
    assert "Synced window" in html
    status = selectors.warehouse_status()
    assert status["newest_day"] == D2 and status["quarantined_rows"] == 1
    assert status["data_as_of"] is not None


def test_fragments_have_an_empty_state(in_workspace: Any) -> None:
    for template, context in (
        ("warehouse/_lineage.html", {"graph": selectors.lineage_graph()}),
        ("warehouse/_data_tests.html", {"results": []}),
        ("warehouse/_quarantine.html", {"groups": []}),
        ("warehouse/_restatements.html", {"restatements": []}),
        ("warehouse/_runs.html", {"runs": []}),
    ):
        assert 'class="empty"' in render_to_string(template, context)


def test_each_day_counts_its_first_old_and_last_new_value_whatever_the_order(in_workspace: Any) -> None:
    """Randomised log with several restatements per day, written out of order: the summary
    equals a plain Python computation (first old value, last new value per day, summed)."""
    import random
    from collections import defaultdict
    from decimal import Decimal

    from warehouse.models import Restatement

    rng = random.Random(11)
    base = timezone.now() - timedelta(days=2)
    since = base - timedelta(hours=1)
    rows = []
    for campaign in ("c1", "c2", "c3"):
        for metric in ("conversions", "conversions_value"):
            for day in range(5):
                for _ in range(rng.randint(1, 3)):
                    rows.append(
                        Restatement(
                            run_id=1,
                            detected_at=base + timedelta(minutes=rng.randint(0, 600)),
                            date_day=D1 + timedelta(days=day),
                            platform="google_ads",
                            account_id=ACCOUNT,
                            campaign_id=campaign,
                            metric=metric,
                            old_value=Decimal(rng.randint(0, 10_000)) / 100,
                            new_value=Decimal(rng.randint(0, 10_000)) / 100,
                            currency="EUR",
                        )
                    )
    # one entry from before `since` that must not count
    rows.append(
        Restatement(
            run_id=1,
            detected_at=since - timedelta(hours=1),
            date_day=D1,
            platform="google_ads",
            account_id=ACCOUNT,
            campaign_id="c1",
            metric="conversions",
            old_value=Decimal("999999"),
            new_value=Decimal("0"),
            currency="EUR",
        )
    )
    rng.shuffle(rows)
    Restatement.objects.bulk_create(rows)

    per_day: dict[tuple[str, str, date], list[Restatement]] = defaultdict(list)
    for row in Restatement.objects.filter(detected_at__gte=since).order_by("detected_at", "pk"):
        per_day[(row.campaign_id, row.metric, row.date_day)].append(row)
    expected: dict[tuple[str, str], tuple[Decimal, Decimal, int]] = {}
    for (campaign, metric, _), entries in per_day.items():
        old, new, days = expected.get((campaign, metric), (Decimal(0), Decimal(0), 0))
        expected[(campaign, metric)] = (old + entries[0].old_value, new + entries[-1].new_value, days + 1)

    summary = selectors.restatements_since(since=since)

    assert {(r.campaign_id, r.metric): (r.old_total, r.new_total, r.days) for r in summary} == expected
    ranks = [abs(r.change) / max(abs(r.old_total), 1) for r in summary]
    assert ranks == sorted(ranks, reverse=True)
    assert len(selectors.restatements_since(since=since, limit=2)) == 2
