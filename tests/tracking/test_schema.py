"""Each of tracking's tables lives on its side: settings and retired keys public, events per workspace."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts.models import Workspace
from bosco.db import connection

pytestmark = pytest.mark.django_db


def _tables_in(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_name LIKE 'tracking_%%'",
            [schema],
        )
        return {row[0] for row in cursor.fetchall()}


def test_event_table_is_per_workspace_and_settings_public(make_workspace: Callable[..., Workspace]) -> None:
    workspace = make_workspace("acme")
    assert _tables_in(workspace.schema_name) == {"tracking_event"}
    assert _tables_in("public") == {"tracking_trackingsettings", "tracking_retiredcollectkey"}
