"""The version of a workspace's stored insight results, part of every cached insights API answer's key.

Every service that stores or changes results the API shows (a scoring run's findings, incidents
and forecasts, a journeys build, a CSV import or its deletion, a person's mark on an incident)
calls `results_changed()`; the counter moves once that transaction commits, so a reader never
caches the old answer under the new version. The counter lives in the cache under the workspace's
key prefix; if Redis ever drops it, it restarts from the clock, never from a number already used.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import transaction

KEY = "insights:api:results-version"


def _key() -> str:
    return cache.make_and_validate_key(KEY)  # the workspace schema is part of it


def results_version() -> int:
    key = _key()
    pipe = cache.raw_client(write=True).pipeline(transaction=True)  # type: ignore[attr-defined]
    pipe.set(key, time.time_ns(), nx=True)
    pipe.get(key)
    return int(pipe.execute()[1])


def _bump(key: str) -> None:
    pipe = cache.raw_client(write=True).pipeline(transaction=True)  # type: ignore[attr-defined]
    pipe.set(key, time.time_ns(), nx=True)
    pipe.incr(key)
    pipe.execute()


def results_changed() -> None:
    """This workspace's stored results changed: its cached API answers go stale on commit."""
    key = _key()  # now, while the schema is the one that wrote
    transaction.on_commit(lambda: _bump(key))
