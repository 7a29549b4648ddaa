"""What the platform clients share: authenticated calls with one token refresh per rejection."""

from __future__ import annotations

from typing import Any, Protocol

from connectors.errors import AuthExpired, ReauthRequired
from connectors.http import ApiSession


class TokenSource(Protocol):
    platform: str

    def access_token(self) -> str: ...

    def refresh(self, *, rejected: str) -> str: ...


class AuthenticatedApi:
    """Sends a request with the current access token; a 401 refreshes it once and repeats the
    very same request (same page token), a second 401 means the grant is gone."""

    label = "the platform"

    def __init__(self, *, tokens: TokenSource, session: ApiSession) -> None:
        self.tokens = tokens
        self.session = session

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def authed_call(
        self, method: str, url: str, *, what: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        token = self.tokens.access_token()
        for attempt in (1, 2):
            try:
                return self.session.call(
                    method, url, what=what, headers={**(headers or {}), **self.auth_headers(token)}, **kwargs
                )
            except AuthExpired as exc:
                if attempt == 2:
                    raise ReauthRequired(
                        f"{what}: token rejected again right after a refresh",
                        user_message=(
                            f"{self.label} rejected Bosco's access even after renewing it. Re-authorise the "
                            "connection to resume syncing; synced data is kept."
                        ),
                    ) from exc
                token = self.tokens.refresh(rejected=token)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self.session.close()
