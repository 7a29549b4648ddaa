"""Google Ads API (REST): accessible customers, entity snapshots and the daily ad group report.

Streams and their raw record keys (the warehouse builds staging on exactly these):

| stream                      | key                                   | payload                               |
|-----------------------------|---------------------------------------|---------------------------------------|
| `google_ads.customer`       | customer id                           | GoogleAdsRow with `customer`          |
| `google_ads.campaign`       | `cid|campaign_id`                     | GoogleAdsRow with `campaign`          |
| `google_ads.ad_group`       | `cid|ad_group_id`                     | GoogleAdsRow with `adGroup`           |
| `google_ads.ad_group_daily` | `cid|YYYY-MM-DD|campaign_id|ad_group_id` | GoogleAdsRow: campaign, adGroup, segments, metrics |

Reports use `googleAds:search`: fixed-size pages with `nextPageToken` make natural checkpoints,
so a crash or a token refresh resumes at the page it was on. Dates are in the account's time
zone (Google cannot report in another); money is `costMicros` in the account currency.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from django.conf import settings

from connectors import conf
from connectors.errors import (
    AccessDenied,
    AuthExpired,
    ConnectorError,
    CursorExpired,
    NotAdsUser,
    OperatorError,
    PlatformRejected,
    RateLimited,
    ReauthRequired,
    ServerError,
    TooMuchData,
)
from connectors.http import ApiSession, CallStats, json_or_none, retry_after_seconds
from connectors.platforms import AccountInfo, Page, StreamSpec
from connectors.platforms import validation as v
from connectors.platforms.base import AuthenticatedApi, TokenSource
from warehouse.services.landing import RawRow

LABEL = "Google Ads"

CUSTOMER = StreamSpec("google_ads.customer", daily=False)
CAMPAIGN = StreamSpec("google_ads.campaign", daily=False)
AD_GROUP = StreamSpec("google_ads.ad_group", daily=False)
AD_GROUP_DAILY = StreamSpec("google_ads.ad_group_daily", daily=True)
STREAMS: tuple[StreamSpec, ...] = (CUSTOMER, CAMPAIGN, AD_GROUP, AD_GROUP_DAILY)

_QUERIES = {
    CUSTOMER.name: (
        "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone, "
        "customer.status, customer.manager, customer.test_account, customer.auto_tagging_enabled FROM customer"
    ),
    CAMPAIGN.name: (
        "SELECT customer.id, campaign.id, campaign.name, campaign.status, campaign.advertising_channel_type "
        "FROM campaign ORDER BY campaign.id"
    ),
    AD_GROUP.name: (
        "SELECT customer.id, campaign.id, ad_group.id, ad_group.name, ad_group.status, ad_group.type, "
        "ad_group.campaign FROM ad_group"
    ),
    AD_GROUP_DAILY.name: (
        "SELECT campaign.id, ad_group.id, segments.date, metrics.impressions, metrics.clicks, "
        "metrics.cost_micros, metrics.conversions, metrics.conversions_value FROM ad_group "
        "WHERE segments.date BETWEEN '{date_from}' AND '{date_to}'"
    ),
}


# Resources below an ad group: a row carrying one is an ad's or a keyword's, not the ad group's.
FINER_THAN_AD_GROUP = frozenset({"adGroupAd", "adGroupCriterion", "keywordView", "adGroupAdAssetView"})


def _failure_errors(body: Any) -> list[dict[str, Any]]:
    """The `errors` of a GoogleAdsFailure detail (empty when the error has none, e.g. a plain 401)."""
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    out: list[dict[str, Any]] = []
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and isinstance(detail.get("errors"), list):
            out.extend(e for e in detail["errors"] if isinstance(e, dict))
    return out


def _error_codes(errors: list[dict[str, Any]]) -> set[str]:
    codes: set[str] = set()
    for err in errors:
        code = err.get("errorCode")
        if isinstance(code, dict):
            codes.update(str(value) for value in code.values())
    return codes


# Google's documented error codes (AuthenticationError, AuthorizationError, QuotaError,
# InternalError, RequestError...), grouped by what Bosco does about them. They are read before
# the HTTP status: one status carries very different meanings (a 401 is an expired token, or a
# Google user without any Ads account, which no token refresh can fix).
_NOT_ADS_USER = frozenset({"NOT_ADS_USER"})
_TOKEN_REFRESHABLE = frozenset({"OAUTH_TOKEN_EXPIRED", "OAUTH_TOKEN_INVALID", "OAUTH_TOKEN_HEADER_INVALID"})
_GRANT_GONE = frozenset(
    {
        "OAUTH_TOKEN_REVOKED",
        "OAUTH_TOKEN_DISABLED",
        "GOOGLE_ACCOUNT_DELETED",
        "GOOGLE_ACCOUNT_USER_AND_ADS_USER_MISMATCH",
    }
)
_ACCOUNT_SECURITY = frozenset({"TWO_STEP_VERIFICATION_NOT_ENROLLED", "ADVANCED_PROTECTION_NOT_ENROLLED"})
_BOSCO_SIDE = frozenset(
    {
        "DEVELOPER_TOKEN_NOT_APPROVED",
        "DEVELOPER_TOKEN_PROHIBITED",
        "DEVELOPER_TOKEN_NOT_ON_ALLOWLIST",
        "DEVELOPER_TOKEN_INVALID",
        "DEVELOPER_TOKEN_PARAMETER_MISSING",
        "PROJECT_DISABLED",
        "MISSING_TOS",
        "ACCESS_PROHIBITED",  # quotaError: the developer token may not call this API at all
        "INVALID_LOGIN_CUSTOMER_ID_SERVING_CUSTOMER_ID_COMBINATION",  # login-customer-id is Bosco's setting
    }
)
_NOT_ENABLED = frozenset({"CUSTOMER_NOT_ENABLED", "INCOMPLETE_SIGNUP"})
_NO_ACCESS = frozenset(
    {"USER_PERMISSION_DENIED", "CUSTOMER_NOT_FOUND", "ACTION_NOT_PERMITTED", "ACCESS_DENIED_FOR_ACCOUNT_TYPE"}
)
_THROTTLED = frozenset(
    {
        "RESOURCE_EXHAUSTED",
        "RESOURCE_TEMPORARILY_EXHAUSTED",
        "EXCESSIVE_SHORT_TERM_QUERY_RESOURCE_CONSUMPTION",
        "EXCESSIVE_LONG_TERM_QUERY_RESOURCE_CONSUMPTION",
    }
)
_PAGE_TOKEN = frozenset({"INVALID_PAGE_TOKEN", "EXPIRED_PAGE_TOKEN"})
_TRANSIENT = frozenset({"INTERNAL_ERROR", "TRANSIENT_ERROR"})

_NO_ACCESS_MESSAGE = (
    "Google Ads denied Bosco access to this account. Check that the Google user who connected still "
    "has access to it, then re-authorise — or deselect the account."
)


def _retry_delay(errors: list[dict[str, Any]]) -> float | None:
    for err in errors:
        details = err.get("details")
        quota = details.get("quotaErrorDetails") if isinstance(details, dict) else None
        delay = quota.get("retryDelay") if isinstance(quota, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                return None
    return None


def classify(response: httpx.Response) -> ConnectorError | None:
    """Google's google.rpc.Status errors → what the engine does about them: error codes first."""
    status = response.status_code
    if status < 400:
        return None
    body = json_or_none(response)
    error = body.get("error") if isinstance(body, dict) else None
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    errors = _failure_errors(body)
    codes = _error_codes(errors)
    detail = "; ".join(str(e.get("message", "")) for e in errors if e.get("message")) or message or f"HTTP {status}"
    coded = _classify_codes(codes, status=status, detail=detail, response=response, errors=errors)
    if coded is not None:
        return coded
    return _classify_status(status, body=body, message=message, detail=detail, response=response)


def _classify_codes(
    codes: set[str], *, status: int, detail: str, response: httpx.Response, errors: list[dict[str, Any]]
) -> ConnectorError | None:
    """The documented error codes, most specific first; None when none of them is known."""
    if codes & _NOT_ADS_USER:
        return NotAdsUser(
            f"the Google user has no Google Ads account (HTTP {status}, NOT_ADS_USER): {detail}",
            user_message=(
                "The Google user who connected is not a Google Ads user: no Google Ads account is linked to it. "
                "Re-authorise and sign in with a Google user who has access to your Google Ads account (or add "
                "this user to the account in Google Ads first)."
            ),
        )
    if codes & _GRANT_GONE:
        return ReauthRequired(
            f"Google no longer accepts the grant (HTTP {status}, {', '.join(sorted(codes & _GRANT_GONE))}): {detail}",
            user_message=(
                "Google no longer accepts Bosco's access (it was revoked or disabled, or the Google account changed). "
                "Re-authorise the connection to resume syncing; synced data is kept."
            ),
        )
    if codes & _TOKEN_REFRESHABLE:
        return AuthExpired(f"Google Ads rejected the access token (HTTP {status}): {detail}")
    if codes & _ACCOUNT_SECURITY:
        return AccessDenied(
            f"Google Ads requires stronger sign-in for this account: {detail}",
            user_message=(
                "An administrator of this Google Ads account requires 2-Step Verification (or Advanced Protection) "
                "for everyone with access. Turn it on for the Google user who connected, then sync again."
            ),
        )
    if codes & _BOSCO_SIDE:
        return OperatorError(
            f"Google Ads refused Bosco's API credentials ({', '.join(sorted(codes & _BOSCO_SIDE))}): {detail}",
            user_message=(
                "Google Ads refused Bosco's own API credentials. This is a problem on Bosco's side, not with your "
                "connection: nothing needs doing on your part, and support has been alerted."
            ),
        )
    if codes & _NOT_ENABLED:
        return AccessDenied(
            f"Google Ads account not enabled (HTTP {status}): {detail}",
            user_message=(
                "This Google Ads account is not enabled (its sign-up is incomplete, or it was cancelled or "
                "deactivated). Finish or reactivate it in Google Ads — or deselect the account."
            ),
        )
    if codes & _NO_ACCESS:
        return AccessDenied(f"Google Ads denied access (HTTP {status}): {detail}", user_message=_NO_ACCESS_MESSAGE)
    if codes & _THROTTLED:
        retry_after = retry_after_seconds(response) or _retry_delay(errors)
        return RateLimited(f"Google Ads quota exhausted (HTTP {status}): {detail}", retry_after=retry_after)
    if "DEADLINE_EXCEEDED" in codes:
        return TooMuchData(f"Google Ads gave up on the report (HTTP {status}, DEADLINE_EXCEEDED)")
    if codes & _PAGE_TOKEN:
        return CursorExpired(f"Google Ads no longer accepts the saved page token: {detail}")
    if codes & _TRANSIENT:
        return ServerError(f"Google Ads answered HTTP {status} ({', '.join(sorted(codes & _TRANSIENT))}): {detail}")
    return None


def _classify_status(status: int, *, body: Any, message: str, detail: str, response: httpx.Response) -> ConnectorError:
    """Errors without a known code (auth-layer errors have none): the HTTP status decides."""
    if status == 401:
        return AuthExpired(f"Google Ads rejected the access token (HTTP 401): {message or 'unauthenticated'}")
    if status == 429:
        return RateLimited(
            f"Google Ads quota exhausted (HTTP 429): {detail}", retry_after=retry_after_seconds(response)
        )
    if status == 504 and isinstance(body, dict):
        return TooMuchData(f"Google Ads gave up on the report (HTTP {status}, DEADLINE_EXCEEDED)")
    if status >= 500:
        return ServerError(f"Google Ads answered HTTP {status}: {detail if body is not None else 'an error page'}")
    if status == 403:
        if "insufficient authentication scopes" in message.lower():
            return ReauthRequired(
                "Google grant lacks the Google Ads scope",
                user_message="The Google sign-in did not grant access to Google Ads. Re-authorise and allow access to Google Ads.",
            )
        return AccessDenied(f"Google Ads denied access (HTTP 403): {detail}", user_message=_NO_ACCESS_MESSAGE)
    if status == 404:
        return PlatformRejected(
            f"Google Ads answered 404: {detail}",
            user_message=f"Google Ads answered “{detail}”. Bosco needs an update for the current Google Ads API; please contact support.",
        )
    return PlatformRejected(f"Google Ads rejected the request (HTTP {status}): {detail}")


def _classify_unsplittable(response: httpx.Response) -> ConnectorError | None:
    """A single day or a snapshot cannot be split: a deadline is then just a server error (retried)."""
    error = classify(response)
    if isinstance(error, TooMuchData):
        return ServerError(error.message)
    return error


def _customer_id(row: dict[str, Any], expected: str) -> str:
    customer = v.obj(row, "customer", "")
    cid = v.id_string(customer, "id", "customer.")
    if cid != expected:
        raise v.FieldError("customer.id", f"is {cid}, but the request was for customer {expected}")
    return cid


def parse_customer(account_id: str) -> v.RowParser:
    def parse(row: dict[str, Any]) -> RawRow:
        cid = _customer_id(row, account_id)
        customer = row["customer"]
        v.string(customer, "currencyCode", "customer.")
        v.string(customer, "timeZone", "customer.")
        return RawRow(record_key=cid, account_id=cid, date=None, payload=row)

    return parse


def parse_campaign(account_id: str) -> v.RowParser:
    def parse(row: dict[str, Any]) -> RawRow:
        campaign = v.obj(row, "campaign", "")
        campaign_id = v.id_string(campaign, "id", "campaign.")
        return RawRow(record_key=f"{account_id}|{campaign_id}", account_id=account_id, date=None, payload=row)

    return parse


def parse_ad_group(account_id: str) -> v.RowParser:
    def parse(row: dict[str, Any]) -> RawRow:
        ad_group = v.obj(row, "adGroup", "")
        ad_group_id = v.id_string(ad_group, "id", "adGroup.")
        campaign = v.obj(row, "campaign", "")
        v.id_string(campaign, "id", "campaign.")
        return RawRow(record_key=f"{account_id}|{ad_group_id}", account_id=account_id, date=None, payload=row)

    return parse


def parse_ad_group_daily(account_id: str, date_from: date | None, date_to: date | None) -> v.RowParser:
    days = v.day_lookup(date_from, date_to)
    numbers = (int, float)

    def checked(row: dict[str, Any]) -> RawRow:
        v.no_finer_fields(row, FINER_THAN_AD_GROUP, "ad group")
        segments = v.obj(row, "segments", "")
        v.no_finer_fields(segments, frozenset(segments) - {"date"}, "ad group and day", "segments.")
        campaign_id = v.id_string(v.obj(row, "campaign", ""), "id", "campaign.")
        ad_group_id = v.id_string(v.obj(row, "adGroup", ""), "id", "adGroup.")
        day = v.iso_date(v.obj(row, "segments", ""), "date", "segments.")
        v.within(day, date_from, date_to, "segments.date")
        metrics = v.obj(row, "metrics", "")
        v.int_string(metrics, "impressions", "metrics.")
        v.int_string(metrics, "clicks", "metrics.")
        v.int_string(metrics, "costMicros", "metrics.")
        v.number(metrics, "conversions", "metrics.", optional=True)
        v.number(metrics, "conversionsValue", "metrics.", optional=True)
        key = f"{account_id}|{day.isoformat()}|{campaign_id}|{ad_group_id}"
        return RawRow(record_key=key, account_id=account_id, date=day, payload=row)

    def parse(row: dict[str, Any]) -> RawRow:
        # The same checks, written for the common case (the hot loop of a backfill); anything
        # unusual goes through `checked`, which accepts it or says exactly what is wrong.
        try:
            campaign_id = row["campaign"]["id"]
            ad_group_id = row["adGroup"]["id"]
            text = row["segments"]["date"]
            metrics = row["metrics"]
            day = days.get(text)
            if (
                day is not None
                and len(row["segments"]) == 1
                and row.keys().isdisjoint(FINER_THAN_AD_GROUP)
                and v.digits(campaign_id)
                and v.digits(ad_group_id)
                and v.digits(metrics["impressions"])
                and v.digits(metrics["clicks"])
                and v.digits(metrics["costMicros"])
                and type(metrics.get("conversions", 0)) in numbers
                and type(metrics.get("conversionsValue", 0)) in numbers
            ):
                return RawRow(
                    record_key=f"{account_id}|{text}|{campaign_id}|{ad_group_id}",
                    account_id=account_id,
                    date=day,
                    payload=row,
                )
        except (KeyError, TypeError, AttributeError):
            pass
        return checked(row)

    return parse


class GoogleAdsClient(AuthenticatedApi):
    platform = "google_ads"
    label = LABEL
    streams = STREAMS

    def __init__(
        self, *, tokens: TokenSource, stats: CallStats | None = None, session: ApiSession | None = None
    ) -> None:
        super().__init__(
            tokens=tokens, session=session or ApiSession(platform_label=LABEL, classify=classify, stats=stats)
        )
        self.api = conf.google_endpoints().api

    def auth_headers(self, token: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}", "developer-token": settings.GOOGLE_ADS_DEVELOPER_TOKEN}
        if settings.GOOGLE_ADS_LOGIN_CUSTOMER_ID:
            headers["login-customer-id"] = settings.GOOGLE_ADS_LOGIN_CUSTOMER_ID
        return headers

    # ---------------------------------------------------------------- accounts
    def list_accounts(self) -> list[AccountInfo]:
        body = self.authed_call(
            "GET", f"{self.api}/customers:listAccessibleCustomers", what="list accessible customers"
        )
        names = body.get("resourceNames", []) if isinstance(body, dict) else None
        if not isinstance(names, list) or not all(isinstance(n, str) and n.startswith("customers/") for n in names):
            raise v.envelope_error("listAccessibleCustomers", LABEL, "resourceNames should be a list of customers/<id>")
        accounts: list[AccountInfo] = []
        for name in names:
            cid = name.removeprefix("customers/")
            if not cid.isdigit():
                raise v.envelope_error("listAccessibleCustomers", LABEL, f"{name!r} is not a customer resource name")
            try:
                page = self.fetch_page(
                    stream=CUSTOMER, account_id=cid, date_from=None, date_to=None, page_token="", job_id=""
                )
            except AccessDenied:
                continue  # reachable only through a manager account Bosco was not given
            for row in page.rows:
                customer = row.payload["customer"]
                if customer.get("manager") is True:
                    continue  # manager accounts have no metrics of their own
                accounts.append(
                    AccountInfo(
                        external_id=cid,
                        name=str(customer.get("descriptiveName") or cid),
                        currency=str(customer["currencyCode"]),
                        time_zone=str(customer["timeZone"]),
                    )
                )
        return accounts

    # ---------------------------------------------------------------- reports
    def start_chunk(self, *, stream: StreamSpec, account_id: str, date_from: date, date_to: date) -> str:
        return ""  # search needs no report job

    def wait_chunk(self, *, job_id: str) -> None:
        return None

    def fetch_page(
        self,
        *,
        stream: StreamSpec,
        account_id: str,
        date_from: date | None,
        date_to: date | None,
        page_token: str,
        job_id: str,
    ) -> Page:
        query = _QUERIES[stream.name]
        if stream.daily:
            assert date_from is not None and date_to is not None
            query = query.format(date_from=date_from.isoformat(), date_to=date_to.isoformat())
        body: dict[str, Any] = {"query": query}
        if page_token:
            body["pageToken"] = page_token
        where = _where(stream, account_id, date_from, date_to)
        splittable = stream.daily and date_from != date_to
        response = self.authed_call(
            "POST",
            f"{self.api}/customers/{account_id}/googleAds:search",
            what=where,
            json_body=body,
            classify=classify if splittable else _classify_unsplittable,
        )
        return self._page(response, stream, account_id, date_from, date_to, where)

    def _page(
        self,
        response: Any,
        stream: StreamSpec,
        account_id: str,
        date_from: date | None,
        date_to: date | None,
        where: str,
    ) -> Page:
        if not isinstance(response, dict):
            raise v.envelope_error(where, LABEL, f"the response should be a JSON object, got {v.describe(response)}")
        results = response.get("results", [])
        if not isinstance(results, list):
            raise v.envelope_error(where, LABEL, f"results should be a list, got {v.describe(results)}")
        next_token = response.get("nextPageToken")
        if next_token is not None and not isinstance(next_token, str):
            raise v.envelope_error(where, LABEL, f"nextPageToken should be a string, got {v.describe(next_token)}")
        parse = {
            CUSTOMER.name: lambda: parse_customer(account_id),
            CAMPAIGN.name: lambda: parse_campaign(account_id),
            AD_GROUP.name: lambda: parse_ad_group(account_id),
            AD_GROUP_DAILY.name: lambda: parse_ad_group_daily(account_id, date_from, date_to),
        }[stream.name]()
        rows = v.rows_of(results, parse, where=where, platform_label=LABEL)
        return Page(rows=rows, next_token=next_token or None)


def _where(stream: StreamSpec, account_id: str, date_from: date | None, date_to: date | None) -> str:
    cid = f"{account_id[:3]}-{account_id[3:6]}-{account_id[6:]}" if len(account_id) == 10 else account_id
    span = f" {date_from.isoformat()}…{date_to.isoformat()}" if date_from and date_to else ""
    return f"{stream.name.split('.', 1)[1]} of account {cid}{span}"
