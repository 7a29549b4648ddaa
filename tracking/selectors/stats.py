"""What Settings → Tracking shows about the collect path: counters (Redis) and the last landed event."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tracking.collect import buffer
from tracking.models import Event
from tracking.services.landing import buffered_entries

REASON_LABELS = {
    "rotated_key": "Rotated key",
    "disabled": "Tracking switched off",
    "read_only": "Workspace read-only",
    "forged_origin": "Origin not allowed",
    "oversized": "Too large",
    "malformed": "Malformed",
    "invalid_event": "Invalid event",
    "clock_skew": "Clock far off",
    "bot": "Bot or crawler",
    "rate_limited_ip": "Flood from one address",
    "rate_limited_key": "Workspace rate limit",
    "duplicate": "Replayed (duplicate event id)",
}


@dataclass(frozen=True)
class CollectStats:
    accepted: int
    landed: int
    buffered: int
    clock_corrected: int
    rejected: list[tuple[str, str, int]]
    last_received_at: dt.datetime | None
    events_stored: int

    @property
    def rejected_total(self) -> int:
        return sum(n for _key, _label, n in self.rejected)


def collect_stats(*, schema: str) -> CollectStats:
    counts = buffer.counts(schema)
    rejected = [
        (name.removeprefix("rejected:"), REASON_LABELS.get(name.removeprefix("rejected:"), name), int(value))
        for name, value in sorted(counts.items())
        if name.startswith("rejected:") and int(value)
    ]
    last = Event.objects.order_by("-received_at").values_list("received_at", flat=True).first()
    return CollectStats(
        accepted=int(counts.get("accepted", 0)),
        landed=int(counts.get("landed", 0)),
        buffered=buffered_entries(schema=schema),
        clock_corrected=int(counts.get("clock_corrected", 0)),
        rejected=rejected,
        last_received_at=last,
        events_stored=Event.objects.count(),
    )
