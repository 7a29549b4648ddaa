"""Journeys benchmark: nightly path building for 1M tracked events in one workspace, in seconds.

Generates synthetic first-party events (visitors with 1–5 sessions over 90 days through paid
clicks, UTM-tagged e-mail, organic referrers and direct visits; about one visitor in twelve orders,
some identify on a second device) straight into the workspace's `tracking_event` with COPY, then
times the nightly build (`insights.services.journeys.journeys_attribute`): reading the events,
sessionising, stitching, building the paths, attributing them with all nine models and storing the
result. Prints the phases and their rates; the last line is one JSON object.

    python bench/journeys.py            # 1,000,000 events (the data is kept and reused)
    python bench/journeys.py --quick    # 100,000 events, says so in its output
    python bench/journeys.py --events 300000 --fresh
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from _common import emit, machine, setup_django

END = date(2026, 11, 20)
CAMPAIGNS = {"google_ads": ["Brand Search", "Generic Search", "Shopping"], "meta": ["Prospecting", "Retargeting"]}
COLUMNS = (
    "event_id, received_at, occurred_at, kind, name, anonymous_id, session_hint, customer_id, email_sha256,"
    " order_id, checkout_token, cart_token, revenue, currency, url, path, referrer, referrer_host, utm_source,"
    " utm_medium, utm_campaign, utm_content, utm_term, click_id_type, click_id, ip_truncated, browser, os, device,"
    " properties"
)
N = ""  # identity and click columns are '' when absent
NULL = "\\N"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _landing(rng: random.Random) -> tuple[str, str, str, str, str, str]:
    """(referrer_host, utm_source, utm_medium, utm_campaign, click_id_type, click_id) of a session start."""
    roll = rng.random()
    if roll < 0.25:
        return (
            "www.google.com",
            "google",
            "cpc",
            rng.choice(CAMPAIGNS["google_ads"]),
            "gclid",
            f"G{rng.getrandbits(40):x}",
        )
    if roll < 0.45:
        return (
            "l.facebook.com",
            "facebook",
            "paid_social",
            rng.choice(CAMPAIGNS["meta"]),
            "fbclid",
            f"F{rng.getrandbits(40):x}",
        )
    if roll < 0.6:
        return "www.google.com", "", "", "", N, N
    if roll < 0.7:
        return "", "newsletter", "email", "weekly", N, N
    if roll < 0.77:
        return "l.instagram.com", "", "", "", N, N
    return "", "", "", "", N, N


def generate(target: int, *, seed: int = 3) -> tuple[io.StringIO, int]:
    """COPY text of about `target` events; returns (buffer, rows)."""
    rng = random.Random(seed)
    out = io.StringIO()
    start = datetime.combine(END, datetime.min.time(), tzinfo=UTC) - timedelta(days=90)
    received = datetime(2026, 11, 21, tzinfo=UTC).isoformat()
    rows = 0
    visitor = 0
    while rows < target:
        visitor += 1
        anon = f"v{visitor:08d}"
        moment = start + timedelta(seconds=rng.randrange(90 * 86_400))
        sessions = rng.choices((1, 2, 3, 4, 5), (0.5, 0.22, 0.14, 0.08, 0.06))[0]
        buys = rng.random() < 0.085
        for s in range(sessions):
            ref, src, med, camp, ctype, cid = _landing(rng)
            for p in range(rng.choice((1, 2, 3, 4, 6))):
                first = p == 0
                out.write(
                    "\t".join(
                        (
                            str(uuid.UUID(int=rng.getrandbits(128))),
                            received,
                            moment.isoformat(),
                            "page_view",
                            "",
                            anon,
                            "",
                            N,
                            N,
                            N,
                            N,
                            N,
                            NULL,
                            "",
                            "https://shop.example/p" + (f"?utm_source={src}" if first and src else ""),
                            "/p",
                            f"https://{ref}/" if first and ref else "https://shop.example/",
                            ref if first else "shop.example",
                            src if first else "",
                            med if first else "",
                            camp if first else "",
                            "",
                            "",
                            ctype if first else N,
                            cid if first else N,
                            "203.0.113.0",
                            "Chrome",
                            "macOS",
                            "desktop",
                            "{}",
                        )
                    )
                    + "\n"
                )
                rows += 1
                moment += timedelta(seconds=rng.randint(15, 300))
            if buys and s == sessions - 1:
                out.write(
                    "\t".join(
                        (
                            str(uuid.UUID(int=rng.getrandbits(128))),
                            received,
                            moment.isoformat(),
                            "order",
                            "",
                            anon,
                            "",
                            f"c{visitor}",
                            N,
                            f"o{visitor}",
                            N,
                            N,
                            f"{rng.uniform(20, 300):.2f}",
                            "EUR",
                            "https://shop.example/thanks",
                            "/thanks",
                            "https://shop.example/",
                            "shop.example",
                            "",
                            "",
                            "",
                            "",
                            "",
                            N,
                            N,
                            "203.0.113.0",
                            "Chrome",
                            "macOS",
                            "desktop",
                            "{}",
                        )
                    )
                    + "\n"
                )
                rows += 1
            moment += timedelta(hours=rng.choice((1, 5, 26, 70, 200)))
    out.seek(0)
    return out, rows


def path_building(events: int, *, fresh: bool = False) -> dict[str, Any]:
    """Generate (or reuse) `events` events in a benchmark workspace and time the nightly build."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from accounts.models import User, Workspace
    from accounts.services import workspace_create, workspace_drop
    from insights.services.journeys import journeys_attribute

    slug = f"bench-jr-{events}"
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is not None and fresh:
        workspace_drop(workspace=workspace)
        workspace = None
    if workspace is None:
        owner, _ = User.objects.get_or_create(email="bench-journeys@bosco.local")
        workspace = workspace_create(owner=owner, name=slug, slug=slug, reporting_currency="EUR", time_zone="UTC")
    result: dict[str, Any] = {"events_target": events}
    with schema_context(workspace.schema_name):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tracking_event")
            present = cursor.fetchone()[0]
        if present < events * 0.95:
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE tracking_event")
            log(f"generating {events:,} events …")
            started = time.perf_counter()
            buffer, rows = generate(events)
            generated = time.perf_counter() - started
            started = time.perf_counter()
            raw = connection.connection  # psycopg 3 connection under Django's wrapper
            with raw.cursor() as cur, cur.copy(f"COPY tracking_event ({COLUMNS}) FROM STDIN") as copy:
                while chunk := buffer.read(1 << 20):
                    copy.write(chunk)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE tracking_event")
            result.update(generate_s=round(generated, 2), copy_s=round(time.perf_counter() - started, 2))
            present = rows
        result["events"] = present
        log(f"building paths from {present:,} events …")
        started = time.perf_counter()
        report = journeys_attribute(as_of=END, period_days=90, lookback_days=30)
        total = time.perf_counter() - started
    result.update(
        path_build_s=round(total, 2),
        read_s=report.seconds_read,
        sessionise_stitch_attribute_s=report.seconds_build,
        store_s=round(total - report.seconds_read - report.seconds_build, 2),
        journeys=report.journeys,
        conversions=report.conversions,
        events_per_s=round(present / total) if total else None,
        status=report.status,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100,000 events instead of 1,000,000")
    parser.add_argument("--events", type=int)
    parser.add_argument("--fresh", action="store_true", help="regenerate the events")
    args = parser.parse_args()
    events = args.events or (100_000 if args.quick else 1_000_000)
    setup_django("journeys")
    if args.quick:
        print(f"--quick: {events:,} events, not the 1,000,000 of the full benchmark")
    result = path_building(events, fresh=args.fresh)
    print(
        f"nightly path building: {result['events']:,} events in {result['path_build_s']} s "
        f"(read {result['read_s']} s, sessions + stitching + paths + 9 models {result['sessionise_stitch_attribute_s']} s, "
        f"store {result['store_s']} s) → {result['journeys']:,} journeys, {result['conversions']:,} conversions"
    )
    emit({"suite": "journeys", "quick": args.quick, **result, "machine": machine()})


if __name__ == "__main__":
    main()
