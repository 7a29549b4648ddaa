"""The mail backend Bosco sends through: the configured one, with delivery failures counted."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from bosco.metrics import EMAIL_FAILURES

logger = logging.getLogger("bosco.mail")


class MeteredEmailBackend(BaseEmailBackend):
    """Delegates to BOSCO_EMAIL_BACKEND (from EMAIL_URL) and counts what it failed to send."""

    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently)
        self.backend_path = settings.BOSCO_EMAIL_BACKEND
        self.inner = get_connection(self.backend_path, fail_silently=fail_silently, **kwargs)

    def open(self) -> bool | None:
        return self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        messages = list(email_messages)
        label = self.backend_path.rsplit(".", 2)[-2] if "." in self.backend_path else self.backend_path
        try:
            sent = int(self.inner.send_messages(messages) or 0)
        except Exception:
            EMAIL_FAILURES.labels(backend=label).inc(len(messages))
            logger.exception("e-mail delivery failed for %d message(s)", len(messages))
            raise
        if sent < len(messages):  # a fail_silently backend reports fewer sent instead of raising
            EMAIL_FAILURES.labels(backend=label).inc(len(messages) - sent)
        return sent
