"""The collect buffer in Redis: key lookups, rate limits, the per-workspace stream, counters.

Accepted beacons are appended (XADD) to `bosco:trk:stream:<schema>` before the endpoint answers 204;
`tracking.services.landing` reads them with a consumer group and acknowledges an entry only after its
rows are committed to the workspace's `tracking_event` (docs/tracking.md, "Durability").
The buffer uses the Redis database of REDIS_URL (the broker's), never the cache's, which is
cleared freely.
"""

from __future__ import annotations

import json
import time
from functools import cache
from typing import Any, cast

import redis
from django.conf import settings

PREFIX = "bosco:trk:"
GROUP = "landers"
PENDING_SET = f"{PREFIX}pending"
UNKNOWN = "_unknown"
KEY_CACHE_SECONDS = 300


@cache
def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


def stream_key(schema: str) -> str:
    return f"{PREFIX}stream:{schema}"


def landing_flag_key(schema: str) -> str:
    """Set (for 2 s) by the beacon that queued a landing; later beacons see it and queue none."""
    return f"{PREFIX}landing:{schema}"


def counts_key(schema: str) -> str:
    return f"{PREFIX}counts:{schema}"


def _config_key(public_key: str) -> str:
    return f"{PREFIX}key:{public_key}"


def cached_key_config(public_key: str) -> dict[str, Any] | None:
    raw = client().get(_config_key(public_key))
    return None if raw is None else json.loads(raw)


def cache_key_config(public_key: str, config: dict[str, Any]) -> None:
    client().set(_config_key(public_key), json.dumps(config), ex=KEY_CACHE_SECONDS)


def forget_key_config(*public_keys: str) -> None:
    if public_keys:
        client().delete(*(_config_key(key) for key in public_keys))


# One round trip per accepted beacon: both rate windows counted, then (if within both) the rows
# appended to the workspace's stream, the workspace marked pending, its counters raised, and a
# short-lived "landing scheduled" flag set whose winner queues the landing task.
# KEYS: ip window, key window, stream, counts, pending set, landing flag
# ARGV: ip limit, key limit, window seconds, payload, accepted count, schema, now (epoch s), extra
# counter pairs as JSON ({"rejected:clock_skew": 2, ...})
_ACCEPT = """
local ip_count = redis.call('INCR', KEYS[1])
if ip_count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
local key_count = redis.call('INCR', KEYS[2])
if key_count == 1 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
if ip_count > tonumber(ARGV[1]) then
  redis.call('HINCRBY', KEYS[4], 'rejected:rate_limited_ip', 1)
  return {0, 'rate_limited_ip'}
end
if key_count > tonumber(ARGV[2]) then
  redis.call('HINCRBY', KEYS[4], 'rejected:rate_limited_key', 1)
  return {0, 'rate_limited_key'}
end
redis.call('XADD', KEYS[3], '*', 'rows', ARGV[4])
redis.call('SADD', KEYS[5], ARGV[6])
redis.call('HINCRBY', KEYS[4], 'accepted', tonumber(ARGV[5]))
redis.call('HSET', KEYS[4], 'last_event_at', ARGV[7])
for name, value in pairs(cjson.decode(ARGV[8])) do redis.call('HINCRBY', KEYS[4], name, value) end
local schedule = redis.call('SET', KEYS[6], '1', 'NX', 'EX', 2)
return {1, schedule and 1 or 0}
"""


@cache
def _accept_script() -> Any:
    return client().register_script(_ACCEPT)


def append(
    *, schema: str, public_key: str, ip_key: str, payload: str, accepted: int, extra_counts: dict[str, int]
) -> tuple[bool, str]:
    """Append one beacon's rows durably; (True, "schedule"|"") or (False, rejection reason)."""
    window = 60
    minute = int(time.time()) // window
    ok, detail = _accept_script()(
        keys=[
            f"{PREFIX}rl:ip:{ip_key}:{minute}",
            f"{PREFIX}rl:key:{public_key}:{minute}",
            stream_key(schema),
            counts_key(schema),
            PENDING_SET,
            landing_flag_key(schema),
        ],
        args=[
            settings.TRACKING_RATE_PER_IP_MINUTE,
            settings.TRACKING_RATE_PER_KEY_MINUTE,
            window * 2,
            payload,
            accepted,
            schema,
            int(time.time()),
            json.dumps(extra_counts or {}) if extra_counts else "{}",
        ],
    )
    if not ok:
        return False, detail.decode() if isinstance(detail, bytes) else str(detail)
    return True, "schedule" if int(detail) else ""


def count(schema: str, field: str, amount: int = 1) -> None:
    client().hincrby(counts_key(schema), field, amount)


def counts(schema: str) -> dict[str, int | str]:
    raw = cast("dict[bytes, bytes]", client().hgetall(counts_key(schema)))
    out: dict[str, int | str] = {}
    for name, value in raw.items():
        key = name.decode()
        out[key] = value.decode() if key == "last_event_at" else int(value)
    return out


def pending_schemas() -> list[str]:
    members = cast("set[bytes]", client().smembers(PENDING_SET))
    return sorted(member.decode() for member in members)
