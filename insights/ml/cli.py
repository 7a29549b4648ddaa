"""Command line for the insight models: ``python -m insights.ml <command>``.

This interface is how the models are evaluated, so it is kept stable::

    anomalies   --input IN.csv --output OUT.csv                (timestamp,value -> +anomaly_score)
    forecast    --input IN.csv --horizon H --output OUT.csv    (ds,y -> ds,yhat,yhat_lower,yhat_upper; 95%)
                [--country US] [--events EVENTS.csv]           (holidays; events: name,start[,end])
    attribution --input PATHS.csv --output OUT.csv             (paths -> channel,model,conversions,conversion_value)
    budget      --input HIST.csv --date-column C --target T --channels a,b [--controls k] --budget B --output OUT.csv
                [--lift-tests TESTS.csv]                       (experiments: channel,spend_before,spend_after,lift,lift_sd)
                [--bounds BOUNDS.csv] [--min CH=V] [--max CH=V] (spend per period: channel,min,max; flags repeat)
                [--country US] [--events EVENTS.csv]           (holidays and events in the baseline)

Any problem with the input ends the process with exit status 2 and one line on stderr that
says what is wrong; no traceback is ever shown to the caller.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import numpy as np
import pandas as pd

from insights.ml.errors import InputError

if TYPE_CHECKING:
    from insights.ml.response import LiftTest

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line (exit 2) instead of a usage block."""

    def error(self, message: str) -> NoReturn:
        raise InputError(message)


# --------------------------------------------------------------------------- reading


def read_table(path: str, required: Sequence[str]) -> pd.DataFrame:
    """Read a CSV and check the required columns are there, with one-line errors."""
    file = Path(path)
    if not file.exists():
        raise InputError(f"input file not found: {path}")
    if not file.is_file():
        raise InputError(f"input is not a file: {path}")
    try:
        table = pd.read_csv(file, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"input file is empty: {path}") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"could not read {path} as CSV: {first_line}") from exc
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(f"{path}: missing column(s): {', '.join(missing)}")
    if table.empty:
        raise InputError(f"{path}: no data rows")
    return table


def parse_numbers(table: pd.DataFrame, column: str) -> pd.Series:
    """Column as floats; the first non-numeric cell is named in the error."""
    raw = table[column].astype(str).str.strip()
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() | ~np.isfinite(values.fillna(0.0).to_numpy(dtype=float))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"column {column} has a non-numeric value in data row {row + 1}: {raw.iloc[row]!r}")
    return values.astype(float)


def parse_dates(table: pd.DataFrame, column: str) -> pd.DatetimeIndex:
    """Column as timestamps; the first unparseable cell is named in the error."""
    raw = table[column].astype(str).str.strip()
    try:
        parsed = pd.to_datetime(raw)
    except (ValueError, TypeError, OverflowError):
        try:
            parsed = pd.to_datetime(raw, format="mixed")
        except (ValueError, TypeError, OverflowError):
            parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
    index = pd.DatetimeIndex(parsed)
    if index.isna().any():
        row = int(np.flatnonzero(index.isna())[0])
        raise InputError(f"column {column} has an invalid date in data row {row + 1}: {raw.iloc[row]!r}")
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return index


def _unique_dates(index: pd.DatetimeIndex, column: str) -> None:
    """Forecast and budget inputs are one row per period: a repeat there is a mistake in the file."""
    if index.has_duplicates:
        duplicate = index[index.duplicated()][0]
        raise InputError(f"column {column} repeats the date {duplicate}")


def distinct_stamps(index: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Repeated timestamps made distinct, and the timestamps that repeated.

    Real feeds repeat timestamps (a re-delivered bucket, a clock change). Each repeat moves on by
    as many nanoseconds as it has earlier twins: far less than any sampling step, so the grid
    still puts it in its own period (where repeats are averaged), yet every row keeps a key of
    its own and gets its own score back in input order.
    """
    occurrence = pd.Series(np.arange(len(index))).groupby(index.asi8).cumcount().to_numpy()
    repeated = index[occurrence > 0].unique()
    return index + pd.to_timedelta(occurrence, unit="ns"), repeated


def _write(frame: pd.DataFrame, path: str) -> None:
    target = Path(path)
    if not target.parent.exists():
        raise InputError(f"output directory does not exist: {target.parent}")
    frame.to_csv(target, index=False)


# --------------------------------------------------------------------------- commands
# Each command imports its model inside the function: the CLI starts (and answers --help)
# without loading every model's numpy/scipy/scikit-learn stack.


def run_anomalies(args: argparse.Namespace) -> None:
    from insights.ml.anomaly import score_series

    table = read_table(args.input, ["timestamp", "value"])
    stamps = parse_dates(table, "timestamp")
    values = parse_numbers(table, "value")
    if len(values) < 3:
        raise InputError("need at least 3 rows to score anomalies")
    keys, repeated = distinct_stamps(stamps)
    if len(repeated):
        args.warn(
            f"warning: column timestamp repeats {len(repeated)} timestamp(s), first {repeated[0]}; "
            "every row is scored, repeated periods as their average"
        )
    scored = score_series(pd.Series(values.to_numpy(), index=keys))
    for warning in _anomaly_input_warnings(keys, values, scored):
        args.warn(f"warning: {warning}")
    scores = scored["alert_score"].reindex(keys).to_numpy()
    out = pd.DataFrame({"timestamp": table["timestamp"], "value": table["value"], "anomaly_score": scores})
    _write(out, args.output)


def _anomaly_input_warnings(keys: pd.DatetimeIndex, values: pd.Series, scored: pd.DataFrame) -> list[str]:
    """What the caller should know about a series that was still scored (never an error)."""
    from insights.ml.timeseries import infer_sampling, regular_grid

    out = []
    if not keys.is_monotonic_increasing:
        out.append("timestamps are not in order: rows are scored in time order and written in input order")
    series = pd.Series(values.to_numpy(dtype=float), index=keys).sort_index()
    grid, _ = regular_grid(series, infer_sampling(pd.DatetimeIndex(series.index)))
    missing = int(grid.isna().sum())
    if missing:
        out.append(f"{missing} missing period(s) between the timestamps are skipped (not read as zero)")
    numbers = values.to_numpy(dtype=float)
    if np.all(numbers == numbers[0]):
        which = "all zero" if numbers[0] == 0 else "constant"
        out.append(f"the series is {which}: nothing in it can be anomalous, every score is 0")
    warm_up = int(scored["expected"].isna().sum())
    if warm_up == len(scored):
        out.append(f"all {warm_up} rows fall in the warm-up (too little history to judge): every score is 0")
    elif warm_up > len(scored) // 4:  # a short warm-up at the start is normal and not worth a line
        out.append(f"the first {warm_up} row(s) are the warm-up (too little history to judge): scored 0")
    return out


def run_forecast(args: argparse.Namespace) -> None:
    from insights.ml.forecasting import forecast

    table = read_table(args.input, ["ds", "y"])
    stamps = parse_dates(table, "ds")
    values = parse_numbers(table, "y")
    _unique_dates(stamps, "ds")
    events = []
    if args.events:
        from insights.ml.calendar import read_events

        events = read_events(read_table(args.events, ["name", "start"]), args.events)
    result = forecast(pd.Series(values.to_numpy(), index=stamps), args.horizon, country=args.country, events=events)
    for warning in result.attrs.get("warnings", []):
        args.warn(f"warning: {warning}")
    out = pd.DataFrame(
        {
            "ds": result["ds"].dt.strftime("%Y-%m-%d")
            if (result["ds"] == result["ds"].dt.normalize()).all()
            else result["ds"],
            "yhat": result["yhat"],
            "yhat_lower": result["yhat_lower_95"],
            "yhat_upper": result["yhat_upper_95"],
        }
    )
    _write(out, args.output)


def run_attribution(args: argparse.Namespace) -> None:
    from insights.ml.attribution import attribute

    columns = ["path", "total_conversions", "total_conversion_value", "total_null"]
    table = read_table(args.input, columns)
    for column in columns[1:]:
        numbers = parse_numbers(table, column)
        if (numbers < 0).any():
            row = int(np.flatnonzero((numbers < 0).to_numpy())[0]) + 1
            raise InputError(f"column {column} has a negative value in data row {row}")
        table[column] = numbers
    empty = table["path"].astype(str).str.strip() == ""
    if empty.any():
        raise InputError(f"data row {int(np.flatnonzero(empty.to_numpy())[0]) + 1} has an empty path")
    _write(attribute(table, half_life_days=args.half_life_days), args.output)


def _names(raw: str | None, what: str) -> list[str]:
    if raw is None:
        return []
    names = [n.strip() for n in raw.split(",")]
    if any(not n for n in names):
        raise InputError(f"--{what} has an empty name")
    if len(set(names)) != len(names):
        raise InputError(f"--{what} names a column twice")
    return names


def run_budget(args: argparse.Namespace) -> None:
    from insights.ml.budget import plan_budget

    channels = _names(args.channels, "channels")
    if not channels:
        raise InputError("--channels needs at least one channel")
    controls = _names(args.controls, "controls")
    if args.budget <= 0 or not np.isfinite(args.budget):
        raise InputError(f"--budget must be a number greater than zero, got {args.budget:g}")
    table = read_table(args.input, [args.date_column, args.target])
    unknown = [c for c in channels + controls if c not in table.columns]
    if unknown:
        raise InputError(f"unknown channel/control column(s) in {args.input}: {', '.join(unknown)}")
    if args.target in channels or args.target in controls:
        raise InputError("the target column cannot also be a channel or control")
    dates = parse_dates(table, args.date_column)
    _unique_dates(dates, args.date_column)
    history = pd.DataFrame({c: parse_numbers(table, c).to_numpy() for c in [args.target, *channels, *controls]})
    history.index = dates
    history = history.sort_index()
    lift_tests = read_lift_tests(args.lift_tests, channels) if args.lift_tests else []
    bounds = read_bounds(args, channels)
    events = []
    if args.events:
        from insights.ml.calendar import read_events

        events = read_events(read_table(args.events, ["name", "start"]), args.events)
    plan = plan_budget(
        history,
        target=args.target,
        channels=channels,
        controls=controls,
        budget=args.budget,
        bootstrap=args.bootstrap,
        seed=args.seed,
        lift_tests=lift_tests,
        bounds=bounds,
        country=args.country,
        events=events,
    )
    for warning in plan.warnings:
        args.warn(f"warning: {warning}")
    _write(plan.table, args.output)


BOUNDS_COLUMNS = ["channel", "min", "max"]


def read_bounds(args: argparse.Namespace, channels: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Per-channel (min, max) spend per period from ``--bounds FILE`` and ``--min/--max CH=V``.

    A flag overrides the file for its side; a side nobody set stays at its default (0 for the
    minimum, the largest past spend, scaled with the budget, for the maximum) - the model fills
    those in, so only complete pairs are returned here, with ``nan`` for "default"."""
    lows: dict[str, float] = {}
    highs: dict[str, float] = {}
    if args.bounds:
        table = read_table(args.bounds, ["channel"])
        if "min" not in table.columns and "max" not in table.columns:
            raise InputError(f"{args.bounds}: needs a min or a max column (channel,min,max)")
        names = table["channel"].astype(str).str.strip()
        seen: set[str] = set()
        for row, channel in enumerate(names, start=1):
            if channel not in channels:
                raise InputError(f"{args.bounds}: data row {row} names channel {channel!r}, which is not in --channels")
            if channel in seen:
                raise InputError(f"{args.bounds}: channel {channel} has two rows")
            seen.add(channel)
            for side, into in (("min", lows), ("max", highs)):
                if side in table.columns and str(table[side].iloc[row - 1]).strip():
                    into[channel] = _bound_value(
                        str(table[side].iloc[row - 1]), f"{args.bounds}: data row {row} {side}"
                    )
    for side, flags, into in (("min", args.min or [], lows), ("max", args.max or [], highs)):
        for flag in flags:
            channel, sep, raw = flag.partition("=")
            channel = channel.strip()
            if not sep or not channel:
                raise InputError(f"--{side} needs CHANNEL=VALUE, got {flag!r}")
            if channel not in channels:
                raise InputError(f"--{side} names channel {channel!r}, which is not in --channels")
            into[channel] = _bound_value(raw, f"--{side} {channel}")
    out = {}
    for channel in channels:
        if channel in lows or channel in highs:
            low, high = lows.get(channel, 0.0), highs.get(channel, np.nan)
            if np.isfinite(high) and high < low:
                raise InputError(f"channel {channel}: max {high:g} is below min {low:g}")
            out[channel] = (low, high)
    return out


def _bound_value(raw: str, where: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError as exc:
        raise InputError(f"{where} is not a number: {raw.strip()!r}") from exc
    if not np.isfinite(value) or value < 0:
        raise InputError(f"{where} must be zero or more, got {raw.strip()!r}")
    return value


LIFT_TEST_COLUMNS = ["channel", "spend_before", "spend_after", "lift", "lift_sd"]


def read_lift_tests(path: str, channels: Sequence[str]) -> list[LiftTest]:
    """Experiment results (one row per test; spends and lift per period) for calibration."""
    from insights.ml.response import LiftTest

    table = read_table(path, LIFT_TEST_COLUMNS)
    numbers = {c: parse_numbers(table, c).to_numpy() for c in LIFT_TEST_COLUMNS[1:]}
    tests = []
    for row, channel in enumerate(table["channel"].astype(str).str.strip()):
        if channel not in channels:
            raise InputError(f"{path}: data row {row + 1} names channel {channel!r}, which is not in --channels")
        tests.append(LiftTest(channel, *(float(numbers[c][row]) for c in LIFT_TEST_COLUMNS[1:])))
    return tests


# --------------------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m insights.ml", description="Bosco insight models")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    anomalies = commands.add_parser("anomalies", help="causal anomaly scores for timestamp,value")
    anomalies.add_argument("--input", required=True)
    anomalies.add_argument("--output", required=True)
    anomalies.set_defaults(run=run_anomalies)

    fc = commands.add_parser("forecast", help="forecast ds,y with a 95%% band")
    fc.add_argument("--input", required=True)
    fc.add_argument("--horizon", required=True, type=int)
    fc.add_argument("--output", required=True)
    fc.add_argument("--country", help="public holidays of this country (daily data), e.g. US, DE, FR, US-CA")
    fc.add_argument("--events", help="CSV of workspace events (daily data): name,start[,end] as YYYY-MM-DD")
    fc.set_defaults(run=run_forecast)

    attribution = commands.add_parser("attribution", help="multi-touch attribution of conversion paths")
    attribution.add_argument("--input", required=True)
    attribution.add_argument("--output", required=True)
    attribution.add_argument("--half-life-days", type=float, default=7.0)
    attribution.set_defaults(run=run_attribution)

    budget = commands.add_parser("budget", help="fit response curves and split a budget")
    budget.add_argument("--input", required=True)
    budget.add_argument("--date-column", required=True)
    budget.add_argument("--target", required=True)
    budget.add_argument("--channels", required=True)
    budget.add_argument("--controls")
    budget.add_argument("--budget", required=True, type=float)
    budget.add_argument("--output", required=True)
    budget.add_argument("--bootstrap", type=int, default=30, help="refits for the uncertainty band")
    budget.add_argument("--seed", type=int, default=0)
    budget.add_argument(
        "--lift-tests",
        help="CSV of experiment results to calibrate the curves: channel,spend_before,spend_after,lift,lift_sd",
    )
    budget.add_argument("--bounds", help="CSV of spend bounds per period: channel,min,max (an empty cell = default)")
    budget.add_argument("--min", action="append", metavar="CH=V", help="a channel's minimum spend per period")
    budget.add_argument("--max", action="append", metavar="CH=V", help="a channel's maximum spend per period")
    budget.add_argument("--country", help="public holidays of this country in the baseline, e.g. US, DE")
    budget.add_argument("--events", help="CSV of workspace events in the baseline: name,start[,end]")
    budget.set_defaults(run=run_budget)
    return parser


def main(argv: Sequence[str] | None = None, *, stderr: Callable[[str], object] | None = None) -> int:
    """Run one command; return the exit status (0 ok, 2 bad input, 1 internal error)."""
    say = stderr or (lambda line: print(line, file=sys.stderr))
    try:
        with warnings.catch_warnings():
            # library warnings (date-format inference, all-NaN warm-up slices) are not the
            # caller's business and would break the one-line error contract
            warnings.simplefilter("ignore")
            args = build_parser().parse_args(argv)
            args.warn = say
            return _run(args)
    except InputError as exc:
        say(f"error: {_one_line(str(exc))}")
        return EXIT_BAD_INPUT
    except MemoryError:
        say("error: not enough memory for this input")
        return EXIT_INTERNAL
    except Exception as exc:  # a bug must still not dump a traceback on the caller
        say(f"error: internal error ({type(exc).__name__}): {_one_line(str(exc))}")
        return EXIT_INTERNAL


def _run(args: argparse.Namespace) -> int:
    if args.command == "forecast" and not 1 <= args.horizon <= 366:
        raise InputError(f"--horizon must be between 1 and 366, got {args.horizon}")
    args.run(args)
    return 0


def _one_line(message: str) -> str:
    return " ".join(message.split())
