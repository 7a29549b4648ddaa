"""Google Analytics 4: the property (Admin API) and daily sessions by channel and UTM (Data API).

Streams and their raw record keys (the warehouse builds staging on exactly these):

| stream              | key                                   | payload                                          |
|---------------------|---------------------------------------|--------------------------------------------------|
| `ga4.property`      | `<property_id>`                       | the Admin API Property (`timeZone`, `currencyCode`) |
| `ga4.traffic_daily` | `<property_id>|YYYY-MM-DD|<digest>`   | the report row by header name, plus the report's flags |

The digest is the first 20 hex digits of the SHA-256 of the row's channel group, source, medium
and campaign (campaign names contain `|`, so they cannot be joined into the key). A traffic row's
payload is `{"dimensions": {name: value}, "metrics": {name: value}, "report": {...}}` where
`report` carries what GA4 said about the whole report: `currencyCode`, `timeZone`,
`dataLossFromOtherRow`, `subjectToThresholding` — flags the warehouse keeps per row and the
Channels page shows. Rows whose dimensions are `(other)` are landed like any other, flagged.

Reports have one date range (a chunk) and are paged with `offset` / `limit`. The chunk's first
page is a `runReport` call; its `rowCount` tells how many pages remain, and those are asked for
up to five at a time in one `batchRunReports` call (one RunReportRequest per offset; the answer's
`reports` come back in the requests' order, each with its own metadata and quota). The saved
cursor is `<next offset>:<rowCount>` (a bare offset, from before the count is known, still
resumes); a batch is one page for the engine, so it lands, or not, in one transaction.
`returnPropertyQuota` is always set: a batch asks for no more reports than the last known
tokens pay for, and when the hour's (or day's) property tokens run low the next request is not
sent and the run pauses until the quota resets (`Deferred`, like Meta's throttle); a 429
RESOURCE_EXHAUSTED (GA4 refuses a whole batch so) does the same. One sampled report
(`samplingMetadatas`), missing or unexpected headers, or a malformed row in any report of a
batch rejects the whole batch: nothing of it lands.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from django.conf import settings

from connectors import conf
from connectors.errors import (
    AccessDenied,
    AuthExpired,
    ConnectorError,
    Deferred,
    PlatformRejected,
    RateLimited,
    ReauthRequired,
    ServerError,
    TooMuchData,
)
from connectors.http import ApiSession, CallStats, RetryPolicy, json_or_none
from connectors.platforms import AccountInfo, Page, StreamSpec
from connectors.platforms import validation as v
from connectors.platforms.base import AuthenticatedApi, TokenSource
from warehouse.services.landing import RawRow

LABEL = "Google Analytics"

PROPERTY = StreamSpec("ga4.property", daily=False)
TRAFFIC_DAILY = StreamSpec("ga4.traffic_daily", daily=True)
STREAMS: tuple[StreamSpec, ...] = (PROPERTY, TRAFFIC_DAILY)

DIMENSIONS = ("date", "sessionDefaultChannelGroup", "sessionSource", "sessionMedium", "sessionCampaignName")
COUNT_METRICS = ("sessions", "engagedSessions", "totalUsers", "newUsers", "keyEvents")
MONEY_METRICS = ("purchaseRevenue",)
METRICS = COUNT_METRICS + MONEY_METRICS
OTHER = "(other)"
#: the Data API's limit of requests in one batchRunReports call
BATCH_LIMIT = 5
# Quota resets: hourly at the top of the hour, daily at midnight Pacific Time (Google's day).
_GOOGLE_DAY = ZoneInfo("America/Los_Angeles")


def seconds_until_quota_resets(*, daily: bool, now: datetime | None = None) -> float:
    now = now or datetime.now(tz=UTC)
    if daily:
        local = now.astimezone(_GOOGLE_DAY)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=_GOOGLE_DAY)
        return max(60.0, (midnight - local).total_seconds() + 60)
    top = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return max(60.0, (top - now).total_seconds() + 30)


def _quota_pause(daily: bool, detail: str) -> Deferred:
    wait = seconds_until_quota_resets(daily=daily)
    when = "midnight Pacific Time" if daily else "the top of the hour"
    return Deferred(
        detail,
        retry_after=wait,
        user_message=(
            f"Google Analytics' quota for this property is used up until {when}; the sync pauses and resumes by "
            f"itself in about {max(1, round(wait / 60))} min. Nothing synced was lost."
        ),
    )


def classify(response: httpx.Response) -> ConnectorError | None:
    """google.rpc.Status errors of the Admin and Data APIs → what the engine does about them."""
    status = response.status_code
    if status < 400:
        return None
    body = json_or_none(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        if status == 429:
            return RateLimited("Google Analytics throttled Bosco (HTTP 429)")
        if status >= 500:
            return ServerError(f"Google Analytics answered HTTP {status} with an error page")
        return PlatformRejected(f"Google Analytics answered HTTP {status} without an error envelope")
    message = str(error.get("message", ""))[:400]
    state = str(error.get("status", ""))
    detail = f"HTTP {status} {state}: {message}"
    if status == 401 or state == "UNAUTHENTICATED":
        return AuthExpired(f"Google Analytics rejected the access token ({detail})")
    if status == 429 or state == "RESOURCE_EXHAUSTED":
        lowered = message.lower()
        if "per day" in lowered:
            return _quota_pause(True, detail)
        if "per hour" in lowered:
            return _quota_pause(False, detail)
        return RateLimited(detail)
    if status == 403 or state == "PERMISSION_DENIED":
        if "scope" in message.lower():
            return ReauthRequired(
                detail,
                user_message=(
                    "Google did not give Bosco permission to read Google Analytics (the analytics.readonly scope). "
                    "Re-authorise the connection and allow access; synced data is kept."
                ),
            )
        return AccessDenied(
            detail,
            user_message=(
                "Google says the Google user who connected may not read this Analytics property any more. Ask a "
                "property administrator for Viewer access, then re-authorise, or deselect the property."
            ),
        )
    if status >= 500 or state in ("INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED"):
        return ServerError(detail)
    return PlatformRejected(detail)


def row_digest(channel: str, source: str, medium: str, campaign: str) -> str:
    joined = "\x1f".join((channel, source, medium, campaign))
    return hashlib.sha256(joined.encode()).hexdigest()[:20]


def _headers(report: dict[str, Any], name: str, expected: tuple[str, ...], where: str) -> None:
    headers = report.get(name)
    if not isinstance(headers, list):
        raise v.envelope_error(where, LABEL, f"the report has no {name}; Bosco cannot tell which value is which")
    names = tuple(h.get("name") if isinstance(h, dict) else None for h in headers)
    if names != expected:
        raise v.envelope_error(where, LABEL, f"{name} are {list(names)}, Bosco asked for {list(expected)}")


def report_flags(report: dict[str, Any], where: str) -> dict[str, Any]:
    """What GA4 says about the whole report: currency, zone, (other) rows, thresholding; sampling is refused."""
    meta = report.get("metadata")
    if not isinstance(meta, dict):
        raise v.envelope_error(where, LABEL, "the report has no metadata (currency and time zone)")
    if meta.get("samplingMetadatas"):
        raise v.envelope_error(
            where,
            LABEL,
            "the report is sampled (samplingMetadatas): its numbers are estimates, so Bosco stores none of them",
        )
    return {
        "currencyCode": meta.get("currencyCode"),
        "timeZone": meta.get("timeZone"),
        "dataLossFromOtherRow": bool(meta.get("dataLossFromOtherRow")),
        "subjectToThresholding": bool(meta.get("subjectToThresholding")),
    }


def parse_traffic(property_id: str, days: dict[str, date], flags: dict[str, Any]) -> v.RowParser:
    def parse(row: dict[str, Any]) -> RawRow:
        dims = row.get("dimensionValues")
        metrics = row.get("metricValues")
        if not isinstance(dims, list) or len(dims) != len(DIMENSIONS):
            raise v.FieldError("dimensionValues", f"should hold {len(DIMENSIONS)} values, got {v.describe(dims)}")
        if not isinstance(metrics, list) or len(metrics) != len(METRICS):
            raise v.FieldError("metricValues", f"should hold {len(METRICS)} values, got {v.describe(metrics)}")
        named: dict[str, str] = {}
        for i, name in enumerate(DIMENSIONS):
            item = dims[i] if isinstance(dims[i], dict) else {}
            named[name] = v.string(item, "value", f"dimensionValues[{i}].") or ""
        values: dict[str, str] = {}
        for i, name in enumerate(METRICS):
            item = metrics[i] if isinstance(metrics[i], dict) else {}
            path = f"metricValues[{i}] ({name})."
            values[name] = (
                v.int_string(item, "value", path) if name in COUNT_METRICS else v.decimal_string(item, "value", path)
            ) or "0"
        stamp = named["date"]
        if stamp == OTHER:
            raise TooMuchData("GA4 folded days into an (other) row; reading fewer days at a time")
        iso = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:]}" if len(stamp) == 8 and stamp.isdigit() else stamp
        day = days.get(iso)
        if day is None:
            raise v.FieldError("dimensionValues[0] (date)", f"should be a day of the requested chunk, got {stamp!r}")
        digest = row_digest(*(named[d] for d in DIMENSIONS[1:]))
        payload = {"dimensions": named, "metrics": values, "report": flags}
        return RawRow(record_key=f"{property_id}|{iso}|{digest}", account_id=property_id, date=day, payload=payload)

    return parse


class Ga4Client(AuthenticatedApi):
    platform = "ga4"
    label = LABEL
    streams = STREAMS

    def __init__(
        self, *, tokens: TokenSource, stats: CallStats | None = None, session: ApiSession | None = None
    ) -> None:
        session = session or ApiSession(
            platform_label=LABEL, classify=classify, stats=stats, policy=RetryPolicy.from_settings()
        )
        super().__init__(tokens=tokens, session=session)
        endpoints = conf.ga4_endpoints()
        self.admin, self.data = endpoints.admin, endpoints.data
        self.page_size = int(settings.CONNECTORS_GA4_PAGE_SIZE)
        self.reserve = int(settings.CONNECTORS_GA4_QUOTA_RESERVE_REQUESTS)
        self._paused: Deferred | None = None
        self._last_quota: tuple[int, int] | None = None  # (tokens remaining, tokens one report cost)

    # ---------------------------------------------------------------- accounts
    def list_accounts(self) -> list[AccountInfo]:
        where = "properties"
        ids: list[tuple[str, str]] = []
        token = ""
        for _ in range(100):
            params = {"pageSize": 200, **({"pageToken": token} if token else {})}
            body = self.authed_call("GET", f"{self.admin}/accountSummaries", what="list properties", params=params)
            if not isinstance(body, dict):
                raise v.envelope_error(where, LABEL, f"the answer should be an object, got {v.describe(body)}")
            for summary in body.get("accountSummaries") or []:
                for prop in (summary or {}).get("propertySummaries") or []:
                    name = str((prop or {}).get("property", ""))
                    if name.startswith("properties/") and name[11:].isdigit():
                        ids.append((name[11:], str(prop.get("displayName") or name)))
            token = str(body.get("nextPageToken") or "")
            if not token:
                break
        accounts = []
        for property_id, display in ids:
            prop = self._property(property_id, where)
            accounts.append(AccountInfo(property_id, display, str(prop["currencyCode"]), str(prop["timeZone"])))
        return accounts

    def _property(self, property_id: str, where: str) -> dict[str, Any]:
        body = self.authed_call("GET", f"{self.admin}/properties/{property_id}", what=f"read property {property_id}")
        try:
            if not isinstance(body, dict):
                raise v.FieldError("property", f"should be an object, got {v.describe(body)}")
            if v.string(body, "name") != f"properties/{property_id}":
                raise v.FieldError("name", f"is {body.get('name')!r}, but the request was for {property_id}")
            if len(v.string(body, "currencyCode") or "") != 3:
                raise v.FieldError(
                    "currencyCode", f"should be an ISO 4217 code, got {v.describe(body['currencyCode'])}"
                )
            if not v.string(body, "timeZone"):
                raise v.FieldError("timeZone", "is empty")
        except v.FieldError as exc:
            raise v.envelope_error(where, LABEL, f"{exc.path} {exc.problem}") from exc
        return body

    # ---------------------------------------------------------------- reports
    def start_chunk(self, *, stream: StreamSpec, account_id: str, date_from: date, date_to: date) -> str:
        return ""  # synchronous reports: nothing to start

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
        where = _where(stream, account_id, date_from, date_to)
        if self._paused is not None:
            raise self._paused
        if stream.name == PROPERTY.name:
            prop = self._property(account_id, where)
            return Page(
                rows=[RawRow(record_key=account_id, account_id=account_id, date=None, payload=prop)], next_token=None
            )
        assert date_from is not None and date_to is not None
        offset, known_total = _parse_token(page_token, where)
        offsets = self._plan_offsets(offset, known_total)
        requests = [self._report_request(date_from, date_to, at) for at in offsets]
        if len(requests) == 1:
            path, body = f"{self.data}/properties/{account_id}:runReport", requests[0]
        else:
            path, body = f"{self.data}/properties/{account_id}:batchRunReports", {"requests": requests}
        answer = self.authed_call("POST", path, what=where, json_body=body)
        reports = [answer] if len(requests) == 1 else _batch_reports(answer, len(requests), where)
        days = v.day_lookup(date_from, date_to)
        rows: list[RawRow] = []
        after, total = offset, 0
        for index, (at, report) in enumerate(zip(offsets, reports, strict=True)):
            part = where if len(reports) == 1 else f"{where}, report {index + 1} of {len(reports)} (offset {at})"
            items, flags, total = _checked_report(report, part)
            rows.extend(v.rows_of(items, parse_traffic(account_id, days, flags), where=part, platform_label=LABEL))
            if items == [] and at < total:
                raise v.envelope_error(part, LABEL, f"an empty page at offset {at} of {total} rows")
            after = at + len(items)
        if len(reports) > 1 and len({r.record_key for r in rows}) != len(rows):
            # The batch lands as one page: a row two of its reports both hold would be kept once.
            raise v.envelope_error(where, LABEL, "two reports of the batch hold the same row (the rows moved)")
        for report in reports:
            self._watch_quota(report.get("propertyQuota"), where)
        return Page(rows=rows, next_token=f"{after}:{total}" if after < total else None)

    def _report_request(self, date_from: date, date_to: date, offset: int) -> dict[str, Any]:
        return {
            "dateRanges": [{"startDate": date_from.isoformat(), "endDate": date_to.isoformat()}],
            "dimensions": [{"name": d} for d in DIMENSIONS],
            "metrics": [{"name": m} for m in METRICS],
            "orderBys": [{"dimension": {"dimensionName": d}} for d in DIMENSIONS],
            "limit": str(self.page_size),
            "offset": str(offset),
            "keepEmptyRows": False,
            "returnPropertyQuota": True,
        }

    def _plan_offsets(self, offset: int, total: int | None) -> list[int]:
        """The pages one request asks for: one while the chunk's row count is unknown (`runReport`),
        then up to five at once (`batchRunReports`), never more than the known quota affords."""
        if total is None:
            return [offset]
        pages = max(1, -(-(total - offset) // self.page_size))
        count = min(BATCH_LIMIT, pages, self._affordable_reports())
        return [offset + i * self.page_size for i in range(count)]

    def _affordable_reports(self) -> int:
        """Reports the last known property quota pays for while keeping the reserve `_watch_quota` keeps."""
        if self._last_quota is None:
            return BATCH_LIMIT
        remaining, cost = self._last_quota
        return max(1, remaining // max(1, cost) - self.reserve + 1)

    def _watch_quota(self, quota: Any, where: str) -> None:
        """Pause before the next request when the hour's or the day's tokens are nearly gone."""
        if not isinstance(quota, dict):
            return
        lowest: tuple[int, int] | None = None
        for key, daily in (("tokensPerDay", True), ("tokensPerHour", False)):
            item = quota.get(key)
            if not isinstance(item, dict):
                continue
            consumed, remaining = item.get("consumed", 0), item.get("remaining")
            if type(remaining) is not int or type(consumed) is not int:
                continue
            if lowest is None or remaining < lowest[0]:
                lowest = (remaining, max(1, consumed))
                self._last_quota = lowest
            if remaining < max(1, consumed) * self.reserve:
                self._paused = _quota_pause(daily, f"{where}: {key} has {remaining} tokens left")
                return


def _parse_token(token: str, where: str) -> tuple[int, int | None]:
    """The saved cursor: `<offset>` (the chunk's row count not yet known) or `<offset>:<rowCount>`."""
    offset, _, total = (token or "0").partition(":")
    if not offset.isdigit() or (total and not total.isdigit()):
        raise v.envelope_error(where, LABEL, f"the saved offset {token!r} is not a row number")
    return int(offset), int(total) if total else None


def _batch_reports(answer: Any, expected: int, where: str) -> list[dict[str, Any]]:
    """A BatchRunReportsResponse's `reports`, one per request and in the requests' order."""
    reports = answer.get("reports") if isinstance(answer, dict) else None
    if not isinstance(reports, list):
        raise v.envelope_error(where, LABEL, f"the batch answer has no reports list, got {v.describe(answer)}")
    if len(reports) != expected:
        raise v.envelope_error(where, LABEL, f"the batch answered {len(reports)} reports for {expected} requests")
    return reports


def _checked_report(report: Any, where: str) -> tuple[list[Any], dict[str, Any], int]:
    """One report's rows, flags and rowCount, after the checks that reject the whole answer."""
    if not isinstance(report, dict):
        raise v.envelope_error(where, LABEL, f"the report should be an object, got {v.describe(report)}")
    _headers(report, "dimensionHeaders", DIMENSIONS, where)
    _headers(report, "metricHeaders", METRICS, where)
    flags = report_flags(report, where)
    items = report.get("rows", [])
    if not isinstance(items, list):
        raise v.envelope_error(where, LABEL, f"rows should be a list, got {v.describe(items)}")
    total = report.get("rowCount", 0)
    if type(total) is not int or total < 0:
        raise v.envelope_error(where, LABEL, f"rowCount should be a whole number, got {v.describe(total)}")
    return items, flags, total


def _where(stream: StreamSpec, account_id: str, date_from: date | None, date_to: date | None) -> str:
    span = f" {date_from.isoformat()}…{date_to.isoformat()}" if date_from and date_to else ""
    return f"{stream.name.split('.', 1)[1]} of property {account_id}{span}"
