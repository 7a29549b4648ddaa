"""Faults injected on demand: the failures connectors must survive, made reproducible.

A fault is a small JSON spec scoped to a platform and optionally an endpoint, an account and a
page, and it fires a limited number of times. Handlers ask the book for the faults that apply to
the request in hand (`take`), which consumes them, so a test knows exactly what happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from devtools.emulators.config import GA4, GOOGLE_ADS, META, PLATFORMS, SHOPIFY, TIKTOK

GOOGLE_ENDPOINTS = (
    "oauth.authorize",
    "oauth.token",
    "oauth.revoke",
    "listAccessibleCustomers",
    "search",
    "searchStream",
)
META_ENDPOINTS = (
    "oauth.dialog",
    "oauth.access_token",
    "me",
    "adaccounts",
    "account",
    "campaigns",
    "adsets",
    "insights",
    "insights.async",
    "report_run",
    "report_run.insights",
)
TIKTOK_ENDPOINTS = (
    "oauth.authorize",
    "oauth.access_token",
    "oauth.advertisers",
    "advertiser.info",
    "campaigns",
    "adgroups",
    "report",
    "report.task.create",
    "report.task.check",
    "report.task.download",
)
GA4_ENDPOINTS = ("accountSummaries", "runReport", "batchRunReports")
SHOPIFY_ENDPOINTS = ("oauth.authorize", "oauth.access_token", "graphql", "bulk.file")
ENDPOINTS = {
    GOOGLE_ADS: GOOGLE_ENDPOINTS,
    META: META_ENDPOINTS,
    TIKTOK: TIKTOK_ENDPOINTS,
    GA4: GA4_ENDPOINTS,
    SHOPIFY: SHOPIFY_ENDPOINTS,
}
#: platforms faults can target: the ad platforms, GA4 and the store
FAULT_PLATFORMS = (*PLATFORMS, SHOPIFY)

# kind → default parameters (also the list of accepted parameter names).
FAULT_KINDS: dict[str, dict[str, Any]] = {
    # Meta: `regain=False` leaves out the usage header's estimated_time_to_regain_access.
    "rate_limit": {"retry_after": 30, "code": None, "status": None, "regain": True},
    "server_error": {"status": 503},
    "html_502": {},
    "slow": {"delay": 2.0},
    "hang": {"delay": 120.0},
    "truncated_json": {"fraction": 0.5},
    "token_expiry": {},
    "revoked_grant": {},
    "empty_page": {},
    "bad_row": {"field": None, "mode": "wrong_type", "row": 0},
    "too_much_data": {},
    "job_failed": {},
    # TikTok: the report task's file is gone (past its retention) when it is downloaded.
    "task_expired": {},
    # Google: a google.rpc.Status error with a GoogleAdsFailure detail carrying this error code.
    "ads_error": {"status": 401, "category": "authenticationError", "code": "NOT_ADS_USER"},
    # Meta: the report run's rows are read while the job is (again) running: error 2601 until
    # the job has been polled `polls` more times.
    "report_not_ready": {"polls": 2},
    # A page repeats row `row` (same natural key, metrics halved): the last-wins trap.
    "duplicate_row": {"row": 0},
    # Row `row` arrives split at a finer level than requested (Meta `ad_id`, Google `segments.device`).
    "finer_level": {"row": 0, "field": None},
    # The token endpoint does not know Bosco's OAuth client (a wrong client id or secret).
    "invalid_client": {},
    # GA4: the property quota is used up (429 RESOURCE_EXHAUSTED, the answer carries no retry time).
    "quota_exhausted": {"scope": "hourly"},
    # GA4: the caller may not read the property (403 PERMISSION_DENIED).
    "permission_denied": {},
    # GA4: the answer leaves out `metricHeaders` (or `dimensionHeaders` with field="dimensionHeaders").
    "missing_headers": {"field": "metricHeaders"},
    # GA4: the answer says it was sampled (`samplingMetadatas`).
    "sampled": {},
    # Shopify: the cost bucket is empty (`THROTTLED`, HTTP 200, no data).
    "throttled": {},
    # Shopify bulk file: cut after `fraction` of its bytes, or line `line` is not JSON.
    "bulk_truncated": {"fraction": 0.6},
    "bulk_malformed": {"line": 2},
}
# Kinds every endpoint handles in the shared request prelude.
COMMON_KINDS = frozenset({"rate_limit", "server_error", "html_502", "slow", "hang", "truncated_json"})
BAD_ROW_MODES = ("wrong_type", "missing", "null")
# Kinds that change the rows of a data page (handled where the page is rendered).
ROW_KINDS = frozenset({"bad_row", "duplicate_row", "finer_level"})


class FaultSpecError(ValueError):
    """A fault spec that cannot be honoured (unknown kind, endpoint, parameter...)."""


@dataclass
class Fault:
    id: str
    kind: str
    platform: str
    endpoint: str | None
    account: str | None
    page: int | None
    after: int
    remaining: int | None  # None: fires on every matching request
    params: dict[str, Any] = field(default_factory=dict)
    seen: int = 0
    fired: int = 0

    @property
    def active(self) -> bool:
        return self.remaining is None or self.remaining > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "platform": self.platform,
            "endpoint": self.endpoint,
            "account": self.account,
            "page": self.page,
            "after": self.after,
            "remaining": self.remaining,
            "params": dict(self.params),
            "seen": self.seen,
            "fired": self.fired,
            "active": self.active,
        }

    def param(self, name: str) -> Any:
        return self.params.get(name, FAULT_KINDS[self.kind].get(name))


def normalize_account(account: object) -> str | None:
    if account is None or account == "":
        return None
    return str(account).removeprefix("act_").replace("-", "")


class FaultBook:
    """Registered faults. Not thread-safe by itself: EmulatorState calls it under its lock."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, spec: Mapping[str, Any]) -> Fault:
        fault = self._parse(spec)
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def describe(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self._faults]

    def take(
        self,
        platform: str,
        endpoint: str,
        account: str | None,
        page: int | None,
        kinds: Iterable[str],
    ) -> list[Fault]:
        """Faults of `kinds` matching this request; each match counts towards its limit."""
        wanted = set(kinds)
        account = normalize_account(account)
        fired: list[Fault] = []
        for fault in self._faults:
            if not fault.active or fault.kind not in wanted or fault.platform != platform:
                continue
            if fault.endpoint is not None and fault.endpoint != endpoint:
                continue
            if fault.account is not None and fault.account != account:
                continue
            if fault.page is not None and fault.page != (page or 1):
                continue
            fault.seen += 1
            if fault.seen <= fault.after:
                continue
            fault.fired += 1
            if fault.remaining is not None:
                fault.remaining -= 1
            fired.append(fault)
        return fired

    def _parse(self, spec: Mapping[str, Any]) -> Fault:
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise FaultSpecError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        platform = spec.get("platform")
        if platform not in FAULT_PLATFORMS:
            raise FaultSpecError(f"platform must be one of {list(FAULT_PLATFORMS)}, got {platform!r}")
        endpoint = spec.get("endpoint")
        if endpoint in ("", "*"):
            endpoint = None
        if endpoint is not None and endpoint not in ENDPOINTS[platform]:
            raise FaultSpecError(
                f"unknown {platform} endpoint {endpoint!r}; expected one of {list(ENDPOINTS[platform])}"
            )
        known = {"kind", "platform", "endpoint", "account", "page", "after", "count", "params", "id"}
        params = dict(spec.get("params") or {})
        # Parameters may be given flat ({"kind": "slow", "delay": 3}) or under "params".
        for name, value in spec.items():
            if name not in known:
                params[name] = value
        unknown = sorted(set(params) - set(FAULT_KINDS[kind]))
        if unknown:
            raise FaultSpecError(f"unknown parameters for {kind}: {unknown}")
        if kind == "bad_row" and params.get("mode", "wrong_type") not in BAD_ROW_MODES:
            raise FaultSpecError(f"bad_row mode must be one of {BAD_ROW_MODES}")
        if kind == "server_error" and int(params.get("status", 503)) not in (500, 502, 503, 504):
            raise FaultSpecError("server_error status must be 500, 502, 503 or 504")
        count = spec.get("count", 1)
        page = spec.get("page")
        fault = Fault(
            id=f"f{self._next_id}",
            kind=str(kind),
            platform=str(platform),
            endpoint=endpoint,
            account=normalize_account(spec.get("account")),
            page=None if page is None else int(page),
            after=int(spec.get("after", 0)),
            remaining=None if count is None else int(count),
            params=params,
        )
        if fault.remaining is not None and fault.remaining < 1:
            raise FaultSpecError("count must be >= 1 (or null for unlimited)")
        self._next_id += 1
        return fault
