"""HTTP to the ad platforms: timeouts, bounded retries with exponential backoff and jitter, Retry-After.

`ApiSession.call` sends one logical request and returns its parsed JSON body. A platform module
supplies `classify(response) -> ConnectorError | None`, which turns a platform's error shapes into
the error classes of `connectors.errors`; this module decides how to react:

- transient errors are retried up to `CONNECTORS_MAX_ATTEMPTS`, waiting
  `max(backoff with jitter, Retry-After)`; a wait longer than `CONNECTORS_MAX_INLINE_WAIT` raises
  `Deferred` so the worker is freed and the run resumes later from its cursors;
- everything else is raised at once.

Tokens travel only in headers; URLs and log lines never carry one.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from django.conf import settings

from connectors.errors import (
    ApiTimeout,
    ConnectorError,
    Deferred,
    MalformedBody,
    RetriesExhausted,
    TransientApiError,
)

logger = logging.getLogger("connectors.http")

T = TypeVar("T")

# Looked up at call time so tests can observe (and still perform) every wait.
sleep: Callable[[float], None] = time.sleep


@dataclass
class CallStats:
    """Counters one sync run accumulates across its platform calls."""

    api_calls: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    token_refreshes: int = 0
    usage_pct: float | None = None
    waits: list[tuple[str, float]] = field(default_factory=list)  # (reason, seconds), for the run record

    def reset_counters(self) -> dict[str, int]:
        """Hand back and zero what accumulated since the last call (the engine saves it per page)."""
        out = {"api_calls": self.api_calls, "retries": self.retries, "token_refreshes": self.token_refreshes}
        self.api_calls = self.retries = self.token_refreshes = 0
        return out


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_base: float
    backoff_max: float
    max_inline_wait: float

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(
            max_attempts=max(1, int(settings.CONNECTORS_MAX_ATTEMPTS)),
            backoff_base=float(settings.CONNECTORS_BACKOFF_BASE),
            backoff_max=float(settings.CONNECTORS_BACKOFF_MAX),
            max_inline_wait=float(settings.CONNECTORS_MAX_INLINE_WAIT),
        )

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": between half and all of base·2^(attempt-1), capped."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** max(0, attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)


def wait(seconds: float, *, reason: str, stats: CallStats | None, policy: RetryPolicy) -> None:
    """Sleep for the platform, or defer the whole run when the wait is too long for a worker."""
    if seconds <= 0:
        return
    if seconds > policy.max_inline_wait:
        raise Deferred(f"{reason}: asked to wait {seconds:.0f}s", retry_after=seconds)
    if stats is not None:
        stats.waited_seconds += seconds
        stats.waits.append((reason, seconds))
    sleep(seconds)


def with_retries(
    attempt_once: Callable[[], T],
    *,
    what: str,
    platform_label: str,
    stats: CallStats | None,
    policy: RetryPolicy | None = None,
) -> T:
    """Call `attempt_once` until it succeeds, retrying only `TransientApiError`s, boundedly."""
    policy = policy or RetryPolicy.from_settings()
    attempt = 0
    while True:
        attempt += 1
        try:
            return attempt_once()
        except TransientApiError as exc:
            if attempt >= policy.max_attempts:
                raise RetriesExhausted(
                    f"{what}: {exc.message} (after {attempt} attempts)",
                    last=exc,
                    attempts=attempt,
                    user_message=_exhausted_message(platform_label, exc, attempt),
                ) from exc
            delay = policy.backoff(attempt)
            if exc.retry_after is not None:
                delay = max(delay, float(exc.retry_after))
            logger.info("%s: %s; retry %d in %.2fs", what, exc.message, attempt, delay)
            if stats is not None:
                stats.retries += 1
            if delay > policy.max_inline_wait:
                raise Deferred(
                    f"{what}: {exc.message}; asked to wait {delay:.0f}s",
                    retry_after=delay,
                    user_message=_deferred_message(platform_label, exc, delay),
                ) from exc
            wait(delay, reason=f"{platform_label} {exc.code}", stats=stats, policy=policy)


def _exhausted_message(platform_label: str, exc: TransientApiError, attempts: int) -> str:
    what = {
        "rate_limited": f"{platform_label} kept rate-limiting Bosco",
        "timeout": f"{platform_label} did not answer in time",
        "malformed_response": f"{platform_label} kept sending responses Bosco could not read",
    }.get(exc.code, f"{platform_label} kept failing")
    return (
        f"{what} ({exc.message}) — {attempts} attempts. Nothing already synced was lost; "
        "Bosco tries again at the next scheduled sync, or use “Sync now”."
    )


def _deferred_message(platform_label: str, exc: TransientApiError, delay: float) -> str:
    minutes = max(1, round(delay / 60))
    return f"{platform_label} asked Bosco to pause ({exc.message}); the sync resumes by itself in about {minutes} min."


Classifier = Callable[[httpx.Response], ConnectorError | None]


class ApiSession:
    """One platform's HTTP client for one sync run (or one connect flow)."""

    def __init__(
        self,
        *,
        platform_label: str,
        classify: Classifier,
        stats: CallStats | None = None,
        inspect: Callable[[httpx.Response], None] | None = None,
        policy: RetryPolicy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.platform_label = platform_label
        self.classify = classify
        self.inspect = inspect
        self.stats = stats if stats is not None else CallStats()
        self.policy = policy or RetryPolicy.from_settings()
        timeout = float(settings.CONNECTORS_HTTP_TIMEOUT)
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            headers={"User-Agent": "Bosco/1.0 (+https://bosco.invalid)"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ApiSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(
        self,
        method: str,
        url: str,
        *,
        what: str,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        form: dict[str, Any] | None = None,
        retry: bool = True,
        classify: Classifier | None = None,
        parse: Callable[[httpx.Response], Any] | None = None,
    ) -> Any:
        """Send, classify, retry transient failures; return the parsed JSON body (or what
        `parse` makes of the response, for the rare answer that is a file, not JSON)."""

        def once() -> Any:
            return self._once(
                method,
                url,
                what=what,
                headers=headers,
                params=params,
                json_body=json_body,
                form=form,
                classify=classify,
                parse=parse,
            )

        if not retry:
            return once()
        return with_retries(once, what=what, platform_label=self.platform_label, stats=self.stats, policy=self.policy)

    def _once(
        self,
        method: str,
        url: str,
        *,
        what: str,
        headers: dict[str, str] | None,
        params: dict[str, Any] | None,
        json_body: Any,
        form: dict[str, Any] | None,
        classify: Classifier | None,
        parse: Callable[[httpx.Response], Any] | None = None,
    ) -> Any:
        self.stats.api_calls += 1
        try:
            response = self.client.request(method, url, headers=headers, params=params, json=json_body, data=form)
        except httpx.TimeoutException as exc:
            raise ApiTimeout(f"{what}: no answer within {self.client.timeout.read}s ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise TransientApiError(f"{what}: could not reach {self.platform_label} ({type(exc).__name__})") from exc
        if self.inspect is not None:
            self.inspect(response)
        error = (classify or self.classify)(response)
        if error is not None:
            raise error
        if parse is not None:
            return parse(response)
        return parse_json(response, what=what, platform_label=self.platform_label)


def parse_json(response: httpx.Response, *, what: str, platform_label: str) -> Any:
    """The body as JSON; an HTML page or a cut-off body is a (transient) `MalformedBody`."""
    content_type = response.headers.get("content-type", "")
    body = response.content
    if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
        raise MalformedBody(
            f"{what}: {platform_label} answered HTTP {response.status_code} with an HTML page instead of JSON"
        )
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise MalformedBody(
            f"{what}: {platform_label} sent a body that is not valid JSON ({detail}; {len(body)} bytes, HTTP {response.status_code})"
        ) from exc


def json_or_none(response: httpx.Response) -> Any:
    """Best-effort JSON of an error body (None for HTML or garbage): for classifying errors only."""
    try:
        return json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After as seconds (the HTTP-date form is honoured too)."""
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
