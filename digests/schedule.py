"""When a digest is due and which days it reports on, in the member's own time zone.

Pure Python (zoneinfo), no Django: the beat fan-out and the Digests tab both ask here.

- daily: every day at the chosen local hour; reports yesterday.
- weekly: on the chosen weekday at the chosen hour; reports the 7 days up to yesterday.
- monthly: on the 1st at the chosen hour; reports the previous calendar month.

A digest is due from its local hour until the end of that local day, so a beat that missed the
exact hour (downtime, a slow queue) still sends it; the send record keeps it to one. Local time
comes from the UTC instant through zoneinfo, so DST is right by construction: 08:00 in Berlin is
07:00 UTC in winter and 06:00 UTC in summer; an hour the clocks skip (02:00 on the spring change)
is due at the first instant after it; an hour that happens twice (autumn) is due at its first one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAILY, WEEKLY, MONTHLY = "daily", "weekly", "monthly"


@dataclass(frozen=True)
class Period:
    frequency: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period just before, of the same kind (the previous calendar month for monthly)."""
        if self.frequency == MONTHLY:
            end = self.start - timedelta(days=1)
            return Period(self.frequency, end.replace(day=1), end)
        return Period(self.frequency, self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def following(self) -> Period:
        """The coming period of the same length (what the forecast covers)."""
        if self.frequency == MONTHLY:
            start = self.end + timedelta(days=1)
            return Period(self.frequency, start, _month_end(start))
        return Period(self.frequency, self.end + timedelta(days=1), self.end + timedelta(days=self.days))

    @property
    def label(self) -> str:
        if self.frequency == MONTHLY:
            return self.start.strftime("%B %Y")
        if self.start == self.end:
            return self.start.strftime("%A %-d %B %Y")
        return f"{self.start.strftime('%-d %b')} – {self.end.strftime('%-d %b %Y')}"


def _month_end(day: date) -> date:
    first_next = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_next - timedelta(days=1)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def period_for_delivery_day(frequency: str, day: date) -> Period:
    """The period a digest delivered on local `day` reports on."""
    if frequency == DAILY:
        return Period(frequency, day - timedelta(days=1), day - timedelta(days=1))
    if frequency == WEEKLY:
        return Period(frequency, day - timedelta(days=7), day - timedelta(days=1))
    if frequency == MONTHLY:
        end = day.replace(day=1) - timedelta(days=1)
        return Period(frequency, end.replace(day=1), end)
    raise ValueError(f"no period for frequency {frequency!r}")


def is_delivery_day(frequency: str, weekday: int, day: date) -> bool:
    if frequency == DAILY:
        return True
    if frequency == WEEKLY:
        return day.weekday() == weekday
    if frequency == MONTHLY:
        return day.day == 1
    return False


def latest_delivery_day(frequency: str, weekday: int, today: date) -> date:
    """The most recent delivery day up to `today`: the digest a preview shows has whole days only."""
    for offset in range(32):
        day = today - timedelta(days=offset)
        if is_delivery_day(frequency, weekday, day):
            return day
    return today


def due_period(*, frequency: str, weekday: int, hour: int, time_zone: str, now: datetime) -> Period | None:
    """The period whose digest is due at instant `now` (aware), or None."""
    local = now.astimezone(zone(time_zone))
    if not is_delivery_day(frequency, weekday, local.date()):
        return None
    if _local_hour_reached(local, hour):
        return period_for_delivery_day(frequency, local.date())
    return None


def _local_hour_reached(local: datetime, hour: int) -> bool:
    """Whether the wall-clock hour `hour` of local's day has begun at `local` (DST-aware).

    Compared as instants: the start of `hour` on that day, resolved by zoneinfo (fold=0, so a
    repeated hour counts from its first occurrence and a skipped one from the instant after).
    """
    tz = local.tzinfo
    assert isinstance(tz, ZoneInfo)
    start = datetime.combine(local.date(), time(hour), tzinfo=tz)
    return local.astimezone(ZoneInfo("UTC")) >= start.astimezone(ZoneInfo("UTC"))


def next_delivery(*, frequency: str, weekday: int, hour: int, time_zone: str, now: datetime) -> datetime | None:
    """The next local moment a digest of this schedule goes out (for the Digests tab), or None."""
    if frequency not in (DAILY, WEEKLY, MONTHLY):
        return None
    tz = zone(time_zone)
    local = now.astimezone(tz)
    for offset in range(32):
        day = local.date() + timedelta(days=offset)
        if not is_delivery_day(frequency, weekday, day):
            continue
        moment = datetime.combine(day, time(hour), tzinfo=tz)
        # a skipped hour (spring change) is normalised to the real instant after it
        moment = moment.astimezone(ZoneInfo("UTC")).astimezone(tz)
        if moment > local:
            return moment
    return None
