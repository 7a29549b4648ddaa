"""A NUL character anywhere in a request answers a clear 400 or a form error, never a 500.

PostgreSQL text cannot hold NUL (psycopg raises DataError), so every text input that could reach
a query is refused first: query strings, paths, headers and cookies by
`bosco.middleware.RejectNulBytesMiddleware`, form fields by the services behind each form.
"""

from __future__ import annotations

import pytest
from django.db import DataError
from django.test import Client, RequestFactory

from accounts.models import ApiKey, Membership
from insights.models import AttributionImport, BudgetScenario
from insights.services.paths_csv import SAMPLE_CSV
from tests.conftest import host_of

pytestmark = pytest.mark.django_db

SEARCH_PAGES = ["/", "/channels/", "/campaigns/", "/insights/anomalies/"]
PATHS_CSV = SAMPLE_CSV.encode()


@pytest.fixture
def owner(hardened, workspace_client) -> Client:
    client = workspace_client(Membership.objects.get(workspace=hardened, role="owner").user, hardened)
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("path", SEARCH_PAGES)
def test_a_nul_in_the_search_of_a_page_answers_400_not_500(owner, path: str) -> None:
    response = owner.get(path, {"q": "spring\x00sale"})
    assert response.status_code == 400
    assert "The parameter “q” contains a NUL character." in response.content.decode()


def test_a_nul_in_a_parameter_name_or_the_path_answers_400(owner) -> None:
    assert owner.get("/campaigns/?x%00y=1").status_code == 400
    assert owner.get("/campaigns/meta%00:1:2/").status_code == 400


def test_a_nul_in_an_x_api_key_header_answers_a_400_problem(hardened) -> None:
    response = Client(
        HTTP_HOST=host_of(hardened), HTTP_X_API_KEY="bsk_abcd1234_\x00secret", raise_request_exception=False
    )
    answer = response.get("/api/v1/campaigns")
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["detail"] == "The header “X-Api-Key” contains a NUL character."


def test_a_nul_in_an_api_filter_answers_a_400_problem_after_authentication(owner, hardened) -> None:
    """The API validates its own parameters after authentication: no key, 401 first."""
    answer = owner.get("/api/v1/campaigns", {"search": "a\x00b"})
    assert answer.status_code == 400 and answer["Content-Type"] == "application/problem+json"
    anonymous = Client(HTTP_HOST=host_of(hardened)).get("/api/v1/campaigns", {"search": "a\x00b"})
    assert anonymous.status_code == 401


def test_a_nul_in_the_api_key_name_is_a_form_error_and_creates_no_key(owner, hardened) -> None:
    before = ApiKey.objects.filter(workspace=hardened).count()
    response = owner.post("/settings/api-keys/new/", {"name": "ci\x00bot", "scope": "read"})
    assert response.status_code == 400
    assert "The key name cannot contain a NUL character." in response.content.decode()
    assert ApiKey.objects.filter(workspace=hardened).count() == before


def test_a_nul_in_the_attribution_import_name_is_a_form_error_and_stores_nothing(owner) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = AttributionImport.objects.count()
    upload = SimpleUploadedFile("other-paths.csv", PATHS_CSV + b"Display,1,10,5\n", content_type="text/csv")
    response = owner.post("/insights/attribution/import/", {"name": "Oct\x00ober", "file": upload})
    assert response.status_code == 200  # the page re-shown like any invalid form
    assert "The import name cannot contain a NUL character." in response.content.decode()
    assert AttributionImport.objects.count() == before


def test_a_nul_deep_inside_an_attribution_file_is_refused_with_its_position(owner) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = AttributionImport.objects.count()
    data = PATHS_CSV + b"Display,1,10,5\n" * 500 + b"Vid\x00eo,1,10,5\n"
    response = owner.post("/insights/attribution/import/", {"file": SimpleUploadedFile("paths.csv", data)})
    assert response.status_code == 200
    assert f"contains a NUL byte (byte {data.index(0) + 1})" in response.content.decode()
    assert AttributionImport.objects.count() == before


def test_a_nul_in_a_budget_scenario_name_is_refused_and_stores_nothing(owner) -> None:
    before = BudgetScenario.objects.count()
    response = owner.post("/insights/budget/scenarios/", {"name": "Q4\x00", "budget": "1000"}, follow=True)
    assert response.status_code == 200
    assert "The scenario name cannot contain a NUL character." in response.content.decode()
    assert BudgetScenario.objects.count() == before


def test_a_nul_that_still_reaches_postgresql_answers_400_not_500() -> None:
    """The backstop: a DataError about NUL from any view becomes a 400 with the reason."""
    from bosco.middleware import RejectNulBytesMiddleware

    middleware = RejectNulBytesMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    error = DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    page = middleware.process_exception(RequestFactory().post("/settings/"), error)
    api = middleware.process_exception(RequestFactory().post("/api/v1/connections/1/sync"), error)
    assert page is not None and page.status_code == 400 and b"NUL character" in page.content
    assert api is not None and api.status_code == 400 and api["Content-Type"] == "application/problem+json"
    assert middleware.process_exception(RequestFactory().get("/"), DataError("numeric overflow")) is None
