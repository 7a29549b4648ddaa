"""Platform errors the clients used to misread, replayed over real HTTP through the emulators' faults.

- Google: the error code is read before the HTTP status (a 401 NOT_ADS_USER is not an expired token).
- Meta: a throttle that does not say when access comes back pauses the run for minutes, growing.
- Meta: error 2601 on reading a report sends the client back to polling the job.
- A page with two rows for one key, or rows finer than requested, is rejected whole.
- OAuth `invalid_client` is Bosco's misconfiguration: logged at ERROR, recorded on the run, and
  the connection stays connected.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from itertools import pairwise

import pytest
from django.utils import timezone

from connectors.errors import ConnectionFlowError
from connectors.models import Connection, SyncRun
from connectors.services import _accounts_with
from connectors.sync import run_execute
from connectors.sync.engine import deferral_pause
from tests.connectors.conftest import GOOGLE_EUR, META_USD, TODAY, raw_daily, truth_daily

pytestmark = pytest.mark.django_db

SINCE = TODAY - timedelta(days=59)
# Entity snapshots come first (3 search calls), so the fault lands on the daily report's 2nd page.
DAILY_PAGE_2 = {"endpoint": "search", "account": GOOGLE_EUR, "after": 4}


def _sync(connect, new_run, platform="google_ads"):
    connection = connect(platform, accounts=[GOOGLE_EUR] if platform == "google_ads" else [META_USD])
    run = new_run(connection)
    status = run_execute(run_id=run.pk)
    run.refresh_from_db()
    connection.refresh_from_db()
    return status, run, connection


def _requests(emulator, name: str) -> int:
    return emulator.state.stats()["requests"].get(name, 0)


def _landed_count() -> int:
    from warehouse.models import RawRecord

    return RawRecord.objects.count()


def _assert_truth(emulator, platform="google_ads"):
    if platform == "google_ads":
        got = raw_daily("google_ads.ad_group_daily", GOOGLE_EUR, SINCE, TODAY)
        assert got == truth_daily(emulator, "google_ads", GOOGLE_EUR, SINCE, TODAY)
    else:
        got = raw_daily("meta.adset_daily", f"act_{META_USD}", SINCE, TODAY)
        assert got == truth_daily(emulator, "meta", META_USD, SINCE, TODAY)


def _rerun_clean(emulator, connection, new_run) -> None:
    emulator.state.clear_faults()
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.ACTIVE)
    assert run_execute(run_id=new_run(connection).pk) == "succeeded"


# ---------------------------------------------------------------------------------------------
# Google: the error code before the status
def test_google_not_ads_user_says_so_without_a_needless_token_refresh(
    tenant, emulator, connect, new_run, handoffs
) -> None:
    emulator.state.add_fault(kind="ads_error", platform="google_ads", count=None, **DAILY_PAGE_2)

    status, run, connection = _sync(connect, new_run)

    assert status == SyncRun.Status.FAILED and run.error_code == "not_ads_user"
    assert _requests(emulator, "google_ads.oauth.token") == 0, "no refresh can give a Google user an Ads account"
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert "not a Google Ads user" in connection.status_message
    assert "sign in with a Google user who has access" in connection.status_message
    assert _landed_count() == run.rows > 0, "what synced before stays"


def test_google_not_ads_user_while_connecting_explains_it(tenant, emulator) -> None:
    emulator.state.add_fault(kind="ads_error", platform="google_ads", endpoint="listAccessibleCustomers")
    token = emulator.state.issue_tokens("google_ads")["access_token"]

    with pytest.raises(ConnectionFlowError) as caught:
        _accounts_with("google_ads", token)

    assert "not a Google Ads user" in caught.value.user_message


@pytest.mark.parametrize(
    ("fault", "error_code", "connection_status", "message"),
    [
        (
            {"status": 401, "category": "authenticationError", "code": "OAUTH_TOKEN_REVOKED"},
            "needs_reauth",
            Connection.Status.NEEDS_REAUTH,
            "Re-authorise",
        ),
        (
            {"status": 403, "category": "authorizationError", "code": "CUSTOMER_NOT_ENABLED"},
            "permission_denied",
            Connection.Status.ERROR,
            "not enabled",
        ),
        (
            {"status": 403, "category": "authenticationError", "code": "TWO_STEP_VERIFICATION_NOT_ENROLLED"},
            "permission_denied",
            Connection.Status.ERROR,
            "2-Step Verification",
        ),
        (
            {"status": 403, "category": "authorizationError", "code": "DEVELOPER_TOKEN_NOT_APPROVED"},
            "bosco_config",
            Connection.Status.ACTIVE,
            "problem on Bosco's side",
        ),
    ],
    ids=["token-revoked", "customer-not-enabled", "two-step-verification", "developer-token"],
)
def test_google_permanent_error_codes_end_the_run_with_what_to_do(
    tenant, emulator, connect, new_run, handoffs, fault, error_code, connection_status, message
) -> None:
    emulator.state.add_fault(kind="ads_error", platform="google_ads", count=None, **fault, **DAILY_PAGE_2)

    status, run, connection = _sync(connect, new_run)

    assert status == SyncRun.Status.FAILED and run.error_code == error_code
    assert message in run.error_message
    assert connection.status == connection_status
    assert _requests(emulator, "google_ads.oauth.token") == 0, "none of these is cured by a new access token"
    assert _requests(emulator, "google_ads.search") == 5, "and none is retried"


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 400, "category": "quotaError", "code": "RESOURCE_TEMPORARILY_EXHAUSTED"},
        {"status": 500, "category": "internalError", "code": "TRANSIENT_ERROR"},
    ],
    ids=["quota-temporarily-exhausted", "transient-error"],
)
def test_google_transient_error_codes_are_retried(tenant, emulator, connect, new_run, handoffs, fault) -> None:
    emulator.state.add_fault(kind="ads_error", platform="google_ads", count=1, **fault, **DAILY_PAGE_2)

    status, run, _ = _sync(connect, new_run)

    assert status == "succeeded" and run.retries == 1
    _assert_truth(emulator)


def test_google_expired_token_code_refreshes_once_and_carries_on(tenant, emulator, connect, new_run, handoffs) -> None:
    fault = {"status": 401, "category": "authenticationError", "code": "OAUTH_TOKEN_EXPIRED"}
    emulator.state.add_fault(kind="ads_error", platform="google_ads", count=1, **fault, **DAILY_PAGE_2)

    status, run, _ = _sync(connect, new_run)

    assert status == "succeeded" and run.token_refreshes == 1
    _assert_truth(emulator)


# ---------------------------------------------------------------------------------------------
# Meta: throttles without a time to regain access
@pytest.mark.parametrize("code", [80004, 4, 17, 613])
def test_meta_throttle_without_regain_time_pauses_the_run_for_growing_minutes(
    tenant, emulator, connect, new_run, handoffs, code
) -> None:
    emulator.state.add_fault(
        kind="rate_limit", platform="meta", endpoint="campaigns", code=code, regain=False, count=None
    )

    status, run, connection = _sync(connect, new_run, platform="meta")

    assert status == SyncRun.Status.QUEUED, "waiting, not failed"
    assert run.error_code == "" and run.deferrals == 1
    assert _requests(emulator, "meta.campaigns") == 1, "no quick retries into a throttle"
    first_pause = (run.resume_after - timezone.now()).total_seconds()
    assert 100 < first_pause <= 125, first_pause
    assert "resumes by itself in about 2 min" in run.note
    assert connection.status == Connection.Status.ACTIVE

    SyncRun.objects.filter(pk=run.pk).update(resume_after=timezone.now() - timedelta(seconds=1))
    assert run_execute(run_id=run.pk) == SyncRun.Status.QUEUED
    run.refresh_from_db()
    second_pause = (run.resume_after - timezone.now()).total_seconds()
    assert second_pause > first_pause * 1.5 and run.deferrals == 2, "the pause grows"

    emulator.state.clear_faults()
    SyncRun.objects.filter(pk=run.pk).update(resume_after=timezone.now() - timedelta(seconds=1))
    assert run_execute(run_id=run.pk) == "succeeded"
    _assert_truth(emulator, "meta")


def test_deferral_pauses_grow_from_minutes_and_stay_capped(settings) -> None:
    settings.CONNECTORS_THROTTLE_PAUSE_BASE = 120.0
    settings.CONNECTORS_THROTTLE_PAUSE_MAX = 1800.0
    pauses = [deferral_pause(n, at_least=0.0) for n in range(8)]
    assert pauses[0] == 120.0
    assert all(later >= earlier * 0.9 for earlier, later in pairwise(pauses))
    assert pauses[3] > 800 and max(pauses) <= 1800.0
    assert deferral_pause(0, at_least=600.0) >= 600.0


# ---------------------------------------------------------------------------------------------
# Meta: a report read too early
def test_meta_report_not_ready_goes_back_to_polling_the_job(tenant, emulator, connect, new_run, handoffs) -> None:
    emulator.state.add_fault(kind="report_not_ready", platform="meta", endpoint="report_run.insights", polls=2)

    status, run, _ = _sync(connect, new_run, platform="meta")

    assert status == "succeeded", run.error_message
    assert run.retries == 0, "2601 is no server error to hammer"
    assert emulator.state.stats()["statuses"].get("400") == 1, "one 2601, then the job was polled to completion"
    _assert_truth(emulator, "meta")


# ---------------------------------------------------------------------------------------------
# Pages whose rows would collapse on their natural key
@pytest.mark.parametrize(
    ("platform", "kind", "where", "expected"),
    [
        ("google_ads", "duplicate_row", DAILY_PAGE_2, "repeats the key of row 4"),
        ("google_ads", "finer_level", DAILY_PAGE_2, "segments.device is present: the row is finer"),
        ("meta", "duplicate_row", {"endpoint": "report_run.insights"}, "repeats the key of row 4"),
        ("meta", "finer_level", {"endpoint": "report_run.insights"}, "ad_id is present: the row is finer"),
    ],
)
def test_a_page_with_rows_that_share_a_key_is_rejected_whole(
    tenant, emulator, connect, new_run, handoffs, platform, kind, where, expected
) -> None:
    emulator.state.add_fault(kind=kind, platform=platform, row=3, count=1, **where)

    status, run, connection = _sync(connect, new_run, platform=platform)

    assert status == SyncRun.Status.FAILED and run.error_code == "bad_response"
    assert expected in run.error_message and "Nothing from that page was saved" in run.error_message
    assert _landed_count() == run.rows, "not one row of the bad page landed"
    _rerun_clean(emulator, connection, new_run)
    _assert_truth(emulator, platform)


# ---------------------------------------------------------------------------------------------
# OAuth invalid_client: Bosco's misconfiguration, not the user's
@pytest.mark.parametrize("platform", ["google_ads", "meta"])
def test_invalid_client_is_an_operator_error_and_the_connection_stays_connected(
    tenant, emulator, connect, new_run, handoffs, caplog, platform
) -> None:
    endpoint = "oauth.token" if platform == "google_ads" else "oauth.access_token"
    emulator.state.add_fault(kind="invalid_client", platform=platform, endpoint=endpoint, count=None)
    connection = connect(platform, accounts=[GOOGLE_EUR] if platform == "google_ads" else [META_USD])
    # Google refreshes a token past its expiry; Meta renews one close to it: both call the token endpoint.
    expires = timezone.now() + (timedelta(minutes=-5) if platform == "google_ads" else timedelta(days=3))
    Connection.objects.filter(pk=connection.pk).update(token_expires_at=expires)
    run = new_run(connection)

    with caplog.at_level(logging.ERROR, logger="connectors.sync"):
        status = run_execute(run_id=run.pk)

    run.refresh_from_db()
    connection.refresh_from_db()
    assert status == SyncRun.Status.FAILED and run.error_code == "bosco_config"
    assert "problem on Bosco's side" in run.error_message and "nothing needs doing on your part" in run.error_message
    assert connection.status == Connection.Status.ACTIVE and connection.status_message == ""
    assert connection.next_sync_at is not None, "still scheduled: it syncs again once Bosco is fixed"
    assert _requests(emulator, f"{platform}.{endpoint}") == 1, "no retries against a wrong client"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "connectors.sync"]
    assert errors and "invalid_client" in errors[0].getMessage()


def test_invalid_client_while_connecting_tells_the_person_it_is_bosco_and_logs_an_error(
    tenant, workspace_client, emulator, settings, caplog
) -> None:
    from django.db import connection as db

    from accounts.models import User
    from tests.connectors.test_oauth import _consent, _finish, _start

    settings.CONNECTORS_OAUTH_REDIRECT_URI = ""
    client = workspace_client(User.objects.get(email="owner@conn.example"), tenant)
    db.set_tenant(tenant)
    emulator.state.add_fault(kind="invalid_client", platform="google_ads", endpoint="oauth.token")
    callback = _finish(_consent(_start(client, "google_ads")), tenant)

    with caplog.at_level(logging.ERROR, logger="connectors.services"):
        response = client.get(callback)

    page = response.content.decode()
    assert response.status_code == 400 and not Connection.objects.exists()
    assert "problem on Bosco&#x27;s side" in page and "link may have expired" not in page
    assert any("invalid_client" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
