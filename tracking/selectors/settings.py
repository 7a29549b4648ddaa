"""Reads of a workspace's tracking settings (public schema, one row per workspace)."""

from __future__ import annotations

from accounts.models import Workspace
from tracking.models import TrackingSettings

DEFAULT_LOOKBACK_DAYS = 30
DEFAULT_RETENTION_MONTHS = 13


def tracking_settings_for(workspace: Workspace) -> TrackingSettings | None:
    """The workspace's settings, or None before tracking was first set up."""
    return TrackingSettings.objects.filter(workspace=workspace).first()


def lookback_days_for(workspace: Workspace) -> int:
    settings = tracking_settings_for(workspace)
    return settings.lookback_days if settings else DEFAULT_LOOKBACK_DAYS
