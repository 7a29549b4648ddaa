"""TikTok Business API v1.3: advertiser, campaign and ad group snapshots, daily ad group reports.

Streams and their raw record keys (the warehouse builds staging on exactly these):

| stream                 | key                                         | payload                                  |
|------------------------|---------------------------------------------|------------------------------------------|
| `tiktok.advertiser`    | `<advertiser_id>`                           | the advertiser/info item                 |
| `tiktok.campaign`      | `<advertiser_id>|campaign_id`               | the campaign/get item                    |
| `tiktok.adgroup`       | `<advertiser_id>|adgroup_id`                | the adgroup/get item                     |
| `tiktok.adgroup_daily` | `<advertiser_id>|YYYY-MM-DD|campaign_id|adgroup_id` | the report row (dimensions, metrics) |

Daily rows come from the synchronous `report/integrated/get/` (BASIC, AUCTION_ADGROUP,
`stat_time_day`), paged with `page` / `page_size`; the page number is the saved cursor. Chunks
too large for it go through an asynchronous report task (`tiktok_tasks`). Every
answer is HTTP 200 with an envelope whose `code` says what happened: 0 is success, 40100 and
friends are throttles (retried with backoff), 40102/40104/40105 mean the advertiser's token is
gone (TikTok has no refresh token: the connection needs re-authorisation), 40067 asks for less
data (the chunk continues as a report task; a task too large is split). Metrics arrive as strings.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
from django.conf import settings

from connectors import conf
from connectors.errors import (
    AccessDenied,
    ConnectorError,
    PlatformRejected,
    RateLimited,
    ReauthRequired,
    ReportJobStarted,
    ServerError,
    TooMuchData,
)
from connectors.http import ApiSession, CallStats, RetryPolicy, json_or_none
from connectors.platforms import AccountInfo, Page, StreamSpec
from connectors.platforms import tiktok_tasks as tasks
from connectors.platforms import validation as v
from connectors.platforms.base import AuthenticatedApi, TokenSource
from warehouse.services.landing import RawRow

LABEL = "TikTok"

ADVERTISER = StreamSpec("tiktok.advertiser", daily=False)
CAMPAIGN = StreamSpec("tiktok.campaign", daily=False)
ADGROUP = StreamSpec("tiktok.adgroup", daily=False)
ADGROUP_DAILY = StreamSpec("tiktok.adgroup_daily", daily=True)
STREAMS: tuple[StreamSpec, ...] = (ADVERTISER, CAMPAIGN, ADGROUP, ADGROUP_DAILY)

REPORT_METRICS = (
    "campaign_id",
    "campaign_name",
    "adgroup_name",
    "currency",
    "spend",
    "impressions",
    "clicks",
    "conversion",
    "complete_payment",
    "total_complete_payment_rate",
)
COUNT_METRICS = ("impressions", "clicks", "conversion", "complete_payment")
MONEY_METRICS = ("spend", "total_complete_payment_rate")
# 40100 QPS limit, 40133 daily quota, 40200/40201 "busy, retry", 50000/50002 system errors.
THROTTLE_CODES = frozenset({40100, 40133})
TRANSIENT_CODES = frozenset({40200, 40201, 50000, 50002, 51021})
REAUTH_CODES = frozenset({40102, 40104, 40105, 40106})
PERMISSION_CODES = frozenset({40001})
TOO_MUCH_CODES = frozenset({40067})


def classify(response: httpx.Response) -> ConnectorError | None:
    """TikTok's status lives in the body: read `code` even when HTTP says 200."""
    body = json_or_none(response)
    status = response.status_code
    if not isinstance(body, dict) or "code" not in body:
        if status == 429:
            return RateLimited("TikTok throttled Bosco (HTTP 429)")
        if status >= 500:
            return ServerError(f"TikTok answered HTTP {status} with an error page")
        if status >= 400:
            return PlatformRejected(f"TikTok answered HTTP {status} without an error envelope")
        return None  # the body is checked (and rejected if unreadable) by the caller
    code, message = body.get("code"), str(body.get("message", ""))[:300]
    request_id = str(body.get("request_id", ""))[:64]
    if code == 0:
        return None
    detail = f"TikTok code {code}: {message} (request {request_id})"
    if code in THROTTLE_CODES:
        return RateLimited(detail)
    if code in TRANSIENT_CODES or status >= 500:
        return ServerError(detail)
    if code in REAUTH_CODES:
        return ReauthRequired(
            detail,
            user_message=(
                "TikTok no longer accepts Bosco's access (it was revoked or expired). Re-authorise the connection "
                "to resume syncing; synced data is kept."
            ),
        )
    if code in PERMISSION_CODES:
        return AccessDenied(
            detail,
            user_message="TikTok says Bosco may not read this advertiser any more. Re-authorise or deselect it.",
        )
    if code in TOO_MUCH_CODES:
        return TooMuchData(detail)
    return PlatformRejected(detail)


def _data(body: Any, where: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise v.envelope_error(where, LABEL, f"the response should be a JSON object, got {v.describe(body)}")
    if body.get("code") != 0:
        raise v.envelope_error(where, LABEL, f"code should be 0, got {v.describe(body.get('code'))}")
    data = body.get("data")
    if not isinstance(data, dict):
        raise v.envelope_error(where, LABEL, f"data should be an object, got {v.describe(data)}")
    items = data.get("list")
    if not isinstance(items, list):
        raise v.envelope_error(where, LABEL, f"data.list should be a list, got {v.describe(items)}")
    return data


def _next_page(data: dict[str, Any], where: str) -> str | None:
    """The next page number, from `page_info` (None on the last page)."""
    info = data.get("page_info")
    if not isinstance(info, dict):
        raise v.envelope_error(where, LABEL, f"data.page_info should be an object, got {v.describe(info)}")
    page, total = info.get("page"), info.get("total_page")
    if type(page) is not int or type(total) is not int or page < 1 or total < 0:
        raise v.envelope_error(where, LABEL, f"page_info should hold whole page numbers, got {v.describe(info)}")
    if total > 100_000:
        raise v.envelope_error(where, LABEL, f"page_info claims {total} pages")
    return str(page + 1) if page < total else None


def parse_advertiser(advertiser_id: str) -> v.RowParser:
    def parse(row: dict[str, Any]) -> RawRow:
        got = v.id_string(row, "advertiser_id")
        if got != advertiser_id:
            raise v.FieldError("advertiser_id", f"is {got!r}, but the request was for {advertiser_id}")
        v.string(row, "currency")
        v.string(row, "timezone")
        return RawRow(record_key=advertiser_id, account_id=advertiser_id, date=None, payload=row)

    return parse


def parse_entity(advertiser_id: str, id_field: str) -> v.RowParser:
    def parse(row: dict[str, Any]) -> RawRow:
        entity_id = v.id_string(row, id_field)
        v.string(row, id_field.replace("_id", "_name"))
        return RawRow(record_key=f"{advertiser_id}|{entity_id}", account_id=advertiser_id, date=None, payload=row)

    return parse


def parse_adgroup_daily(advertiser_id: str, date_from: date | None, date_to: date | None) -> v.RowParser:
    def parse(row: dict[str, Any]) -> RawRow:
        dims = v.obj(row, "dimensions", "")
        metrics = v.obj(row, "metrics", "")
        extra = set(dims) - {"adgroup_id", "stat_time_day"}
        if extra:
            raise v.FieldError("dimensions", f"has {sorted(extra)}; Bosco asked for ad group days only")
        adgroup_id = v.id_string(dims, "adgroup_id", "dimensions.")
        stamp = v.string(dims, "stat_time_day", "dimensions.") or ""
        if len(stamp) != 19 or not stamp.endswith(" 00:00:00"):
            raise v.FieldError("dimensions.stat_time_day", f"should be 'YYYY-MM-DD 00:00:00', got {stamp!r}")
        try:
            day = date.fromisoformat(stamp[:10])
        except ValueError as exc:
            raise v.FieldError("dimensions.stat_time_day", f"is not a date: {stamp!r}") from exc
        v.within(day, date_from, date_to, "dimensions.stat_time_day")
        campaign_id = v.id_string(metrics, "campaign_id", "metrics.")
        for name in COUNT_METRICS:
            v.int_string(metrics, name, "metrics.")
        for name in MONEY_METRICS:
            v.decimal_string(metrics, name, "metrics.")
        v.string(metrics, "currency", "metrics.")
        key = f"{advertiser_id}|{day.isoformat()}|{campaign_id}|{adgroup_id}"
        return RawRow(record_key=key, account_id=advertiser_id, date=day, payload=row)

    return parse


class TikTokClient(AuthenticatedApi):
    platform = "tiktok"
    label = LABEL
    streams = STREAMS

    def __init__(
        self, *, tokens: TokenSource, stats: CallStats | None = None, session: ApiSession | None = None
    ) -> None:
        session = session or ApiSession(
            platform_label=LABEL, classify=classify, stats=stats, policy=RetryPolicy.from_settings()
        )
        super().__init__(tokens=tokens, session=session)
        self.api = conf.tiktok_endpoints().api
        self.page_size = int(settings.CONNECTORS_TIKTOK_PAGE_SIZE)
        self._ad_groups: dict[str, int] = {}  # per advertiser, for the row estimate of a chunk

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"Access-Token": token}

    def _get(self, path: str, *, what: str, params: dict[str, Any]) -> Any:
        return self.authed_call("GET", f"{self.api}/{path}/", what=what, params=params)

    # ---------------------------------------------------------------- accounts
    def list_accounts(self) -> list[AccountInfo]:
        where = "advertisers"
        body = self._get(
            "oauth2/advertiser/get",
            what="list advertisers",
            params={"app_id": settings.TIKTOK_APP_ID, "secret": settings.TIKTOK_APP_SECRET},
        )
        ids = [str(item.get("advertiser_id")) for item in _data(body, where)["list"] if isinstance(item, dict)]
        accounts: list[AccountInfo] = []
        for start in range(0, len(ids), 100):  # advertiser/info takes at most 100 ids
            info = self._get(
                "advertiser/info",
                what="read advertiser currencies and time zones",
                params={"advertiser_ids": json.dumps(ids[start : start + 100])},
            )
            for item in _data(info, where)["list"]:
                try:
                    advertiser_id = v.id_string(item, "advertiser_id")
                    currency = v.string(item, "currency") or ""
                    tz = v.string(item, "timezone") or ""
                except v.FieldError as exc:
                    raise v.envelope_error(where, LABEL, f"{exc.path} {exc.problem}") from exc
                accounts.append(AccountInfo(advertiser_id, str(item.get("name") or advertiser_id), currency, tz))
        return accounts

    # ---------------------------------------------------------------- reports
    def start_chunk(self, *, stream: StreamSpec, account_id: str, date_from: date, date_to: date) -> str:
        """A report task for a chunk whose estimate is large; "" reads it synchronously."""
        if not stream.daily:
            return ""
        estimate = tasks.span_days(date_from, date_to) * self._ad_group_count(account_id)
        if estimate <= int(settings.CONNECTORS_TIKTOK_ASYNC_MIN_ROWS):
            return ""
        return self._create_task(account_id, date_from, date_to)

    def wait_chunk(self, *, job_id: str) -> None:
        if not job_id:
            return
        account_id, task_id = tasks.split_job_id(job_id)
        where = f"report task {task_id} of advertiser {account_id}"

        def check() -> str:
            try:
                body = self._get(
                    "report/task/check", what=f"check {where}", params={"advertiser_id": account_id, "task_id": task_id}
                )
            except PlatformRejected as exc:
                if type(exc) is not PlatformRejected:
                    raise
                raise tasks.task_gone(exc, job_id) from exc
            return tasks.check_status(tasks.task_data(body, where), where)

        tasks.poll_task(self.session, check, job_id=job_id)

    def _create_task(self, account_id: str, date_from: date, date_to: date) -> str:
        where = _where(ADGROUP_DAILY, account_id, date_from, date_to)
        selection = _report_selection(account_id, date_from, date_to)
        body = self.authed_call(
            "POST",
            f"{self.api}/report/task/create/",
            what=f"create the {where} report task",
            json_body={**selection, "dimensions": list(tasks.DIMENSIONS), "metrics": list(REPORT_METRICS)},
        )
        task_id = tasks.task_data(body, where).get("task_id")
        if not isinstance(task_id, str) or not task_id.isdigit():
            raise v.envelope_error(where, LABEL, f"task_id should be a string of digits, got {v.describe(task_id)}")
        return tasks.job_id_of(account_id, task_id)

    def _ad_group_count(self, account_id: str) -> int:
        """How many ad groups the advertiser has: `page_info.total_number` of a one-row page."""
        if account_id not in self._ad_groups:
            where = f"ad groups of advertiser {account_id}"
            body = self._get("adgroup/get", what=where, params={"advertiser_id": account_id, "page_size": 1})
            info = _data(body, where).get("page_info")
            total = info.get("total_number") if isinstance(info, dict) else None
            if type(total) is not int or total < 0:
                raise v.envelope_error(
                    where, LABEL, f"page_info.total_number should be a count, got {v.describe(info)}"
                )
            self._ad_groups[account_id] = total
        return self._ad_groups[account_id]

    def _download(self, job_id: str, where: str) -> list[dict[str, Any]]:
        account_id, task_id = tasks.split_job_id(job_id)
        try:
            text = self.authed_call(
                "GET",
                f"{self.api}/report/task/download/",
                what=f"download {where}",
                params={"advertiser_id": account_id, "task_id": task_id},
                parse=tasks.download_body(where),
            )
        except PlatformRejected as exc:
            if type(exc) is not PlatformRejected:
                raise
            raise tasks.task_gone(exc, job_id) from exc
        return tasks.rows_from_csv(text, where)

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
        if stream.name == ADVERTISER.name:
            body = self._get("advertiser/info", what=where, params={"advertiser_ids": json.dumps([account_id])})
            rows = v.rows_of(
                _data(body, where)["list"], parse_advertiser(account_id), where=where, platform_label=LABEL
            )
            return Page(rows=rows, next_token=None)
        page = page_token or "1"
        if not page.isdigit():
            raise v.envelope_error(where, LABEL, f"the saved page {page!r} is not a page number")
        params: dict[str, Any] = {"advertiser_id": account_id, "page": page, "page_size": self.page_size}
        if stream.daily:
            assert date_from is not None and date_to is not None
            parse = parse_adgroup_daily(account_id, date_from, date_to)
            if job_id:
                # A report task's file holds the whole chunk: one page, validated whole.
                items = self._download(job_id, where)
                return Page(rows=v.rows_of(items, parse, where=where, platform_label=LABEL), next_token=None)
            params.update(
                _report_selection(account_id, date_from, date_to),
                dimensions=json.dumps(list(tasks.DIMENSIONS)),
                metrics=json.dumps(list(REPORT_METRICS)),
            )
            try:
                body = self._get("report/integrated/get", what=where, params=params)
            except TooMuchData as exc:
                # 40067: TikTok asks for an asynchronous report; a task too large still splits.
                raise ReportJobStarted(
                    f"{where}: {exc.message}; continuing as a report task",
                    job_id=self._create_task(account_id, date_from, date_to),
                ) from exc
        elif stream.name == CAMPAIGN.name:
            body = self._get("campaign/get", what=where, params=params)
            parse = parse_entity(account_id, "campaign_id")
        else:
            body = self._get("adgroup/get", what=where, params=params)
            parse = parse_entity(account_id, "adgroup_id")
        data = _data(body, where)
        rows = v.rows_of(data["list"], parse, where=where, platform_label=LABEL)
        return Page(rows=rows, next_token=_next_page(data, where))


def _report_selection(account_id: str, date_from: date, date_to: date) -> dict[str, Any]:
    """What the synchronous report and a report task both ask for: ad group days, BASIC."""
    return {
        "advertiser_id": account_id,
        "report_type": "BASIC",
        "service_type": "AUCTION",
        "data_level": "AUCTION_ADGROUP",
        "start_date": date_from.isoformat(),
        "end_date": date_to.isoformat(),
    }


def _where(stream: StreamSpec, account_id: str, date_from: date | None, date_to: date | None) -> str:
    span = f" {date_from.isoformat()}…{date_to.isoformat()}" if date_from and date_to else ""
    return f"{stream.name.split('.', 1)[1]} of advertiser {account_id}{span}"
