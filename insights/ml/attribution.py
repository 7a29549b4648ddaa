"""Multi-touch attribution on conversion paths.

Input is a table of paths (``"search > social > email"``) with the number of conversions,
their value and the number of journeys on that path that did not convert
(``total_null``). Output is one row per channel and model with the conversions and value
credited to the channel. Every model distributes exactly the total conversions and value.

Models
* ``first_touch`` / ``last_touch`` / ``linear``: the usual heuristics (linear gives each
  touch an equal share, so a channel touched twice gets two shares).
* ``position_based``: 40% first, 40% last, 20% spread over the middle touches; a single
  touch gets 100%, two touches 50/50.
* ``time_decay``: weight 2^(-days before conversion / half-life); only when touch times are
  known (column ``touch_days_before_conversion``, e.g. ``"9 > 2 > 0"``).
* ``markov_k`` (k = 1, 2, 3): removal effect in the absorbing Markov chain whose states are
  the last k channels. Absorption probabilities are solved exactly from the linear system
  (I - Q) x = r (sparse LU), never simulated. Removing a channel sends every journey that
  reaches a state containing it to "no conversion"; the credit is proportional to the
  relative drop in conversion probability. Null paths matter: they set the transition
  probabilities into "no conversion". Value uses the same chain with each conversion
  transition weighted by the average value it brings.
* ``shapley``: exact Shapley value of the cooperative game v(S) = conversions of the paths
  whose channel set is contained in S (the hand check: {a: 4, a > b: 6} gives a = 7,
  b = 3), computed by enumerating all coalitions of the channels that appear.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from insights.ml.errors import InputError

MODEL_VERSION = "attribution/1"
HEURISTIC_MODELS = ("first_touch", "last_touch", "linear", "position_based")
DEFAULT_MODELS = (*HEURISTIC_MODELS, "time_decay", "markov_1", "markov_2", "markov_3", "shapley")
OUTPUT_COLUMNS = ["channel", "model", "conversions", "conversion_value"]
PATH_SEPARATOR = ">"
EXACT_SHAPLEY_MAX_CHANNELS = 20


@dataclass(frozen=True)
class Journey:
    """One path row: touches in order, outcomes, and (optionally) days before conversion."""

    touches: tuple[str, ...]
    conversions: float
    value: float
    nulls: float
    days_before: tuple[float, ...] | None = field(default=None)


def split_path(path: str, separator: str = PATH_SEPARATOR) -> tuple[str, ...]:
    """``"a > b > c"`` -> ("a", "b", "c"); rejects empty channel names."""
    parts = tuple(part.strip() for part in str(path).split(separator))
    if not parts or any(not part for part in parts):
        raise InputError(f"path {path!r} has an empty channel name")
    return parts


def journeys_from_frame(paths: pd.DataFrame, separator: str = PATH_SEPARATOR) -> list[Journey]:
    """Validate a path table and turn it into journeys.

    Required column ``path``; ``total_conversions`` (default 0), ``total_conversion_value``
    (default 0), ``total_null`` (default 0) and ``touch_days_before_conversion`` are optional.
    """
    if "path" not in paths.columns:
        raise InputError("missing column: path")
    numeric = {}
    for column in ("total_conversions", "total_conversion_value", "total_null"):
        if column in paths.columns:
            values = pd.to_numeric(paths[column], errors="coerce")
            bad = values.isna() | ~np.isfinite(values.fillna(0).to_numpy(dtype=float))
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
                raise InputError(f"column {column} has a non-numeric value in data row {row}")
            if (values < 0).any():
                raise InputError(f"column {column} has a negative value")
            numeric[column] = values.to_numpy(dtype=float)
        else:
            numeric[column] = np.zeros(len(paths))
    days_column = paths.get("touch_days_before_conversion")
    journeys = []
    for i, raw_path in enumerate(paths["path"].tolist()):
        if raw_path is None or (isinstance(raw_path, float) and math.isnan(raw_path)):
            raise InputError(f"data row {i + 1} has an empty path")
        touches = split_path(raw_path, separator)
        days = None
        if days_column is not None and isinstance(days_column.iloc[i], str) and days_column.iloc[i].strip():
            try:
                days = tuple(float(v) for v in days_column.iloc[i].split(separator))
            except ValueError as exc:
                raise InputError(f"data row {i + 1}: touch_days_before_conversion is not numeric") from exc
            if len(days) != len(touches) or any(d < 0 or not math.isfinite(d) for d in days):
                raise InputError(
                    f"data row {i + 1}: touch_days_before_conversion needs one non-negative number per touch"
                )
        journeys.append(
            Journey(
                touches,
                float(numeric["total_conversions"][i]),
                float(numeric["total_conversion_value"][i]),
                float(numeric["total_null"][i]),
                days,
            )
        )
    if not journeys:
        raise InputError("no paths in the input")
    return journeys


# --------------------------------------------------------------------------- heuristics


def touch_weights(
    model: str, touches: Sequence[str], days_before: Sequence[float] | None = None, half_life_days: float = 7.0
) -> np.ndarray:
    """Share of one conversion given to each touch of a path under a heuristic model."""
    n = len(touches)
    weights = np.zeros(n)
    if model == "first_touch":
        weights[0] = 1.0
    elif model == "last_touch":
        weights[-1] = 1.0
    elif model == "linear":
        weights[:] = 1.0 / n
    elif model == "position_based":
        if n == 1:
            weights[0] = 1.0
        elif n == 2:
            weights[:] = 0.5
        else:
            weights[0] = weights[-1] = 0.4
            weights[1:-1] = 0.2 / (n - 2)
    elif model == "time_decay":
        if days_before is None:
            raise InputError("time decay needs touch times (touch_days_before_conversion)")
        raw = np.power(2.0, -np.asarray(days_before, dtype=float) / half_life_days)
        weights = raw / raw.sum()
    else:
        raise ValueError(f"unknown heuristic model {model}")
    return weights


def heuristic_attribution(
    journeys: Iterable[Journey], model: str, half_life_days: float = 7.0
) -> dict[str, tuple[float, float]]:
    """Channel -> (conversions, value) under a per-path heuristic model."""
    credit: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for journey in journeys:
        if journey.conversions == 0 and journey.value == 0:
            continue
        weights = touch_weights(model, journey.touches, journey.days_before, half_life_days)
        for channel, weight in zip(journey.touches, weights, strict=True):
            credit[channel][0] += weight * journey.conversions
            credit[channel][1] += weight * journey.value
    return {channel: (c, v) for channel, (c, v) in credit.items()}


# --------------------------------------------------------------------------- Markov

_START: tuple[str, ...] = ("<start>",)


@dataclass(frozen=True)
class MarkovChain:
    """Transition counts of the order-k path chain, by transient state.

    ``counts[s]`` maps next transient state -> journeys; ``to_conversion[s]`` and
    ``to_null[s]`` are the journeys absorbed from s; ``value[s]`` the conversion value
    absorbed from s.
    """

    order: int
    states: list[tuple[str, ...]]
    counts: dict[tuple[str, ...], dict[tuple[str, ...], float]]
    to_conversion: dict[tuple[str, ...], float]
    to_null: dict[tuple[str, ...], float]
    value: dict[tuple[str, ...], float]


def build_chain(journeys: Iterable[Journey], order: int) -> MarkovChain:
    """Count transitions; a state is the tuple of the last ``order`` channels (fewer at the
    start of a path), with a shared start state."""
    if order < 1:
        raise ValueError("order must be >= 1")
    counts: dict[tuple[str, ...], dict[tuple[str, ...], float]] = defaultdict(lambda: defaultdict(float))
    to_conversion: dict[tuple[str, ...], float] = defaultdict(float)
    to_null: dict[tuple[str, ...], float] = defaultdict(float)
    value: dict[tuple[str, ...], float] = defaultdict(float)
    seen: dict[tuple[str, ...], None] = {_START: None}
    for journey in journeys:
        weight = journey.conversions + journey.nulls
        if weight <= 0:
            continue
        previous: tuple[str, ...] = _START
        for i in range(len(journey.touches)):
            state = journey.touches[max(0, i + 1 - order) : i + 1]
            seen.setdefault(state, None)
            counts[previous][state] += weight
            previous = state
        to_conversion[previous] += journey.conversions
        to_null[previous] += journey.nulls
        value[previous] += journey.value
    return MarkovChain(order, list(seen), dict(counts), dict(to_conversion), dict(to_null), dict(value))


def absorption(chain: MarkovChain, removed: str | None = None) -> tuple[float, float]:
    """(P(conversion), expected conversion value) of a journey from the start state.

    Solves (I - Q) x = r exactly, where Q holds transient->transient probabilities and r the
    one-step conversion probability (or expected value) per state. With ``removed`` set,
    every state containing that channel is absorbed into "no conversion".
    """
    states = [s for s in chain.states if removed is None or s == _START or removed not in s]
    index = {s: i for i, s in enumerate(states)}
    rows, cols, data = [], [], []
    reward_conv = np.zeros(len(states))
    reward_value = np.zeros(len(states))
    for state in states:
        i = index[state]
        nexts = chain.counts.get(state, {})
        conv = chain.to_conversion.get(state, 0.0)
        total = sum(nexts.values()) + conv + chain.to_null.get(state, 0.0)
        if total <= 0:
            continue
        for nxt, weight in nexts.items():
            j = index.get(nxt)
            if j is not None:  # transitions into removed states are lost (-> null)
                rows.append(i)
                cols.append(j)
                data.append(weight / total)
        reward_conv[i] = conv / total
        # expected value of the conversion made from this state = P(convert) * mean value
        reward_value[i] = chain.value.get(state, 0.0) / total
    q = sp.csc_matrix((data, (rows, cols)), shape=(len(states), len(states)))
    system = (sp.identity(len(states), format="csc") - q).tocsc()
    lu = splu(system)
    start = index[_START]
    p_conv = float(lu.solve(reward_conv)[start])
    exp_value = float(lu.solve(reward_value)[start])
    return p_conv, exp_value


def markov_attribution(journeys: Sequence[Journey], order: int = 1) -> dict[str, tuple[float, float]]:
    """Channel -> (conversions, value) by the removal effect in the order-k chain."""
    chain = build_chain(journeys, order)
    channels = sorted({c for j in journeys for c in j.touches})
    total_conv = sum(j.conversions for j in journeys)
    total_value = sum(j.value for j in journeys)
    base_conv, base_value = absorption(chain)
    effects_conv: dict[str, float] = {}
    effects_value: dict[str, float] = {}
    for channel in channels:
        p, v = absorption(chain, removed=channel)
        effects_conv[channel] = 1.0 - p / base_conv if base_conv > 0 else 0.0
        effects_value[channel] = 1.0 - v / base_value if base_value > 0 else 0.0
    return {c: (_share(effects_conv, c) * total_conv, _share(effects_value, c) * total_value) for c in channels}


def removal_effects(journeys: Sequence[Journey], order: int = 1) -> dict[str, float]:
    """Raw removal effect 1 - P(conv | channel removed) / P(conv) of every channel."""
    chain = build_chain(journeys, order)
    base, _ = absorption(chain)
    channels = sorted({c for j in journeys for c in j.touches})
    return {c: (1.0 - absorption(chain, removed=c)[0] / base) if base > 0 else 0.0 for c in channels}


def _share(effects: dict[str, float], channel: str) -> float:
    total = sum(max(v, 0.0) for v in effects.values())
    return max(effects[channel], 0.0) / total if total > 0 else 0.0


# --------------------------------------------------------------------------- Shapley


def shapley_attribution(journeys: Sequence[Journey]) -> dict[str, tuple[float, float]]:
    """Exact Shapley value of v(S) = Σ outcomes of paths whose channel set ⊆ S.

    Enumerates all 2^n coalitions of the n channels that appear (bitmasks, O(n·2^n)). Above
    ``EXACT_SHAPLEY_MAX_CHANNELS`` channels the enumeration is replaced by its closed form
    (this game is a sum of unanimity games, so each path's outcome is split equally among
    its distinct channels) — the same numbers, without 2^n memory.
    """
    channels = sorted({c for j in journeys for c in j.touches})
    n = len(channels)
    if n > EXACT_SHAPLEY_MAX_CHANNELS:
        return shapley_closed_form(journeys)
    bit = {c: 1 << i for i, c in enumerate(channels)}
    size = 1 << n
    exact_conv = np.zeros(size)
    exact_value = np.zeros(size)
    for journey in journeys:
        mask = 0
        for channel in set(journey.touches):
            mask |= bit[channel]
        exact_conv[mask] += journey.conversions
        exact_value[mask] += journey.value
    coalitions = np.arange(size)
    v_conv = exact_conv.copy()
    v_value = exact_value.copy()
    for i in range(n):  # subset-sum (zeta) transform: v(S) = Σ_{T ⊆ S} f(T)
        has_i = (coalitions >> i) & 1 == 1
        v_conv[has_i] += v_conv[coalitions[has_i] ^ (1 << i)]
        v_value[has_i] += v_value[coalitions[has_i] ^ (1 << i)]
    popcount = _popcount(coalitions)
    fact = [math.factorial(k) for k in range(n + 1)]
    weight_by_size = np.array([fact[k] * fact[n - k - 1] / fact[n] for k in range(n)])
    result = {}
    for i, channel in enumerate(channels):
        without = coalitions[((coalitions >> i) & 1) == 0]
        w = weight_by_size[popcount[without]]
        with_i = without | (1 << i)
        result[channel] = (
            float(np.sum(w * (v_conv[with_i] - v_conv[without]))),
            float(np.sum(w * (v_value[with_i] - v_value[without]))),
        )
    return result


def _popcount(values: np.ndarray) -> np.ndarray:
    count = np.zeros(values.shape, dtype=np.int64)
    work = values.copy()
    while work.any():
        count += work & 1
        work >>= 1
    return count


def shapley_closed_form(journeys: Iterable[Journey]) -> dict[str, tuple[float, float]]:
    """Each path's outcome split equally among its distinct channels (equals the Shapley
    value of the subset game; used for very many channels and as a cross-check)."""
    credit: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for journey in journeys:
        distinct = set(journey.touches)
        for channel in distinct:
            credit[channel][0] += journey.conversions / len(distinct)
            credit[channel][1] += journey.value / len(distinct)
    return {c: (a, b) for c, (a, b) in credit.items()}


# --------------------------------------------------------------------------- API


def attribute(
    paths: pd.DataFrame,
    *,
    models: Sequence[str] | None = None,
    half_life_days: float = 7.0,
    separator: str = PATH_SEPARATOR,
) -> pd.DataFrame:
    """Product API: credit conversions and value to channels under each model.

    ``paths`` has ``path`` and optionally ``total_conversions``, ``total_conversion_value``,
    ``total_null`` and ``touch_days_before_conversion``. ``models`` defaults to all; when touch
    times are missing for any converting path, ``time_decay`` is skipped unless asked for
    explicitly (then it is an error). Returns ``channel, model, conversions,
    conversion_value``, one row per channel and model, channels sorted by name.
    """
    if half_life_days <= 0:
        raise InputError("half_life_days must be positive")
    journeys = journeys_from_frame(paths, separator)
    explicit = models is not None
    chosen = list(models) if models is not None else list(DEFAULT_MODELS)
    unknown = [m for m in chosen if m not in DEFAULT_MODELS]
    if unknown:
        raise InputError(f"unknown attribution model(s): {', '.join(unknown)}")
    has_times = all(j.days_before is not None for j in journeys if j.conversions > 0 or j.value > 0)
    if "time_decay" in chosen and not has_times:
        if explicit:
            raise InputError("time_decay needs touch_days_before_conversion for every converting path")
        chosen.remove("time_decay")
    channels = sorted({c for j in journeys for c in j.touches})
    rows = []
    for model in chosen:
        if model in HEURISTIC_MODELS or model == "time_decay":
            credit = heuristic_attribution(journeys, model, half_life_days)
        elif model.startswith("markov_"):
            credit = markov_attribution(journeys, int(model.split("_")[1]))
        else:
            credit = shapley_attribution(journeys)
        for channel in channels:
            conversions, value = credit.get(channel, (0.0, 0.0))
            rows.append({"channel": channel, "model": model, "conversions": conversions, "conversion_value": value})
    frame = pd.DataFrame(rows, columns=OUTPUT_COLUMNS)
    frame.attrs["model_version"] = MODEL_VERSION
    return frame
