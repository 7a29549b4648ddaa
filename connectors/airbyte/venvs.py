"""One virtualenv per Airbyte source and version, built on first use and then reused.

`<AIRBYTE_VENV_DIR>/<package>-<version>/` holds `python -m venv` plus `pip install` of the pinned
package; a `bosco-ready` marker is written last, so a half-built directory (a killed worker, a
failed download) is never taken for a finished one. Building holds an exclusive `flock` on
`<package>-<version>.lock`: a second worker waits for the first and then finds it ready. A
failed pip install is retried (`AIRBYTE_PIP_ATTEMPTS`, backoff between attempts); the final
failure names the package and quotes pip's last lines.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess  # nosec B404 - fixed argument lists, no shell
import time
from pathlib import Path

from django.conf import settings

from connectors.airbyte.registry import SourceDefinition

logger = logging.getLogger("connectors.airbyte")

READY_MARKER = "bosco-ready"


class VenvError(Exception):
    """The source's environment could not be built; the message says why and what to try."""


def venv_root() -> Path:
    root = Path(settings.AIRBYTE_VENV_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return root


def venv_path(source: SourceDefinition) -> Path:
    return venv_root() / source.venv_name


def is_ready(source: SourceDefinition) -> bool:
    return (venv_path(source) / READY_MARKER).exists()


def entry_point(source: SourceDefinition) -> Path:
    return venv_path(source) / "bin" / source.entry_point


def venv_ensure(source: SourceDefinition) -> Path:
    """The source's console script, building its virtualenv first if needed (once per machine)."""
    if source.script:
        raise ValueError("script sources run with Bosco's interpreter; they have no virtualenv")
    if is_ready(source):
        return entry_point(source)
    lock_path = venv_root() / f"{source.venv_name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second builder waits here, then finds it ready
        try:
            if not is_ready(source):
                _build(source)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return entry_point(source)


def _run(args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "DJANGO", "PIP_"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, check=False)  # noqa: S603 # nosec B603


def _build(source: SourceDefinition) -> None:
    final = venv_path(source)
    building = final.with_name(final.name + f".building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    shutil.rmtree(final, ignore_errors=True)  # a half-built one from a killed builder
    started = time.monotonic()
    created = _run([settings.AIRBYTE_PYTHON, "-m", "venv", str(building)], timeout=300)
    if created.returncode != 0:
        raise VenvError(f"Could not create a virtualenv for {source.pip_spec}: {_tail(created.stderr)}")
    pip = [str(building / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-input"]
    steps = (
        [[*pip, "--no-deps", source.pip_spec], [*pip, *source.requirements]]
        if source.requirements
        else [[*pip, source.pip_spec]]
    )
    for step in steps:
        _pip_with_retries(source, step)
    # pip wrote the console script with the building path in its shebang: moving the directory
    # would break it, so the scripts are rewritten to the final path before the rename.
    _repoint_scripts(building, final)
    building.rename(final)
    (final / READY_MARKER).write_text(f"{source.pip_spec}\n")
    logger.info("built the virtualenv of %s in %.1f s", source.pip_spec, time.monotonic() - started)


def _pip_with_retries(source: SourceDefinition, args: list[str]) -> None:
    attempts = max(1, int(settings.AIRBYTE_PIP_ATTEMPTS))
    last = ""
    for attempt in range(1, attempts + 1):
        try:
            done = _run(args, timeout=float(settings.AIRBYTE_PIP_TIMEOUT))
        except subprocess.TimeoutExpired:
            last = f"pip took longer than {settings.AIRBYTE_PIP_TIMEOUT:.0f} s"
        else:
            if done.returncode == 0:
                return
            last = _tail(done.stderr or done.stdout)
        logger.warning("installing %s failed (attempt %s of %s): %s", source.pip_spec, attempt, attempts, last)
        if attempt < attempts:
            time.sleep(min(30.0, 2.0**attempt))
    raise VenvError(
        f"Could not install {source.pip_spec} from the package index after {attempts} attempts: {last}. "
        "Check that this machine can reach the package index (or its mirror); nothing was synced or changed."
    )


def _repoint_scripts(building: Path, final: Path) -> None:
    old, new = str(building), str(final)
    for path in (building / "bin").iterdir():
        if not path.is_file() or path.is_symlink():
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        if old in text:
            path.write_text(text.replace(old, new))
    config = building / "pyvenv.cfg"
    if config.exists():
        config.write_text(config.read_text().replace(old, new))


def _tail(text: str, lines: int = 4) -> str:
    kept = [line for line in (text or "").strip().splitlines() if line.strip() and "WARNING: Location" not in line]
    return " / ".join(kept[-lines:])[:600] or "no output"
