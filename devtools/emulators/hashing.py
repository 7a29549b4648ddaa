"""Counter-based random numbers.

The value of a metric on a given day must not depend on which date range a client asked for, or
in which order: a connector that re-reads one day must see exactly what a full backfill saw. So
every random draw is a pure hash of (seed, entity, day, stream) instead of a position in an RNG
stream. splitmix64 is vectorised with numpy; uint64 arithmetic wraps, which is what we want.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

U64Array = npt.NDArray[np.uint64]
F64Array = npt.NDArray[np.float64]

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB

_GOLDEN_U = np.uint64(_GOLDEN)
_M1_U = np.uint64(_M1)
_M2_U = np.uint64(_M2)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV_2_53 = 1.0 / float(1 << 53)
# Scale of a standard logistic variable with unit variance (sqrt(3)/pi): a cheap, slightly
# heavy-tailed stand-in for a normal draw, which suits marketing data.
_LOGISTIC_UNIT = 0.5513288954217921


def mix_int(x: int) -> int:
    """splitmix64 finaliser on a Python int (for scalar keys, avoids numpy scalar warnings)."""
    z = (x + _GOLDEN) & _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def key(*parts: int) -> int:
    """Combine integers into one 64-bit key, order-sensitively."""
    h = 0x243F6A8885A308D3
    for part in parts:
        h = mix_int(h ^ (part & _MASK))
    return h


def mix(x: U64Array) -> U64Array:
    """splitmix64 finaliser, element-wise, on a uint64 array (returns a new array)."""
    z = x + _GOLDEN_U
    z ^= z >> _S30
    z *= _M1_U
    z ^= z >> _S27
    z *= _M2_U
    z ^= z >> _S31
    return z


def as_u64(values: npt.ArrayLike) -> U64Array:
    """int64 ids or Python ints → uint64 array with the same bits."""
    arr = np.asarray(values)
    if arr.dtype == np.uint64:
        return np.atleast_1d(arr)
    return np.atleast_1d(arr.astype(np.int64)).view(np.uint64)


def uniform(h: U64Array) -> F64Array:
    """Top 53 bits of a hash as a float in [0, 1)."""
    return (h >> _S11).astype(np.float64) * _INV_2_53


def stream(base: U64Array, stream_id: int) -> U64Array:
    """An independent hash stream derived from `base` (one per random quantity)."""
    return mix(base ^ np.uint64(key(stream_id)))


def uniform_stream(base: U64Array, stream_id: int) -> F64Array:
    return uniform(stream(base, stream_id))


def noise_stream(base: U64Array, stream_id: int) -> F64Array:
    """Zero-mean, unit-variance logistic noise."""
    u = uniform_stream(base, stream_id)
    u = np.clip(u, 1e-12, 1.0 - 1e-12)
    return np.log(u / (1.0 - u)) * _LOGISTIC_UNIT
