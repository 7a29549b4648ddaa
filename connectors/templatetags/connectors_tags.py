"""Small formatting helpers for the Data sources pages."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.urls import reverse
from django.utils.html import format_html

from connectors.selectors import platform_names

register = template.Library()

_STATUS_BADGES = {
    "active": "badge-good",
    "succeeded": "badge-good",
    "needs_reauth": "badge-bad",
    "failed": "badge-bad",
    "error": "badge-warn",
    "running": "badge-accent",
    "queued": "",
    "paused": "",
    "cancelled": "",
    "disconnected": "",
}


@register.filter
def status_badge(status: str) -> str:
    """The badge class for a connection or run status."""
    return _STATUS_BADGES.get(str(status), "")


@register.filter
def duration(value: float | timedelta | None) -> str:
    """Seconds as "1 h 04 min", "3 min 05 s" or "12 s"; "—" for nothing."""
    if value is None or value == "":
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


@register.filter
def percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{float(value):.0f}%"


@register.simple_tag
def connectable_platforms() -> str:
    """The platforms a workspace can connect today, in a sentence ("Google Ads and Meta Ads")."""
    names = platform_names()
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


PLAN_PAGE_PHRASE = "Settings → Plan and billing"


@register.filter
def with_plan_link(message: str) -> str:
    """A connection or run message with its pointer to the plan page made a link (over-plan pauses,
    history and interval limits say where to upgrade); everything else is escaped as usual."""
    before, found, after = str(message or "").partition(PLAN_PAGE_PHRASE)
    if not found:
        return before
    return format_html('{}<a href="{}">{}</a>{}', before, reverse("settings_billing"), PLAN_PAGE_PHRASE, after)
