"""Facts about a workspace that a higher app owns and the support console shows.

The support console (top layer) reads each app through its selectors, but an app that is built
later (digests) should not have to be imported by support, nor support by it. Such an app
registers a reader here in its `AppConfig.ready` (like `bosco.sources`), and the console asks
the core. A fact nobody registered reads as None ("—" on the page).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

#: when the current workspace's last digest e-mail went out (registered by the digests app)
LAST_DIGEST_SENT = "last_digest_sent"

_readers: dict[str, Callable[[], datetime | None]] = {}


def register(fact: str, reader: Callable[[], datetime | None]) -> None:
    """Called once by the app that owns the fact; the reader runs in the workspace's schema."""
    _readers[fact] = reader


def read(fact: str) -> datetime | None:
    """The fact for the current workspace schema, or None when no app reports it."""
    reader = _readers.get(fact)
    return reader() if reader is not None else None
