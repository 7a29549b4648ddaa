"""Signed unsubscribe tokens: who (user id) and what (a workspace schema, or "all").

Signed with the project's SECRET_KEY (django.core.signing, its own salt), so an unsubscribe link
works without signing in and cannot be forged for another member or workspace. No expiry: an
unsubscribe link in an old e-mail must still work (RFC 8058 asks for a lasting URL).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

SALT = "bosco.digests.unsubscribe"
ALL = "all"


@dataclass(frozen=True)
class UnsubscribeRequest:
    user_id: int
    scope: str  # a workspace schema, or "all"


def unsubscribe_token(*, user_id: int, scope: str) -> str:
    return signing.dumps({"u": user_id, "s": scope}, salt=SALT, compress=False)


def unsubscribe_read(token: str) -> UnsubscribeRequest | None:
    """The request a token carries; None when the signature does not match (forged or mangled)."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("s"), str):
        return None
    return UnsubscribeRequest(user_id=data["u"], scope=data["s"])
