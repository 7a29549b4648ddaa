"""Building a source's virtualenv: once per machine under a lock, pip retried, a clear failure."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from connectors.airbyte import venvs
from connectors.airbyte.registry import SourceDefinition

SOURCE = SourceDefinition(
    key="tiny", name="Tiny", package="airbyte-source-tiny", version="1.0", entry_point="source-tiny"
)


@pytest.fixture
def venv_dir(settings, tmp_path):
    settings.AIRBYTE_VENV_DIR = str(tmp_path)
    settings.AIRBYTE_PIP_ATTEMPTS = 3
    return tmp_path


def test_two_workers_build_the_environment_once(venv_dir, monkeypatch) -> None:
    builds: list[int] = []

    def slow_build(source):
        builds.append(1)
        time.sleep(0.5)
        path = venvs.venv_path(source)
        path.mkdir()
        (path / venvs.READY_MARKER).write_text("ok")

    monkeypatch.setattr(venvs, "_build", slow_build)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(str(venvs.venv_ensure(SOURCE)))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == [1], "the second builder waited on the lock and found it ready"
    assert results == [str(venv_dir / "airbyte-source-tiny-1.0" / "bin" / "source-tiny")] * 2


def test_pip_is_retried_and_a_final_failure_says_what_and_why(venv_dir, monkeypatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(venvs.time, "sleep", lambda s: None)

    def fake_run(args, *, timeout):
        calls.append(args)
        if args[1:3] == ["-m", "venv"]:
            (venv_dir / args[-1].rsplit("/", 1)[-1] / "bin").mkdir(parents=True)
            return subprocess.CompletedProcess(args, 0, "", "")
        return subprocess.CompletedProcess(
            args, 1, "", "ERROR: Could not find a version that satisfies the requirement"
        )

    monkeypatch.setattr(venvs, "_run", fake_run)
    with pytest.raises(venvs.VenvError) as failed:
        venvs.venv_ensure(SOURCE)
    message = str(failed.value)
    assert "airbyte-source-tiny==1.0" in message and "after 3 attempts" in message
    assert "Could not find a version" in message and "nothing was synced" in message
    assert sum(1 for c in calls if "install" in c) == 3
    assert not venvs.is_ready(SOURCE), "a failed build is never taken for a finished one"


@pytest.mark.django_db(transaction=True)
def test_a_source_that_cannot_be_installed_fails_its_run_with_pips_words(
    venv_dir, monkeypatch, fake_source, airbyte_connection, sync
) -> None:
    from connectors.airbyte.registry import SOURCES
    from connectors.models import Connection, SyncRun

    connection = airbyte_connection("fake", {"count": 1}, ["events"])
    monkeypatch.setitem(SOURCES, "fake", SOURCE.__class__(**{**SOURCE.__dict__, "key": "fake"}))
    monkeypatch.setattr(venvs.time, "sleep", lambda s: None)
    monkeypatch.setattr(
        venvs,
        "_run",
        lambda args, *, timeout: subprocess.CompletedProcess(args, 1, "", "ERROR: No matching distribution"),
    )
    run = sync(connection)
    assert run.status == SyncRun.Status.FAILED and run.error_code == "source_install"
    assert "No matching distribution" in run.error_message
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ERROR
