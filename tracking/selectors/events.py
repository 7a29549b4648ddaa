"""Reads of the current workspace's landed events (`tracking_event`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from tracking.models import Event


def iter_events(*, since: dt.datetime, until: dt.datetime, chunk_size: int = 5000) -> Iterator[Event]:
    """The workspace's events with since <= occurred_at < until, oldest first (streamed in chunks)."""
    queryset = Event.objects.filter(occurred_at__gte=since, occurred_at__lt=until).order_by("occurred_at", "id")
    return queryset.iterator(chunk_size=chunk_size)


def event_count() -> int:
    return Event.objects.count()
