"""Meta Marketing API (Graph): ad accounts, campaign and ad set snapshots, daily ad set insights.

Streams and their raw record keys (the warehouse builds staging on exactly these):

| stream              | key                                         | payload                                  |
|---------------------|---------------------------------------------|------------------------------------------|
| `meta.ad_account`   | `act_<id>`                                  | the AdAccount object                     |
| `meta.campaign`     | `act_<id>|campaign_id`                      | the Campaign object                      |
| `meta.adset`        | `act_<id>|adset_id`                         | the AdSet object                         |
| `meta.adset_daily`  | `act_<id>|YYYY-MM-DD|campaign_id|adset_id`  | the insights row, actions/action_values included |

Daily insights use asynchronous report runs (POST → report_run_id → poll until
"Job Completed", never trusting `async_percent_completion` alone → page through
`/{report_run_id}/insights` with `after` cursors). The job id and the cursor are saved with every
page, so a resumed run keeps paging the same frozen report. Every metric arrives as a string.

Rate limits: every response's `X-Business-Use-Case-Usage`, `X-Ad-Account-Usage` and
`X-FB-Ads-Insights-Throttle` headers are read; near the budget Bosco slows down, and once Meta
reports a time to regain access Bosco waits that long (or frees the worker and resumes later).
A throttle without that time pauses the run for minutes, growing with each pause (quick retries
would only prolong it). Error 2601 on reading a report means "not ready": poll the job again.
"""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from django.conf import settings

from connectors import conf
from connectors.errors import (
    AccessDenied,
    AuthExpired,
    ConnectorError,
    CursorExpired,
    Deferred,
    ObjectNotFound,
    PlatformRejected,
    RateLimited,
    ReauthRequired,
    ReportNotReady,
    ServerError,
    TooMuchData,
)
from connectors.http import ApiSession, CallStats, RetryPolicy, json_or_none, wait
from connectors.platforms import AccountInfo, Page, StreamSpec
from connectors.platforms import validation as v
from connectors.platforms.base import AuthenticatedApi, TokenSource
from warehouse.services.landing import RawRow

LABEL = "Meta"

AD_ACCOUNT = StreamSpec("meta.ad_account", daily=False)
CAMPAIGN = StreamSpec("meta.campaign", daily=False)
ADSET = StreamSpec("meta.adset", daily=False)
ADSET_DAILY = StreamSpec("meta.adset_daily", daily=True)
STREAMS: tuple[StreamSpec, ...] = (AD_ACCOUNT, CAMPAIGN, ADSET, ADSET_DAILY)

ACCOUNT_FIELDS = (
    "id,account_id,name,currency,timezone_name,timezone_offset_hours_utc,account_status,business_country_code"
)
CAMPAIGN_FIELDS = (
    "id,name,account_id,objective,status,configured_status,effective_status,buying_type,daily_budget,"
    "created_time,start_time,stop_time,updated_time"
)
ADSET_FIELDS = (
    "id,name,account_id,campaign_id,status,configured_status,effective_status,optimization_goal,billing_event,"
    "daily_budget,created_time,start_time,end_time"
)
# Fields that only rows finer than an ad set carry (ads, breakdowns): such a row is not the
# ad set's day, and adding it up as one would count some spend twice or drop it.
FINER_THAN_ADSET = frozenset(
    {
        "ad_id",
        "ad_name",
        "age",
        "gender",
        "country",
        "region",
        "dma",
        "publisher_platform",
        "platform_position",
        "device_platform",
        "impression_device",
        "hourly_stats_aggregated_by_advertiser_time_zone",
        "hourly_stats_aggregated_by_audience_time_zone",
        "product_id",
        "frequency_value",
    }
)
INSIGHTS_FIELDS = (
    "account_id,account_currency,campaign_id,campaign_name,adset_id,adset_name,objective,impressions,clicks,"
    "inline_link_clicks,spend,reach,actions,action_values"
)
# Snapshots include paused and archived objects: their history still has spend.
CAMPAIGN_STATUSES = ["ACTIVE", "PAUSED", "ARCHIVED", "IN_PROCESS", "WITH_ISSUES"]
ADSET_STATUSES = ["ACTIVE", "PAUSED", "CAMPAIGN_PAUSED", "ARCHIVED", "IN_PROCESS", "WITH_ISSUES"]
THROTTLE_CODES = frozenset({4, 17, 32, 613})
REAUTH_CODES = frozenset({102, 190, 2500})
PERMISSION_CODES = frozenset({10, 200, 294, 275})


def _error_of(response: httpx.Response) -> dict[str, Any] | None:
    body = json_or_none(response)
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


class UsageGovernor:
    """Reads Meta's usage headers and decides how long to pause before the next call."""

    def __init__(self, stats: CallStats, policy: RetryPolicy) -> None:
        self.stats = stats
        self.policy = policy
        self.pause_seconds = 0.0
        self.regain_seconds: float | None = None

    def inspect(self, response: httpx.Response) -> None:
        pct, regain_minutes = 0.0, 0.0
        seen = False
        for name in ("x-business-use-case-usage", "x-ad-account-usage", "x-fb-ads-insights-throttle", "x-app-usage"):
            raw = response.headers.get(name)
            if not raw:
                continue
            try:
                data = json.loads(raw)
            except ValueError:
                continue  # a garbled usage header is no reason to drop good data
            for entry in _usage_entries(data):
                seen = True
                for key in ("call_count", "total_cputime", "total_time", "acc_id_util_pct", "app_id_util_pct"):
                    value = entry.get(key)
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        pct = max(pct, float(value))
                regain = entry.get("estimated_time_to_regain_access")
                if isinstance(regain, int | float) and not isinstance(regain, bool):
                    regain_minutes = max(regain_minutes, float(regain))
        if not seen:
            return
        self.stats.usage_pct = pct
        self.regain_seconds = regain_minutes * 60 if regain_minutes > 0 else None
        if pct >= 100 and self.regain_seconds:
            self.pause_seconds = self.regain_seconds
        elif pct >= settings.CONNECTORS_META_USAGE_SLOWDOWN_PCT:
            # Close to the budget: space calls out instead of running into error 80000.
            self.pause_seconds = self.policy.backoff(2)
        else:
            self.pause_seconds = 0.0

    def before_call(self) -> None:
        pause, self.pause_seconds = self.pause_seconds, 0.0
        wait(pause, reason="Meta usage budget", stats=self.stats, policy=self.policy)


def _usage_entries(data: Any) -> list[dict[str, Any]]:
    """Flatten the usage header shapes: {id: [{...}]} (business use case) or a plain {...}."""
    if isinstance(data, dict):
        if any(isinstance(value, list) for value in data.values()):
            return [e for value in data.values() if isinstance(value, list) for e in value if isinstance(e, dict)]
        return [data]
    return []


def make_classifier(governor: UsageGovernor, *, splittable: bool) -> Any:
    def classify(response: httpx.Response) -> ConnectorError | None:
        status = response.status_code
        if status < 400:
            return None
        error = _error_of(response)
        if error is None:
            if status == 429:
                return RateLimited("Meta throttled Bosco (HTTP 429)", retry_after=governor.regain_seconds)
            if status >= 500:
                return ServerError(f"Meta answered HTTP {status} with an error page")
            return PlatformRejected(f"Meta answered HTTP {status} without an error body")
        code = error.get("code")
        subcode = error.get("error_subcode")
        message = str(error.get("message", ""))
        if code in REAUTH_CODES:
            if code == 190 and subcode == 463:
                return AuthExpired(f"Meta access token expired (190/463): {message}")
            return ReauthRequired(
                f"Meta rejected the token ({code}/{subcode}): {message}",
                user_message=(
                    "Meta no longer accepts Bosco's access (the token expired, was revoked, or the password "
                    "changed). Re-authorise the connection to resume syncing; synced data is kept."
                ),
            )
        if code in THROTTLE_CODES or (isinstance(code, int) and 80000 <= code <= 80014):
            if governor.regain_seconds:
                return RateLimited(f"Meta rate limit (code {code}): {message}", retry_after=governor.regain_seconds)
            # Meta did not say when access comes back: quick retries only deepen the throttle
            # (its budgets are counted over the last hour), so the run pauses for minutes instead.
            return Deferred(
                f"Meta rate limit (code {code}) without a time to regain access: {message}",
                retry_after=float(settings.CONNECTORS_THROTTLE_PAUSE_BASE),
                backoff=True,
                user_message=f"Meta is limiting how fast Bosco may read (code {code}) without saying for how long.",
            )
        if code == 2601:
            return ReportNotReady(f"Meta report not ready (code 2601): {message}")
        if code == 1 and "reduce the amount of data" in message.lower():
            if splittable:
                return TooMuchData(f"Meta asked for a smaller request (code 1): {message}")
            return ServerError(f"Meta gave up on the request (code 1): {message}")
        if code == 100 and subcode == 33:
            return ObjectNotFound(f"Meta object not found (100/33): {message}")
        if code == 100 and "cursor" in message.lower():
            return CursorExpired(f"Meta no longer accepts the saved cursor: {message}")
        if code in PERMISSION_CODES:
            return ReauthRequired(
                f"Meta permission missing (code {code}): {message}",
                user_message=(
                    "Meta says Bosco lacks permission to read this ad account (ads_read). Re-authorise the "
                    "connection and grant access to the ad account."
                ),
            )
        if error.get("is_transient") or code in (1, 2) or status >= 500:
            return ServerError(f"Meta error (code {code}): {message}")
        return PlatformRejected(f"Meta rejected the request (code {code}/{subcode}): {message}")

    return classify


# Never stored in a page token, even if Meta echoes them into a `next` link.
_SECRET_PARAMS = frozenset({"access_token", "appsecret_proof"})


def _next_page(body: dict[str, Any], where: str) -> str | None:
    """The next page as the query string of Graph's `paging.next` link (None on the last page).

    The link, not `cursors.after`, is what Graph says to request next: on an empty page the
    `after` cursor can point past rows the link still covers. Only the query is kept (the path is
    the one just requested) and never a token, so the cursor can be stored as it is.
    """
    paging = body.get("paging")
    if paging is None:
        return None
    if not isinstance(paging, dict):
        raise v.envelope_error(where, LABEL, f"paging should be an object, got {v.describe(paging)}")
    next_url = paging.get("next")
    if next_url is None:
        return None
    if not isinstance(next_url, str) or not next_url.startswith(("http://", "https://")):
        raise v.envelope_error(where, LABEL, f"paging.next should be a URL, got {v.describe(next_url)}")
    query = [
        (k, val) for k, val in parse_qsl(urlsplit(next_url).query, keep_blank_values=True) if k not in _SECRET_PARAMS
    ]
    if not query:
        raise v.envelope_error(where, LABEL, "paging.next has no query to continue from")
    return urlencode(query)


def _act(account_id: str) -> str:
    return account_id if account_id.startswith("act_") else f"act_{account_id}"


def parse_ad_account(account_id: str) -> v.RowParser:
    def parse(row: dict[str, Any]) -> RawRow:
        got = v.string(row, "id")
        if got != account_id:
            raise v.FieldError("id", f"is {got!r}, but the request was for {account_id}")
        v.string(row, "currency")
        v.string(row, "timezone_name")
        return RawRow(record_key=account_id, account_id=account_id, date=None, payload=row)

    return parse


def parse_object(account_id: str) -> v.RowParser:
    def parse(row: dict[str, Any]) -> RawRow:
        object_id = v.id_string(row, "id")
        return RawRow(record_key=f"{account_id}|{object_id}", account_id=account_id, date=None, payload=row)

    return parse


def parse_adset_daily(account_id: str, date_from: date | None, date_to: date | None) -> v.RowParser:
    digits_of_account = account_id.removeprefix("act_")
    days = v.day_lookup(date_from, date_to)

    def checked(row: dict[str, Any]) -> RawRow:
        if "account_id" in row and v.id_string(row, "account_id") != digits_of_account:
            raise v.FieldError("account_id", f"is {row['account_id']!r}, but the request was for {account_id}")
        v.no_finer_fields(row, FINER_THAN_ADSET, "ad set")
        campaign_id = v.id_string(row, "campaign_id")
        adset_id = v.id_string(row, "adset_id")
        day = v.iso_date(row, "date_start")
        if v.iso_date(row, "date_stop") != day:
            raise v.FieldError("date_stop", f"is {row['date_stop']!r}; daily rows start and stop on the same day")
        v.within(day, date_from, date_to, "date_start")
        v.decimal_string(row, "impressions")
        v.decimal_string(row, "spend")
        for name in ("clicks", "inline_link_clicks", "reach"):
            v.decimal_string(row, name, optional=True)
        for name in ("actions", "action_values"):
            if name not in row:
                continue
            items = row[name]
            if not isinstance(items, list):
                raise v.FieldError(name, f"should be a list, got {v.describe(items)}")
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    raise v.FieldError(f"{name}[{i}]", f"should be an object, got {v.describe(item)}")
                v.string(item, "action_type", f"{name}[{i}].")
                v.decimal_string(item, "value", f"{name}[{i}].")
        key = f"{account_id}|{day.isoformat()}|{campaign_id}|{adset_id}"
        return RawRow(record_key=key, account_id=account_id, date=day, payload=row)

    def fine_actions(items: object) -> bool:
        return type(items) is list and all(
            type(i) is dict and type(i.get("action_type")) is str and v.plain_decimal(i.get("value")) for i in items
        )

    def parse(row: dict[str, Any]) -> RawRow:
        # The common case fast; anything unusual gets the precise checks of `checked`.
        try:
            text = row["date_start"]
            day = days.get(text)
            campaign_id = row["campaign_id"]
            adset_id = row["adset_id"]
            if (
                day is not None
                and row["date_stop"] == text
                and v.digits(campaign_id)
                and v.digits(adset_id)
                and row.get("account_id", digits_of_account) == digits_of_account
                and row.keys().isdisjoint(FINER_THAN_ADSET)
                and v.digits(row["impressions"])
                and v.plain_decimal(row["spend"])
                and all(v.digits(row[k]) for k in ("clicks", "inline_link_clicks", "reach") if k in row)
                and all(fine_actions(row[k]) for k in ("actions", "action_values") if k in row)
            ):
                return RawRow(
                    record_key=f"{account_id}|{text}|{campaign_id}|{adset_id}",
                    account_id=account_id,
                    date=day,
                    payload=row,
                )
        except (KeyError, TypeError, AttributeError):
            pass
        return checked(row)

    return parse


class MetaClient(AuthenticatedApi):
    platform = "meta"
    label = LABEL
    streams = STREAMS

    def __init__(
        self, *, tokens: TokenSource, stats: CallStats | None = None, session: ApiSession | None = None
    ) -> None:
        stats = stats if stats is not None else CallStats()
        policy = RetryPolicy.from_settings()
        self.governor = UsageGovernor(stats, policy)
        session = session or ApiSession(
            platform_label=LABEL,
            classify=make_classifier(self.governor, splittable=False),
            stats=stats,
            inspect=self.governor.inspect,
            policy=policy,
        )
        super().__init__(tokens=tokens, session=session)
        self.graph = conf.meta_endpoints().graph
        self.limit = int(settings.CONNECTORS_META_PAGE_LIMIT)

    def _call(self, method: str, path: str, *, what: str, splittable: bool = False, **kwargs: Any) -> Any:
        self.governor.before_call()
        return self.authed_call(
            method,
            f"{self.graph}/{path}",
            what=what,
            classify=make_classifier(self.governor, splittable=splittable),
            **kwargs,
        )

    # ---------------------------------------------------------------- accounts
    def list_accounts(self) -> list[AccountInfo]:
        accounts: list[AccountInfo] = []
        token: str | None = ""
        pages = 0
        while token is not None:
            pages += 1
            if pages > 100:
                raise v.envelope_error("ad accounts", LABEL, "more than 100 pages of ad accounts")
            params: dict[str, Any] = (
                dict(parse_qsl(token))
                if token
                else {"fields": "id,account_id,name,currency,timezone_name,account_status", "limit": 100}
            )
            body = self._call("GET", "me/adaccounts", what="list ad accounts", params=params)
            items = self._data(body, "ad accounts")
            for item in items:
                if not isinstance(item, dict):
                    raise v.envelope_error("ad accounts", LABEL, f"an item should be an object, got {v.describe(item)}")
                try:
                    account_id = v.string(item, "id") or ""
                    currency = v.string(item, "currency") or ""
                    tz = v.string(item, "timezone_name") or ""
                except v.FieldError as exc:
                    raise v.envelope_error("ad accounts", LABEL, f"{exc.path} {exc.problem}") from exc
                accounts.append(AccountInfo(_act(account_id), str(item.get("name") or account_id), currency, tz))
            token = _next_page(body, "ad accounts")
        return accounts

    @staticmethod
    def _data(body: Any, where: str) -> list[Any]:
        if not isinstance(body, dict):
            raise v.envelope_error(where, LABEL, f"the response should be a JSON object, got {v.describe(body)}")
        data = body.get("data")
        if not isinstance(data, list):
            raise v.envelope_error(where, LABEL, f"data should be a list, got {v.describe(data)}")
        return data

    # ---------------------------------------------------------------- reports
    def start_chunk(self, *, stream: StreamSpec, account_id: str, date_from: date, date_to: date) -> str:
        if not stream.daily:
            return ""
        where = _where(stream, account_id, date_from, date_to)
        form = {
            "level": "adset",
            "time_increment": "1",
            "time_range": json.dumps({"since": date_from.isoformat(), "until": date_to.isoformat()}),
            "fields": INSIGHTS_FIELDS,
        }
        body = self._call(
            "POST",
            f"{_act(account_id)}/insights",
            what=f"start the {where} report",
            splittable=date_from != date_to,
            form=form,
        )
        run_id = body.get("report_run_id") if isinstance(body, dict) else None
        if not isinstance(run_id, str) or not run_id.isdigit():
            raise v.envelope_error(
                where, LABEL, f"report_run_id should be a string of digits, got {v.describe(run_id)}"
            )
        return run_id

    def wait_chunk(self, *, job_id: str) -> None:
        """Poll the report run until Meta says "Job Completed" (100% alone does not mean done)."""
        if not job_id:
            return
        interval = float(settings.CONNECTORS_META_POLL_INTERVAL)
        deadline = time.monotonic() + float(settings.CONNECTORS_META_POLL_TIMEOUT)
        while True:
            try:
                body = self._call("GET", job_id, what=f"poll report {job_id}")
            except ObjectNotFound as exc:
                raise CursorExpired(f"Meta report run {job_id} is gone") from exc
            status = body.get("async_status") if isinstance(body, dict) else None
            if not isinstance(status, str):
                raise v.envelope_error(
                    f"report {job_id}", LABEL, f"async_status should be a string, got {v.describe(status)}"
                )
            if status == "Job Completed":
                return
            if status in ("Job Failed", "Job Skipped"):
                # Meta drops jobs that are too big or hit an internal error: a smaller range usually works.
                raise TooMuchData(f"Meta report run {job_id} ended as {status!r}")
            if time.monotonic() > deadline:
                # The job id is saved with the cursor: free the worker and poll again later.
                raise Deferred(
                    f"Meta report run {job_id} still {status!r} after the polling timeout",
                    retry_after=max(60.0, interval * 10),
                    user_message="Meta is still preparing a large report; the sync picks it up again by itself in a minute or two.",
                )
            wait(interval, reason="Meta report job", stats=self.session.stats, policy=self.session.policy)
            interval = min(interval * 1.5, float(settings.CONNECTORS_META_POLL_INTERVAL) * 10)

    def _report_page(self, job_id: str, *, where: str, params: dict[str, Any]) -> Any:
        """A page of a report run's rows; a 2601 ("not ready") sends Bosco back to polling the job."""
        if not job_id:
            raise CursorExpired("no report run for this chunk")
        for attempt in (1, 2):
            try:
                return self._call("GET", f"{job_id}/insights", what=where, params=params)
            except ObjectNotFound as exc:
                raise CursorExpired(f"Meta report run {job_id} is gone") from exc
            except ReportNotReady as exc:
                if attempt == 2:
                    # Completed twice and still not readable: start the chunk again with a new job.
                    raise CursorExpired(f"Meta report run {job_id} stays unreadable: {exc.message}") from exc
                self.wait_chunk(job_id=job_id)
        raise AssertionError("unreachable")  # pragma: no cover

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
        where = _where(stream, account_id, date_from, date_to)
        params: dict[str, Any] = dict(parse_qsl(page_token)) if page_token else {"limit": self.limit}
        if stream is AD_ACCOUNT or stream.name == AD_ACCOUNT.name:
            try:
                body = self._call("GET", _act(account_id), what=where, params={"fields": ACCOUNT_FIELDS})
            except ObjectNotFound as exc:
                raise _no_access(account_id) from exc
            if not isinstance(body, dict):
                raise v.envelope_error(where, LABEL, f"the response should be a JSON object, got {v.describe(body)}")
            return Page(
                rows=v.rows_of([body], parse_ad_account(_act(account_id)), where=where, platform_label=LABEL),
                next_token=None,
            )
        if stream.daily:
            body = self._report_page(job_id, where=where, params=params)
            parse = parse_adset_daily(_act(account_id), date_from, date_to)
        else:
            edge, fields, statuses = (
                ("campaigns", CAMPAIGN_FIELDS, CAMPAIGN_STATUSES)
                if stream.name == CAMPAIGN.name
                else ("adsets", ADSET_FIELDS, ADSET_STATUSES)
            )
            if not page_token:
                params.update(fields=fields, effective_status=json.dumps(statuses))
            try:
                body = self._call("GET", f"{_act(account_id)}/{edge}", what=where, params=params)
            except ObjectNotFound as exc:
                raise _no_access(account_id) from exc
            parse = parse_object(_act(account_id))
        items = self._data(body, where)
        rows = v.rows_of(items, parse, where=where, platform_label=LABEL)
        return Page(rows=rows, next_token=_next_page(body, where))


def _no_access(account_id: str) -> AccessDenied:
    return AccessDenied(
        f"Meta ad account {account_id} not found or not accessible",
        user_message=(
            f"Meta no longer lets Bosco read ad account {_act(account_id)}. Check that the person who connected "
            "still has access to it, then re-authorise — or deselect the account."
        ),
    )


def _where(stream: StreamSpec, account_id: str, date_from: date | None, date_to: date | None) -> str:
    span = f" {date_from.isoformat()}…{date_to.isoformat()}" if date_from and date_to else ""
    return f"{stream.name.split('.', 1)[1]} of ad account {_act(account_id)}{span}"
