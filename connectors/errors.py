"""What can go wrong when Bosco talks to an ad platform, sorted by what the sync engine does about it.

- `TransientApiError` (throttles, 5xx, timeouts, unreadable bodies): retried with backoff, bounded.
- `AuthExpired`: the access token was rejected; refreshed once, then the same request is repeated.
- `ReauthRequired`: the grant is gone; the connection needs a person, so nothing is retried.
  `NotAdsUser` is the case where the Google user who connected has no Google Ads account at all.
- `OperatorError`: Bosco's own configuration is wrong (OAuth client, developer token): logged at
  ERROR and recorded on the run for support; the connection itself is left as it is.
- `ReportNotReady`: an async report was read before it was ready; poll its status again.
- `TooMuchData`: the platform gave up on a report; the date range is split in two.
- `ReportJobStarted`: a synchronous report was too large, so the client started an asynchronous
  job for the chunk (TikTok's 40067 → report task); the engine saves the job id and waits for it.
- `BadResponse`: a page failed validation; nothing of it lands, the run fails with the reason.
- `PlatformRejected`: a permanent refusal (permissions, a request Bosco should not have made).

Every error carries `user_message`, written for the person on the Data sources page: what
happened and what to do. Tokens never appear in any message.
"""

from __future__ import annotations


class ConnectorError(Exception):
    code = "error"

    def __init__(self, message: str, *, user_message: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self._user_message = user_message

    @property
    def user_message(self) -> str:
        return self._user_message or self.message


class TransientApiError(ConnectorError):
    code = "transient"

    def __init__(self, message: str, *, retry_after: float | None = None, user_message: str | None = None) -> None:
        super().__init__(message, user_message=user_message)
        self.retry_after = retry_after


class RateLimited(TransientApiError):
    code = "rate_limited"


class ServerError(TransientApiError):
    code = "server_error"


class ApiTimeout(TransientApiError):
    code = "timeout"


class MalformedBody(TransientApiError):
    """The body is not the JSON the platform promised (truncated, an HTML error page...)."""

    code = "malformed_response"


class RetriesExhausted(ConnectorError):
    """A transient error kept happening; `last` is the final one."""

    def __init__(
        self, message: str, *, last: TransientApiError, attempts: int, user_message: str | None = None
    ) -> None:
        super().__init__(message, user_message=user_message)
        self.last = last
        self.attempts = attempts
        self.code = last.code


class Deferred(ConnectorError):
    """The platform asked Bosco to wait longer than a worker should sleep; resume later.

    With `backoff`, the platform did not say how long: `retry_after` is the shortest pause, and
    the engine makes it grow with every deferral of the same run.
    """

    code = "deferred"

    def __init__(
        self, message: str, *, retry_after: float, user_message: str | None = None, backoff: bool = False
    ) -> None:
        super().__init__(message, user_message=user_message)
        self.retry_after = retry_after
        self.backoff = backoff


class AuthExpired(ConnectorError):
    code = "auth_expired"


class ReauthRequired(ConnectorError):
    code = "needs_reauth"


class NotAdsUser(ReauthRequired):
    """Google: the account that granted access is not associated with any Google Ads account."""

    code = "not_ads_user"


class OperatorError(ConnectorError):
    """Bosco is misconfigured (its OAuth client, developer token...): for the operator, not the user."""

    code = "bosco_config"


class ReportNotReady(ConnectorError):
    """Meta error 2601: the report run's rows were read before the job had completed."""

    code = "report_not_ready"


class TooMuchData(ConnectorError):
    code = "too_much_data"


class ReportJobStarted(ConnectorError):
    """A synchronous report was refused as too large, and the client started an asynchronous
    report job for the same chunk instead: the engine saves `job_id` with the cursor, then waits."""

    code = "report_job_started"

    def __init__(self, message: str, *, job_id: str) -> None:
        super().__init__(message)
        self.job_id = job_id


class BadResponse(ConnectorError):
    code = "bad_response"


class PlatformRejected(ConnectorError):
    code = "platform_error"


class ReportFailed(PlatformRejected):
    """The platform's asynchronous report job ended in failure (TikTok: task status FAILED)."""

    code = "report_failed"


class AccessDenied(PlatformRejected):
    code = "permission_denied"


class ObjectNotFound(PlatformRejected):
    """The platform says the object does not exist (or Bosco may not see it)."""

    code = "not_found"


class CursorExpired(PlatformRejected):
    """A saved page token or report job is no longer valid: restart that chunk from its start."""

    code = "cursor_expired"


class SyncCancelled(ConnectorError):
    """The connection was paused or disconnected while a run was going."""

    code = "cancelled"


class ConnectionFlowError(ConnectorError):
    """Connecting went wrong (bad or replayed state, denied consent, failed code exchange)."""

    code = "connect_failed"
