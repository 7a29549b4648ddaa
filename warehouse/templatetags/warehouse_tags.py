"""Warehouse facts that pages of lower layers show (templates compose apps by name; Python below
the warehouse never imports it)."""

from __future__ import annotations

from django import template

from warehouse.selectors import fx_rate_sources

register = template.Library()


@register.simple_tag
def fx_other_sources() -> list[str]:
    """Where this workspace's rates come from when it is not the ECB, so no page claims the ECB's."""
    return [source for source in fx_rate_sources() if source != "ECB"]
