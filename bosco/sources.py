"""What pages outside the connectors app may know of a workspace's data sources.

The dashboards' empty state (insights) and the plan page need to know whether a source is
connected, whether one is syncing and how many connections count against the plan. Connectors
owns those facts but sits beside insights, not below it, so neither imports the other: the
connectors app registers a summary function here when it is ready (the way django-tenants
announces a synced schema with a signal), and those pages ask the core.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SourcesSummary:
    #: connections that count against the plan (every one not disconnected)
    connections_used: int
    #: a connection has accounts selected to sync
    has_connection: bool
    #: a sync is running or queued
    syncing: bool


NO_SOURCES = SourcesSummary(connections_used=0, has_connection=False, syncing=False)
_summary: Callable[[], SourcesSummary] | None = None


def register_sources_summary(summary: Callable[[], SourcesSummary]) -> None:
    """Called once by the app that owns the sources (connectors' AppConfig.ready)."""
    global _summary
    _summary = summary


def sources_summary() -> SourcesSummary:
    """The current workspace's sources; none when no app has registered a summary."""
    return _summary() if _summary is not None else NO_SOURCES
