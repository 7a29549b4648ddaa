"""GA4 over real HTTP: a backfill lands exactly what the Data API reports, recent days that GA4
was still processing are re-read, quota runs low or out → the run pauses with resume_after,
403 / missing headers / sampled reports / malformed rows fail visibly with nothing partly
landed, and (other) and thresholded rows land flagged, never dropped or summed away.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.models import Connection, SyncRun
from connectors.platforms.ga4 import row_digest
from connectors.sync import run_execute
from tests.connectors.conftest import TODAY

pytestmark = pytest.mark.django_db

PROPERTY = "412345678"  # USD, America/New_York
STREAM = "ga4.traffic_daily"
SINCE = TODAY - timedelta(days=59)
REPORT = {"platform": "ga4", "endpoint": "runReport", "account": PROPERTY}
# Page 2 onwards of a chunk arrives in a batchRunReports call: faults there target either endpoint.
LATER = {"platform": "ga4", "account": PROPERTY}


def landed(since: date = SINCE, until: date = TODAY) -> dict[tuple[str, str], dict[str, Any]]:
    from warehouse.models import RawRecord

    out = {}
    for record in RawRecord.objects.filter(stream=STREAM, account_id=PROPERTY, date__gte=since, date__lte=until):
        m = record.payload["metrics"]
        out[(record.date.isoformat(), record.record_key.rsplit("|", 1)[1])] = {
            "sessions": int(m["sessions"]),
            "engaged_sessions": int(m["engagedSessions"]),
            "key_events": int(m["keyEvents"]),
            "purchase_revenue": Decimal(m["purchaseRevenue"]),
        }
    return out


def truth(emulator: Any, since: date = SINCE, until: date = TODAY) -> dict[tuple[str, str], dict[str, Any]]:
    from devtools.emulators import ga4_data

    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in ga4_data.truth(emulator.state, PROPERTY, since, until)["rows"]:
        k = (row["date"], row_digest(row["channel_group"], row["source"], row["medium"], row["campaign"]))
        acc = out.setdefault(k, {"sessions": 0, "engaged_sessions": 0, "key_events": 0, "purchase_revenue": Decimal(0)})
        acc["sessions"] += row["sessions"]
        acc["engaged_sessions"] += row["engaged_sessions"]
        acc["key_events"] += row["key_events"]
        acc["purchase_revenue"] += Decimal(row["purchase_revenue"])
    return out


def _sync(connect: Any, new_run: Any, connection: Connection | None = None) -> tuple[str, SyncRun, Connection]:
    connection = connection or connect("ga4", accounts=[PROPERTY])
    run = new_run(connection)
    status = run_execute(run_id=run.pk)
    run.refresh_from_db()
    connection.refresh_from_db()
    return status, run, connection


def _count() -> int:
    from warehouse.models import RawRecord

    return RawRecord.objects.count()  # the property snapshot counts as a row of the run too


def test_backfill_lands_what_ga4_reports_with_the_property_currency(
    tenant, emulator, connect, new_run, handoffs
) -> None:
    status, run, connection = _sync(connect, new_run)

    assert status == "succeeded" and run.pages > 3, "60 days at 120 rows a page take several pages"
    got = landed()
    assert got and got == truth(emulator)
    account = connection.accounts.get(external_id=PROPERTY)
    assert (account.currency, account.time_zone) == ("USD", "America/New_York")
    channels = Counter(r.payload["dimensions"]["sessionDefaultChannelGroup"] for r in _records())
    assert {"Paid Search", "Paid Social", "Organic Search", "Direct"} <= set(channels)
    assert handoffs and handoffs[-1]["platform"] == "ga4" and handoffs[-1]["account_ids"] == [PROPERTY]


def test_later_pages_of_a_chunk_come_in_batches_of_at_most_five(tenant, emulator, connect, new_run, handoffs) -> None:
    from django.test import override_settings

    with override_settings(CONNECTORS_GA4_PAGE_SIZE=25):  # ~15 rows a day: a 20-day chunk is ~12 pages
        status, run, _ = _sync(connect, new_run)

    assert status == "succeeded" and landed() == truth(emulator)
    requests = emulator.state.stats()["requests"]
    chunks = requests["ga4.runReport"]
    assert chunks == 3, "60 days in 20-day chunks: one runReport per chunk learns its row count"
    assert requests["ga4.batchRunReports"] >= chunks * 2, "the other ~11 pages of a chunk need 3 batches"
    assert run.pages == 1 + chunks + requests["ga4.batchRunReports"], "the property record is a page too"
    rows = len(truth(emulator))
    assert requests["ga4.runReport"] + requests["ga4.batchRunReports"] < -(-rows // 25) / 2, "fewer calls than pages"


def test_one_bad_report_in_the_middle_of_a_batch_lands_none_of_the_batch(
    tenant, emulator, connect, new_run, handoffs
) -> None:
    from django.test import override_settings

    from warehouse.models import RawRecord

    emulator.state.add_fault(kind="sampled", page=4, endpoint="batchRunReports", **LATER)
    with override_settings(CONNECTORS_GA4_PAGE_SIZE=25):
        status, run, _ = _sync(connect, new_run)

        assert status == SyncRun.Status.FAILED and run.error_code == "bad_response"
        assert "report 3 of 5 (offset 75)" in run.error_message and "sampled" in run.error_message
        first_chunk = RawRecord.objects.filter(stream=STREAM).order_by("date").first()
        assert first_chunk is not None and RawRecord.objects.filter(stream=STREAM).count() == 25, (
            "the chunk's first page landed, none of the batch's five pages did"
        )
        assert _count() == run.rows

        status, _, _ = _sync(connect, new_run, Connection.objects.get())
    assert status == "succeeded" and landed() == truth(emulator)


def test_a_batch_asks_for_no_more_reports_than_the_quota_pays_for(tenant, emulator, connect, new_run, handoffs) -> None:
    from django.test import override_settings

    # Each report costs ~11 tokens; after the first 11 of 150, 139 remain: with five reports held in
    # reserve, a batch may ask for 139 // 11 - 5 + 1 = 8 → at most five, then fewer as tokens shrink.
    emulator.state.update_config(ga4_tokens_per_hour=150)
    with override_settings(CONNECTORS_GA4_PAGE_SIZE=25):
        status, run, _ = _sync(connect, new_run)

    assert status == SyncRun.Status.QUEUED and run.resume_after is not None and "quota" in run.note.lower()
    assert emulator.state.stats()["statuses"].get("429", 0) == 0, "Bosco paused before GA4 refused a batch"
    assert 0 < _count() == run.rows


def _records() -> list[Any]:
    from warehouse.models import RawRecord

    return list(RawRecord.objects.filter(stream=STREAM))


def test_paid_sessions_carry_the_ad_campaign_names(tenant, emulator, connect, new_run, handoffs) -> None:
    _sync(connect, new_run)
    campaign_names = {
        m.campaign_names[c]
        for p in ("google_ads", "meta", "tiktok")
        for spec in emulator.state.config.accounts(p)
        for m in [emulator.state.model(p, spec.account_id)]
        for c in range(m.n_campaigns)
    }
    paid = {
        r.payload["dimensions"]["sessionCampaignName"]
        for r in _records()
        if r.payload["dimensions"]["sessionMedium"] in ("cpc", "paid")
    }
    assert paid and paid <= campaign_names


def test_days_ga4_was_still_processing_are_re_read_and_grow(tenant, emulator, connect, new_run, handoffs) -> None:
    status, _, connection = _sync(connect, new_run)
    before = landed(TODAY - timedelta(days=1), TODAY)
    settled_before = landed(SINCE, TODAY - timedelta(days=3))

    emulator.state.restate("ga4")
    status, run, _ = _sync(connect, new_run, connection)

    assert status == "succeeded"
    after = landed(TODAY - timedelta(days=1), TODAY)
    assert after == truth(emulator, TODAY - timedelta(days=1), TODAY)
    assert sum(r["sessions"] for r in after.values()) > sum(r["sessions"] for r in before.values())
    assert landed(SINCE, TODAY - timedelta(days=3)) == settled_before
    assert run.landed_from >= TODAY - timedelta(days=4), "a resync reads the lookback only"


def test_quota_running_low_pauses_the_run_until_it_resets(tenant, emulator, connect, new_run, handoffs) -> None:
    emulator.state.update_config(ga4_tokens_per_hour=60)  # five or so reports an hour

    status, run, connection = _sync(connect, new_run)

    assert status == SyncRun.Status.QUEUED and run.resume_after is not None
    assert "quota" in run.note.lower()
    assert connection.status == Connection.Status.ACTIVE
    assert 0 < _count() == run.rows, "what landed before the pause stays"
    assert emulator.state.stats()["statuses"].get("429", 0) == 0, "Bosco paused before GA4 refused"


def test_quota_exhausted_defers_instead_of_retrying(tenant, emulator, connect, new_run, handoffs) -> None:
    emulator.state.add_fault(kind="quota_exhausted", page=1, **REPORT)

    status, run, _ = _sync(connect, new_run)

    assert status == SyncRun.Status.QUEUED and run.resume_after is not None
    assert emulator.state.stats()["requests"]["ga4.runReport"] == 1, "no quick retries against an empty quota"


def test_permission_denied_fails_visibly(tenant, emulator, connect, new_run, handoffs) -> None:
    emulator.state.add_fault(kind="permission_denied", **REPORT)

    status, run, _ = _sync(connect, new_run)

    assert status == SyncRun.Status.FAILED and run.error_code == "permission_denied"
    assert "Viewer access" in run.error_message


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"kind": "missing_headers"}, "has no metricHeaders"),
        ({"kind": "missing_headers", "field": "dimensionHeaders"}, "has no dimensionHeaders"),
        ({"kind": "sampled"}, "sampled"),
        ({"kind": "bad_row", "mode": "wrong_type", "row": 3}, "metricValues[0] (sessions).value"),
        ({"kind": "duplicate_row", "row": 2}, "repeats the key"),
    ],
)
def test_a_bad_report_page_lands_nothing(tenant, emulator, connect, new_run, handoffs, fault, expected) -> None:
    emulator.state.add_fault(page=2, **LATER, **fault)

    status, run, _ = _sync(connect, new_run)

    assert status == SyncRun.Status.FAILED and run.error_code == "bad_response"
    assert expected in run.error_message and "Nothing" in run.error_message
    assert _count() == run.rows, "only whole pages landed"
    emulator.state.clear_faults()
    assert _sync(connect, new_run, Connection.objects.get())[0] == "succeeded"
    assert landed() == truth(emulator)


@pytest.mark.parametrize("kind", ["server_error", "html_502", "truncated_json", "rate_limit"])
def test_transient_failures_are_retried(tenant, emulator, connect, new_run, handoffs, kind) -> None:
    emulator.state.add_fault(kind=kind, page=2, count=2, **LATER)

    status, run, _ = _sync(connect, new_run)

    assert status == "succeeded" and run.retries == 2
    assert landed() == truth(emulator)


def test_other_rows_and_thresholding_land_flagged(tenant, emulator, connect, new_run, handoffs) -> None:
    emulator.state.update_config(ga4_other_row_after=150, ga4_threshold_users=20)

    status, _, _ = _sync(connect, new_run)

    assert status == "succeeded"
    records = _records()
    other = [r for r in records if r.payload["dimensions"]["sessionCampaignName"] == "(other)"]
    assert other, "the (other) rows are kept"
    assert all(r.payload["report"]["dataLossFromOtherRow"] for r in other)
    assert all(r.payload["report"]["subjectToThresholding"] for r in records)


def test_a_token_without_the_analytics_scope_needs_reauth(tenant, emulator, connect, new_run, handoffs) -> None:
    from connectors.models import Connection as C

    connection = connect("ga4", accounts=[PROPERTY])
    wrong = emulator.state.issue_tokens("google_ads")  # adwords scope only
    C.objects.filter(pk=connection.pk).update(access_token=wrong["access_token"], refresh_token=wrong["refresh_token"])
    connection.refresh_from_db()

    status, _run, connection = _sync(connect, new_run, connection)

    assert status == SyncRun.Status.FAILED and connection.status == Connection.Status.NEEDS_REAUTH
    assert "analytics.readonly" in connection.status_message


_PAGES: dict[tuple[date, date], list[list[Any]]] = {}


def _pages_for(emulator: Any, window: tuple[date, date]) -> list[list[Any]]:
    """Every page of one window, read once per test session (the emulator is deterministic)."""
    from connectors.oauth import StaticTokens
    from connectors.platforms.ga4 import TRAFFIC_DAILY, Ga4Client

    if window not in _PAGES:
        client = Ga4Client(tokens=StaticTokens(emulator.state.issue_tokens("ga4")["access_token"], "ga4"))
        pages, token = [], ""
        while True:
            page = client.fetch_page(
                stream=TRAFFIC_DAILY,
                account_id=PROPERTY,
                date_from=window[0],
                date_to=window[1],
                page_token=token,
                job_id="",
            )
            pages.append(page.rows)
            if not page.next_token:
                break
            token = page.next_token
        client.close()
        _PAGES[window] = pages
    return _PAGES[window]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    spans=st.lists(st.tuples(st.integers(0, 59), st.integers(0, 20)), min_size=1, max_size=5),
    seed=st.integers(0, 2**32 - 1),
    duplicate=st.floats(0, 0.5),
)
def test_overlapping_reordered_and_repeated_windows_land_the_clean_result(
    tenant, emulator, spans, seed, duplicate
) -> None:
    from django.db import transaction

    from warehouse.models import RawRecord
    from warehouse.services.landing import raw_records_land

    rng = random.Random(seed)
    deliveries: list[list[Any]] = []
    days: set[str] = set()
    for offset, length in spans:
        start = SINCE + timedelta(days=offset)
        end = min(TODAY, start + timedelta(days=length))
        days.update((start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1))
        for page in _pages_for(emulator, (start, end)):
            deliveries.append(page)
            if rng.random() < duplicate:
                deliveries.append(page)
    rng.shuffle(deliveries)
    with transaction.atomic():
        for run_id, page in enumerate(deliveries, start=1):
            if page:
                raw_records_land(stream=STREAM, connection_id=1, sync_run_id=run_id, rows=page)
        expected = {k: v for k, v in truth(emulator).items() if k[0] in days}
        assert landed() == expected
        assert RawRecord.objects.count() == len(expected), "no duplicates"
        transaction.set_rollback(True)


def test_a_granted_ga4_connection_lists_both_properties_with_currency_and_zone(tenant, emulator) -> None:
    """The demo's path (a grant minted without the consent page) and the callback's account listing."""
    from django.utils import timezone

    from connectors import services
    from connectors.oauth import TokenSet

    minted = emulator.state.issue_tokens("ga4")
    tokens = TokenSet(
        minted["access_token"], minted["refresh_token"], timezone.now() + timedelta(hours=1), minted["scope"]
    )

    connection = services.connection_connect_granted(platform="ga4", tokens=tokens, user_id=None, label="Demo")

    accounts = {a.external_id: (a.name, a.currency, a.time_zone) for a in connection.accounts.all()}
    assert accounts == {
        "412345678": ("Bosco Demo Shop (US)", "USD", "America/New_York"),
        "498765432": ("Bosco Démo Boutique (EU)", "EUR", "Europe/Berlin"),
    }
    assert connection.lookback_days == 3
