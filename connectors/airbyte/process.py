"""Run one Airbyte source command (`spec`, `check`, `discover`, `read`) as a subprocess.

- Its own process group (`start_new_session`), so the source and anything it forks are killed
  together: on the timeout (`AIRBYTE_RUN_TIMEOUT` for reads, `AIRBYTE_COMMAND_TIMEOUT` for the
  rest), when the run is stopped, and when the caller leaves the `source_process` block early.
  On Linux the source also gets SIGKILL if the worker that started it dies (`PR_SET_PDEATHSIG`).
- Resource limits set in the child before it runs: address space (`AIRBYTE_MEMORY_LIMIT_MB`)
  and CPU seconds (`AIRBYTE_CPU_LIMIT_SECONDS`).
- The config, catalog and state go to files in a private temporary directory (0700, files 0600)
  that is deleted afterwards: secrets never appear on a command line or in the environment.
- stderr is drained by a thread (the last lines are kept for the error message), stdout is read
  line by line and parsed strictly (`connectors.airbyte.protocol`).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import subprocess  # nosec B404 - fixed argument lists, no shell
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

from connectors.airbyte import protocol
from connectors.airbyte.registry import SourceDefinition
from connectors.airbyte.venvs import venv_ensure

_PR_SET_PDEATHSIG = 1


class SourceFailed(Exception):
    """The source ended badly (non-zero exit, timeout, killed); the message is for people."""

    def __init__(self, message: str, *, code: str = "source_failed") -> None:
        super().__init__(message)
        self.code = code


def source_command(source: SourceDefinition) -> list[str]:
    if source.script:
        return [sys.executable, source.script]
    return [str(venv_ensure(source))]


def _limits(memory_mb: int, cpu_seconds: int) -> None:
    """Runs in the child between fork and exec: no logging, no Django, nothing that allocates much."""
    if memory_mb > 0:
        size = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    if cpu_seconds > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class SourceProcess:
    """A running source: iterate `messages()`, then `finish()` checks how it ended."""

    def __init__(self, popen: subprocess.Popen[bytes], *, timeout: float, label: str) -> None:
        self.popen = popen
        self.label = label
        self.timeout = timeout
        self.timed_out = False
        self.stopped = False
        self.stderr_tail: deque[str] = deque(maxlen=20)
        self.logs: deque[str] = deque(maxlen=20)
        self._stderr = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr.start()
        self._timer = threading.Timer(timeout, self._on_timeout)
        self._timer.daemon = True
        self._timer.start()

    def _drain_stderr(self) -> None:
        assert self.popen.stderr is not None
        for raw in self.popen.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self.stderr_tail.append(line[:300])

    def _on_timeout(self) -> None:
        self.timed_out = True
        self.kill()

    def kill(self) -> None:
        """SIGKILL the source's whole process group (idempotent)."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)

    def stop(self) -> None:
        self.stopped = True
        self.kill()

    def messages(self) -> Iterator[protocol.Message]:
        assert self.popen.stdout is not None
        for line_no, raw in enumerate(self.popen.stdout, start=1):
            message = protocol.parse_line(raw.decode("utf-8", "replace"), line_no)
            if message is None:
                continue
            if isinstance(message, protocol.Log):
                if message.level in ("ERROR", "FATAL", "WARN", "WARNING"):
                    self.logs.append(f"{message.level}: {message.message[:300]}")
                continue
            yield message

    def finish(self) -> None:
        """Wait for the exit; raise `SourceFailed` unless it ended by itself with status 0."""
        try:
            code = self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.popen.wait()
        self._timer.cancel()
        self._stderr.join(timeout=5)
        if self.timed_out:
            raise SourceFailed(
                f"The source did not finish within {self.timeout:.0f} s and was stopped.", code="source_timeout"
            )
        if self.stopped:
            raise SourceFailed("The source was stopped.", code="source_stopped")
        if code != 0:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            detail = self.last_words()
            raise SourceFailed(f"The source {how}{': ' + detail if detail else ''}.", code="source_exit")

    def last_words(self) -> str:
        lines = list(self.logs)[-2:] + list(self.stderr_tail)[-3:]
        return " / ".join(lines)[:700]


@contextlib.contextmanager
def source_process(
    source: SourceDefinition,
    command: str,
    *,
    config: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    state: list[dict[str, Any]] | None = None,
    timeout: float | None = None,
) -> Iterator[SourceProcess]:
    """Start `source command ...`; the block iterates its messages; leaving it kills what is left."""
    executable = source_command(source)
    with tempfile.TemporaryDirectory(prefix="bosco-airbyte-") as workdir:
        os.chmod(workdir, 0o700)
        args = [*executable, command]
        for flag, value in (("--config", config), ("--catalog", catalog), ("--state", state)):
            if value is None:
                continue
            path = Path(workdir) / f"{flag[2:]}.json"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(value, handle)
            args += [flag, str(path)]
        memory, cpu = int(settings.AIRBYTE_MEMORY_LIMIT_MB), int(settings.AIRBYTE_CPU_LIMIT_SECONDS)
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "REDIS", "BOSCO", "CELERY"))
        }
        env["PYTHONUNBUFFERED"] = "1"
        popen = subprocess.Popen(  # noqa: S603 # nosec B603 - fixed argument list, no shell
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=workdir,
            env=env,
            start_new_session=True,
            preexec_fn=lambda: _limits(memory, cpu),
        )
        limit = timeout if timeout is not None else float(settings.AIRBYTE_COMMAND_TIMEOUT)
        process = SourceProcess(popen, timeout=limit, label=f"{source.key} {command}")
        try:
            yield process
        finally:
            process.kill()
            process._timer.cancel()
            popen.wait()
            for stream in (popen.stdout, popen.stderr):
                if stream is not None:
                    stream.close()


def run_simple(source: SourceDefinition, command: str, *, config: dict[str, Any] | None = None) -> protocol.Message:
    """`spec`, `check` or `discover`: the one answer message the command exists for."""
    wanted = {"spec": protocol.Spec, "check": protocol.ConnectionStatus, "discover": protocol.Catalog}[command]
    answer: protocol.Message | None = None
    error: protocol.TraceError | None = None
    with source_process(source, command, config=config) as process:
        for message in process.messages():
            if isinstance(message, wanted) and answer is None:
                answer = message
            elif isinstance(message, protocol.TraceError):
                error = message
        if error is not None and answer is None:
            raise SourceFailed(f"The source reported: {error.message}", code="source_error")
        if answer is None:
            process.finish()
            raise SourceFailed(f"The source's {command} answered nothing.", code="source_protocol")
        if command != "check":
            process.finish()
        else:
            # a failed check may exit non-zero after answering: the answer is what counts
            with contextlib.suppress(SourceFailed):
                process.finish()
    return answer
