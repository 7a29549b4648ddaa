"""Security scanners for CI: `make audit` (bandit over the code, pip-audit over requirements.txt).

    python scripts/audit.py            # both; exit 1 on a finding
    python scripts/audit.py bandit     # only bandit (works offline)
    python scripts/audit.py pip-audit  # only pip-audit (needs the vulnerability service)

bandit fails on any medium or high finding; each accepted one carries `# nosec BXXX # reason`
on its line. pip-audit fails on any known vulnerability of a pinned package unless its id is in
`.pip-audit-ignore` with a reason. When the vulnerability service cannot be reached (no
network, or it answers for none of the packages) pip-audit prints "pip-audit: not run (no
network)" and does not fail CI: an audit that checked nothing must not read as a clean one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# devtools (emulators, synthetic data) is scanned too where it exists: it runs in development and CI.
CODE = [
    path
    for path in (
        "accounts",
        "billing",
        "bosco",
        "connectors",
        "insights",
        "warehouse",
        "devtools",
        "scripts",
        "manage.py",
    )
    if (ROOT / path).exists()
]
IGNORE_FILE = ROOT / ".pip-audit-ignore"
NETWORK_ERRORS = ("ConnectionError", "Max retries exceeded", "getaddrinfo", "Name or service not known", "timed out")


def run_bandit(paths: list[str] | None = None) -> int:
    """bandit at medium severity and above; its own report says what and where."""
    command = [str(BIN / "bandit"), "-c", "pyproject.toml", "-q", "-ll", "-r", *(paths or CODE)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    # bandit warns about every line of a multi-line statement that carries a nosec; noise here.
    noise = "nosec encountered"
    print(result.stdout, end="")
    print(
        "".join(line for line in result.stderr.splitlines(keepends=True) if noise not in line), end="", file=sys.stderr
    )
    print("bandit: " + ("no medium or high findings" if result.returncode == 0 else "FAILED (findings above)"))
    return result.returncode


class IgnoreFileError(ValueError):
    pass


def read_ignores(text: str) -> dict[str, str]:
    """`ID  reason` per line (# starts a comment line); an id without a reason is refused."""
    ignores: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        vuln_id, _, reason = line.partition(" ")
        if not reason.strip():
            raise IgnoreFileError(f".pip-audit-ignore line {number}: {vuln_id} has no reason")
        ignores[vuln_id] = reason.strip()
    return ignores


@dataclass(frozen=True)
class AuditVerdict:
    ran: bool
    failed: bool
    lines: list[str]


def judge_pip_audit(report: dict[str, Any] | None, ignores: dict[str, str]) -> AuditVerdict:
    """What a pip-audit JSON report means for CI (None: the service could not be reached)."""
    if report is None:
        return AuditVerdict(False, False, ["pip-audit: not run (no network)"])
    dependencies = report.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    if dependencies and not audited:
        # Every package "not found": the service answered nothing useful, so nothing was checked.
        return AuditVerdict(False, False, ["pip-audit: not run (no network)"])
    lines, failed = [], False
    for dependency in audited:
        for vuln in dependency.get("vulns", []):
            ids = [vuln["id"], *vuln.get("aliases", [])]
            justified = next((i for i in ids if i in ignores), None)
            where = f"{dependency['name']}=={dependency['version']} {vuln['id']}"
            if justified:
                lines.append(f"pip-audit: accepted {where}: {ignores[justified]}")
            else:
                failed = True
                fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
                lines.append(f"pip-audit: VULNERABLE {where} (fixed in: {fixes})")
    skipped = len(dependencies) - len(audited)
    summary = f"pip-audit: {len(audited)} packages checked" + (f", {skipped} not found on the index" if skipped else "")
    return AuditVerdict(True, failed, [*lines, summary + (": FAILED" if failed else ": no unjustified vulnerability")])


def fetch_pip_audit_report() -> dict[str, Any] | None:
    command = [
        str(BIN / "pip-audit"),
        "-r",
        "requirements.txt",
        "--no-deps",  # every package is pinned in requirements.txt already
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--format",
        "json",
    ]
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        return None
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        if any(marker in result.stderr for marker in NETWORK_ERRORS):
            return None
        raise RuntimeError(f"pip-audit failed:\n{result.stderr[-2000:]}") from None


def run_pip_audit() -> int:
    ignores = read_ignores(IGNORE_FILE.read_text() if IGNORE_FILE.exists() else "")
    verdict = judge_pip_audit(fetch_pip_audit_report(), ignores)
    print("\n".join(verdict.lines))
    return 1 if verdict.failed else 0


def main(argv: list[str]) -> int:
    which = argv[0] if argv else "all"
    status = 0
    if which in ("all", "bandit"):
        status |= run_bandit()
    if which in ("all", "pip-audit"):
        status |= run_pip_audit()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
