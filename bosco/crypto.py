"""Encryption at rest for OAuth tokens and other secrets (Fernet, rotatable via MultiFernet)."""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


class DecryptionError(Exception):
    """The ciphertext was not made by any configured key (tampered, or the key was retired)."""


@cache
def _fernet() -> MultiFernet:
    keys = list(settings.BOSCO_ENCRYPTION_KEYS)
    if not keys:
        # Development only: production.py requires BOSCO_ENCRYPTION_KEYS. Derive a stable key
        # from SECRET_KEY so a dev database keeps decrypting across restarts.
        digest = hashlib.sha256(("bosco-field-encryption:" + settings.SECRET_KEY).encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def reset_key_cache() -> None:
    """Forget the cached key set (tests that swap keys call this)."""
    _fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") from exc


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key; run over every secret after adding a key."""
    return _fernet().rotate(ciphertext.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column whose value is stored encrypted; Python code sees plaintext."""

    def from_db_value(self, value: str | None, expression: object, connection: object) -> str | None:
        return None if value is None or value == "" else decrypt(value)

    def get_prep_value(self, value: object) -> str | None:
        if value is None or value == "":
            return value  # type: ignore[return-value]
        return encrypt(str(value))
