"""Fixtures for the Airbyte bridge: the fake protocol source, real PyPI sources, connections, runs.

- `fake_source` registers `fake_source.py` (run with Bosco's interpreter) as source "fake".
- `airbyte_connection(source_key, config, streams)` stores a connection the way the add-source
  service does, runs `check` and `discover` for real, and chooses the streams.
- `sync` executes one run in the test thread through `connectors.sync.run_execute`, the path the
  Celery task takes, with real commits (the tests are transactional).
- Real sources build their virtualenvs under `AIRBYTE_VENV_DIR` (default `var/airbyte/` in the
  checkout, reused by every later run; the first build downloads from the package index).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FAKE_SCRIPT = Path(__file__).with_name("fake_source.py")
SCHEMAS = Path(__file__).with_name("schemas")


@pytest.fixture(autouse=True)
def _airbyte_settings(settings: Any) -> None:
    settings.AIRBYTE_RUN_TIMEOUT = 120.0
    settings.AIRBYTE_COMMAND_TIMEOUT = 120.0


@pytest.fixture
def fake_source(monkeypatch: pytest.MonkeyPatch) -> Any:
    from connectors.airbyte.registry import SOURCES, SourceDefinition

    definition = SourceDefinition(
        key="fake", name="Fake source", package="fake-source", version="0", entry_point="", script=str(FAKE_SCRIPT)
    )
    monkeypatch.setitem(SOURCES, "fake", definition)
    return definition


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """Tasks the services queue, recorded instead of sent (no worker in these tests)."""
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def record(name: str, *args: Any, **kwargs: Any) -> None:
        calls.append((name, args, kwargs))

    monkeypatch.setattr("connectors.airbyte.services.enqueue", record)
    monkeypatch.setattr("connectors.sync.runs.enqueue", record)
    return calls


@pytest.fixture
def airbyte_connection(tenant: Any, queued: list[Any]) -> Callable[..., Any]:
    from connectors.airbyte import services
    from connectors.airbyte.forms import spec_form_class
    from connectors.airbyte.process import run_simple
    from connectors.airbyte.registry import source_get

    def make(
        source_key: str,
        config: dict[str, Any],
        streams: list[str] | None = None,
        *,
        secrets: dict[str, Any] | None = None,
        currency: str = "EUR",
        time_zone: str = "Europe/Berlin",
    ) -> Any:
        spec = run_simple(source_get(source_key), "spec").connection_specification  # type: ignore[union-attr]
        spec_form_class(spec)  # the spec must make a form
        connection = services.airbyte_source_add(
            source_key=source_key,
            label=f"Test {source_key}",
            currency=currency,
            time_zone=time_zone,
            config=config,
            secrets=secrets or {},
            spec=spec,
            user_id=None,
        )
        row = services.check_and_discover(connection_id=connection.pk)
        assert row.check_ok, row.check_message
        chosen = streams or [s["name"] for s in row.catalog["streams"]]
        services.streams_choose(connection=connection, streams=chosen, user_id=None)
        connection.refresh_from_db()
        return connection

    return make


@pytest.fixture
def sync() -> Callable[..., Any]:
    """Run one sync of the connection now (cancelling nothing): the task's code path, in this thread."""
    from connectors.models import SyncRun
    from connectors.sync import run_execute

    def run(connection: Any) -> SyncRun:
        active = connection.runs.filter(status__in=SyncRun.ACTIVE_STATUSES).first()
        run = active or SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.MANUAL)
        run_execute(run_id=run.pk)
        run.refresh_from_db()
        return run

    return run


def set_config(connection: Any, **changes: Any) -> None:
    from connectors.models import AirbyteSource

    row = AirbyteSource.objects.get(connection=connection)
    row.config = {**row.config, **changes}
    row.save(update_fields=["config"])


def raw_payloads(connection: Any, stream: str) -> list[dict[str, Any]]:
    from connectors.airbyte.bridge import raw_stream_name
    from warehouse.models import RawRecord

    return [r.payload for r in RawRecord.objects.filter(stream=raw_stream_name(connection.pk, stream))]


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())
