"""Structured logs that carry their context (request id, workspace schema, task id, user id) and
never carry a secret.

The request middleware and the Celery task signals bind the context for the work in hand
(`bind` / `unbind`); `ContextFilter` copies it onto every record, so a line logged deep inside a
service still says which request or task, workspace and user it belongs to.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

# Bearer tokens, OAuth fields in query strings / form bodies / JSON, Fernet blobs, Stripe keys and
# webhook secrets, Bosco API keys, session and CSRF cookies.
_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-~+/=]{8,}"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|id_token|client_secret|code_verifier|fb_exchange_token|api_key"
        r"|password|secret_key|webhook_secret|sessionid|csrftoken|stripe-signature)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"
    ),
    re.compile(r"gAAAAA[A-Za-z0-9_\-=]{20,}"),
    re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}"),
    re.compile(r"\bwhsec_[A-Za-z0-9]{8,}"),
    re.compile(r"\bbsk_[A-Za-z0-9_\-]{8,}"),
]

#: request_id, task_id and the current request (for its user), bound by whoever runs the work
_context: ContextVar[dict[str, Any] | None] = ContextVar("bosco_log_context", default=None)


def bind(**values: Any) -> Token[dict[str, Any] | None]:
    """Add values to the log context of the current request or task; `unbind` the token after."""
    return _context.set({**(_context.get() or {}), **values})


def unbind(token: Token[dict[str, Any] | None]) -> None:
    _context.reset(token)


def context_value(name: str) -> Any:
    return (_context.get() or {}).get(name)


def _user_id(request: Any) -> Any:
    # Only a user the request already loaded: logging must never query the session or database.
    user = vars(request).get("_cached_user") if request is not None else None
    return getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[REDACTED]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Rewrites the formatted message so tokens that slipped into a log line are masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


class TenantContextFilter(logging.Filter):
    """Adds the active schema, so every line says which workspace it is about."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "schema_name"):
            try:
                from django.db import connection

                record.schema_name = getattr(connection, "schema_name", "-")
            except Exception:  # logging must never raise, even before Django is set up
                record.schema_name = "-"
        return True


class ContextFilter(logging.Filter):
    """Adds request_id, task_id and user_id ("-" where there is none) from the bound context."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or {}
        for name in ("request_id", "task_id"):
            if not hasattr(record, name):
                setattr(record, name, context.get(name) or "-")
        if not hasattr(record, "user_id"):
            record.user_id = _user_id(context.get("request")) or context.get("user_id") or "-"
        return True


class JsonFormatter(logging.Formatter):
    _STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)))

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and key not in payload:
                if isinstance(value, (int, float, bool, type(None))):
                    payload[key] = value
                else:  # extra fields are text a caller chose: mask secrets in them too
                    payload[key] = redact(value if isinstance(value, str) else str(value))
        if record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)
