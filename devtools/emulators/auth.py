"""OAuth grants, authorization codes and access tokens of the emulated platforms.

A grant is what a person's consent creates; refresh tokens (Google) and every access token hang
off it, so revoking a grant kills everything issued under it, as on the real platforms.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field

from devtools.emulators.config import GOOGLE_ADS, TIKTOK

GOOGLE_ADS_SCOPE = "https://www.googleapis.com/auth/adwords"
GA4_SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
META_DEFAULT_SCOPES = ("ads_read", "ads_management", "business_management")
# TikTok grants scope ids (numbers); these are "Ad Account Management" and "Reporting" reads.
TIKTOK_SCOPES = ("1", "4")
# TikTok advertiser tokens do not expire; the emulator gives them ten years.
TIKTOK_TOKEN_LIFETIME = 10 * 365 * 86400

_ALNUM = string.ascii_letters + string.digits


@dataclass
class Grant:
    id: str
    platform: str
    client_id: str
    scopes: tuple[str, ...]
    refresh_token: str | None
    created_at: float
    revoked: bool = False


@dataclass
class AccessToken:
    token: str
    grant_id: str
    platform: str
    issued_at: float
    expires_at: float
    long_lived: bool = False


@dataclass
class AuthCode:
    code: str
    platform: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    expires_at: float
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    offline: bool = True
    used: bool = False


@dataclass
class PendingConsent:
    """An authorization request shown on the consent page, waiting for Allow or Deny."""

    id: str
    platform: str
    params: dict[str, str] = field(default_factory=dict)


TokenStatus = str  # "ok" | "unknown" | "expired" | "revoked" | "wrong_platform"


class TokenStore:
    """Not thread-safe by itself: EmulatorState calls it under its lock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.grants: dict[str, Grant] = {}
        self.by_refresh: dict[str, Grant] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.codes: dict[str, AuthCode] = {}
        self.consents: dict[str, PendingConsent] = {}

    def new_consent(self, platform: str, params: dict[str, str]) -> PendingConsent:
        consent = PendingConsent(secrets.token_urlsafe(12), platform, params)
        self.consents[consent.id] = consent
        return consent

    def issue_code(
        self,
        platform: str,
        client_id: str,
        redirect_uri: str,
        scopes: tuple[str, ...],
        lifetime: int,
        code_challenge: str | None = None,
        code_challenge_method: str | None = None,
        offline: bool = True,
    ) -> AuthCode:
        prefix = {GOOGLE_ADS: "4/0A", TIKTOK: ""}.get(platform, "AQ")
        code = AuthCode(
            code=prefix + secrets.token_urlsafe(36),
            platform=platform,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            expires_at=self._clock() + lifetime,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            offline=offline,
        )
        self.codes[code.code] = code
        return code

    def new_grant(self, platform: str, client_id: str, scopes: tuple[str, ...], with_refresh: bool) -> Grant:
        refresh = ("1//0" + secrets.token_urlsafe(48)) if with_refresh else None
        grant = Grant(
            id=secrets.token_hex(8),
            platform=platform,
            client_id=client_id,
            scopes=scopes,
            refresh_token=refresh,
            created_at=self._clock(),
        )
        self.grants[grant.id] = grant
        if refresh:
            self.by_refresh[refresh] = grant
        return grant

    def issue_access(self, grant: Grant, lifetime: int, long_lived: bool = False) -> AccessToken:
        if grant.platform == GOOGLE_ADS:
            token = "ya29.a0" + secrets.token_urlsafe(96)
        elif grant.platform == TIKTOK:
            token = secrets.token_hex(20)  # TikTok access tokens are 40 hex characters
        else:
            token = "EAA" + "".join(secrets.choice(_ALNUM) for _ in range(160))
        now = self._clock()
        access = AccessToken(token, grant.id, grant.platform, now, now + lifetime, long_lived)
        self.tokens[token] = access
        return access

    def check(self, token: str, platform: str) -> tuple[TokenStatus, AccessToken | None, Grant | None]:
        access = self.tokens.get(token)
        if access is None:
            return "unknown", None, None
        grant = self.grants[access.grant_id]
        if access.platform != platform:
            return "wrong_platform", access, grant
        if grant.revoked:
            return "revoked", access, grant
        if self._clock() >= access.expires_at:
            return "expired", access, grant
        return "ok", access, grant

    def expire(self, token: str) -> None:
        """Make a token invalid now (the token-expiry fault)."""
        access = self.tokens.get(token)
        if access is not None:
            access.expires_at = min(access.expires_at, self._clock() - 1)

    def revoke_grant(self, grant: Grant) -> None:
        grant.revoked = True

    def revoke_token(self, token: str) -> Grant | None:
        """Revoke the grant behind an access or refresh token (Google's /revoke semantics)."""
        grant = self.by_refresh.get(token)
        if grant is None and token in self.tokens:
            grant = self.grants[self.tokens[token].grant_id]
        if grant is None:
            return None
        grant.revoked = True
        return grant

    def revoke_platform(self, platform: str) -> int:
        n = 0
        for grant in self.grants.values():
            if grant.platform == platform and not grant.revoked:
                grant.revoked = True
                n += 1
        return n
