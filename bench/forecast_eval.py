"""Forecast benchmark: Bosco against seasonal naive, ETS, Prophet and statsforecast.

    python bench/forecast_eval.py [--quick] [--data-dir DIR] [--no-competitors]

On every daily series of the reference data (``../shared/data``; see ``daily_series``) and
on synthetic series with a known yearly cycle and holidays: rolling origins one week apart
(52, or as many as the series allows after 28 days of history; ``--quick``: the last 5, and one synthetic series), horizon 7.
At each origin every model is refitted on the history up to it. MASE is the mean absolute
error over the 7 days divided by the in-sample seasonal-naive (period 7) error up to the
origin; coverage is the share of actuals inside the 95% band.

Models:
* ``bosco``          - ``insights.ml.forecasting.forecast`` (the product's model, with the
                       country's holidays where the series has a known country)
* ``bosco_ets``      - the previous product model (ETS(A,Ad,A), no year, no holidays)
* ``seasonal_naive`` - the last week repeated (no band)
* ``Prophet``, ``AutoETS``, ``AutoARIMA``, ``MSTL`` - reference competitors, computed in a
  separate virtualenv (``var/bench-venv``, created on first use with pip) by
  ``bench/forecast_competitors.py``; they are NOT product dependencies. Their forecasts are
  cached in ``var/forecast_competitors_{full,quick}.json`` keyed by the job, so a rerun (and
  ``--quick``) reuses them; the bench says when a figure comes from the cache. If the
  virtualenv cannot be made, the bench says the competitors are unavailable and goes on.

Goals: Bosco's MASE below Prophet's on each series; 95% coverage in 0.93-0.97 on each real
series (full run only) and over all their origins together. Prints every figure, then one line of JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from insights.ml.forecasting import forecast, mase_scale, seasonal_naive  # noqa: E402 - needs the repo on sys.path

HORIZON = 7
MIN_HISTORY = 28
QUICK_ORIGINS = 5
BENCH_VENV = REPO / "var" / "bench-venv"
COMPETITOR_PACKAGES = ("prophet", "statsforecast")
COMPETITORS = ("Prophet", "AutoETS", "AutoARIMA", "MSTL")
COVERAGE_BAND = (0.93, 0.97)  # goal for the 95% band, on each real series and pooled over them


# =========================================================================== data


def daily_series(data: Path) -> dict[str, tuple[pd.Series, str | None, str]]:
    """Every daily series in the reference data: key -> (series, holiday country, description)."""
    out: dict[str, tuple[pd.Series, str | None, str]] = {}
    wp = pd.read_csv(data / "forecast" / "example_wp_log_R.csv", parse_dates=["ds"]).sort_values("ds")
    out["wp_log_R"] = (
        pd.Series(wp["y"].to_numpy(dtype=float), index=pd.DatetimeIndex(wp["ds"])),
        "US",
        "Wikipedia page views of R (log), 2008-2015",
    )
    taxi = pd.read_csv(data / "nab" / "nyc_taxi.csv", parse_dates=["timestamp"])
    per_day = taxi.set_index("timestamp")["value"].resample("D").sum()
    out["nyc_taxi_daily"] = (per_day.astype(float), "US", "NYC taxi passengers per day (NAB file summed), 2014-15")
    cred = pd.read_csv(data / "mmm" / "credibility_mmm_input_data.csv", parse_dates=["date"])
    out["credibility_sales"] = (
        pd.Series(cred["y"].to_numpy(dtype=float), index=pd.DatetimeIndex(cred["date"])),
        None,
        "daily sales of the credibility media-mix set, 120 days",
    )
    return out


def synthetic_series(seed: int) -> tuple[pd.Series, str]:
    """Three years of daily conversions: trend with a changepoint, weekly and yearly cycles,
    US holidays (-40% on the day) and a yearly sale (+60% for 3 days in late November),
    multiplicative log-normal noise."""
    import holidays

    rng = np.random.default_rng(seed)
    days = pd.date_range("2021-01-04", periods=3 * 365 + 60, freq="D")
    t = np.arange(days.size) / 365.25
    trend = 0.15 * t - 0.25 * np.maximum(t - 2.0, 0)
    weekly = np.array([0.05, 0.08, 0.06, 0.04, 0.0, -0.12, -0.11])[days.day_of_week]
    doy = 2 * np.pi * days.day_of_year.to_numpy() / 365.25
    yearly = 0.25 * np.sin(doy) + 0.1 * np.cos(2 * doy)
    calendar = holidays.country_holidays("US", years=range(2021, 2025))
    hol = np.array([-0.4 if d.date() in calendar else 0.0 for d in days])
    sale = np.array([0.6 if (d.month == 11 and 24 <= d.day <= 26) else 0.0 for d in days])
    noise = rng.normal(0, 0.08, days.size)
    values = 500 * np.exp(trend + weekly + yearly + hol + sale + noise)
    return pd.Series(np.round(values), index=days), "US"


def on_grid(series: pd.Series) -> pd.Series:
    series = series.groupby(level=0).mean().sort_index()
    return series.reindex(pd.date_range(series.index[0], series.index[-1], freq="D"))


def origins_for(n: int, count: int) -> list[int]:
    last = n - 1 - HORIZON
    return sorted(c for c in (last - 7 * k for k in range(count)) if c >= MIN_HISTORY - 1)


# =========================================================================== competitors


def _bench_python() -> Path | None:
    python = BENCH_VENV / "bin" / "python"
    if python.exists():
        return python
    print(f"  creating {BENCH_VENV} and installing {', '.join(COMPETITOR_PACKAGES)} (one-off) ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True, capture_output=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *COMPETITOR_PACKAGES], check=True, capture_output=True
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"  competitors unavailable: could not build the bench virtualenv ({exc})", flush=True)
        return None
    return python


def series_digest(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps([spec["ds"], spec["y"]]).encode()).hexdigest()[:16]


Forecasts = dict[str, dict[str, dict[int, tuple[list[float], list[float], list[float]]]]]  # key -> model -> cut


def _from_cache(job: dict[str, Any]) -> tuple[Forecasts, set[str]]:
    """Every cached competitor forecast for the job's series (same data) and origins.

    Cache files: ``var/forecast_competitors_*.json``, one per competitor run. The quick run's
    origins are the last ones of the full run, so it reuses the full run's forecasts."""
    found: Forecasts = {}
    sources: set[str] = set()
    for cache in sorted((REPO / "var").glob("forecast_competitors_*.json")):
        stored = json.loads(cache.read_text())
        for key, spec in job["series"].items():
            have = stored.get("series", {}).get(key)
            if not have or have["digest"] != series_digest(spec) or key not in stored["result"]:
                continue
            wanted = set(spec["cuts"])
            for name, fc in stored["result"][key].items():
                slot = found.setdefault(key, {}).setdefault(name, {})
                for i, cut in enumerate(have["cuts"]):
                    if cut in wanted and cut not in slot:
                        slot[cut] = (fc["yhat"][i], fc["lo95"][i], fc["hi95"][i])
                        sources.add(f"{cache.name} ({stored['when']})")
    return found, sources


def competitor_forecasts(
    job: dict[str, Any], models: Sequence[str], tag: str, budget: float | None = None
) -> tuple[Forecasts, str]:
    """Competitors' forecasts for the job: from the cache, running ``models`` where missing."""
    found, sources = _from_cache(job)
    missing = {
        key: spec
        for key, spec in job["series"].items()
        if any(set(spec["cuts"]) - set(found.get(key, {}).get(m, {})) for m in models)
    }
    if not missing:
        return found, "cached: " + ", ".join(sorted(sources)) if sources else "none requested"
    python = _bench_python()
    if python is None:
        return found, "unavailable (no bench virtualenv)"
    run = {"horizon": job["horizon"], "models": list(models), "series": missing}
    started = time.perf_counter()
    log = REPO / "var" / f"forecast_competitors_{tag}.log"
    cache = REPO / "var" / f"forecast_competitors_{tag}_{time.strftime('%Y%m%d%H%M%S', time.gmtime())}.json"
    print(f"  running {', '.join(models)} on {len(missing)} series (progress in {log.relative_to(REPO)}) ...")
    with tempfile.TemporaryDirectory() as tmp:
        job_file, out_file = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job_file.write_text(json.dumps(run))
        with log.open("w") as progress:
            try:
                done = subprocess.run(
                    [str(python), str(REPO / "bench" / "forecast_competitors.py"), str(job_file), str(out_file)],
                    stdout=progress,
                    stderr=progress,
                    check=False,
                    timeout=budget,
                )
                failed = done.returncode != 0
            except subprocess.TimeoutExpired:
                failed = True
                print(f"  competitor run stopped after its {budget:.0f}s budget; keeping the series it finished")
        result = json.loads(out_file.read_text()) if out_file.exists() else {}
    if result:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        meta = {
            key: {"digest": series_digest(spec), "cuts": spec["cuts"]} for key, spec in missing.items() if key in result
        }
        cache.write_text(json.dumps({"when": when, "series": meta, "result": result}))
    if failed:
        tail = (log.read_text().strip().splitlines() or ["no output"])[-1]
        print(f"  competitor run failed ({tail}); using what it finished", flush=True)
    found, sources = _from_cache(job)
    return found, f"computed now in {time.perf_counter() - started:.0f}s; " + ", ".join(sorted(sources))


# =========================================================================== scoring


def score(grid: pd.Series, cuts: list[int], predictions: list[tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]):
    """Mean MASE and 95% coverage over the origins (coverage None without bands)."""
    y = grid.to_numpy(dtype=float)
    mases, covered, counted = [], 0, 0
    for cut, (yhat, lo, hi) in zip(cuts, predictions, strict=True):
        actual = y[cut + 1 : cut + 1 + HORIZON]
        known = np.isfinite(actual)
        if not known.any():
            continue
        scale = mase_scale(y[: cut + 1], 7)
        mases.append(float(np.mean(np.abs(actual - yhat)[known]) / scale))
        if lo is not None and hi is not None:
            covered += int(np.sum(((actual >= lo) & (actual <= hi))[known]))
            counted += int(known.sum())
    return float(np.mean(mases)), (covered / counted if counted else None)


def _model_source_digest() -> str:
    files = sorted((REPO / "insights" / "ml").glob("*.py"))
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]


def bosco_predictions(grid: pd.Series, cuts: list[int], **options: Any):
    """Bosco's forecast at each origin. Cached in var/ by (model source, data, origin, options),
    so rerunning the full benchmark after a competitor run does not refit 300 series."""
    key = [_model_source_digest(), grid.index[0].isoformat(), np.nan_to_num(grid.to_numpy()).tolist(), options]
    digest = hashlib.sha256(json.dumps(key, default=str).encode()).hexdigest()[:16]
    cache = REPO / "var" / "forecast_bosco_cache" / f"{digest}.json"
    stored = json.loads(cache.read_text()) if cache.exists() else {}
    out = []
    for cut in cuts:
        if str(cut) in stored:
            out.append(tuple(np.array(part, dtype=float) for part in stored[str(cut)]))
            continue
        history = grid.iloc[: cut + 1].dropna()
        result = forecast(history, HORIZON, **options)
        out.append((result["yhat"].to_numpy(), result["yhat_lower_95"].to_numpy(), result["yhat_upper_95"].to_numpy()))
        stored[str(cut)] = [part.tolist() for part in out[-1]]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(stored))
    return out


def naive_predictions(grid: pd.Series, cuts: list[int]):
    return [(seasonal_naive(grid.iloc[: cut + 1].ffill(), HORIZON, 7), None, None) for cut in cuts]


# =========================================================================== main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ORIGINS} origins per series; about a minute")
    parser.add_argument("--no-competitors", action="store_true", help="skip Prophet / statsforecast")
    parser.add_argument(
        "--competitor-minutes", type=float, default=None, help="stop the competitor run after this long"
    )
    parser.add_argument(
        "--all-competitors", action="store_true", help="full run: also statsforecast on every origin (hours)"
    )
    args = parser.parse_args(argv)
    env = os.environ.get("BOSCO_REFERENCE_DATA")
    data = args.data_dir or (Path(env) if env else (REPO / ".." / "shared" / "data").resolve())
    if not (data / "forecast").exists():
        print(f"error: reference data not found under {data}", file=sys.stderr)
        return 2
    mode = "quick" if args.quick else "full"
    count = QUICK_ORIGINS if args.quick else 52
    started = time.perf_counter()
    print(f"Bosco forecast benchmark - data {data} - {mode} run, horizon {HORIZON}, up to {count} weekly origins")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}", flush=True)

    cases: dict[str, tuple[pd.Series, str | None, str, bool]] = {}
    for key, (series, country, text) in daily_series(data).items():
        cases[key] = (on_grid(series), country, text, True)
    for seed in (1,) if args.quick else (1, 2):
        series, country = synthetic_series(seed)
        cases[f"synthetic_{seed}"] = (on_grid(series), country, "synthetic: yearly + holidays + sale", False)
    cuts = {key: origins_for(len(grid), count) for key, (grid, *_rest) in cases.items()}

    job = {
        "horizon": HORIZON,
        "series": {
            key: {
                "ds": [d.strftime("%Y-%m-%d") for d in grid.index],
                "y": [None if not math.isfinite(v) else float(v) for v in grid.to_numpy(dtype=float)],
                "cuts": cuts[key],
            }
            for key, (grid, *_rest) in cases.items()
        },
    }
    competitors: Forecasts = {}
    provenance = "skipped (--no-competitors)"
    if not args.no_competitors:
        # statsforecast's AutoARIMA/MSTL take about a minute per origin on a loaded 2-core
        # machine: the full run computes Prophet on every origin and takes the statsforecast
        # models from the cache (the quick origins), unless --all-competitors
        models = COMPETITORS if (args.quick or args.all_competitors) else ("Prophet",)
        budget = args.competitor_minutes * 60 if args.competitor_minutes else None
        competitors, provenance = competitor_forecasts(job, models, mode, budget)
    print(f"competitors (Prophet; statsforecast AutoETS, AutoARIMA, MSTL): {provenance}", flush=True)

    figures: dict[str, Any] = {"mode": mode, "competitors": provenance}
    missed: list[str] = []
    real_cover: list[tuple[float, int]] = []
    header = f"  {'model':<16}{'MASE':>8}{'cov95':>8}  origins"
    for key, (grid, country, text, real) in cases.items():
        case_cuts = cuts[key]
        print(f"\n{key}: {text}; {len(grid)} days, {len(case_cuts)} origins, country {country or '-'}", flush=True)
        rows: dict[str, tuple[float, float | None, int]] = {}
        t0 = time.perf_counter()
        bosco = bosco_predictions(grid, case_cuts, country=country)
        bosco_seconds = time.perf_counter() - t0
        rows["bosco"] = (*score(grid, case_cuts, bosco), len(case_cuts))
        rows["bosco_ets"] = (
            *score(grid, case_cuts, bosco_predictions(grid, case_cuts, yearly=False)),
            len(case_cuts),
        )
        rows["seasonal_naive"] = (*score(grid, case_cuts, naive_predictions(grid, case_cuts)), len(case_cuts))
        for name in COMPETITORS:
            have = competitors.get(key, {}).get(name, {})
            subset = [c for c in case_cuts if c in have]
            if not subset:
                continue
            preds = [tuple(np.array(part, dtype=float) for part in have[c]) for c in subset]
            label = name if len(subset) == len(case_cuts) else f"{name}*"
            rows[label] = (*score(grid, subset, preds), len(subset))  # type: ignore[arg-type]
            if label != name:  # only some origins: Bosco on the same ones, for a fair comparison
                same = [bosco[case_cuts.index(c)] for c in subset]
                rows[f"bosco (same {len(subset)})"] = (*score(grid, subset, same), len(subset))
        print(header)
        for name, (mase, cover, used) in rows.items():
            shown = f"{cover:8.3f}" if cover is not None else f"{'-':>8}"
            print(f"  {name:<16}{mase:8.3f}{shown}  {used}")
            slug = name.replace(" ", "_").replace("(", "").replace(")", "").replace("*", "_subset")
            figures[f"{key}_{slug}_mase"] = round(mase, 4)
            if cover is not None:
                figures[f"{key}_{slug}_coverage_95"] = round(cover, 4)
        print(f"  (bosco: {bosco_seconds:.1f}s for {len(case_cuts)} fits; * = fewer origins, cached)")
        prophet = next((n for n in rows if n.startswith("Prophet")), None)
        if prophet:
            used = rows[prophet][2]
            mine = rows["bosco"] if used == len(case_cuts) else rows[f"bosco (same {used})"]
            beat = mine[0] < rows[prophet][0]
            margin = mine[0] - rows[prophet][0]
            print(
                f"  goal bosco MASE < Prophet MASE on {used} origins: {'PASS' if beat else 'MISS'}"
                f" (difference {margin:+.3f})"
            )
            if not beat:
                missed.append(f"{key}_beats_prophet")
        elif not args.no_competitors:
            print("  goal bosco MASE < Prophet MASE: not measured (no Prophet forecasts for these origins)")
            missed.append(f"{key}_beats_prophet_unmeasured")
        if real and rows["bosco"][1] is not None:
            real_cover.append((rows["bosco"][1], len(case_cuts)))
        # 35 test days (--quick) move coverage by 0.029 a day: judged per series on full runs only
        if real and rows["bosco"][1] is not None and not args.quick:
            inside = COVERAGE_BAND[0] <= rows["bosco"][1] <= COVERAGE_BAND[1]
            print(
                f"  goal bosco 95% coverage in {COVERAGE_BAND[0]}-{COVERAGE_BAND[1]} on this series:"
                f" {'PASS' if inside else 'MISS'} ({rows['bosco'][1]:.3f})"
            )
            if not inside:
                missed.append(f"{key}_coverage_95")
    if real_cover:
        pooled = sum(c * n for c, n in real_cover) / sum(n for _, n in real_cover)
        ok = COVERAGE_BAND[0] <= pooled <= COVERAGE_BAND[1]
        print(
            f"\nBosco 95% coverage over all real-series origins: {pooled:.3f} (goal 0.93-0.97) {'PASS' if ok else 'MISS'}"
        )
        figures["bosco_coverage_95_real"] = round(pooled, 4)
        if not ok:
            missed.append("bosco_coverage_95_real")
    figures["missed"] = missed
    figures["wall_seconds"] = round(time.perf_counter() - started, 1)
    print(f"{len(missed)} goal(s) missed: {', '.join(missed) or 'none'}; wall {figures['wall_seconds']}s")
    print(json.dumps(figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
