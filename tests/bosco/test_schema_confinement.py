"""Every query a workspace's pages and API run stays in that workspace's schema (and the shared
public one): what schema-based sharding (Citus distributed schemas, or one workspace per cluster)
needs, docs/scale-out.md. A query naming another schema, or running while the connection is set
to another workspace, fails this test.

The crawl is the fuzz tests' crawl of the whole workspace URLconf (every page reachable from the
navigation, and their seeds), plus the API's list endpoints, while a neighbour workspace exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.db import connection

from accounts.models import Membership, Workspace
from tests.bosco.fuzzing import crawl
from tests.bosco.test_fuzz_pages import SEEDS, SKIP_LINKS, URLCONF

QUALIFIED = re.compile(r'(?<![\w."])"?(ws_[a-z0-9_]+|tenant_template)"?\s*\.', re.IGNORECASE)
API_LISTS = [
    "/api/v1/workspace",
    "/api/v1/campaigns",
    "/api/v1/connections",
    "/api/v1/alerts/rules",
    "/api/v1/alerts/incidents",
    "/api/v1/insights/anomalies",
]


class Recorder:
    def __init__(self) -> None:
        self.statements: list[tuple[str, str]] = []  # (schema the connection was set to, SQL)

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements.append((context["connection"].schema_name, str(sql)))
        return execute(sql, params, many, context)


def test_a_workspace_crawl_never_leaves_its_schema(hardened: Workspace, make_workspace, workspace_client) -> None:
    neighbour = make_workspace("neighbour")
    connection.set_tenant(hardened)
    owner = workspace_client(Membership.objects.get(workspace=hardened, role="owner").user, hardened)
    owner.raise_request_exception = False
    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        site = crawl(owner, urlconf=URLCONF, seeds=SEEDS, skip=SKIP_LINKS)
        for path in API_LISTS:
            assert owner.get(path).status_code == 200, path

    assert len(site.pages) > 20 and len(recorder.statements) > 300  # the crawl really ran the product
    allowed = {hardened.schema_name, "public"}
    wrong_schema = [(schema, sql[:160]) for schema, sql in recorder.statements if schema not in allowed]
    assert not wrong_schema, wrong_schema[:5]
    foreign = [
        (name, sql[:200])
        for _, sql in recorder.statements
        for name in QUALIFIED.findall(sql)
        if name.lower() != hardened.schema_name
    ]
    assert not foreign, foreign[:5]
    assert neighbour.schema_name not in " ".join(sql for _, sql in recorder.statements)
