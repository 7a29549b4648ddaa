"""Response validation and error classification on published payloads and hand-broken variants.

No network, no database: the parsers and classifiers are plain functions. The published payloads
are the shared developer set (/work/shared/reference/payloads); the held-out set checks the
same wire format, so these tests exercise shapes, not particular values.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import httpx
import pytest

from connectors.errors import (
    AuthExpired,
    BadResponse,
    ObjectNotFound,
    RateLimited,
    ReauthRequired,
    ServerError,
    TooMuchData,
)
from connectors.platforms import google_ads, meta
from connectors.platforms import validation as v
from connectors.platforms.meta import UsageGovernor, make_classifier

PAYLOADS = Path("/work/shared/reference/payloads")
DAY = date(2026, 11, 2)

GOOGLE_ROW = {
    "campaign": {"resourceName": "customers/1234567890/campaigns/151", "id": "151"},
    "adGroup": {"resourceName": "customers/1234567890/adGroups/1510", "id": "1510"},
    "metrics": {
        "clicks": "12",
        "conversions": 1.5,
        "conversionsValue": 45.25,
        "costMicros": "12340000",
        "impressions": "1234",
    },
    "segments": {"date": "2026-11-02"},
}
META_ROW = {
    "account_id": "1010203040506071",
    "campaign_id": "120210000000000000",
    "adset_id": "120210000000000001",
    "impressions": "185",
    "clicks": "3",
    "spend": "14.35",
    "actions": [{"action_type": "purchase", "value": "1"}, {"action_type": "link_click", "value": "3"}],
    "action_values": [{"action_type": "purchase", "value": "62.33"}],
    "an_unused_field": {"kept": True},
    "date_start": "2026-11-02",
    "date_stop": "2026-11-02",
}


def _google(rows):
    return v.rows_of(
        rows, google_ads.parse_ad_group_daily("1234567890", DAY, DAY), where="test", platform_label="Google Ads"
    )


def _meta(rows):
    return v.rows_of(
        rows, meta.parse_adset_daily("act_1010203040506071", DAY, DAY), where="test", platform_label="Meta"
    )


def _payload(path: str):
    file = PAYLOADS / path
    if not file.exists():
        pytest.skip(f"reference payload {path} not available")
    return json.loads(file.read_text())


def test_good_rows_give_the_agreed_keys_and_keep_every_field() -> None:
    [google] = _google([GOOGLE_ROW])
    assert google.record_key == "1234567890|2026-11-02|151|1510" and google.date == DAY and google.payload is GOOGLE_ROW
    [row] = _meta([META_ROW])
    assert row.record_key == "act_1010203040506071|2026-11-02|120210000000000000|120210000000000001"
    assert row.payload["an_unused_field"] == {"kept": True}, "fields Bosco does not use yet are kept"


def test_the_published_customer_row_parses() -> None:
    row = _payload("google_ads/row_customer_timezone.json")
    row = copy.deepcopy(row)
    row["customer"]["currencyCode"] = "USD"  # the published row selected no currency
    [parsed] = v.rows_of([row], google_ads.parse_customer("80493123262"), where="customer", platform_label="Google Ads")
    assert parsed.record_key == "80493123262" and parsed.payload["customer"]["imageAssetAutoMigrationDoneDateTime"]


def _broken(base: dict, path: str, value: object) -> dict:
    row = copy.deepcopy(base)
    *parents, last = path.split(".")
    target = row
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return row


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            "metrics.costMicros",
            12340000,
            "metrics.costMicros should be an integer sent as a string, got 12340000 (int)",
        ),
        ("metrics.impressions", KeyError, "metrics.impressions is missing"),
        ("metrics.clicks", None, "metrics.clicks should be an integer sent as a string, got null"),
        ("metrics.clicks", "1²", "metrics.clicks should be an integer sent as a string"),
        ("metrics.conversions", "1.5", "metrics.conversions should be a JSON number, got '1.5' (str)"),
        ("metrics.conversions", True, "metrics.conversions should be a JSON number, got True (bool)"),
        ("campaign.id", 151, "campaign.id should be a string of digits, got 151 (int)"),
        ("adGroup", "1510", "adGroup should be an object, got '1510' (str)"),
        ("segments.date", "2026-11-31", "segments.date is not a real date"),
        ("segments.date", "2026-11-03", "segments.date is 2026-11-03, outside the requested 2026-11-02…2026-11-02"),
        ("segments.date", "02/11/2026", "segments.date should be a date YYYY-MM-DD"),
    ],
)
def test_a_bad_google_field_rejects_the_page_and_names_the_field(path, value, message) -> None:
    with pytest.raises(BadResponse) as caught:
        _google([GOOGLE_ROW, _broken(GOOGLE_ROW, path, value)])
    assert message in caught.value.message and "row 1" in caught.value.message
    assert "row 2" in caught.value.user_message and "Nothing from that page was saved" in caught.value.user_message


def test_unusual_but_valid_google_values_are_accepted() -> None:
    row = _broken(GOOGLE_ROW, "metrics.conversions", 2)  # an integral double may arrive as 2
    row = _broken(row, "metrics.conversionsValue", KeyError)  # absent: zero
    assert _google([row])[0].payload["metrics"]["conversions"] == 2


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("spend", 14.35, "spend should be a decimal number sent as a string, got 14.35 (float)"),
        ("spend", KeyError, "spend is missing"),
        ("impressions", "lots", "impressions should be a decimal number sent as a string"),
        ("adset_id", None, "adset_id should be a string of digits, got null"),
        ("date_stop", "2026-11-03", "daily rows start and stop on the same day"),
        ("actions", {"purchase": 1}, "actions should be a list"),
        ("account_id", "999", "but the request was for act_1010203040506071"),
    ],
)
def test_a_bad_meta_field_rejects_the_page_and_names_the_field(path, value, message) -> None:
    with pytest.raises(BadResponse) as caught:
        _meta([META_ROW, _broken(META_ROW, path, value)])
    assert message in caught.value.message


def test_a_bad_meta_action_item_is_named() -> None:
    row = copy.deepcopy(META_ROW)
    row["action_values"][0]["value"] = 62.33
    with pytest.raises(BadResponse, match=r"action_values\[0\]\.value should be a decimal number sent as a string"):
        _meta([row])


def _response(status: int, body: object = None, headers: dict | None = None, text: str | None = None) -> httpx.Response:
    content = text if text is not None else json.dumps(body)
    return httpx.Response(
        status, content=content.encode(), headers=headers or {}, request=httpx.Request("GET", "http://x")
    )


def test_google_errors_are_classified() -> None:
    unauthenticated = _payload("google_ads/error_401_unauthenticated.json")
    assert isinstance(google_ads.classify(_response(401, unauthenticated)), AuthExpired)
    throttled = {
        "error": {
            "code": 429,
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "errors": [
                        {
                            "errorCode": {"quotaError": "RESOURCE_EXHAUSTED"},
                            "details": {"quotaErrorDetails": {"retryDelay": "30s"}},
                        }
                    ]
                }
            ],
        }
    }
    error = google_ads.classify(_response(429, throttled))
    assert isinstance(error, RateLimited) and error.retry_after == 30.0
    assert google_ads.classify(_response(429, throttled, {"Retry-After": "7"})).retry_after == 7.0
    deadline = {
        "error": {
            "code": 504,
            "status": "DEADLINE_EXCEEDED",
            "details": [{"errors": [{"errorCode": {"internalError": "DEADLINE_EXCEEDED"}}]}],
        }
    }
    assert isinstance(google_ads.classify(_response(504, deadline)), TooMuchData)
    assert isinstance(google_ads.classify(_response(502, text="<html>502</html>")), ServerError)
    scopes = {
        "error": {
            "code": 403,
            "message": "Request had insufficient authentication scopes.",
            "status": "PERMISSION_DENIED",
        }
    }
    assert isinstance(google_ads.classify(_response(403, scopes)), ReauthRequired)
    assert google_ads.classify(_response(200, {})) is None


def test_meta_errors_and_usage_headers_are_classified() -> None:
    from connectors.http import CallStats, RetryPolicy

    governor = UsageGovernor(CallStats(), RetryPolicy(3, 0.01, 0.05, 5.0))
    classify = make_classifier(governor, splittable=True)
    app_limit = _payload("meta/error_4_application_request_limit.json")
    buc = {
        "1010203040506071": [
            {
                "type": "ads_insights",
                "call_count": 100,
                "total_cputime": 40,
                "total_time": 60,
                "estimated_time_to_regain_access": 7,
            }
        ]
    }
    response = _response(400, app_limit, {"X-Business-Use-Case-Usage": json.dumps(buc)})
    governor.inspect(response)
    error = classify(response)
    assert isinstance(error, RateLimited) and error.retry_after == 420.0
    assert governor.stats.usage_pct == 100.0 and governor.pause_seconds == 420.0

    expired = {"error": {"message": "Session has expired", "type": "OAuthException", "code": 190, "error_subcode": 463}}
    assert isinstance(classify(_response(400, expired)), AuthExpired)
    revoked = {"error": {"message": "not authorized", "type": "OAuthException", "code": 190, "error_subcode": 458}}
    assert isinstance(classify(_response(400, revoked)), ReauthRequired)
    too_much = {
        "error": {"message": "Please reduce the amount of data you're asking for, then retry your request", "code": 1}
    }
    assert isinstance(classify(_response(500, too_much)), TooMuchData)
    assert isinstance(make_classifier(governor, splittable=False)(_response(500, too_much)), ServerError)
    missing = {
        "error": {
            "message": "Unsupported get request.",
            "type": "GraphMethodException",
            "code": 100,
            "error_subcode": 33,
        }
    }
    assert isinstance(classify(_response(400, missing)), ObjectNotFound)
    assert isinstance(classify(_response(502, text="<!DOCTYPE html><html>Sorry</html>")), ServerError)

    quiet = _response(200, {"data": []}, {"X-Business-Use-Case-Usage": "{not json"})
    governor.inspect(quiet)  # a garbled usage header is no reason to fail


def test_meta_report_status_100_percent_is_not_done() -> None:
    """`async_percent_completion: 100` while `async_status` is still running (the published body)."""
    body = _payload("meta/report_run_status_running.json")
    assert body["async_percent_completion"] == 100 and body["async_status"] != "Job Completed"


def test_html_and_truncated_bodies_are_unreadable_not_data() -> None:
    from connectors.errors import MalformedBody
    from connectors.http import parse_json

    with pytest.raises(MalformedBody, match="HTML page"):
        parse_json(
            _response(200, text="<!DOCTYPE html><p>proxy error</p>", headers={"content-type": "text/html"}),
            what="t",
            platform_label="Meta",
        )
    with pytest.raises(MalformedBody, match="not valid JSON"):
        parse_json(_response(200, text='{"results": [{"campaign": {"id": "1'), what="t", platform_label="Google Ads")
