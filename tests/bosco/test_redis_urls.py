"""One REDIS_URL yields the cache and Celery URLs, for TCP and for the embedded server's socket."""

from __future__ import annotations

import pytest
import redis

from bosco.redis_urls import cache_url_for, celery_url_for, with_db


@pytest.mark.parametrize(
    ("url", "cache", "celery"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1", "redis://127.0.0.1:6379/0"),
        ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379/1", "redis://127.0.0.1:6379"),
        (
            "redis://:secret@cache.internal:6380/4",
            "redis://:secret@cache.internal:6380/5",
            "redis://:secret@cache.internal:6380/4",
        ),
        (
            "unix:///tmp/r/redis.socket?db=0",
            "unix:///tmp/r/redis.socket?db=1",
            "redis+socket:///tmp/r/redis.socket?virtual_host=0",
        ),
        (
            "unix:///tmp/r/redis.socket",
            "unix:///tmp/r/redis.socket?db=1",
            "redis+socket:///tmp/r/redis.socket?virtual_host=0",
        ),
    ],
)
def test_cache_and_celery_urls(url: str, cache: str, celery: str) -> None:
    assert cache_url_for(url) == cache
    assert celery_url_for(url) == celery


def test_derived_urls_are_accepted_by_redis_py() -> None:
    for url in ("redis://127.0.0.1:6379/0", "unix:///tmp/r/redis.socket?db=2"):
        redis.Redis.from_url(with_db(url, 3))  # parses; does not connect
