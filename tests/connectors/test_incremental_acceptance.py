"""Acceptance checks of incremental syncs against the emulators (security plan, case 19).

The three checks source-acceptance suites run on every incremental connector, applied to Bosco's
cursors (one per connection, account and stream):

- two sequential reads: with nothing new the second lands nothing new and moves no data; after
  the platform restates recent days, the second read differs and lands the new figures (both in
  tests/connectors/test_sync_engine.py for Google; here for Meta);
- every intermediate checkpoint (the cursors committed with each page) replays to exactly the
  rows the clean read landed after it;
- a cursor that is already in the future reads no records and still records its state.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from connectors.models import Connection, StreamCursor, SyncRun
from connectors.sync import SyncEngine, run_execute
from tests.connectors.conftest import GOOGLE_EUR, META_USD, TODAY, raw_daily, raw_table_snapshot, truth_daily

pytestmark = pytest.mark.django_db

SINCE = TODAY - timedelta(days=59)
PLATFORMS = {
    "google_ads": (GOOGLE_EUR, GOOGLE_EUR, "google_ads.ad_group_daily"),
    "meta": (META_USD, f"act_{META_USD}", "meta.adset_daily"),
}


def _assert_truth(emulator, platform: str) -> None:
    account, external, stream = PLATFORMS[platform]
    assert raw_daily(stream, external, SINCE, TODAY) == truth_daily(emulator, platform, account, SINCE, TODAY)


def _run(connection, new_run) -> SyncRun:
    run = new_run(connection)
    assert run_execute(run_id=run.pk) == "succeeded"
    run.refresh_from_db()
    return run


# ---------------------------------------------------------------------------------------------
# Two sequential reads (Google's, and both platforms after a restatement, are in test_sync_engine.py)
def test_a_second_meta_read_with_nothing_new_lands_nothing_new_and_moves_no_data(
    tenant, emulator, connect, new_run, handoffs
) -> None:
    connection = connect("meta", accounts=[META_USD])
    first = _run(connection, new_run)
    assert first.rows_inserted > 0 and len(handoffs) == 1
    landed = raw_table_snapshot()

    second = _run(connection, new_run)

    assert second.rows > 0, "the lookback window was read again"
    assert second.rows_inserted == 0 and second.rows_updated == 0
    assert raw_table_snapshot() == landed
    assert len(handoffs) == 1, "nothing changed, so the warehouse is not asked to rebuild anything"


# ---------------------------------------------------------------------------------------------
# Every checkpoint replays
def _cursor_state() -> list[dict[str, Any]]:
    return list(StreamCursor.objects.order_by("pk").values())


def _record_checkpoints(monkeypatch) -> list[tuple[list[dict[str, Any]], list[str]]]:
    """After each committed page: every cursor as committed, and the keys that page landed."""
    checkpoints: list[tuple[list[dict[str, Any]], list[str]]] = []
    original = SyncEngine._commit_page

    def commit_and_record(self, cursor, stream, page, *, account):
        original(self, cursor, stream, page, account=account)
        checkpoints.append((_cursor_state(), [f"{stream.name}|{row.record_key}" for row in page.rows]))

    monkeypatch.setattr(SyncEngine, "_commit_page", commit_and_record)
    return checkpoints


def _landed() -> dict[str, Any]:
    from warehouse.models import RawRecord

    return {f"{s}|{k}": p for s, k, p in RawRecord.objects.values_list("stream", "record_key", "payload")}


@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_every_intermediate_checkpoint_replays_to_the_rows_the_clean_read_landed_after_it(
    tenant, emulator, connect, new_run, handoffs, monkeypatch, platform
) -> None:
    from warehouse.models import RawRecord

    connection = connect(platform, accounts=[PLATFORMS[platform][0]])
    checkpoints = _record_checkpoints(monkeypatch)
    run = new_run(connection)
    assert run_execute(run_id=run.pk) == "succeeded"
    _assert_truth(emulator, platform)
    clean = _landed()
    assert len(checkpoints) >= 6, "enough pages to make the check meaningful"
    monkeypatch.undo()

    for k, (cursors, _) in enumerate(checkpoints[:-1]):
        # Back to checkpoint k with an empty raw table: only what the replay lands is there.
        RawRecord.objects.all().delete()
        for state in cursors:
            StreamCursor.objects.filter(pk=state["id"]).update(**{f: v for f, v in state.items() if f != "id"})
        SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.QUEUED, finished_at=None, attempts=0)

        assert run_execute(run_id=run.pk) == "succeeded", f"replay from checkpoint {k}"

        expected_keys = {key for _, keys in checkpoints[k + 1 :] for key in keys}
        replayed = _landed()
        assert set(replayed) == expected_keys, f"checkpoint {k}: the replay read other rows"
        assert all(replayed[key] == clean[key] for key in replayed), f"checkpoint {k}: other figures"


# ---------------------------------------------------------------------------------------------
# A cursor in the future
def test_a_cursor_in_the_future_reads_no_records_and_still_records_its_state(
    tenant, emulator, connect, new_run, handoffs, settings
) -> None:
    from warehouse.models import RawRecord

    connection = connect("google_ads", accounts=[GOOGLE_EUR])
    _run(connection, new_run)
    Connection.objects.filter(pk=connection.pk).update(lookback_days=3)
    daily = StreamCursor.objects.get(connection=connection, stream="google_ads.ad_group_daily")
    future_to = TODAY + timedelta(days=30)
    # Bosco's clock runs a month ahead of the platform's data, and the cursor says it covered it all.
    settings.CONNECTORS_FIXED_TODAY = future_to.isoformat()
    StreamCursor.objects.filter(pk=daily.pk).update(covered_from=SINCE, covered_to=future_to)
    daily_rows_before = RawRecord.objects.filter(stream="google_ads.ad_group_daily").count()

    run = _run(connection, new_run)

    assert RawRecord.objects.filter(stream="google_ads.ad_group_daily").count() == daily_rows_before
    assert run.landed_from is None or run.landed_from > TODAY, "no day with data was landed"
    daily.refresh_from_db()
    assert daily.run_id == run.pk and daily.done, "the cursor was planned and completed by this run"
    assert daily.last_success_at is not None and daily.last_success_at >= run.started_at, "its state was saved"
    assert (daily.covered_from, daily.covered_to) == (SINCE, future_to)
    assert daily.plan["ranges"] == [[(future_to - timedelta(days=2)).isoformat(), future_to.isoformat()]]
