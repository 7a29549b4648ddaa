"""What identifies a trained model version: the code that trained it and what it was fed.

`code_version(kind)` is the project version plus a hash of the model's own source files
(`insights/ml/*.py` that the kind uses). It needs no git checkout — a deployed image, a wheel
or a tarball hash the same bytes the same way — and it changes exactly when the model code
does, not when an unrelated file changes.

`fingerprint(...)` hashes everything that defines a version (kind, name, code, parameters,
training window, and the data it saw). Versions are stored unique on it, so rerunning the
same training on the same data finds the existing version instead of recording a duplicate.
"""

from __future__ import annotations

import functools
import hashlib
import json
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ML_DIR = Path(__file__).resolve().parents[1] / "ml"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

#: The model source files each kind of model depends on.
SOURCES: dict[str, tuple[str, ...]] = {
    "anomaly": ("anomaly.py", "timeseries.py", "errors.py"),
    "forecast": ("forecasting.py", "yearly.py", "calendar.py", "timeseries.py", "errors.py"),
    "attribution": ("attribution.py", "errors.py"),
    "budget": ("budget.py", "response.py", "baseline.py", "calendar.py", "errors.py"),
}


@functools.cache
def project_version() -> str:
    try:
        with PYPROJECT.open("rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "0"


@functools.cache
def source_hash(kind: str) -> str:
    """sha256 over the kind's source files (name and bytes), first 12 hex digits."""
    digest = hashlib.sha256()
    for name in SOURCES[kind]:
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update((ML_DIR / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def code_version(kind: str) -> str:
    """e.g. "0.1.0+src.3f9a0c1b2d4e": project version and model-source hash."""
    return f"{project_version()}+src.{source_hash(kind)}"


def _canonical(value: Any) -> Any:
    """JSON-ready form with stable float text, so equal inputs hash equal across processes."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, list | tuple | dict):
        value = value.item()  # numpy scalars
    if isinstance(value, float):
        return repr(round(value, 10))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def fingerprint(**parts: Any) -> str:
    """A stable hash of keyword parts (dicts, lists, numbers, dates, strings)."""
    text = json.dumps(_canonical(parts), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def data_hash(values: Iterable[Any]) -> str:
    """Hash of the numbers a model was trained on (rounded, so float noise does not count)."""
    digest = hashlib.sha256()
    for value in values:
        digest.update(repr(_canonical(value)).encode())
    return digest.hexdigest()[:16]
