"""Per-workspace caching of API answers, invalidated when new data lands.

Keys carry the workspace schema (django-tenants' `make_key`) and a data version; landing new
data bumps the version (`data_version_bump`), so every cached answer of that workspace becomes
unreachable at once and expires on its own. No key scanning, no cross-workspace reach.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache

T = TypeVar("T")
_VERSION_KEY = "data-version"
TTL_SECONDS = 15 * 60


def data_version() -> int:
    version = cache.get(_VERSION_KEY)
    if version is None:
        cache.add(_VERSION_KEY, 1, timeout=None)
        version = cache.get(_VERSION_KEY) or 1
    return int(version)


def data_version_bump() -> None:
    """Call in the current workspace's schema whenever its facts change."""
    try:
        cache.incr(_VERSION_KEY)
    except ValueError:
        cache.add(_VERSION_KEY, 2, timeout=None)


def cached_answer(namespace: str, params: dict[str, Any], compute: Callable[[], T]) -> tuple[T, bool]:
    """Return (answer, was_cached) for `params` in the current workspace."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:32]
    key = f"api:{namespace}:v{data_version()}:{digest}"
    hit = cache.get(key)
    if hit is not None:
        return hit, True
    value = compute()
    cache.set(key, value, timeout=TTL_SECONDS)
    return value, False
