"""The bridge against a fake source speaking the protocol: reads, resumes, and every fault.

Every test commits for real (records and STATE are committed together, and that is the thing
under test). The fake source is a python script (`fake_source.py`) whose config picks a fault.
"""

from __future__ import annotations

import time

import pytest

from connectors.models import Connection, StreamCursor, SyncRun
from tests.connectors.airbyte.conftest import raw_payloads, set_config

pytestmark = pytest.mark.django_db(transaction=True)


def _ids(connection, stream="events") -> list[int]:
    return sorted(p["id"] for p in raw_payloads(connection, stream))


def _state(connection, stream="events"):
    cursor = StreamCursor.objects.filter(connection=connection, stream=stream).first()
    return cursor.airbyte_state if cursor else None


def test_full_read_lands_every_stream_with_its_key_and_state(fake_source, airbyte_connection, sync, handoffs) -> None:
    connection = airbyte_connection("fake", {"count": 10, "state_every": 3, "snapshot": 4, "notes": 5})
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert _ids(connection) == list(range(1, 11))
    assert _ids(connection, "snapshot") == [1, 2, 3, 4]
    assert len(raw_payloads(connection, "notes")) == 5  # no primary key: keyed by a hash of the record
    assert _state(connection) == {"updated_at": 10}
    assert run.rows == 19 and run.rows_inserted == 19
    assert run.units_total >= 10 and run.progress_percent == 100.0
    assert not handoffs, "a source without a mapping hands nothing to the warehouse"
    connection.refresh_from_db()
    assert connection.last_success_at is not None and connection.status == Connection.Status.ACTIVE


def test_incremental_read_starts_from_the_saved_state(fake_source, airbyte_connection, sync) -> None:
    connection = airbyte_connection("fake", {"count": 10, "state_every": 4}, ["events"])
    assert sync(connection).status == SyncRun.Status.SUCCEEDED
    set_config(connection, count=15)
    second = sync(connection)
    assert second.status == SyncRun.Status.SUCCEEDED
    assert second.rows == 5, "only the events after the saved cursor are read again"
    assert _ids(connection) == list(range(1, 16))
    assert _state(connection) == {"updated_at": 15}


@pytest.mark.parametrize("kind", ["GLOBAL", "LEGACY"])
def test_global_and_legacy_states_resume_too(fake_source, airbyte_connection, sync, kind) -> None:
    connection = airbyte_connection("fake", {"count": 6, "state_every": 2, "state_kind": kind}, ["events"])
    assert sync(connection).status == SyncRun.Status.SUCCEEDED
    set_config(connection, count=9)
    second = sync(connection)
    assert second.status == SyncRun.Status.SUCCEEDED, second.error_message
    assert second.rows == 3
    assert _ids(connection) == list(range(1, 10))


def test_full_refresh_replaces_the_stream_at_the_end(fake_source, airbyte_connection, sync) -> None:
    connection = airbyte_connection("fake", {"count": 0, "snapshot": 5}, ["snapshot"])
    assert sync(connection).status == SyncRun.Status.SUCCEEDED
    assert _ids(connection, "snapshot") == [1, 2, 3, 4, 5]
    set_config(connection, snapshot=2)
    assert sync(connection).status == SyncRun.Status.SUCCEEDED
    assert _ids(connection, "snapshot") == [1, 2], "rows the source no longer sends are gone"
    set_config(connection, snapshot=7, fault="exit", fault_at=0, count=1)
    set_streams = connection.airbyte
    set_streams.streams = ["events", "snapshot"]
    set_streams.save(update_fields=["streams"])
    failed = sync(connection)
    assert failed.status == SyncRun.Status.FAILED
    assert _ids(connection, "snapshot") == [1, 2], "a failed read leaves the previous copy untouched"


def test_a_subprocess_killed_after_the_kth_state_resumes_without_gaps_or_duplicates(
    fake_source, airbyte_connection, sync
) -> None:
    connection = airbyte_connection(
        "fake", {"count": 20, "state_every": 3, "fault": "kill_after_state", "fault_at": 2}, ["events"]
    )
    first = sync(connection)
    assert first.status == SyncRun.Status.FAILED
    assert first.error_code == "source_exit" and "signal 9" in first.error_message
    assert _ids(connection) == list(range(1, 7)), "exactly the records covered by the 2 committed states"
    assert _state(connection) == {"updated_at": 6}
    set_config(connection, fault="")
    second = sync(connection)
    assert second.status == SyncRun.Status.SUCCEEDED, second.error_message
    assert second.rows == 14
    assert _ids(connection) == list(range(1, 21))


def _fails_cleanly(connection, sync, *, code: str, words: str, kept: list[int]) -> SyncRun:
    run = sync(connection)
    assert run.status == SyncRun.Status.FAILED
    assert run.error_code == code, run.error_message
    assert words in run.error_message
    assert "nothing stored was lost" in run.error_message.lower()
    assert _ids(connection) == kept
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ERROR and connection.status_message
    return run


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        ("garbage", "source_protocol", "not JSON"),
        ("exit", "source_exit", "exited with status 3: boom"),
        ("undeclared", "undeclared_stream", "'secret_stream'"),
        ("trace", "source_error", "The API key was rejected."),
    ],
)
def test_faults_fail_the_run_and_land_nothing_after_the_last_checkpoint(
    fake_source, airbyte_connection, sync, fault, code, words
) -> None:
    connection = airbyte_connection("fake", {"count": 10, "state_every": 3, "fault": fault, "fault_at": 4}, ["events"])
    _fails_cleanly(connection, sync, code=code, words=words, kept=[1, 2, 3])
    assert _state(connection) == {"updated_at": 3}
    set_config(connection, fault="")
    healed = sync(connection)
    assert healed.status == SyncRun.Status.SUCCEEDED, "the worker (this process) is unharmed and resumes"
    assert _ids(connection) == list(range(1, 11))
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE


def test_a_state_going_backwards_is_refused_and_the_good_one_kept(fake_source, airbyte_connection, sync) -> None:
    connection = airbyte_connection("fake", {"count": 6, "state_every": 3}, ["events"])
    assert sync(connection).status == SyncRun.Status.SUCCEEDED
    set_config(connection, count=9, fault="backwards", fault_at=1)
    run = _fails_cleanly(connection, sync, code="state_backwards", words="went backwards", kept=list(range(1, 7)))
    assert "updated_at -5 after 6" in run.error_message
    assert _state(connection) == {"updated_at": 6}


def test_a_hanging_source_is_killed_at_the_timeout(fake_source, airbyte_connection, sync, settings) -> None:
    connection = airbyte_connection("fake", {"count": 10, "state_every": 3, "fault": "hang", "fault_at": 4}, ["events"])
    settings.AIRBYTE_RUN_TIMEOUT = 3.0
    started = time.monotonic()
    _fails_cleanly(connection, sync, code="source_timeout", words="did not finish within 3 s", kept=[1, 2, 3])
    assert time.monotonic() - started < 30


def test_a_source_over_its_memory_limit_fails_the_run(fake_source, airbyte_connection, sync, settings) -> None:
    connection = airbyte_connection(
        "fake", {"count": 10, "state_every": 3, "fault": "memory", "fault_at": 4}, ["events"]
    )
    settings.AIRBYTE_MEMORY_LIMIT_MB = 512
    run = _fails_cleanly(connection, sync, code="source_exit", words="MemoryError", kept=[1, 2, 3])
    assert "exited with status 1" in run.error_message


def test_a_run_stopped_while_reading_kills_the_source(fake_source, airbyte_connection, sync, monkeypatch) -> None:
    connection = airbyte_connection("fake", {"count": 10, "state_every": 3, "fault": "hang", "fault_at": 4}, ["events"])
    monkeypatch.setattr("connectors.airbyte.bridge.CHECK_EVERY", 0.0)
    seen = []

    def stop_after_first_state(self, message):  # pause arrives while the source hangs
        seen.append(message)
        original(self, message)
        SyncRun.objects.filter(connection=connection).update(status=SyncRun.Status.CANCELLED)

    from connectors.airbyte.bridge import AirbyteSync

    original = AirbyteSync._on_state
    monkeypatch.setattr(AirbyteSync, "_on_state", stop_after_first_state)
    started = time.monotonic()
    run = sync(connection)
    assert time.monotonic() - started < 30
    assert run.status == SyncRun.Status.CANCELLED
    assert _ids(connection) == [1, 2, 3]


def test_schema_changes_between_runs_are_recorded(fake_source, airbyte_connection, sync) -> None:
    from connectors.models import AirbyteSource

    connection = airbyte_connection("fake", {"count": 1}, ["events"])
    assert sync(connection).status == SyncRun.Status.SUCCEEDED
    assert AirbyteSource.objects.get(connection=connection).schema_changes == []
    set_config(connection, extra_column=True)
    assert sync(connection).status == SyncRun.Status.SUCCEEDED
    row = AirbyteSource.objects.get(connection=connection)
    assert row.schema_changes and row.schema_changes[0]["stream"] == "events"
    assert row.schema_changes[0]["added"] == ["colour"]
    assert "colour" in row.stream_schema("events")["json_schema"]["properties"], "the run read with the new schema"


def test_a_failed_check_marks_the_connection_and_stores_the_message(fake_source, airbyte_connection) -> None:
    from connectors.airbyte.services import check_and_discover
    from connectors.models import AirbyteSource

    connection = airbyte_connection("fake", {"count": 1}, ["events"])
    row = AirbyteSource.objects.get(connection=connection)
    row.secrets = '{"api_key": "wrong"}'
    row.save(update_fields=["secrets"])
    checked = check_and_discover(connection_id=connection.pk)
    assert checked.check_ok is False and "The API key is wrong." in checked.check_message
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ERROR


def test_secrets_are_stored_encrypted_and_reach_the_source(fake_source, airbyte_connection) -> None:
    from django.db import connection as db

    from connectors.models import AirbyteSource

    connection = airbyte_connection("fake", {"count": 1}, ["events"], secrets={"api_key": "s3cret-value"})
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT secrets, config::text FROM connectors_airbytesource WHERE connection_id = %s", [connection.pk]
        )
        stored, config = cursor.fetchone()
    assert "s3cret-value" not in stored and "s3cret-value" not in config
    assert AirbyteSource.objects.get(connection=connection).secrets == '{"api_key": "s3cret-value"}'


def test_key_rotation_re_encrypts_the_sources_secrets(fake_source, airbyte_connection, settings) -> None:
    from cryptography.fernet import Fernet

    from bosco import crypto
    from connectors.models import AirbyteSource
    from connectors.services import credentials_rotate

    connection = airbyte_connection("fake", {"count": 1}, ["events"], secrets={"api_key": "k"})
    old_key = settings.BOSCO_ENCRYPTION_KEYS[0]
    settings.BOSCO_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    crypto.reset_key_cache()
    try:
        assert credentials_rotate() >= 1
        settings.BOSCO_ENCRYPTION_KEYS = settings.BOSCO_ENCRYPTION_KEYS[:1]  # the old key is retired
        crypto.reset_key_cache()
        assert AirbyteSource.objects.get(connection=connection).secrets == '{"api_key": "k"}'
    finally:
        settings.BOSCO_ENCRYPTION_KEYS = [old_key]
        crypto.reset_key_cache()


def test_disconnecting_with_delete_drops_the_mapped_rows_and_tells_the_warehouse(
    fake_source, airbyte_connection, sync, handoffs, monkeypatch
) -> None:
    from datetime import date

    from connectors import services
    from connectors.airbyte import mappings
    from connectors.models import AirbyteSource
    from warehouse.models import RawRecord

    # the fake's events carry no day: map them anyway and give the mapped rows one afterwards
    monkeypatch.setitem(
        mappings.MAPPINGS, "fake", {"events": mappings.StreamMapping(date="day|date", campaign_id="id")}
    )
    connection = airbyte_connection("fake", {"count": 2}, ["events"], secrets={"api_key": "k"})
    sync(connection)
    unified = RawRecord.objects.filter(stream=mappings.UNIFIED_STREAM, connection_id=connection.pk)
    assert unified.count() == 2 and all(r.payload["campaign_id"] in ("1", "2") for r in unified)
    unified.update(date=date(2026, 11, 5))
    services.connection_disconnect(connection=connection, delete_data=True)
    assert not RawRecord.objects.filter(connection_id=connection.pk).exists()
    assert handoffs[-1]["platform"] == "airbyte"
    assert (handoffs[-1]["date_from"], handoffs[-1]["date_to"]) == (date(2026, 11, 5), date(2026, 11, 5))
    assert AirbyteSource.objects.get(connection=connection).secrets in ("", None)
