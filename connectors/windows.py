"""Date arithmetic of syncs, kept pure (no Django) so it is quick to test exhaustively.

- `plan_ranges`: which days a run reads for one stream — the whole backfill on first contact,
  later the lookback window as of the last sync plus every day since, plus any older history
  the backfill has not reached yet (a longer backfill setting, a backfill that failed half-way).
- `next_chunk`, `position_after`: walking those ranges newest first in chunks.
- `merge_coverage`: the newest contiguous span synced so far, after a chunk completes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

Span = tuple[date, date]

ONE_DAY = timedelta(days=1)


def plan_ranges(
    *,
    covered: Span | None,
    today: date,
    lookback_days: int,
    backfill_days: int,
) -> list[Span]:
    """Ranges to read, newest first, disjoint. `covered` is the span synced before this run."""
    backfill_start = today - timedelta(days=max(1, backfill_days) - 1)
    if covered is None:
        return [(backfill_start, today)]
    covered_from, covered_to = covered
    # Days still unsettled when last read (the lookback window as of then) and every day since
    # are read again: after a pause longer than the lookback, the last synced days were partial.
    recent_from = max(backfill_start, min(covered_to, today) - timedelta(days=max(1, lookback_days) - 1))
    ranges: list[Span] = []
    if recent_from <= today:
        ranges.append((recent_from, today))
    older_to = min(covered_from, recent_from) - ONE_DAY
    if backfill_start <= older_to:
        ranges.append((backfill_start, older_to))
    return ranges


def range_containing(ranges: list[Span], day: date) -> Span | None:
    return next((r for r in ranges if r[0] <= day <= r[1]), None)


def next_chunk(ranges: list[Span], position: date, chunk_days: int) -> Span:
    """The chunk ending at `position`, at most `chunk_days` long, inside its range."""
    span = range_containing(ranges, position)
    if span is None:
        raise ValueError(f"{position} is in no range of {ranges}")
    return max(span[0], position - timedelta(days=max(1, chunk_days) - 1)), position


def position_after(ranges: list[Span], chunk_from: date) -> date | None:
    """Where to continue once a chunk starting at `chunk_from` is done (None: finished)."""
    below = chunk_from - ONE_DAY
    if range_containing(ranges, below) is not None:
        return below
    older = [r for r in ranges if r[1] < chunk_from]
    return max(older, key=lambda r: r[1])[1] if older else None


def done_spans(ranges: list[Span], position: date | None) -> list[Span]:
    """Parts of `ranges` already done when every day after `position` is done."""
    if position is None:
        return list(ranges)
    out: list[Span] = []
    for start, end in ranges:
        if end > position:
            out.append((max(start, position + ONE_DAY), end))
    return out


def merge_coverage(base: Span | None, done: Iterable[Span]) -> Span | None:
    """The newest contiguous span of `base` ∪ `done` (adjacent days join)."""
    spans = sorted([*([base] if base else []), *done])
    if not spans:
        return None
    merged: list[list[date]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1] + ONE_DAY:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    newest = max(merged, key=lambda s: s[1])
    return newest[0], newest[1]


def days_in(ranges: Iterable[Span]) -> int:
    return sum((end - start).days + 1 for start, end in ranges)


def to_json(ranges: list[Span]) -> list[list[str]]:
    return [[a.isoformat(), b.isoformat()] for a, b in ranges]


def from_json(raw: object) -> list[Span]:
    if not isinstance(raw, list):
        return []
    return [(date.fromisoformat(a), date.fromisoformat(b)) for a, b in raw]
