"""The model registry: a version is identified by its code, parameters, window and data."""

from __future__ import annotations

import shutil
from datetime import date

import numpy as np
import pytest

from insights.models import ModelVersion
from insights.services import model_version_record, versioning
from tests.insights.conftest import in_schema


def test_code_version_is_the_project_version_and_a_hash_of_the_model_source(tmp_path, monkeypatch) -> None:
    version = versioning.code_version("forecast")
    assert version.startswith(f"{versioning.project_version()}+src.")
    assert versioning.code_version("forecast") == version  # stable
    assert versioning.code_version("anomaly") != version  # each kind hashes its own files
    # Changing a byte of the model's source changes its version; git plays no part.
    copy = tmp_path / "ml"
    shutil.copytree(versioning.ML_DIR, copy)
    monkeypatch.setattr(versioning, "ML_DIR", copy)
    versioning.source_hash.cache_clear()
    try:
        assert versioning.code_version("forecast") == version
        (copy / "forecasting.py").write_text((copy / "forecasting.py").read_text() + "\n# changed\n")
        versioning.source_hash.cache_clear()
        assert versioning.code_version("forecast") != version
        assert versioning.code_version("attribution") == versioning.code_version("attribution")
    finally:
        versioning.source_hash.cache_clear()


def _model_files_imported_by(name: str, seen: set[str] | None = None) -> set[str]:
    """``name`` and every ``insights/ml`` file it imports, transitively."""
    import ast

    seen = set() if seen is None else seen
    seen.add(name)
    for node in ast.walk(ast.parse((versioning.ML_DIR / name).read_text())):
        modules = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        modules += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        for module in modules:
            if module.startswith("insights.ml.") and f"{module.split('.')[2]}.py" not in seen:
                _model_files_imported_by(f"{module.split('.')[2]}.py", seen)
    return seen


@pytest.mark.parametrize(
    ("kind", "main"),
    [
        ("anomaly", "anomaly.py"),
        ("forecast", "forecasting.py"),
        ("attribution", "attribution.py"),
        ("budget", "budget.py"),
    ],
)
def test_each_kind_hashes_every_model_file_its_model_imports(kind: str, main: str) -> None:
    # a change to the forecast's calendar (yearly.py) must give forecasts a new code version
    assert _model_files_imported_by(main) <= set(versioning.SOURCES[kind])


def test_fingerprints_ignore_float_noise_and_key_order_but_not_values() -> None:
    a = versioning.fingerprint(params={"alpha": 0.1 + 0.2, "beta": np.float64(0.5)}, window=date(2026, 1, 1))
    b = versioning.fingerprint(window=date(2026, 1, 1), params={"beta": 0.5, "alpha": 0.3})
    c = versioning.fingerprint(params={"alpha": 0.31, "beta": 0.5}, window=date(2026, 1, 1))
    assert a == b != c


@pytest.mark.django_db
def test_the_same_training_is_recorded_once_and_a_changed_one_again(make_workspace) -> None:
    with in_schema(make_workspace("ins-registry")):
        kwargs = {
            "kind": ModelVersion.Kind.FORECAST,
            "name": "Spend · Meta Ads",
            "algorithm": "forecast-ets-aad/1",
            "params": {"alpha": 0.2, "period": 7},
            "training_start": date(2026, 1, 1),
            "training_end": date(2026, 3, 1),
            "metrics": {"history_days": 60},
            "data_hash": "abc",
        }
        first = model_version_record(**kwargs)
        again = model_version_record(**{**kwargs, "metrics": {"history_days": 61}})
        assert again.pk == first.pk and again.metrics == {"history_days": 60}
        newer = model_version_record(**{**kwargs, "training_end": date(2026, 3, 2), "data_hash": "abd"})
        assert newer.pk != first.pk
        assert first.code_version == versioning.code_version("forecast") and len(first.fingerprint) == 64
        assert ModelVersion.objects.count() == 2
