"""The snippet is served as a never-changing versioned file, small, with long caching."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.test import Client

from tracking import snippet

pytestmark = pytest.mark.django_db

# A published version's digest may never change (pages carry it in integrity=): a change to the
# snippet is a new version file.
PUBLISHED = {"1": "sha384-9lI8XxEt8DVKBoW8cc/YQHou+qwqiXb2uHXHS9HHK4pl2yFjGfaRKXX9WXyuRpoJ"}


def test_snippet_is_cached_for_a_year_and_matches_its_integrity(client: Client) -> None:
    response = client.get("/t/v1/bosco.js", HTTP_HOST="localhost")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "immutable" in response["Cache-Control"] and "max-age=31536000" in response["Cache-Control"]
    digest = "sha384-" + base64.b64encode(hashlib.sha384(response.content).digest()).decode()
    assert digest == snippet.integrity("1") == PUBLISHED["1"]
    assert set(PUBLISHED) == set(snippet.VERSIONS)
    assert snippet.gzipped_size("1") < 4096
    assert client.get("/t/v9/bosco.js", HTTP_HOST="localhost").status_code == 404
