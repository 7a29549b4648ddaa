"""A workspace's tracking settings: created on first visit of Settings → Tracking, edited, key rotated."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from billing import entitlements
from tracking.collect import buffer
from tracking.models import RetiredCollectKey, TrackingSettings

KEY_PREFIX = "pk_"


class SettingsError(ValueError):
    """Settings that cannot be saved, with a message fit to show."""


def _new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(18)


def normalise_origin(value: str) -> str:
    """'https://Shop.Example:443/path' → 'https://shop.example'; SettingsError for anything else."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"“{value.strip()}” is not an origin like https://shop.example.")
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def _forget_now_and_after_commit(public_key: str) -> None:
    """Drop the endpoint's cached view of a key now, and again once the change is visible to all
    (a beacon between the two may have cached the state before the commit)."""
    buffer.forget_key_config(public_key)
    transaction.on_commit(lambda: buffer.forget_key_config(public_key))


@transaction.atomic
def tracking_settings_ensure(*, workspace: Workspace) -> TrackingSettings:
    settings, _ = TrackingSettings.objects.get_or_create(workspace=workspace, defaults={"public_key": _new_key()})
    return settings


@transaction.atomic
def tracking_settings_update(
    *,
    workspace: Workspace,
    allowed_origins: list[str],
    consent_mode: bool,
    retention_months: int,
    lookback_days: int,
    enabled: bool,
) -> TrackingSettings:
    if not 1 <= retention_months <= 60:
        raise SettingsError("Keep events for 1 to 60 months.")
    if not 1 <= lookback_days <= 180:
        raise SettingsError("The lookback window is 1 to 180 days.")
    origins = sorted({normalise_origin(origin) for origin in allowed_origins if origin.strip()})
    if len(origins) > 50:
        raise SettingsError("At most 50 allowed origins.")
    settings = TrackingSettings.objects.select_for_update().get(pk=tracking_settings_ensure(workspace=workspace).pk)
    settings.allowed_origins = origins
    settings.consent_mode = consent_mode
    settings.retention_months = retention_months
    settings.lookback_days = lookback_days
    settings.enabled = enabled
    settings.updated_at = timezone.now()
    settings.save()
    _forget_now_and_after_commit(settings.public_key)
    return settings


@transaction.atomic
def tracking_key_rotate(*, workspace: Workspace) -> TrackingSettings:
    """A new public key; the old one is refused from now on (its beacons counted as rotated_key)."""
    settings = TrackingSettings.objects.select_for_update().get(pk=tracking_settings_ensure(workspace=workspace).pk)
    old_key = settings.public_key
    RetiredCollectKey.objects.create(public_key=old_key, workspace=workspace)
    settings.public_key = _new_key()
    settings.key_rotated_at = timezone.now()
    settings.updated_at = settings.key_rotated_at
    settings.save()
    _forget_now_and_after_commit(old_key)
    return settings


def key_config(public_key: str) -> dict[str, Any]:
    """What the endpoint needs to know about a key, from Redis or (on a miss) the public schema.

    {"status": "ok"|"unknown"|"retired", "schema", "origins", "consent", "enabled", "read_only"}
    """
    config = buffer.cached_key_config(public_key)
    if config is not None:
        return config
    settings = TrackingSettings.objects.select_related("workspace").filter(public_key=public_key).first()
    if settings is not None:
        schema = settings.workspace.schema_name
        config = {
            "status": "ok",
            "schema": schema,
            "origins": list(settings.allowed_origins),
            "consent": settings.consent_mode,
            "enabled": settings.enabled,
            "read_only": entitlements.for_workspace(schema).read_only,
        }
    else:
        retired = RetiredCollectKey.objects.select_related("workspace").filter(public_key=public_key).first()
        if retired is not None:
            config = {"status": "retired", "schema": retired.workspace.schema_name}
        else:
            config = {"status": "unknown"}
    buffer.cache_key_config(public_key, config)
    return config
