"""`airbyte-source-faker` and `airbyte-source-file` from PyPI, end to end, each in its own virtualenv.

The virtualenvs are built on first use under `AIRBYTE_VENV_DIR` (reused by later runs; the first
build downloads from the package index, retried; a failure fails the test with pip's words —
never a skip). Faker generates users, products and purchases without a network; the file source
reads a local CSV of ad performance, which its mapping turns into the unified fact.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import date
from decimal import Decimal

import pytest

from connectors.airbyte.registry import SOURCES
from connectors.airbyte.venvs import VenvError, venv_ensure
from connectors.models import SyncRun
from tests.connectors.airbyte.conftest import raw_payloads, set_config

pytestmark = pytest.mark.django_db(transaction=True)

FAKER = {"count": 30, "seed": 5, "records_per_slice": 10, "always_updated": False, "parallelism": 1}
# Faker cannot continue half-way: with a state and `always_updated` off it sends nothing more, with
# it on it sends every record again (newer `updated_at`). The resume tests use the latter, so
# "no gaps, no duplicates" means: every id exactly once, and only the missing ones inserted.
FAKER_RESENDING = {**FAKER, "always_updated": True}


@pytest.fixture
def real_source():
    def ensure(key: str) -> None:
        try:
            venv_ensure(SOURCES[key])
        except VenvError as exc:
            pytest.fail(f"the {key} source's virtualenv could not be built: {exc}")

    return ensure


def _user_ids(connection) -> list[int]:
    return sorted(p["id"] for p in raw_payloads(connection, "users"))


def test_faker_full_read_lands_what_the_source_generates(real_source, airbyte_connection, sync) -> None:
    real_source("faker")
    connection = airbyte_connection("faker", FAKER, ["users", "purchases"])
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert _user_ids(connection) == list(range(1, 31))
    purchases = raw_payloads(connection, "purchases")
    assert purchases and all({"id", "user_id", "product_id"} <= set(p) for p in purchases)
    assert run.rows == 30 + len(purchases)
    assert run.pages >= 3, "faker checkpoints every 10 records; each checkpoint commits"


def test_faker_incremental_read_reads_only_new_records(real_source, airbyte_connection, sync) -> None:
    real_source("faker")
    connection = airbyte_connection("faker", FAKER, ["users"])
    assert sync(connection).status == SyncRun.Status.SUCCEEDED
    again = sync(connection)
    assert again.status == SyncRun.Status.SUCCEEDED and again.rows == 0, "nothing new since the saved state"
    assert _user_ids(connection) == list(range(1, 31))
    set_config(connection, always_updated=True)
    changed = sync(connection)
    assert changed.rows == 30 and changed.rows_inserted == 0 and changed.rows_updated == 30, "updated in place"


class WorkerDied(BaseException):
    """Stands for the worker process dying (SIGKILL): nothing after it runs, no handler sees it."""


def _kill_source_after(monkeypatch, method: str, after: int, *, worker_dies: bool = False) -> dict:
    """SIGKILL the source's process group right after the n-th call of AirbyteSync.<method>."""
    from connectors.airbyte import bridge

    calls: dict = {"n": 0}
    original = getattr(bridge.AirbyteSync, method)
    started = bridge.source_process

    class Capture:
        def __init__(self, *args, **kwargs):
            self.manager = started(*args, **kwargs)

        def __enter__(self):
            process = self.manager.__enter__()
            calls["pid"] = process.popen.pid
            return process

        def __exit__(self, *exc):
            return self.manager.__exit__(*exc)

    def hooked(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == after:
            os.killpg(calls["pid"], signal.SIGKILL)
            if worker_dies:
                raise WorkerDied
        return result

    monkeypatch.setattr(bridge, "source_process", Capture)
    monkeypatch.setattr(bridge.AirbyteSync, method, hooked)
    return calls


def test_worker_dying_after_the_second_state_resumes_without_gaps_or_duplicates(
    real_source, airbyte_connection, sync, monkeypatch
) -> None:
    real_source("faker")
    # Faker emits a slice's STATE when the next slice starts: with 40 users in slices of 10 the
    # checkpoints come after 20, 30 and 40 records, so the second covers exactly 30.
    connection = airbyte_connection("faker", {**FAKER_RESENDING, "count": 40}, ["users"])
    run = connection.runs.get(status=SyncRun.Status.QUEUED)  # started by choosing the streams
    with monkeypatch.context() as patch:
        calls = _kill_source_after(patch, "_commit", 2, worker_dies=True)
        with pytest.raises(WorkerDied):
            sync(connection)
    with pytest.raises(ProcessLookupError):
        os.killpg(calls["pid"], 0)  # the source died with the worker
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RUNNING, "left as a dead worker leaves it, for redelivery"
    assert _user_ids(connection) == list(range(1, 31)), "exactly the two committed checkpoints' records"
    resumed = sync(connection)
    assert resumed.pk == run.pk and resumed.attempts == 2
    assert resumed.status == SyncRun.Status.SUCCEEDED, resumed.error_message
    assert resumed.rows_inserted == 40, "the 30 landed before the crash were updated, 10 more inserted"
    assert _user_ids(connection) == list(range(1, 41))
    assert len(raw_payloads(connection, "users")) == 40


def test_a_killed_source_fails_the_run_and_the_next_run_fills_the_rest(
    real_source, airbyte_connection, sync, monkeypatch
) -> None:
    real_source("faker")
    connection = airbyte_connection("faker", FAKER_RESENDING, ["users"])
    with monkeypatch.context() as patch:
        _kill_source_after(patch, "_on_record", 15)
        crashed = sync(connection)
    assert crashed.status == SyncRun.Status.FAILED
    assert "killed by signal 9" in crashed.error_message
    landed = _user_ids(connection)
    # whatever was already in the pipe is read; only whole checkpoints are kept, from the start
    assert landed == list(range(1, len(landed) + 1)) and len(landed) % 10 == 0 and len(landed) >= 10
    resumed = sync(connection)
    assert resumed.status == SyncRun.Status.SUCCEEDED
    assert resumed.rows_inserted == 30 - len(landed), "only the missing users are new"
    assert _user_ids(connection) == list(range(1, 31))


def test_faker_that_runs_past_the_timeout_is_killed(real_source, airbyte_connection, sync, settings) -> None:
    real_source("faker")
    connection = airbyte_connection("faker", {**FAKER, "count": 5_000_000, "records_per_slice": 1000}, ["users"])
    settings.AIRBYTE_RUN_TIMEOUT = 4.0
    started = time.monotonic()
    run = sync(connection)
    assert time.monotonic() - started < 60
    assert run.status == SyncRun.Status.FAILED and run.error_code == "source_timeout"
    assert len(_user_ids(connection)) % 1000 == 0, "only whole checkpoints were kept"


CSV_FIRST = """date,campaign_id,campaign_name,spend,impressions,clicks,conversions,value,currency
2026-11-01,c1,Brand,12.50,1000,30,2,80.00,EUR
2026-11-01,c2,Prospecting,20.00,4000,50,1,25.50,EUR
2026-11-02,c1,Brand,10.00,900,25,1,40.00,EUR
"""
CSV_SECOND = """date,campaign_id,campaign_name,spend,impressions,clicks,conversions,value,currency
2026-11-01,c1,Brand,13.00,1000,31,2,80.00,EUR
2026-11-02,c1,Brand,10.00,900,25,1,40.00,EUR
"""


def test_file_source_rows_reach_the_unified_fact_and_a_full_refresh_replaces_them(
    real_source, airbyte_connection, sync, handoffs, tmp_path
) -> None:
    from warehouse.models import AdPerformanceDaily, Campaign
    from warehouse.services.transform import run_window

    real_source("file")
    path = tmp_path / "ads.csv"
    path.write_text(CSV_FIRST)
    config = {"dataset_name": "ad_performance", "format": "csv", "url": str(path), "provider": {"storage": "local"}}
    connection = airbyte_connection("file", config, ["ad_performance"])
    first = sync(connection)
    assert first.status == SyncRun.Status.SUCCEEDED, first.error_message
    assert len(raw_payloads(connection, "ad_performance")) == 3
    assert handoffs and handoffs[-1]["platform"] == "airbyte"
    assert (handoffs[-1]["date_from"], handoffs[-1]["date_to"]) == (date(2026, 11, 1), date(2026, 11, 2))
    run_window(**handoffs[-1])
    facts = {(f.date_day, f.campaign_id): f for f in AdPerformanceDaily.objects.filter(platform="airbyte")}
    assert set(facts) == {(date(2026, 11, 1), "c1"), (date(2026, 11, 1), "c2"), (date(2026, 11, 2), "c1")}
    brand = facts[(date(2026, 11, 1), "c1")]
    assert (brand.spend_micros, brand.impressions, brand.clicks) == (12_500_000, 1000, 30)
    assert brand.conversions_value_micros == 80_000_000 and brand.currency == "EUR"
    assert Campaign.objects.get(platform="airbyte", campaign_id="c2").name == "Prospecting"

    path.write_text(CSV_SECOND)
    second = sync(connection)
    assert second.status == SyncRun.Status.SUCCEEDED, second.error_message
    run_window(**handoffs[-1])
    facts = {(f.date_day, f.campaign_id): f for f in AdPerformanceDaily.objects.filter(platform="airbyte")}
    assert set(facts) == {(date(2026, 11, 1), "c1"), (date(2026, 11, 2), "c1")}, "c2 is gone from the file"
    assert Decimal(facts[(date(2026, 11, 1), "c1")].spend_micros) / 1_000_000 == Decimal("13")
