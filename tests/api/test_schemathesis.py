"""Schemathesis against the live OpenAPI schema, in-process on the WSGI app, as workspace A.

Every operation is called with generated valid (positive) and invalid (negative) parameters,
bounded so the whole run stays well under a minute. Each response must not be a 5xx and must
match the schema: a documented status code, content type, headers and body; invalid input must
be refused with a 4xx. Each generated request is also replayed with workspace B's key on A's
host: it must answer 401 and carry none of A's canaries.

(schemathesis' pytest integration — `from_fixture` — does not run on pytest 9, so the
operations' Hypothesis strategies are driven directly.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import World

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}


@pytest.fixture
def wsgi_app(world: World, db: None) -> Iterator[Any]:
    """Django's WSGI handler inside the test's transaction (as Django's own test client runs it)."""
    from django.core.wsgi import get_wsgi_application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_api_answers_generated_requests_as_its_schema_says(world: World, wsgi_app: Any, mode: GenerationMode) -> None:
    a, b = world.a, world.b
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", wsgi_app, headers={"Host": a.host})
    base_url = f"http://{a.host}"
    checks = [*CHECKS, negative_data_rejection] if mode == GenerationMode.NEGATIVE else CHECKS
    tally = {"operations": 0, "requests": 0, "replays": 0, "5xx": 0, "leaks": 0}
    statuses: dict[int, int] = {}

    for result in schema.get_all_operations():
        operation = result.ok()
        tally["operations"] += 1

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: Any) -> None:
            response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {a.write_key}"})
            tally["requests"] += 1
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            tally["5xx"] += response.status_code >= 500
            case.validate_response(response, checks=checks, headers={"Authorization": f"Bearer {a.write_key}"})
            foreign = case.call(base_url=base_url, headers={"Authorization": f"Bearer {b.write_key}"})
            tally["replays"] += 1
            text = foreign.content.decode("utf-8", errors="replace")
            leaked = [c for c in a.canaries if c in text]
            tally["leaks"] += bool(leaked)
            assert foreign.status_code == 401, (case.method, case.formatted_path, foreign.status_code, text[:300])
            assert not leaked

        exercise()

    print(f"\nschemathesis {mode}: {tally}, statuses {dict(sorted(statuses.items()))}")
    assert tally["operations"] >= 11 and tally["5xx"] == 0 and tally["leaks"] == 0
