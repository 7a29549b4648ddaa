"""`python -m insights.ml budget` with channel bounds (file and flags), budgets beyond history and
the issue's bad inputs: exit 2 with one line, or a plan with a warning - never a NaN."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insights.ml.cli import main
from tests.insights.ml.test_cli import budget_history, run_cli


def _args(folder: Path, *extra: str, budget: str = "1000") -> list[str]:
    source = folder / "hist.csv"
    if not source.exists():
        budget_history().to_csv(source, index=False)
    return [
        "budget",
        "--input",
        str(source),
        "--date-column",
        "date",
        "--target",
        "revenue",
        "--channels",
        "search,social",
        "--budget",
        budget,
        "--bootstrap",
        "3",
        "--output",
        str(folder / "o.csv"),
        *extra,
    ]


def _run(folder: Path, *extra: str, budget: str = "1000") -> tuple[int, list[str], pd.DataFrame | None]:
    lines: list[str] = []
    code = main(_args(folder, *extra, budget=budget), stderr=lines.append)
    out = pd.read_csv(folder / "o.csv").set_index("channel") if (folder / "o.csv").exists() else None
    return code, lines, out


def test_bounds_file_holds_each_channel_and_the_budget_is_spent(tmp_path: Path) -> None:
    (tmp_path / "bounds.csv").write_text("channel,min,max\nsearch,100,250\nsocial,,\n")

    code, lines, out = _run(tmp_path, "--bounds", str(tmp_path / "bounds.csv"))

    assert code == 0, lines
    assert out is not None
    assert 100 - 1e-6 <= out.loc["search", "spend"] <= 250 + 1e-6
    assert out.loc[["search", "social"], "spend"].sum() == pytest.approx(1000.0)


def test_min_and_max_flags_override_the_file(tmp_path: Path) -> None:
    (tmp_path / "bounds.csv").write_text("channel,min,max\nsearch,0,900\n")

    code, lines, out = _run(
        tmp_path, "--bounds", str(tmp_path / "bounds.csv"), "--max", "search=150", "--min", "social=700"
    )

    assert code == 0, lines
    assert out is not None
    assert out.loc["search", "spend"] <= 150 + 1e-6
    assert out.loc["social", "spend"] >= 700 - 1e-6


def test_the_bounds_flags_work_in_a_fresh_interpreter(tmp_path: Path) -> None:
    done = run_cli(*_args(tmp_path, "--max", "search=120"))

    assert done.returncode == 0, done.stderr
    out = pd.read_csv(tmp_path / "o.csv").set_index("channel")
    assert out.loc["search", "spend"] <= 120 + 1e-6


def test_a_budget_far_beyond_history_is_planned_with_a_warning(tmp_path: Path) -> None:
    history = budget_history()
    far = str(round(float((history["search"] + history["social"]).mean()) * 5))

    code, lines, out = _run(tmp_path, budget=far)

    assert code == 0, lines
    assert lines and all(line.startswith("warning: ") for line in lines)
    assert any("above the largest total spend seen" in line for line in lines)
    assert out is not None
    assert out.loc["total", "spend"] == pytest.approx(float(far))
    numbers = out.drop(columns="marginal_roas").to_numpy(dtype=float)
    assert np.isfinite(numbers).all()
    assert (out["expected_outcome_low"] <= out["expected_outcome_high"]).all()


@pytest.mark.parametrize(
    ("extra", "budget", "expected"),
    [
        ((), "0", "--budget must be a number greater than zero"),
        ((), "-3", "--budget must be a number greater than zero"),
        ((), "1e15", "more than 1000 times the historical budget"),
        (("--max", "search=10", "--max", "social=10"), "1000", "outside what the channel bounds allow"),
        (("--min", "search=900", "--min", "social=900"), "1000", "outside what the channel bounds allow"),
        (("--max", "video=10"), "1000", "--max names channel 'video', which is not in --channels"),
        (("--max", "search"), "1000", "--max needs CHANNEL=VALUE"),
        (("--max", "search=abc"), "1000", "--max search is not a number"),
        (("--min", "search=-1"), "1000", "--min search must be zero or more"),
        (("--min", "search=300", "--max", "search=100"), "1000", "channel search: max 100 is below min 300"),
    ],
)
def test_bad_budgets_and_bounds_exit_2_with_one_line(
    tmp_path: Path, extra: tuple[str, ...], budget: str, expected: str
) -> None:
    code, lines, out = _run(tmp_path, *extra, budget=budget)

    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert expected in lines[0]
    assert out is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("channel,min,max\nvideo,0,10\n", "names channel 'video', which is not in --channels"),
        ("channel,min,max\nsearch,0,x\n", "data row 1 max is not a number"),
        ("channel,min,max\nsearch,0,10\nsearch,0,20\n", "channel search has two rows"),
        ("channel,lower\nsearch,1\n", "needs a min or a max column"),
        ("min,max\n1,2\n", "missing column(s): channel"),
    ],
)
def test_a_bad_bounds_file_exits_2_with_one_line(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "bounds.csv").write_text(content)

    code, lines, out = _run(tmp_path, "--bounds", str(tmp_path / "bounds.csv"))

    assert code == 2 and len(lines) == 1 and expected in lines[0], lines
    assert out is None


def test_constant_and_all_zero_channels(tmp_path: Path) -> None:
    history = budget_history()
    history["social"] = 800.0
    history.to_csv(tmp_path / "hist.csv", index=False)

    code, lines, out = _run(tmp_path)

    assert code == 0, lines
    assert any("social's spend never changed" in line for line in lines)
    assert out is not None and np.isfinite(out["expected_outcome"].to_numpy()).all()

    history["social"] = 0.0
    history.to_csv(tmp_path / "hist.csv", index=False)
    (tmp_path / "o.csv").unlink()
    code, lines, out = _run(tmp_path)
    assert code == 2 and len(lines) == 1 and "channel social has no spend in the history" in lines[0]
