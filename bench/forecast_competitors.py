"""Reference competitors for bench/forecast_eval.py: Prophet and statsforecast.

Runs INSIDE the benchmark's own virtualenv (``var/bench-venv``), never in the product's:
neither package is a product dependency. It only produces forecasts; every model is scored
by the same code in bench/forecast_eval.py.

    var/bench-venv/bin/python bench/forecast_competitors.py JOB.json OUT.json

JOB.json: {"horizon": 7, "models": [...], "series": {key: {"ds": [...], "y": [...], "cuts": [i, ...]}}}
(``ds``/``y`` on a regular daily grid, NaN for a missing day; each cut is the index of the
last day of history). Prophet, AutoETS and MSTL see the whole history; AutoARIMA the last
365 days (its stepwise order search on years of daily data takes minutes per fit on a
2-core machine; a year is plenty for a weekly ARIMA). OUT.json: {key: {model: {"yhat": [[...] per cut], "lo95": ..., "hi95": ...}}}
plus "versions" and "seconds" per model.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
import warnings

import numpy as np
import pandas as pd


def _prophet(frame: pd.DataFrame, cuts: list[int], horizon: int) -> dict[str, list[list[float]]]:
    from prophet import Prophet

    out: dict[str, list[list[float]]] = {"yhat": [], "lo95": [], "hi95": []}
    for number, cut in enumerate(cuts, start=1):
        history = frame.iloc[: cut + 1].dropna()
        model = Prophet(interval_width=0.95)  # the package defaults otherwise
        model.fit(history)
        future = pd.DataFrame({"ds": frame["ds"].iloc[cut] + pd.to_timedelta(np.arange(1, horizon + 1), unit="D")})
        pred = model.predict(future)
        out["yhat"].append(pred["yhat"].tolist())
        out["lo95"].append(pred["yhat_lower"].tolist())
        out["hi95"].append(pred["yhat_upper"].tolist())
        print(f"    Prophet origin {number}/{len(cuts)}", file=sys.stderr, flush=True)
    return out


ARIMA_WINDOW = 365  # AutoARIMA's stepwise search on 3-8 years of daily data takes minutes per fit


def _statsforecast(frame: pd.DataFrame, cuts: list[int], horizon: int) -> dict[str, dict[str, list[list[float]]]]:
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoARIMA, AutoETS

    # statsforecast needs a gap-free grid: missing days are interpolated linearly
    filled = frame.assign(y=frame["y"].interpolate(limit_direction="both"))
    results: dict[str, dict[str, list[list[float]]]] = {}
    for number, cut in enumerate(cuts, start=1):
        history = filled.iloc[: cut + 1].assign(unique_id="s")[["unique_id", "ds", "y"]]
        seasons = [7, 365] if len(history) >= 2 * 365 + 14 else [7]
        models = [
            AutoETS(season_length=7, alias="AutoETS"),
            MSTL(season_length=seasons, trend_forecaster=AutoETS(model="ZZN"), alias="MSTL"),
        ]
        pred = StatsForecast(models=models, freq="D", n_jobs=1).forecast(df=history, h=horizon, level=[95])
        arima = StatsForecast(models=[AutoARIMA(season_length=7, alias="AutoARIMA")], freq="D", n_jobs=1)
        pred = pred.merge(arima.forecast(df=history.tail(ARIMA_WINDOW), h=horizon, level=[95]), on=["unique_id", "ds"])
        print(f"    statsforecast origin {number}/{len(cuts)}", file=sys.stderr, flush=True)
        for name in ("AutoETS", "AutoARIMA", "MSTL"):
            slot = results.setdefault(name, {"yhat": [], "lo95": [], "hi95": []})
            slot["yhat"].append(pred[name].tolist())
            slot["lo95"].append(pred[f"{name}-lo-95"].tolist())
            slot["hi95"].append(pred[f"{name}-hi-95"].tolist())
    return results


def main() -> int:
    job_path, out_path = sys.argv[1], sys.argv[2]
    with open(job_path) as handle:
        job = json.loads(handle.read())
    horizon = int(job["horizon"])
    logging.getLogger("cmdstanpy").setLevel(logging.ERROR)
    logging.getLogger("prophet").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    out: dict[str, object] = {"seconds": {}, "versions": {}}
    import prophet
    import statsforecast

    out["versions"] = {"prophet": prophet.__version__, "statsforecast": statsforecast.__version__}
    models = job.get("models") or ["Prophet", "AutoETS", "AutoARIMA", "MSTL"]
    for key, spec in job["series"].items():
        frame = pd.DataFrame(
            {"ds": pd.to_datetime(spec["ds"]), "y": [math.nan if v is None else float(v) for v in spec["y"]]}
        )
        cuts = [int(c) for c in spec["cuts"]]
        entry: dict[str, object] = {}
        if "Prophet" in models:
            started = time.perf_counter()
            entry["Prophet"] = _prophet(frame, cuts, horizon)
            out["seconds"][f"{key}/Prophet"] = round(time.perf_counter() - started, 1)  # type: ignore[index]
        if any(m in models for m in ("AutoETS", "AutoARIMA", "MSTL")):
            started = time.perf_counter()
            entry.update({k: v for k, v in _statsforecast(frame, cuts, horizon).items() if k in models})
            out["seconds"][f"{key}/statsforecast"] = round(time.perf_counter() - started, 1)  # type: ignore[index]
        out[key] = entry
        print(f"  competitors done: {key} {out['seconds']}", file=sys.stderr, flush=True)
        with open(out_path, "w") as handle:  # after every series: a long run keeps what it finished
            json.dump(out, handle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
