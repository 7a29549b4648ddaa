"""`make audit` (scripts/audit.py): bandit fails on medium/high findings unless justified on the
line; pip-audit fails on an unjustified vulnerability and says plainly when it could not run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bosco_audit", ROOT / "scripts" / "audit.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


audit = _audit()

DJANGO_VULN = {
    "name": "django",
    "version": "5.2.19",
    "vulns": [{"id": "PYSEC-2099-1", "aliases": ["CVE-2099-1"], "fix_versions": ["5.2.20"], "description": "x"}],
}
CLEAN = {"name": "celery", "version": "5.7.0", "vulns": []}


def test_a_known_vulnerability_fails_the_audit_and_names_the_fix() -> None:
    verdict = audit.judge_pip_audit({"dependencies": [DJANGO_VULN, CLEAN]}, {})
    assert verdict.ran and verdict.failed
    assert "pip-audit: VULNERABLE django==5.2.19 PYSEC-2099-1 (fixed in: 5.2.20)" in verdict.lines


def test_a_vulnerability_justified_in_the_ignore_file_passes_and_is_still_printed() -> None:
    ignores = audit.read_ignores("# accepted risks\nCVE-2099-1  only the admin uses the affected API, and it is off\n")
    verdict = audit.judge_pip_audit({"dependencies": [DJANGO_VULN, CLEAN]}, ignores)
    assert verdict.ran and not verdict.failed
    assert verdict.lines[0].startswith("pip-audit: accepted django==5.2.19 PYSEC-2099-1: only the admin")


def test_an_ignore_line_without_a_reason_is_refused() -> None:
    with pytest.raises(audit.IgnoreFileError, match="line 2: CVE-2099-1 has no reason"):
        audit.read_ignores("# header\nCVE-2099-1\n")


def test_an_unreachable_service_or_one_that_knows_no_package_is_not_run_not_clean() -> None:
    unreachable = audit.judge_pip_audit(None, {})
    nothing_audited = audit.judge_pip_audit(
        {"dependencies": [{"name": "django", "version": "5.2.19", "skip_reason": "Dependency not found on PyPI"}]}, {}
    )
    for verdict in (unreachable, nothing_audited):
        assert verdict.lines == ["pip-audit: not run (no network)"]
        assert not verdict.ran and not verdict.failed


def test_the_ignore_file_in_the_repo_is_valid() -> None:
    audit.read_ignores((ROOT / ".pip-audit-ignore").read_text())


def test_bandit_fails_on_a_medium_finding_and_accepts_it_only_with_a_nosec_on_the_line(tmp_path: Path) -> None:
    risky = tmp_path / "risky.py"
    risky.write_text("import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n")
    assert audit.run_bandit([str(risky)]) != 0
    risky.write_text(risky.read_text().replace("shell=True)", "shell=True)  # nosec B602 # a fixed command"))
    assert audit.run_bandit([str(risky)]) == 0


def test_ci_runs_the_audit_before_the_tests() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("\nmake audit\n") < ci.index("\nmake test\n")
