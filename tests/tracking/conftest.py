"""Fixtures of the tracking tests: a workspace with tracking set up, beacons, the buffer's keys."""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from accounts.models import Workspace
from tracking.collect import buffer
from tracking.models import TrackingSettings
from tracking.services.settings import tracking_settings_ensure, tracking_settings_update

SHOP = "https://shop.example"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
_serial = itertools.count(1)
_addresses = itertools.count(1)


def unique_slug(stem: str) -> str:
    """Schemas are the buffer's keys: a slug no other test (or xdist worker) uses."""
    return f"{stem}{os.getpid() % 10000}x{next(_serial)}"


def fresh_ip() -> str:
    """A client address (its own /24) no other test of this process counts against."""
    n = next(_addresses) + (os.getpid() % 200) * 250
    return f"10.{(n // 250) % 250}.{n % 250}.7"


def _forget_buffer(schema: str) -> None:
    client = buffer.client()
    client.delete(buffer.stream_key(schema), buffer.counts_key(schema), buffer.landing_flag_key(schema))
    client.srem(buffer.PENDING_SET, schema)


@pytest.fixture
def tracked_workspace(
    make_workspace: Callable[..., Workspace],
) -> Iterator[Callable[..., tuple[Workspace, TrackingSettings]]]:
    made: list[tuple[str, str]] = []

    def make(
        stem: str = "shop", *, origins: tuple[str, ...] = (SHOP,), consent_mode: bool = False, **extra: Any
    ) -> tuple[Workspace, TrackingSettings]:
        workspace = make_workspace(unique_slug(stem), **extra)
        tracking_settings_ensure(workspace=workspace)
        settings = tracking_settings_update(
            workspace=workspace,
            allowed_origins=list(origins),
            consent_mode=consent_mode,
            retention_months=13,
            lookback_days=30,
            enabled=True,
        )
        buffer.forget_key_config(settings.public_key)
        made.append((workspace.schema_name, settings.public_key))
        return workspace, settings

    yield make
    for schema, key in made:
        _forget_buffer(schema)
        buffer.forget_key_config(key)


def event(
    kind: str = "page_view", *, url: str = SHOP + "/", t_ms: float | None = None, **fields: Any
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": kind,
        "t": t_ms if t_ms is not None else time.time() * 1000,
        "url": url,
        **fields,
    }


def beacon(*events: dict[str, Any], sent_at_ms: float | None = None) -> bytes:
    return json.dumps(
        {"sent_at": sent_at_ms if sent_at_ms is not None else time.time() * 1000, "events": list(events)}
    ).encode()


def post_beacon(
    client: Client,
    public_key: str,
    body: bytes,
    *,
    origin: str = SHOP,
    ip: str = "10.0.0.1",
    user_agent: str = CHROME,
    host: str = "localhost",
) -> Any:
    headers: dict[str, Any] = {"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": ip, "HTTP_HOST": host}
    if origin:
        headers["HTTP_ORIGIN"] = origin
    return client.generic("POST", f"/collect/v1/{public_key}", body, content_type="text/plain", **headers)
