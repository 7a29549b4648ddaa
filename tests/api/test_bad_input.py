"""Bad input of every kind answers a 4xx problem document that says what is wrong; never a 5xx."""

from __future__ import annotations

import pytest

from tests.api.conftest import Tenant

M = "/api/v1/metrics?metrics=spend"
DATES = "date_from=2026-08-01&date_to=2026-08-31"

CASES = [
    # (request, status, words the problem's detail must contain)
    ("/api/v1/metrics?date_from=2026-08-01&date_to=2026-08-31", 400, "metrics: This field is required"),
    (f"/api/v1/metrics?metrics=spend,bogus&{DATES}", 400, "'bogus' is not one of"),
    (f"/api/v1/metrics?metrics=ltv&{DATES}", 400, "'ltv' is not one of"),
    (f"/api/v1/metrics?metrics=spend,spend&{DATES}", 400, "lists 'spend' twice"),
    (f"{M}&{DATES}&dimensions=country", 400, "'country' is not one of"),
    (f"{M}&{DATES}&dimensions=day", 400, "'day' is not one of"),
    (f"{M}&{DATES}&granularity=hour", 400, "granularity"),
    (f"{M}&{DATES}&compare=last_year", 400, "compare"),
    (f"{M}&date_from=2026-08-31&date_to=2026-08-01", 400, "date_from: is after date_to"),
    (f"{M}&date_from=2000-01-01&date_to=2099-12-31", 400, "the range is longer than"),
    (f"{M}&date_from=2026-13-01&date_to=2026-12-31", 400, "is not a calendar date"),
    (f"{M}&date_from=yesterday&date_to=2026-08-31", 400, "must be a date written YYYY-MM-DD"),
    (f"{M}&date_from=2026-8-1&date_to=2026-08-31", 400, "YYYY-MM-DD"),
    (f"{M}&date_from=1999-12-31&date_to=2000-01-31", 400, "must be between 2000-01-01 and 2099-12-31"),
    (f"{M}&date_from=2026-08-01", 400, "date_to: This field is required"),
    (f"{M}&{DATES}&dimensions=platform&limit=ten", 400, "limit: A valid integer is required"),
    (f"{M}&{DATES}&dimensions=platform&limit=0", 400, "limit"),
    (f"{M}&{DATES}&dimensions=platform&limit=99999", 400, "limit"),
    (f"{M}&{DATES}&platform=meta,,google_ads", 400, "empty item"),
    (f"{M}&{DATES}&platform=", 400, "empty item"),
    (f"{M}&{DATES}&campaign=meta:1:2;drop", 400, "is not a valid value"),
    (f"{M}&{DATES}&account=%00", 400, "is not a valid value"),
    (f"{M}&{DATES}&filter[platform]=meta", 400, "filter[platform]: unknown parameter"),
    (f"{M}&{DATES}&metrics=roas", 400, "given more than once"),
    (f"{M}&{DATES}&dimensions=platform&sort=-clicks", 400, "neither a requested metric nor a dimension"),
    ("/api/v1/campaigns?page_size=501", 400, "page_size: must be between 1 and 500"),
    ("/api/v1/campaigns?page_size=lots", 400, "page_size: must be a whole number"),
    ("/api/v1/campaigns?page=0", 400, "page: must be a whole number of at least 1"),
    ("/api/v1/campaigns?page=999", 404, "Invalid page"),
    ("/api/v1/campaigns?sort=budget", 400, "sort"),
    ("/api/v1/campaigns?status=live", 400, "'live' is not one of"),
    ("/api/v1/campaigns?search=" + "x" * 101, 400, "search"),
    ("/api/v1/campaigns?q=x", 400, "q: unknown parameter"),
    ("/api/v1/campaigns/not-a-campaign", 404, "No such resource"),
    ("/api/v1/campaigns/meta:1", 404, "No such resource"),
    ("/api/v1/campaigns/meta:1:2:3", 404, "No such resource"),
    ("/api/v1/connections/abc", 404, "No such resource"),
    ("/api/v1/connections/-1", 404, "No such resource"),
    ("/api/v1/connections/0", 404, "No such resource"),
    ("/api/v1/connections/99999999999999999999999", 404, "No such resource"),
    ("/api/v1/connections/7001/runs/x", 404, "No such resource"),
    ("/api/v1/connections/7001/runs?page_size=0", 400, "page_size"),
    ("/api/v1/connections/7001?verbose=1", 400, "verbose: unknown parameter"),
    ("/api/v1/exports/facts.csv?date_from=2026-08-31&date_to=2026-08-01", 400, "is after date_to"),
    ("/api/v1/exports/facts.csv", 400, "date_from: This field is required"),
    (
        "/api/v1/exports/facts.parquet?date_from=2026-08-01&date_to=2026-08-31&platform=a%20b",
        400,
        "is not a valid value",
    ),
    ("/api/v1/nothing-here", 404, "No such API endpoint"),
]


def _assert_problem(response, status: int, words: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["type"].startswith("https://") and problem["title"]
    assert words in problem["detail"], problem
    return problem


@pytest.mark.parametrize(("url", "status", "words"), CASES, ids=[c[0][8:60] for c in CASES])
def test_bad_input_answers_a_problem_document_saying_what_is_wrong(
    a: Tenant, url: str, status: int, words: str
) -> None:
    _assert_problem(a.client(a.read_key).get(url), status, words)


def test_invalid_parameters_are_listed_one_by_one(a: Tenant) -> None:
    response = a.client(a.read_key).get("/api/v1/metrics?metrics=bogus&date_from=x&date_to=2026-08-01&typo=1")
    problem = _assert_problem(response, 400, "typo: unknown parameter")
    response = a.client(a.read_key).get("/api/v1/metrics?metrics=bogus&date_from=x&date_to=2026-08-01")
    problem = _assert_problem(response, 400, "metrics")
    assert {e["field"] for e in problem["errors"]} == {"metrics", "date_from"}


def test_wrong_method_and_unacceptable_format_are_problems_too(a: Tenant) -> None:
    client = a.client(a.write_key)
    response = client.delete("/api/v1/campaigns")
    _assert_problem(response, 405, "DELETE")
    assert response["Allow"]
    _assert_problem(client.post(f"/api/v1/connections/{a.connection_ids[0]}"), 405, "POST")
    _assert_problem(client.get("/api/v1/campaigns", HTTP_ACCEPT="text/html"), 406, "Accept")


def test_revoked_unknown_and_missing_keys_are_401_problems(a: Tenant) -> None:
    from accounts import services
    from accounts.models import ApiKey, Membership

    owner = Membership.objects.get(workspace=a.workspace, role="owner")
    key, raw = services.api_key_create(workspace=a.workspace, actor=owner, name="short-lived", scope="read")
    assert a.client(raw).get(f"{M}&{DATES}").status_code == 200
    services.api_key_revoke(key_id=key.pk, workspace=a.workspace, actor=owner)
    _assert_problem(a.client(raw).get(f"{M}&{DATES}"), 401, "Invalid or revoked API key")
    forged = raw[:-4] + ("aaaa" if not raw.endswith("aaaa") else "bbbb")
    _assert_problem(a.client(forged).get("/api/v1/campaigns"), 401, "Invalid or revoked API key")
    _assert_problem(a.client().get("/api/v1/campaigns"), 401, "credentials")
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_a_suspended_workspace_answers_403(a: Tenant) -> None:
    from accounts.models import Workspace

    Workspace.objects.filter(pk=a.workspace.pk).update(status=Workspace.Status.SUSPENDED)
    _assert_problem(a.client(a.read_key).get("/api/v1/campaigns"), 403, "suspended")
