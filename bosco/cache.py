"""The cache backend: Django's RedisCache, keeping one redis client per connection pool.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` (and its ~170 response
callbacks) for every cache operation; a `redis.Redis` is safe to share (it takes a connection
from the pool per command), so Bosco builds one per pool and reuses it. Measured with
`bench/api.py --reuse-redis-client` before this became the default.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django_tenants.cache import make_key as tenant_make_key


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def raw_client(self, *, write: bool = True) -> Any:
        """The redis client itself, for atomic multi-command work (keys via `make_and_validate_key`)."""
        return self._cache.get_client(None, write=write)


# Keys that must count across every host, whatever schema the request runs in: allauth's rate
# limits (sign-in failures, sign-ups, password resets), its marks of TOTP codes already used (a
# code must not be replayed on another host), and Bosco's own `global:` counters (failed API-key
# checks). Under the tenant key function each `<slug>.` host would keep its own counter,
# so anyone able to create workspaces would get one more budget of guesses per workspace.
GLOBAL_KEY_PREFIXES = ("allauth:rl:", "allauth.mfa.totp.used", "global:")
# Stands where the schema name stands in a tenant key; a hyphen is never in a schema name.
GLOBAL_SCOPE = "-global-"


def make_key(key: str, key_prefix: str, version: int) -> str:
    """django-tenants' key (schema first), except for the counters that must be global."""
    if key.startswith(GLOBAL_KEY_PREFIXES):
        return f"{GLOBAL_SCOPE}:{key_prefix}:{version}:{key}"
    return tenant_make_key(key, key_prefix, version)
