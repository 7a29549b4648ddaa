"""The cache backend reuses one redis client per pool and behaves as Django's RedisCache."""

from __future__ import annotations

from django.core.cache import cache, caches

from bosco.cache import RedisCache


def test_one_client_per_pool_and_the_usual_cache_semantics() -> None:
    assert isinstance(caches["default"], RedisCache)
    backend = cache._cache  # type: ignore[attr-defined]
    assert backend.get_client(write=True) is backend.get_client(write=True)
    assert cache.raw_client() is backend.get_client(write=True)

    cache.set("bosco-cache-test", {"a": 1}, 30)
    assert cache.get("bosco-cache-test") == {"a": 1}
    cache.set("bosco-cache-counter", 5, 30)
    assert cache.incr("bosco-cache-counter") == 6
    # raw commands see the same keys (through the cache's key function)
    assert int(cache.raw_client().get(cache.make_and_validate_key("bosco-cache-counter"))) == 6
    cache.delete_many(["bosco-cache-test", "bosco-cache-counter"])
    assert cache.get("bosco-cache-test") is None
