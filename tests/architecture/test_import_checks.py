"""The two import checks `make lint` and CI run: the cycle finder and the import-linter contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripts import check_cycles

ROOT = Path(__file__).resolve().parents[2]


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_module_level_cycle_is_reported_with_its_path(tmp_path: Path, capsys) -> None:
    write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/services.py": "from app.sync import run\n",
            "app/sync.py": "from app import tasks\n",
            "app/tasks.py": "from app.services import start\n",
        },
    )

    assert check_cycles.main(["--root", str(tmp_path), "--packages", "app"]) == 1
    assert "import cycle: app.services → app.sync → app.tasks → app.services" in capsys.readouterr().out


def test_function_level_and_type_checking_imports_do_not_count(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/services.py": "def go():\n    from app.tasks import t  # the task runs later\n",
            "app/tasks.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.services import go\n"
            "from app.services import go as enqueue\n",
        },
    )

    assert check_cycles.main(["--root", str(tmp_path), "--packages", "app"]) == 0


def test_a_package_that_re_exports_its_modules_is_no_cycle_but_importing_its_names_back_is(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "from app.a import x\n",
        "app/a.py": "from app import b\nx = 1\n",
        "app/b.py": "y = 2\n",
    }
    write(tmp_path, files)
    assert check_cycles.main(["--root", str(tmp_path), "--packages", "app"]) == 0

    write(tmp_path, {"app/b.py": "from app import x\n"})  # needs app/__init__, which needs a, which needs b
    assert check_cycles.main(["--root", str(tmp_path), "--packages", "app"]) == 1


def test_the_project_has_no_import_cycle() -> None:
    assert check_cycles.main(["--root", str(ROOT)]) == 0


def test_the_architecture_contract_holds() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:]
