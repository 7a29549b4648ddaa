"""The emulator's mutable world: clock, tokens, faults, restatement versions, stats, report jobs.

`srv.state` is this object and the `/_emulator` control API calls the same methods, so tests can
drive the emulator in-process or over HTTP with identical semantics. One lock guards the mutable
parts; data is computed outside it from immutable snapshots (config, versions).
"""

from __future__ import annotations

import base64
import hashlib
import math
import threading
import time
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from devtools.emulators.auth import (
    GA4_SCOPE,
    GOOGLE_ADS_SCOPE,
    META_DEFAULT_SCOPES,
    TIKTOK_SCOPES,
    TIKTOK_TOKEN_LIFETIME,
    TokenStore,
)
from devtools.emulators.config import GA4, GOOGLE_ADS, META, PLATFORMS, TIKTOK, AccountSpec, EmulatorConfig
from devtools.emulators.datagen import (
    ACCOUNT,
    AD_GROUP,
    CAMPAIGN,
    AccountModel,
    DayWindow,
    Frame,
    I64Array,
    anomaly_days,
    build_account_model,
    daily_frame,
    from_ordinal,
    iso_dates,
    months_before,
    selected_ad_groups,
    to_ordinal,
)
from devtools.emulators.faults import Fault, FaultBook
from devtools.emulators.hashing import key

_FRAME_CACHE_BYTES = 256 * 1024 * 1024


@dataclass
class ReportRun:
    """A Meta async insights job (AdReportRun)."""

    id: str
    account_id: str
    params: Any  # meta_graph.InsightsRequest, kept opaque here
    created_at: float
    polls: int = 0
    fail: bool = False
    completed: bool = False
    version: int | None = None  # restatement version frozen when the job completed
    today: int | None = None
    completed_at: float | None = None


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    token_refreshes: Counter[str] = field(default_factory=Counter)
    code_exchanges: Counter[str] = field(default_factory=Counter)
    tokens_issued: Counter[str] = field(default_factory=Counter)
    rows_served: Counter[str] = field(default_factory=Counter)
    report_calls: Counter[str] = field(default_factory=Counter)
    faults_fired: Counter[str] = field(default_factory=Counter)


class EmulatorState:
    """In-process control handle; every public method is safe to call from any thread."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._initial_config = config or EmulatorConfig()
        self._reset_locked(self._initial_config)

    # ------------------------------------------------------------------ lifecycle & config
    def _reset_locked(self, config: EmulatorConfig) -> None:
        self._config = config
        self._clock_offset = 0.0
        self._anchor = config.anchor_date or config.today or self._utc_today()
        self.tokens = TokenStore(self.now)
        self.faults = FaultBook()
        self._versions = dict.fromkeys(PLATFORMS, 0)
        self._stats = Stats()
        self._models: dict[tuple[str, str], AccountModel] = {}
        self._frames: OrderedDict[tuple[Any, ...], Frame] = OrderedDict()
        self._frame_bytes = 0
        self._jobs: dict[str, ReportRun] = {}
        self._meta_calls: defaultdict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._google_ops: Counter[str] = Counter()
        # GA4 core tokens spent per property: {"hour", "day", "used_hour", "used_day"} (ga4_api).
        self.ga4_quota: dict[str, dict[str, int]] = {}
        self._sequence = 0
        self._job_sequence = 0
        # The Shopify emulator's book (tokens, buckets, bulk operations), made on first use.
        self.shopify: Any = None

    def reset(self, config: EmulatorConfig | Mapping[str, Any] | None = None) -> EmulatorConfig:
        """Forget tokens, faults, stats, jobs, clock offset and restatements.

        With no argument the server returns to the config it was started with.
        """
        with self._lock:
            if config is None:
                new = self._initial_config
            elif isinstance(config, EmulatorConfig):
                new = config
            else:
                new = self._initial_config.replace(config)
            self._reset_locked(new)
            return new

    @property
    def config(self) -> EmulatorConfig:
        return self._config

    def update_config(self, changes: Mapping[str, Any] | None = None, **kwargs: Any) -> EmulatorConfig:
        """Apply config changes live (page sizes, thresholds, lifetimes, today...).

        Changes to the data shape (seed, accounts, campaign counts) rebuild the entity models;
        the anchor date stays put unless `anchor_date` itself changes, so history is stable.
        """
        merged = dict(changes or {})
        merged.update(kwargs)
        with self._lock:
            new = self._config.replace(merged)
            if "anchor_date" in merged and new.anchor_date is not None:
                self._anchor = new.anchor_date
            self._config = new
            self._models.clear()
            self._frames.clear()
            self._frame_bytes = 0
            return new

    def stopping(self) -> threading.Event:
        return self._stopping

    def sleep(self, seconds: float) -> None:
        """Sleep that ends early when the server shuts down (slow and hanging responses)."""
        if seconds > 0:
            self._stopping.wait(seconds)

    # ------------------------------------------------------------------ clock
    def now(self) -> float:
        return time.time() + self._clock_offset

    def _utc_today(self) -> date:
        return datetime.fromtimestamp(self.now(), tz=UTC).date()

    def advance_clock(self, seconds: float) -> float:
        """Move the emulator clock forward (token expiry, usage windows, default `today`)."""
        with self._lock:
            self._clock_offset += float(seconds)
            return self.now()

    def clock(self) -> dict[str, Any]:
        now = self.now()
        return {
            "now": datetime.fromtimestamp(now, tz=UTC).isoformat(),
            "epoch": now,
            "offset_seconds": self._clock_offset,
            "today": self.today().isoformat(),
        }

    def today(self) -> date:
        return self._config.today or self._utc_today()

    def history_start(self, platform: str) -> date:
        return months_before(self.today(), self._config.history_months)

    def window(self, platform: str, version: int | None = None, today: int | None = None) -> DayWindow:
        t = self.today() if today is None else from_ordinal(today)
        return DayWindow(
            today=to_ordinal(t),
            history_start=to_ordinal(months_before(t, self._config.history_months)),
            version=self._versions[platform] if version is None else version,
            restatement_days=self._config.restatement_days(platform),
            today_fraction=self._config.today_fraction,
        )

    # ------------------------------------------------------------------ data
    def account(self, platform: str, account_id: str) -> AccountSpec | None:
        account_id = str(account_id).removeprefix("act_")
        for spec in self._config.accounts(platform):
            if spec.account_id == account_id:
                return spec
        return None

    def model(self, platform: str, account_id: str) -> AccountModel:
        account_id = str(account_id).removeprefix("act_")
        with self._lock:
            cached = self._models.get((platform, account_id))
            if cached is not None:
                return cached
            config = self._config
            specs = config.accounts(platform)
            index = next(i for i, s in enumerate(specs) if s.account_id == account_id)
            model = build_account_model(
                platform,
                specs[index],
                index,
                config.seed,
                self._anchor,
                config.campaigns_per_account,
                config.ad_groups_per_campaign_min,
                config.ad_groups_per_campaign_max,
                config.history_months,
            )
            self._models[(platform, account_id)] = model
            return model

    def frame(
        self, platform: str, account_id: str, level: str, since: int, until: int, ags: I64Array, window: DayWindow
    ) -> Frame:
        """Daily rows, memoised: paging through a big report computes it once."""
        digest = hashlib.blake2b(np.ascontiguousarray(ags).tobytes(), digest_size=12).hexdigest()
        cache_key = (id(self._config), platform, account_id, level, since, until, window, digest)
        with self._lock:
            hit = self._frames.get(cache_key)
            if hit is not None:
                self._frames.move_to_end(cache_key)
                return hit
        model = self.model(platform, account_id)
        frame = daily_frame(model, level, since, until, window, ags)
        with self._lock:
            self._frames[cache_key] = frame
            self._frame_bytes += frame.nbytes
            while self._frame_bytes > _FRAME_CACHE_BYTES and len(self._frames) > 1:
                _, old = self._frames.popitem(last=False)
                self._frame_bytes -= old.nbytes
        return frame

    def truth(
        self,
        platform: str,
        account: str,
        level: str = CAMPAIGN,
        since: date | str | None = None,
        until: date | str | None = None,
    ) -> dict[str, Any]:
        """What the reporting endpoints serve right now, in exact native units.

        Money: Google `cost_micros` as an integer; Meta `spend` and every conversion value as an
        exact decimal string in the account currency. Conversions are exact decimal strings.
        """
        if platform not in PLATFORMS:
            raise ValueError(f"platform must be one of {PLATFORMS}")
        spec = self.account(platform, account)
        if spec is None:
            raise ValueError(f"unknown {platform} account {account!r}")
        level = {"adset": AD_GROUP, "ad_set": AD_GROUP, "adgroup": AD_GROUP, "customer": ACCOUNT}.get(level, level)
        if level not in (ACCOUNT, CAMPAIGN, AD_GROUP):
            raise ValueError("level must be account, campaign or ad_group")
        today = self.today()
        since_d = _as_date(since) if since else today - timedelta(days=29)
        until_d = _as_date(until) if until else today
        window = self.window(platform)
        model = self.model(platform, spec.account_id)
        ags = selected_ad_groups(model, None, None)
        frame = self.frame(platform, spec.account_id, level, to_ordinal(since_d), to_ordinal(until_d), ags, window)
        return {
            "platform": platform,
            "account": spec.account_id,
            "currency": spec.currency,
            "time_zone": spec.time_zone,
            "level": level,
            "since": since_d.isoformat(),
            "until": until_d.isoformat(),
            "today": today.isoformat(),
            "restatement_version": window.version,
            "rows": _truth_rows(platform, model, frame),
        }

    def anomalies(
        self, platform: str, account: str, since: date | str | None = None, until: date | str | None = None
    ) -> list[dict[str, object]]:
        spec = self.account(platform, account)
        if spec is None:
            raise ValueError(f"unknown {platform} account {account!r}")
        window = self.window(platform)
        lo = to_ordinal(_as_date(since)) if since else window.history_start
        hi = to_ordinal(_as_date(until)) if until else window.today
        return anomaly_days(self.model(platform, spec.account_id), lo, hi, window)

    # ------------------------------------------------------------------ restatement
    def restate(self, platform: str | None = None, steps: int = 1) -> dict[str, int]:
        """Advance the restatement version: recent conversions change, settled days do not."""
        with self._lock:
            for p in PLATFORMS if platform in (None, "", "all") else (platform,):
                if p not in PLATFORMS:
                    raise ValueError(f"unknown platform {p!r}")
                self._versions[p] += int(steps)
            return dict(self._versions)

    def versions(self) -> dict[str, int]:
        with self._lock:
            return dict(self._versions)

    def note_report_call(self, platform: str) -> None:
        """Count a report call; maybe auto-restate (config.auto_restate_every_n_report_calls)."""
        with self._lock:
            self._stats.report_calls[platform] += 1
            every = self._config.auto_restate_every_n_report_calls
            if every and self._stats.report_calls[platform] % every == 0:
                self._versions[platform] += 1

    # ------------------------------------------------------------------ faults
    def add_fault(self, spec: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        merged = dict(spec or {})
        merged.update(kwargs)
        with self._lock:
            return self.faults.add(merged).to_dict()

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def list_faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return self.faults.describe()

    def take_faults(
        self, platform: str, endpoint: str, account: str | None, page: int | None, kinds: frozenset[str] | set[str]
    ) -> list[Fault]:
        with self._lock:
            fired = self.faults.take(platform, endpoint, account, page, kinds)
            for f in fired:
                self._stats.faults_fired[f.kind] += 1
            return fired

    # ------------------------------------------------------------------ tokens
    def revoke(self, platform: str | None = None, token: str | None = None) -> dict[str, Any]:
        """Revoke the grant behind `token`, or every grant of `platform`."""
        with self._lock:
            if token:
                grant = self.tokens.revoke_token(token)
                return {"revoked": 1 if grant else 0}
            if platform not in PLATFORMS:
                raise ValueError("give a token or a platform")
            return {"revoked": self.tokens.revoke_platform(platform)}

    def issue_tokens(
        self, platform: str, scopes: list[str] | tuple[str, ...] | None = None, long_lived: bool = True
    ) -> dict[str, Any]:
        """Mint a grant without the consent page (fixtures, benchmarks, the demo)."""
        if platform not in PLATFORMS:
            raise ValueError(f"platform must be one of {PLATFORMS}")
        with self._lock:
            config = self._config
            if platform in (GOOGLE_ADS, GA4):
                # GA4 is read with a Google OAuth grant (analytics.readonly), like Google Ads.
                default = GA4_SCOPE if platform == GA4 else GOOGLE_ADS_SCOPE
                grant = self.tokens.new_grant(GOOGLE_ADS, config.google_client_id, tuple(scopes or (default,)), True)
                access = self.tokens.issue_access(grant, config.google_access_token_lifetime)
            elif platform == TIKTOK:
                # TikTok's advertiser tokens are long-lived: no refresh, valid until revoked.
                grant = self.tokens.new_grant(platform, config.tiktok_app_id, tuple(scopes or TIKTOK_SCOPES), False)
                access = self.tokens.issue_access(grant, TIKTOK_TOKEN_LIFETIME, long_lived=True)
            else:
                grant = self.tokens.new_grant(platform, config.meta_app_id, tuple(scopes or META_DEFAULT_SCOPES), False)
                lifetime = (
                    config.meta_long_lived_token_lifetime if long_lived else config.meta_short_lived_token_lifetime
                )
                access = self.tokens.issue_access(grant, lifetime, long_lived)
            self._stats.tokens_issued[platform] += 1
            return {
                "access_token": access.token,
                "refresh_token": grant.refresh_token,
                "expires_in": int(access.expires_at - self.now()),
                "scope": " ".join(grant.scopes),
                "grant_id": grant.id,
            }

    def expire_token(self, token: str) -> None:
        with self._lock:
            self.tokens.expire(token)

    def locked(self) -> threading.RLock:
        return self._lock

    # ------------------------------------------------------------------ stats & ids
    def count_request(self, platform: str, endpoint: str) -> None:
        with self._lock:
            self._stats.requests[f"{platform}.{endpoint}"] += 1

    def count_status(self, status: int) -> None:
        with self._lock:
            self._stats.statuses[str(status)] += 1

    def count(self, counter: str, platform: str, n: int = 1) -> None:
        with self._lock:
            getattr(self._stats, counter)[platform] += n

    def stats(self) -> dict[str, Any]:
        with self._lock:
            s = self._stats
            return {
                "requests": dict(s.requests),
                "statuses": dict(s.statuses),
                "token_refreshes": dict(s.token_refreshes),
                "code_exchanges": dict(s.code_exchanges),
                "tokens_issued": dict(s.tokens_issued),
                "rows_served": dict(s.rows_served),
                "report_calls": dict(s.report_calls),
                "faults_fired": dict(s.faults_fired),
                "restatement_versions": dict(self._versions),
                "report_runs": len(self._jobs),
                "clock": self.clock(),
            }

    def next_id(self, length: int = 22) -> str:
        """A deterministic opaque id (Google requestId, Meta fbtrace_id): same run, same ids."""
        with self._lock:
            self._sequence += 1
            n = self._sequence
        raw = b"".join(key(self._config.seed, n, i).to_bytes(8, "big") for i in range(3))
        return base64.urlsafe_b64encode(raw).decode()[:length]

    # ------------------------------------------------------------------ Meta async jobs
    def new_report_run(self, account_id: str, params: Any, fail: bool) -> ReportRun:
        with self._lock:
            self._job_sequence += 1
            run_id = str(6_000_000_000_000_000 + key(self._config.seed, 991, self._job_sequence) % 10**15)
            run = ReportRun(run_id, account_id, params, self.now(), fail=fail)
            self._jobs[run_id] = run
            return run

    def report_run(self, run_id: str) -> ReportRun | None:
        with self._lock:
            return self._jobs.get(run_id)

    # ------------------------------------------------------------------ quotas & usage
    def meta_usage(self, account_id: str, kind: str, record: bool) -> tuple[float, int]:
        """(% of the hourly business-use-case budget used, minutes until access is regained)."""
        with self._lock:
            calls = self._meta_calls[(account_id, kind)]
            now = self.now()
            while calls and calls[0] <= now - 3600:
                calls.popleft()
            if record:
                calls.append(now)
            budget = max(1, self._config.meta_calls_per_hour)
            pct = min(100.0, 100.0 * len(calls) / budget)
            regain = 0
            if len(calls) >= budget and calls:
                regain = max(1, math.ceil((calls[0] + 3600 - now) / 60))
            return round(pct, 2), regain

    def google_operation(self, developer_token: str) -> int | None:
        """Count one operation; return seconds until the daily quota resets if exhausted."""
        limit = self._config.google_daily_operation_limit
        with self._lock:
            day = self._utc_today().isoformat()
            k = f"{developer_token}:{day}"
            if limit is not None and self._google_ops[k] >= limit:
                now = datetime.fromtimestamp(self.now(), tz=UTC)
                midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
                return max(1, int((midnight - now).total_seconds()))
            self._google_ops[k] += 1
            return None


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _decimal_str(minor: int, decimals: int) -> str:
    if decimals == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{minor // 10**decimals}.{minor % 10**decimals:0{decimals}d}"


def _micros_str(micros: int) -> str:
    """Exact decimal text of an amount in micros, without trailing zeros ("12.5486", "3")."""
    text = _decimal_str(micros, 6).rstrip("0").rstrip(".")
    return text or "0"


def _truth_rows(platform: str, model: AccountModel, frame: Frame) -> list[dict[str, Any]]:
    dates = iso_dates(frame.day_start)
    cols = {k: v.tolist() for k, v in frame.cols.items()}
    entity = frame.entity.tolist()
    decimals = model.decimals
    micro_unit = 10 ** (6 - decimals)
    rows: list[dict[str, Any]] = []
    for i, day in enumerate(dates):
        row: dict[str, Any] = {"date": day}
        if frame.level == CAMPAIGN:
            row["campaign_id"] = str(int(model.campaign_ids[entity[i]]))
        elif frame.level == AD_GROUP:
            row["campaign_id"] = str(int(model.campaign_ids[model.ag_campaign[entity[i]]]))
            ag_key = {GOOGLE_ADS: "ad_group_id", TIKTOK: "adgroup_id"}.get(platform, "adset_id")
            row[ag_key] = str(int(model.ag_ids[entity[i]]))
        if platform == GOOGLE_ADS:
            row.update(
                cost_micros=cols["spend_micros"][i],
                impressions=cols["impressions"][i],
                clicks=cols["clicks"][i],
                conversions=_decimal_str(cols["conversions"][i], 2),
                conversions_value=_micros_str(cols["value_micros"][i]),
            )
        elif platform == TIKTOK:
            row.update(
                spend=_decimal_str(cols["spend_micros"][i] // micro_unit, decimals),
                impressions=cols["impressions"][i],
                clicks=cols["clicks"][i],
                conversion=cols["conversions"][i],
                complete_payment_value=_decimal_str(cols["value_micros"][i] // micro_unit, decimals),
            )
        else:
            row.update(
                spend=_decimal_str(cols["spend_micros"][i] // micro_unit, decimals),
                impressions=cols["impressions"][i],
                clicks=cols["clicks"][i],
                inline_link_clicks=cols["link_clicks"][i],
                reach=cols["reach"][i],
                purchases=cols["purchases"][i],
                purchase_value=_decimal_str(cols["value_micros"][i] // micro_unit, decimals),
                leads=cols["leads"][i],
            )
        rows.append(row)
    return rows


__all__ = ["META", "EmulatorState", "ReportRun"]
