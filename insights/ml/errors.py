"""Errors raised by the insight models.

Every problem with caller-supplied data is an :class:`InputError` carrying a one-line,
user-facing message, so the CLI and (later) the Django views can show it as-is instead of
a traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """The caller's data cannot be modelled; the message says exactly why, in one line."""
