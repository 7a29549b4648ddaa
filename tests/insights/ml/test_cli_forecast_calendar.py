"""`python -m insights.ml forecast` with --country and --events, and its bad-input answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.insights.ml.test_cli import run_cli
from tests.insights.ml.test_forecast_calendar import yearly_series


def write_series(path: Path, series: pd.Series) -> Path:
    pd.DataFrame({"ds": series.index.strftime("%Y-%m-%d"), "y": series.round(3).to_numpy()}).to_csv(path, index=False)
    return path


def test_country_and_events_shape_the_forecast_days(tmp_path: Path) -> None:
    history = yearly_series(years=2.9, noise=0.03)[: pd.Timestamp("2023-11-20")]
    source = write_series(tmp_path / "in.csv", history)
    events = tmp_path / "events.csv"
    events.write_text("name,start,end\n" + "".join(f"autumn sale,{y}-11-24,{y}-11-26\n" for y in (2021, 2022, 2023)))

    plain = run_cli("forecast", "--input", str(source), "--horizon", "10", "--output", str(tmp_path / "plain.csv"))
    done = run_cli(
        "forecast", "--input", str(source), "--horizon", "10", "--output", str(tmp_path / "out.csv"),
        "--country", "US", "--events", str(events),
    )  # fmt: skip

    assert plain.returncode == 0 and done.returncode == 0, done.stderr
    assert done.stderr == ""
    out = pd.read_csv(tmp_path / "out.csv").set_index("ds")
    base = pd.read_csv(tmp_path / "plain.csv").set_index("ds")
    assert list(out.columns) == ["yhat", "yhat_lower", "yhat_upper"]
    assert out.loc["2023-11-23", "yhat"] < 0.8 * base.loc["2023-11-23", "yhat"]  # Thanksgiving
    assert out.loc["2023-11-25", "yhat"] > 1.4 * base.loc["2023-11-25", "yhat"]  # the sale
    assert ((out["yhat_lower"] <= out["yhat"]) & (out["yhat"] <= out["yhat_upper"])).all()


def test_unordered_rows_with_gaps_are_forecast_with_a_warning(tmp_path: Path) -> None:
    series = yearly_series(years=0.5)
    shuffled = series.drop(series.index[[50, 51, 52]]).sample(frac=1.0, random_state=0)
    source = write_series(tmp_path / "in.csv", shuffled)

    done = run_cli("forecast", "--input", str(source), "--horizon", "7", "--output", str(tmp_path / "out.csv"))

    assert done.returncode == 0
    assert done.stderr.strip().splitlines() == ["warning: 3 missing period(s) in the history were skipped"]
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["ds"].iloc[0] == (series.index[-1] + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    assert np.isfinite(out[["yhat", "yhat_lower", "yhat_upper"]].to_numpy()).all()


def test_an_all_zero_series_is_forecast_as_zero_with_a_warning(tmp_path: Path) -> None:
    series = pd.Series(0.0, index=pd.date_range("2024-01-01", periods=60, freq="D"))
    source = write_series(tmp_path / "in.csv", series)

    done = run_cli("forecast", "--input", str(source), "--horizon", "7", "--output", str(tmp_path / "out.csv"))

    assert done.returncode == 0 and "all zero" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert (pd.read_csv(tmp_path / "out.csv")[["yhat", "yhat_lower", "yhat_upper"]] == 0).all().all()


@pytest.mark.parametrize(
    ("extra", "events_text", "message"),
    [
        (["--country", "XX"], None, "error: unknown holiday country 'XX'"),
        (["--country", "US-ZZ"], None, "error: unknown subdivision 'ZZ'"),
        ([], "name,start\nsale,2024-02-30\n", "has an invalid date: '2024-02-30'"),
        ([], "title,start\nsale,2024-02-03\n", "missing column(s): name"),
        ([], "name,start,end\nsale,2024-02-05,2024-02-01\n", "error: event 'sale' ends before it starts"),
        ([], "name,start\n,2024-02-05\n", "data row 1 has an empty name"),
    ],
)
def test_bad_country_or_events_exit_2_with_one_line(
    tmp_path: Path, extra: list[str], events_text: str | None, message: str
) -> None:
    source = write_series(tmp_path / "in.csv", yearly_series(years=0.3))
    args = ["forecast", "--input", str(source), "--horizon", "7", "--output", str(tmp_path / "out.csv"), *extra]
    if events_text is not None:
        (tmp_path / "events.csv").write_text(events_text)
        args += ["--events", str(tmp_path / "events.csv")]

    done = run_cli(*args)

    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not (tmp_path / "out.csv").exists()


def test_repeated_dates_in_a_forecast_input_exit_2_with_one_line(tmp_path: Path) -> None:
    series = yearly_series(years=0.3)
    table = pd.DataFrame({"ds": series.index.strftime("%Y-%m-%d"), "y": series.to_numpy()})
    table = pd.concat([table, table.iloc[[40]]])
    table.to_csv(tmp_path / "in.csv", index=False)

    done = run_cli(
        "forecast", "--input", str(tmp_path / "in.csv"), "--horizon", "7", "--output", str(tmp_path / "o.csv")
    )

    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"error: column ds repeats the date {series.index[40]}"
    ]
