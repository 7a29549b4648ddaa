"""Interval coverage of Bosco's forecast on simulated daily series with a known answer.

    python bench/forecast_coverage_sim.py [--quick] [--lengths 28,63,120] [--reps 100] [--workers 2] [--ablate NAME]

``--quick`` (under a minute): lengths 28, 91 and 400, 20 histories per process and length - a
smoke run of the harness; its coverage figures carry several points of Monte-Carlo error.

Why: the real daily series in the reference data are few and short (credibility has 91 test
days, so a perfectly calibrated 95% band covers 0.950 +- 0.023 there), which cannot tell a
band that is systematically too wide from an unlucky quarter. Here the data-generating process
is known, so every band can be scored against the exact conditional distribution of the next
seven days instead of one draw of it.

Processes (all positive, so the product forecasts them on the log scale; log-scale values):
* ``rw``:    random-walk level (sd 0.03 a day) + fixed weekly profile (sd 0.15) + N(0, 0.10) noise;
* ``trend``: the same with a drift of +0.3% a day and Student-t(4) noise of the same sd;
* ``ar``:    a mean-reverting level (AR(1), 0.9, innovations sd 0.05) + weekly profile +
             N(0, 0.08) noise - a stationary sales series, like the credibility one.
For each length, ``reps`` histories per process (seeded by process, length and replicate) are
forecast with ``forecast(history, 7)``; the coverage of each band at each step h is the share of
``FUTURES`` futures, simulated from the history's true final state, that fall inside it (the
exact conditional coverage up to Monte-Carlo error), averaged over the histories.

``--ablate``: score a variant of the band with one small-sample part switched off (diagnosis
only; the product never runs these): ``no_widen`` (no calendar-validation widening),
``no_optimism`` (k = 0: no n/(n-k) scale, normal quantile), ``no_conformal_rank`` (plain
weighted quantile levels), ``fractional_rank`` (the tail read at the rank
(n + 1)(1 - tail) between order statistics instead of its split-conformal ceiling), ``no_rescale`` (past errors not rescaled to today's
volatility). Prints one table and one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from insights.ml import forecasting  # noqa: E402 - needs the repo on sys.path

HORIZON = 7
FUTURES = 400
PROCESSES = ("rw", "trend", "ar")
LENGTHS = (28, 42, 63, 91, 120, 200, 400)
BANDS = {"80": ("yhat_lower_80", "yhat_upper_80"), "95": ("yhat_lower_95", "yhat_upper_95")}


def _noise(rng: np.random.Generator, kind: str, size: tuple[int, ...] | int, sd: float) -> np.ndarray:
    if kind == "t4":
        return rng.standard_t(4, size) * sd / np.sqrt(2.0)  # t(4) has variance 2
    return rng.normal(0.0, sd, size)


def simulate(process: str, length: int, seed: int) -> tuple[pd.Series, np.ndarray]:
    """A history of ``length`` days and ``FUTURES`` x ``HORIZON`` log-scale futures drawn from
    the history's true final state."""
    rng = np.random.default_rng(seed)
    weekly = rng.normal(0.0, 0.15, 7)
    weekly -= weekly.mean()
    total = length + HORIZON
    days = np.arange(total)
    noise_kind, noise_sd = ("t4", 0.10) if process == "trend" else ("normal", 0.10 if process == "rw" else 0.08)
    if process == "ar":
        level = np.zeros(total)
        shocks = rng.normal(0.0, 0.05, total)
        level[0] = shocks[0] / np.sqrt(1 - 0.81)
        for t in range(1, total):
            level[t] = 0.9 * level[t - 1] + shocks[t]
    else:
        drift = 0.003 if process == "trend" else 0.0
        level = np.cumsum(rng.normal(drift, 0.03, total))
    log_y = 6.0 + level[:length] + weekly[days[:length] % 7] + _noise(rng, noise_kind, length, noise_sd)
    # futures from the true state at the last history day
    future_days = days[length:]
    shocks = rng.normal(0.0, 0.05 if process == "ar" else 0.03, (FUTURES, HORIZON))
    paths = np.empty((FUTURES, HORIZON))
    state = np.full(FUTURES, level[length - 1])
    for j in range(HORIZON):
        state = (
            0.9 * state + shocks[:, j]
            if process == "ar"
            else state + (0.003 if process == "trend" else 0.0) + shocks[:, j]
        )
        paths[:, j] = state
    futures = 6.0 + paths + weekly[future_days % 7][None, :] + _noise(rng, noise_kind, (FUTURES, HORIZON), noise_sd)
    index = pd.date_range("2025-01-01", periods=length, freq="D")
    return pd.Series(np.exp(log_y), index=index), futures


def _fractional_level(prob: float, n: float) -> float | None:
    """The tail level at the fractional rank (n + 1)(1 - tail), interpolated between order
    statistics: nominal coverage on average for exchangeable errors, where the product's
    split-conformal ceil of that rank guarantees at least nominal (commit c52cca9, reverted)."""
    tail = min(prob, 1.0 - prob)
    rank = (n + 1.0) * (1.0 - tail)
    if rank > n + 1e-9:
        return None
    level = (min(rank, n) - 0.5) / n
    return level if prob > 0.5 else 1.0 - level


def _apply_ablation(name: str | None) -> None:
    if name in (None, "", "no_rescale"):
        return
    if name == "no_widen":
        forecasting.MAX_WIDEN = 1.0
    elif name == "no_optimism":
        forecasting.FITTED_PARAMETERS = 0
    elif name == "fractional_rank":
        forecasting._conformal_level = _fractional_level  # type: ignore[assignment]
    elif name == "no_conformal_rank":
        forecasting._conformal_level = lambda prob, n: prob  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown ablation {name!r}")


def one(job: tuple[str, int, int, str | None]) -> dict:
    process, length, rep, ablation = job
    _apply_ablation(ablation)
    seed = 1_000_000 * (PROCESSES.index(process) + 1) + 1000 * length + rep
    history, futures = simulate(process, length, seed)
    fc = forecasting.forecast(history, HORIZON, local_scale=ablation != "no_rescale")
    out: dict = {"process": process, "length": length, "widen": fc.attrs["params"]["band_widening"]}
    for band, (lo, hi) in BANDS.items():
        lower = np.log(fc[lo].to_numpy())
        upper = np.log(fc[hi].to_numpy())
        out[band] = ((futures >= lower[None, :]) & (futures <= upper[None, :])).mean(axis=0).tolist()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    parser.add_argument("--processes", default=",".join(PROCESSES))
    parser.add_argument("--reps", type=int, default=100, help="histories per process and length")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ablate", default=None)
    parser.add_argument("--quick", action="store_true", help="3 lengths, 20 histories each (< 1 minute)")
    args = parser.parse_args(argv)
    if args.quick:
        args.lengths, args.reps = "28,91,400", 20
    lengths = [int(v) for v in args.lengths.split(",")]
    processes = [p for p in args.processes.split(",") if p]
    jobs = [(p, n, r, args.ablate) for n in lengths for p in processes for r in range(args.reps)]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(one, jobs, chunksize=8))
    wall = time.perf_counter() - started
    print(
        f"coverage simulation: {len(jobs)} forecasts, {args.reps} per process and length, "
        f"{FUTURES} futures each; ablation {args.ablate or 'none'}; {wall:.0f} s wall, load {os.getloadavg()[0]:.1f}"
    )
    summary: dict = {}
    header = "length  process  band  mean   " + "  ".join(f"h={h}" for h in range(1, HORIZON + 1)) + "  widen"
    print(header)
    for n in lengths:
        for p in [*processes, "all"]:
            rows = [r for r in results if r["length"] == n and (p == "all" or r["process"] == p)]
            for band in BANDS:
                by_h = np.mean([r[band] for r in rows], axis=0)
                widen = float(np.mean([r["widen"] for r in rows]))
                summary[f"{n}_{p}_{band}"] = round(float(by_h.mean()), 4)
                print(
                    f"{n:6d}  {p:7s}  {band:4s}  {by_h.mean():.3f}  "
                    + "  ".join(f"{v:.3f}" for v in by_h)
                    + f"  {widen:.3f}"
                )
    print(json.dumps({"ablation": args.ablate, "reps": args.reps, "wall_s": round(wall, 1), "coverage": summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
