"""An unreachable database gets a 503 with Retry-After, never a stack trace; other failures
a plain 500: problem documents for programs, short pages for people."""

from unittest import mock

import pytest
from django.db import OperationalError

from tests.problems import problem_of


@pytest.fixture
def api(erp_api):
    erp_api.raise_request_exception = False  # answer as the server would, not raise
    return erp_api


def test_an_unreachable_database_is_a_503_with_retry_after(api):
    refused = OperationalError("connection to server at 127.0.0.1 failed: Connection refused")
    with mock.patch("xref.resolve.resolve", side_effect=refused):
        response = api.get("/api/v1/resolve/item/", {"system": "ERP_LEGACY", "code": "1"})

    assert response["Retry-After"] == "5"
    assert problem_of(response, 503) == {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "The hub's database is unavailable; send the request again shortly.",
    }
    assert b"Traceback" not in response.content and b"127.0.0.1" not in response.content


def test_any_other_failure_is_a_plain_500_without_details(api):
    with mock.patch("xref.resolve.resolve", side_effect=KeyError("secret internals")):
        response = api.get("/api/v1/resolve/item/", {"system": "ERP_LEGACY", "code": "1"})

    assert "Retry-After" not in response
    assert "secret internals" not in response.content.decode()
    assert problem_of(response, 500)["detail"].startswith("The hub failed to answer")


def test_a_person_on_a_screen_gets_a_short_page(client, steward):
    client.raise_request_exception = False
    client.force_login(steward)
    with mock.patch("quarantine.views.queries.facet_counts", side_effect=OperationalError("x")):
        response = client.get("/quarantine/")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"database is unavailable" in response.content
