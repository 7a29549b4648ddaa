"""Nightly attribution from first-party journeys.

Reads the workspace's tracked events (`tracking_event`, through the tracking selectors), its
store orders and campaign names (warehouse selectors), builds conversion paths with
`insights.ml.journeys` and attributes them with every model of `insights.ml.attribution`. The
result is stored like a CSV import (`AttributionImport` + `AttributionResult`) with source
"journeys", its paths kept in the same CSV form and the build's summary in `details`: top paths,
time- and touches-to-convert, and what each ad platform claimed for the same days.

    services.journeys_attribute(as_of=None)  # the nightly task's one call; idempotent per day and data
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django_tenants.utils import get_tenant_model

from insights.ml import journeys as jr
from insights.ml.attribution import MODEL_VERSION as ATTRIBUTION_ALGORITHM
from insights.ml.attribution import attribute
from insights.ml.errors import InputError
from insights.models import AttributionImport, AttributionResult, ModelVersion
from insights.results_version import results_changed
from insights.services.attribution import HALF_LIFE_DAYS
from insights.services.common import InsightsError, current_workspace, model_version_record
from tracking.selectors.journey_events import journey_event_rows
from tracking.selectors.settings import DEFAULT_LOOKBACK_DAYS, lookback_days_for
from warehouse.selectors.journeys import campaign_names, platform_claims, rates_to_reporting, store_orders_between

logger = logging.getLogger(__name__)

#: conversions of the last 90 days are attributed each night (their touches reach further back)
JOURNEY_PERIOD_DAYS = 90
#: nightly builds kept (the page lists them next to the CSV imports)
KEEP_JOURNEY_BUILDS = 14


@dataclass(frozen=True)
class JourneyReport:
    status: str  # "built", "unchanged", "no_conversions"
    import_id: int | None
    events: int
    journeys: int
    conversions: int
    seconds_read: float
    seconds_build: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _lookback_days(schema_name: str) -> int:
    workspace = get_tenant_model().objects.filter(schema_name=schema_name).first()
    return lookback_days_for(workspace) if workspace is not None else DEFAULT_LOOKBACK_DAYS


def journey_events(*, since: datetime, until: datetime, reporting_currency: str) -> list[jr.EventRow]:
    """The workspace's events as journey rows, order revenue in the reporting currency (an order
    in a currency without a rate that day keeps no value rather than a wrong one)."""
    make = jr.EventRow._make
    events = [make(row) for row in journey_event_rows(since=since, until=until)]
    orders = [i for i, e in enumerate(events) if e.kind == "order"]
    pairs = {(events[i].currency, events[i].occurred_at.date()) for i in orders if events[i].currency}
    rates = rates_to_reporting(pairs=pairs, reporting_currency=reporting_currency) if pairs else {}
    for i in orders:
        event = events[i]
        rate = rates.get((event.currency, event.occurred_at.date()), 0.0) if event.currency else 1.0
        events[i] = event._replace(revenue=float(event.revenue or 0) * rate, currency=reporting_currency)
    return events


def _claims(period_start: date, period_end: date) -> dict[str, dict[str, Any]]:
    out = {}
    for claim in platform_claims(date_from=period_start, date_to=period_end):
        channel = jr.CHANNEL_OF_PLATFORM.get(claim.platform)
        if channel is None:
            continue
        out[channel] = {
            "platform": claim.platform,
            "conversions": round(claim.conversions, 2),
            "conversion_value": round(claim.conversion_value, 2),
            "spend": round(claim.spend, 2),
        }
    return out


def journeys_attribute(
    *, as_of: date | None = None, period_days: int = JOURNEY_PERIOD_DAYS, lookback_days: int | None = None
) -> JourneyReport:
    """Build the conversion paths of orders placed in the `period_days` workspace days up to `as_of`
    (default: yesterday), attribute them, and store the result (or find the identical one)."""
    workspace = current_workspace()
    zone = _zone(workspace.time_zone)
    today = datetime.now(tz=zone).date()
    period_end = as_of or (today - timedelta(days=1))
    period_start = period_end - timedelta(days=period_days - 1)
    since = datetime.combine(period_start, time.min, tzinfo=zone)
    until = datetime.combine(period_end + timedelta(days=1), time.min, tzinfo=zone)
    lookback = lookback_days if lookback_days is not None else _lookback_days(workspace.schema_name)

    started = perf_counter()
    events = journey_events(since=since - timedelta(days=lookback), until=until, reporting_currency=workspace.currency)
    orders = [
        jr.StoreOrder(o.order_id, o.created_at, o.value, o.customer_id)
        for o in store_orders_between(since=since - timedelta(days=lookback), until=until)
    ]
    campaigns = jr.campaign_index(
        jr.CampaignRef(c.platform, c.key, c.name) for c in campaign_names() if c.platform in jr.CHANNEL_OF_PLATFORM
    )
    read_seconds = perf_counter() - started
    started = perf_counter()
    build = jr.build_journeys(
        events, campaigns=campaigns, store_orders=orders, lookback_days=lookback, since=since, until=until
    )
    conversions = sum(1 for j in build.journeys if j.converted)
    if conversions == 0:
        logger.info("journeys in %s: no conversion to attribute", workspace.schema_name)
        return JourneyReport(
            "no_conversions", None, build.events, len(build.journeys), 0, read_seconds, perf_counter() - started
        )
    frame = jr.paths_frame(build.journeys)
    try:
        results = attribute(frame, half_life_days=HALF_LIFE_DAYS)
    except InputError as exc:  # cannot happen on built paths; say so plainly if it does
        raise InsightsError(f"The journeys could not be attributed: {exc}") from exc
    build_seconds = perf_counter() - started
    summary = jr.summarise(build.journeys)
    details = {
        "lookback_days": lookback,
        "events": build.events,
        "visitors": build.visitors,
        "people": build.people,
        "sessions": build.sessions,
        "journeys": len(build.journeys),
        "orders": build.orders,
        "matched_orders": build.matched_orders,
        "unmatched_orders": build.unmatched_orders,
        "unmatched_value": round(build.unmatched_value, 2),
        "platform_claims": _claims(period_start, period_end),
        **summary,
    }
    record, created = _store(frame=frame, results=results, details=details, period=(period_start, period_end))
    return JourneyReport(
        "built" if created else "unchanged",
        record.pk,
        build.events,
        len(build.journeys),
        conversions,
        round(read_seconds, 3),
        round(build_seconds, 3),
    )


@transaction.atomic
def _store(
    *, frame: Any, results: Any, details: dict[str, Any], period: tuple[date, date]
) -> tuple[AttributionImport, bool]:
    text = frame.to_csv(index=False)
    digest = hashlib.sha256(f"journeys|{period[0]}|{period[1]}|{text}".encode()).hexdigest()
    conversions = float(frame["total_conversions"].sum())
    value = float(frame["total_conversion_value"].sum())
    nulls = float(frame["total_null"].sum())
    channels = sorted({c.strip() for p in frame["path"] for c in p.split(">")})
    totals = results.groupby("model")["conversions"].sum()
    version = model_version_record(
        kind=ModelVersion.Kind.ATTRIBUTION,
        name="First-party journeys",
        algorithm=str(results.attrs.get("model_version", ATTRIBUTION_ALGORITHM)),
        params={
            "half_life_days": HALF_LIFE_DAYS,
            "lookback_days": details["lookback_days"],
            "session_timeout_minutes": int(jr.SESSION_TIMEOUT.total_seconds() // 60),
            "models": "all",
            "source": AttributionImport.Source.JOURNEYS,
        },
        training_start=period[0],
        training_end=period[1],
        metrics={
            "paths": len(frame),
            "channels": len(channels),
            "conversions": conversions,
            "conversion_value": value,
            "null_paths": nulls,
            "models": sorted(results["model"].unique().tolist()),
            "max_sum_error": float((totals - conversions).abs().max()) if len(totals) else 0.0,
        },
        data_hash=digest,
    )
    existing = AttributionImport.objects.filter(content_sha256=digest, version=version).first()
    if existing is not None:
        return existing, False
    label = f"Journeys · {period[0]:%b} {period[0].day} – {period[1]:%b} {period[1].day}, {period[1].year}"
    record = AttributionImport.objects.create(
        source=AttributionImport.Source.JOURNEYS,
        name=label,
        filename="journeys.csv",
        content=text,
        content_sha256=digest,
        version=version,
        paths=len(frame),
        channels=channels,
        conversions=conversions,
        conversion_value=value,
        null_paths=nulls,
        has_touch_times=True,
        period_start=period[0],
        period_end=period[1],
        details=details,
    )
    AttributionResult.objects.bulk_create(
        [
            AttributionResult(
                attribution_import=record,
                version=version,
                channel=str(row.channel),
                model=str(row.model),
                conversions=float(row.conversions),
                conversion_value=float(row.conversion_value),
            )
            for row in results.itertuples(index=False)
        ]
    )
    stale = AttributionImport.objects.filter(source=AttributionImport.Source.JOURNEYS).order_by("-uploaded_at", "-pk")
    old_ids = list(stale.values_list("pk", flat=True)[KEEP_JOURNEY_BUILDS:])
    if old_ids:
        AttributionImport.objects.filter(pk__in=old_ids).delete()
    results_changed()
    return record, True
