"""`python -m insights.ml`: round trips for the four commands and one-line errors for bad input."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insights.ml.cli import main
from tests.insights.ml.synthetic import hourly_traffic, trend_weekly

REPO = Path(__file__).resolve().parents[3]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "insights.ml", *args], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )


def budget_history(days: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    search = rng.lognormal(np.log(200), 0.5, days)
    social = rng.lognormal(np.log(800), 0.5, days)
    revenue = 1000 + 3000 * search / (search + 300) + 1200 * social / (social + 400) + rng.normal(0, 30, days)
    dates = pd.date_range("2024-01-01", periods=days, freq="D").strftime("%Y-%m-%d")
    return pd.DataFrame({"date": dates, "search": search, "social": social, "holiday": 0.0, "revenue": revenue})


def test_anomalies_round_trip_keeps_rows_and_scores_the_spike(tmp_path: Path) -> None:
    series = hourly_traffic(days=40)
    series.iloc[35 * 24 + 12] *= 4
    source = tmp_path / "in.csv"
    pd.DataFrame({"timestamp": series.index.strftime("%Y-%m-%d %H:%M:%S"), "value": series.round(2)}).to_csv(
        source, index=False
    )

    done = run_cli("anomalies", "--input", str(source), "--output", str(tmp_path / "out.csv"))

    assert done.returncode == 0, done.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["timestamp", "value", "anomaly_score"]
    assert list(out["timestamp"]) == list(pd.read_csv(source)["timestamp"])
    assert out["anomaly_score"].between(0, 1).all()
    assert out["anomaly_score"].idxmax() == 35 * 24 + 12


def test_anomalies_scores_every_row_of_a_feed_with_repeated_timestamps_and_warns(tmp_path: Path) -> None:
    series = hourly_traffic(days=40)
    series.iloc[35 * 24 + 12] *= 4
    stamps = list(series.index.strftime("%Y-%m-%d %H:%M:%S"))
    values = list(series.round(2))
    # a re-delivered bucket (the same hour twice, same value) and a clock change (an hour twice)
    stamps.insert(20 * 24 + 5, stamps[20 * 24 + 5])
    values.insert(20 * 24 + 5, values[20 * 24 + 5])
    stamps.insert(30 * 24 + 2, stamps[30 * 24 + 2])
    values.insert(30 * 24 + 2, values[30 * 24 + 2] * 1.1)
    source = tmp_path / "in.csv"
    pd.DataFrame({"timestamp": stamps, "value": values}).to_csv(source, index=False)
    lines: list[str] = []

    returncode = main(["anomalies", "--input", str(source), "--output", str(tmp_path / "out.csv")], stderr=lines.append)

    assert returncode == 0, lines
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "repeats 2 timestamp(s)" in lines[0]
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out["timestamp"]) == stamps  # every row, in input order
    assert out["anomaly_score"].notna().all() and out["anomaly_score"].between(0, 1).all()
    assert out["anomaly_score"].idxmax() == 35 * 24 + 12 + 2  # the spike, two rows later


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unordered", "timestamps are not in order"),
        ("gaps", "missing period(s) between the timestamps are skipped"),
        ("constant", "the series is constant: nothing in it can be anomalous"),
        ("all_zero", "the series is all zero: nothing in it can be anomalous"),
        ("few", "all 3 rows fall in the warm-up"),
    ],
)
def test_anomalies_scores_awkward_series_with_a_warning_never_a_nan(tmp_path: Path, case: str, expected: str) -> None:
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    values = np.random.default_rng(3).normal(100, 5, days.size).round(1)
    frame = pd.DataFrame({"timestamp": days.strftime("%Y-%m-%d"), "value": values})
    if case == "unordered":
        frame = frame.iloc[::-1]
    elif case == "gaps":
        frame = frame[np.arange(len(frame)) % 5 != 0]
    elif case == "constant":
        frame["value"] = 7.0
    elif case == "all_zero":
        frame["value"] = 0.0
    elif case == "few":
        frame = frame.head(3)
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(source, index=False)
    lines: list[str] = []

    returncode = main(["anomalies", "--input", str(source), "--output", str(target)], stderr=lines.append)

    assert returncode == 0, lines
    assert any(line.startswith("warning: ") and expected in line for line in lines), lines
    out = pd.read_csv(target)
    assert list(out["timestamp"]) == list(frame["timestamp"])  # every row, in input order
    assert out["anomaly_score"].notna().all() and out["anomaly_score"].between(0, 1).all()
    if case in ("constant", "all_zero", "few"):
        assert (out["anomaly_score"] == 0).all()


def test_forecast_round_trip_gives_the_next_h_days_with_a_band(tmp_path: Path) -> None:
    series = trend_weekly(days=120)
    source = tmp_path / "in.csv"
    pd.DataFrame({"ds": series.index.strftime("%Y-%m-%d"), "y": series.to_numpy()}).to_csv(source, index=False)

    done = run_cli("forecast", "--input", str(source), "--horizon", "10", "--output", str(tmp_path / "out.csv"))

    assert done.returncode == 0, done.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["ds", "yhat", "yhat_lower", "yhat_upper"]
    assert list(out["ds"]) == list(pd.date_range("2023-05-01", periods=10).strftime("%Y-%m-%d"))
    assert ((out["yhat_lower"] < out["yhat"]) & (out["yhat"] < out["yhat_upper"])).all()


def test_attribution_round_trip_has_every_channel_and_model(tmp_path: Path) -> None:
    source = tmp_path / "paths.csv"
    source.write_text(
        "path,total_conversions,total_conversion_value,total_null\na,4,40,10\na > b,6,60,5\nb > c,0,0,9\n"
    )

    done = run_cli("attribution", "--input", str(source), "--output", str(tmp_path / "out.csv"))

    assert done.returncode == 0, done.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["channel", "model", "conversions", "conversion_value"]
    assert set(out["model"]) == {
        "first_touch",
        "last_touch",
        "linear",
        "position_based",
        "markov_1",
        "markov_2",
        "markov_3",
        "shapley",
    }
    assert len(out) == 3 * 8
    shapley = out[out["model"] == "shapley"].set_index("channel")["conversions"]
    assert shapley.to_dict() == pytest.approx({"a": 7.0, "b": 3.0, "c": 0.0})
    assert out.groupby("model")["conversions"].sum().to_numpy() == pytest.approx(np.full(8, 10.0))


def test_budget_round_trip_spends_the_budget_and_adds_a_total_row(tmp_path: Path) -> None:
    source = tmp_path / "hist.csv"
    budget_history().to_csv(source, index=False)

    done = run_cli(
        "budget",
        "--input",
        str(source),
        "--date-column",
        "date",
        "--target",
        "revenue",
        "--channels",
        "search,social",
        "--controls",
        "holiday",
        "--budget",
        "1000",
        "--bootstrap",
        "4",
        "--output",
        str(tmp_path / "out.csv"),
    )

    assert done.returncode == 0, done.stderr
    out = pd.read_csv(tmp_path / "out.csv").set_index("channel")
    assert list(out.columns[:2]) == ["spend", "expected_outcome"]
    assert list(out.index) == ["search", "social", "total"]
    assert out.loc[["search", "social"], "spend"].sum() == pytest.approx(1000.0)
    assert out.loc["total", "spend"] == pytest.approx(1000.0)
    assert out.loc["search", "spend"] > 200  # under-funded on the true curves, so it gains budget


def test_budget_lift_tests_file_calibrates_the_plan(tmp_path: Path) -> None:
    source = tmp_path / "hist.csv"
    budget_history().to_csv(source, index=False)
    # an experiment that says search adds far less than its history suggests: the plan must cut it
    tests = tmp_path / "tests.csv"
    tests.write_text("channel,spend_before,spend_after,lift,lift_sd\nsearch,200,300,1,0.5\n")
    common = [
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
        "1000",
        "--bootstrap",
        "4",
    ]

    plain = run_cli(*common, "--output", str(tmp_path / "plain.csv"))
    calibrated = run_cli(*common, "--lift-tests", str(tests), "--output", str(tmp_path / "calibrated.csv"))

    assert plain.returncode == 0, plain.stderr
    assert calibrated.returncode == 0, calibrated.stderr
    before = pd.read_csv(tmp_path / "plain.csv").set_index("channel")
    after = pd.read_csv(tmp_path / "calibrated.csv").set_index("channel")
    assert after.loc[["search", "social"], "spend"].sum() == pytest.approx(1000.0)
    assert after.loc["search", "spend"] < before.loc["search", "spend"] - 50


def budget_args(folder: Path) -> list[str]:
    return [
        "budget",
        "--input",
        write(folder, "b.csv", budget_history().to_csv(index=False)),
        "--date-column",
        "date",
        "--target",
        "revenue",
        "--channels",
        "search,social",
        "--budget",
        "100",
        "--bootstrap",
        "2",
        "--output",
        str(folder / "o.csv"),
    ]


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


BAD_INPUTS = {
    "missing file": (
        lambda d: ["anomalies", "--input", str(d / "nope.csv"), "--output", str(d / "o.csv")],
        "not found",
    ),
    "empty file": (
        lambda d: ["forecast", "--input", write(d, "e.csv", ""), "--horizon", "7", "--output", str(d / "o.csv")],
        "empty",
    ),
    "header only": (
        lambda d: [
            "attribution",
            "--input",
            write(d, "h.csv", "path,total_conversions,total_conversion_value,total_null\n"),
            "--output",
            str(d / "o.csv"),
        ],
        "no data rows",
    ),
    "missing column": (
        lambda d: ["anomalies", "--input", write(d, "m.csv", "timestamp\n2024-01-01\n"), "--output", str(d / "o.csv")],
        "missing column(s): value",
    ),
    "non-numeric value": (
        lambda d: [
            "anomalies",
            "--input",
            write(d, "n.csv", "timestamp,value\n2024-01-01,1\n2024-01-02,abc\n2024-01-03,3\n"),
            "--output",
            str(d / "o.csv"),
        ],
        "non-numeric value in data row 2: 'abc'",
    ),
    "bad date": (
        lambda d: [
            "anomalies",
            "--input",
            write(d, "d.csv", "timestamp,value\n2024-01-01,1\n2024-13-45,2\n2024-01-03,3\n"),
            "--output",
            str(d / "o.csv"),
        ],
        "invalid date in data row 2",
    ),
    "missing value": (
        lambda d: [
            "anomalies",
            "--input",
            write(d, "u.csv", "timestamp,value\n2024-01-01,1\n2024-01-01,\n2024-01-03,3\n"),
            "--output",
            str(d / "o.csv"),
        ],
        "non-numeric value in data row 2: ''",
    ),
    "missing timestamp": (
        lambda d: [
            "anomalies",
            "--input",
            write(d, "w.csv", "timestamp,value\n2024-01-01,1\n,2\n2024-01-03,3\n"),
            "--output",
            str(d / "o.csv"),
        ],
        "invalid date in data row 2",
    ),
    "too little history for a forecast": (
        lambda d: [
            "forecast",
            "--input",
            write(d, "t.csv", "ds,y\n" + "".join(f"2024-01-0{i},{i}\n" for i in range(1, 6))),
            "--horizon",
            "7",
            "--output",
            str(d / "o.csv"),
        ],
        "need at least",
    ),
    "bad horizon": (
        lambda d: [
            "forecast",
            "--input",
            write(d, "z.csv", "ds,y\n2024-01-01,1\n"),
            "--horizon",
            "0",
            "--output",
            str(d / "o.csv"),
        ],
        "--horizon must be between 1 and 366",
    ),
    "negative conversions": (
        lambda d: [
            "attribution",
            "--input",
            write(d, "p.csv", "path,total_conversions,total_conversion_value,total_null\na,-1,0,0\n"),
            "--output",
            str(d / "o.csv"),
        ],
        "negative value",
    ),
    "unknown channel": (
        lambda d: [
            "budget",
            "--input",
            write(d, "b.csv", budget_history().to_csv(index=False)),
            "--date-column",
            "date",
            "--target",
            "revenue",
            "--channels",
            "search,tv",
            "--budget",
            "100",
            "--output",
            str(d / "o.csv"),
        ],
        "unknown channel/control column(s)",
    ),
    "negative budget": (
        lambda d: [
            "budget",
            "--input",
            write(d, "b.csv", budget_history().to_csv(index=False)),
            "--date-column",
            "date",
            "--target",
            "revenue",
            "--channels",
            "search,social",
            "--budget",
            "-5",
            "--output",
            str(d / "o.csv"),
        ],
        "--budget must be a number greater than zero",
    ),
    "too little history for a budget": (
        lambda d: [
            "budget",
            "--input",
            write(d, "b.csv", budget_history(days=6).to_csv(index=False)),
            "--date-column",
            "date",
            "--target",
            "revenue",
            "--channels",
            "search,social",
            "--budget",
            "100",
            "--output",
            str(d / "o.csv"),
        ],
        "need at least",
    ),
    "missing argument": (lambda d: ["budget", "--input", "x.csv"], "the following arguments are required"),
    "lift test on an unknown channel": (
        lambda d: [
            *budget_args(d),
            "--lift-tests",
            write(d, "t.csv", "channel,spend_before,spend_after,lift,lift_sd\ntv,100,150,40,5\n"),
        ],
        "names channel 'tv', which is not in --channels",
    ),
    "lift test without lift_sd": (
        lambda d: [*budget_args(d), "--lift-tests", write(d, "t.csv", "channel,spend_before,spend_after,lift\n")],
        "missing column(s): lift_sd",
    ),
    "lift test that changed nothing": (
        lambda d: [
            *budget_args(d),
            "--lift-tests",
            write(d, "t.csv", "channel,spend_before,spend_after,lift,lift_sd\nsearch,100,100,40,5\n"),
        ],
        "spend_before and spend_after are equal",
    ),
    "lift test with a zero standard error": (
        lambda d: [
            *budget_args(d),
            "--lift-tests",
            write(d, "t.csv", "channel,spend_before,spend_after,lift,lift_sd\nsearch,100,150,40,0\n"),
        ],
        "lift_sd must be greater than 0",
    ),
}


# The kinds of bad input the CLI contract names run in a real interpreter; the other cases go
# through the same entry point in-process, which keeps the suite fast on two cores.
SUBPROCESS_CASES = [
    "missing file",
    "empty file",
    "missing column",
    "non-numeric value",
    "bad date",
    "too little history for a forecast",
    "unknown channel",
    "negative budget",
]


@pytest.fixture(scope="module")
def bad_input_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, Path]]:
    """Run every subprocess case once, two at a time: each is a separate interpreter start."""
    folders = {case: tmp_path_factory.mktemp("bad") for case in SUBPROCESS_CASES}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {case: pool.submit(run_cli, *BAD_INPUTS[case][0](folders[case])) for case in SUBPROCESS_CASES}
        done = {case: future.result() for case, future in futures.items()}
    return {case: (result.returncode, result.stderr, folders[case]) for case, result in done.items()}


def check_one_line_error(returncode: int, stderr: str, folder: Path, expected: str) -> None:
    assert returncode == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in stderr
    assert not (folder / "o.csv").exists()


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_bad_input_exits_2_with_one_clear_line_and_no_traceback(
    bad_input_runs: dict[str, tuple[int, str, Path]], case: str
) -> None:
    returncode, stderr, folder = bad_input_runs[case]

    check_one_line_error(returncode, stderr, folder, BAD_INPUTS[case][1])


@pytest.mark.parametrize("case", [c for c in BAD_INPUTS if c not in SUBPROCESS_CASES])
def test_other_bad_input_returns_2_with_one_clear_line(tmp_path: Path, case: str) -> None:
    lines: list[str] = []

    returncode = main(BAD_INPUTS[case][0](tmp_path), stderr=lines.append)

    check_one_line_error(returncode, "\n".join(lines), tmp_path, BAD_INPUTS[case][1])


def test_the_models_import_and_run_without_django() -> None:
    code = (
        "import sys, importlib\n"
        "for m in ('insights.ml', 'insights.ml.anomaly', 'insights.ml.forecasting', 'insights.ml.attribution',"
        " 'insights.ml.response', 'insights.ml.budget', 'insights.ml.cli'):\n"
        "    importlib.import_module(m)\n"
        "assert not any(name == 'django' or name.startswith('django.') for name in sys.modules), 'django imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
