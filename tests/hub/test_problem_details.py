"""One error format for the API: every 4xx and 5xx answer of every /api/ and /reconcile/
endpoint is a problem document (RFC 9457, application/problem+json) that validates against
one schema (tests.problems), names the place of each bad field, and gives away no internal
name; and the OpenAPI schema says so for every operation.

The walk reuses the access matrix's URL conf, world and callers: every API pattern, every
method, every caller, so a new endpoint is walked as soon as it has its access entry.
"""

import re

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from mdm.services import create_api_client
from tests.hub import test_access_matrix
from tests.hub.test_access_matrix import CALLERS, CSRF_TOKEN, MATRIX, PATTERNS, _client
from tests.hub.test_not_found import MODEL_NAMES
from tests.problems import problem_of

shared_world, world = test_access_matrix.shared_world, test_access_matrix.world  # fixtures

MACHINE_PATHS = ("/api/", "/reconcile/")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
API_PATTERNS = [p for p in PATTERNS if p in MATRIX and MATRIX[p][0].startswith(MACHINE_PATHS)]
# Opened by people in a browser: the identifier and schema spaces (a login asked for, then
# the page whatever the method) and the view link (a redirect to the record's admin page).
PEOPLE_PAGES = ("reconcile:records", "reconcile:types", "reconcile:record")
# The reconciliation service reads forms, and answers its manifest to a body it does not read.
WRITE_PATTERNS = [
    p
    for p in API_PATTERNS
    if MATRIX[p][0].startswith("/api/") and {"POST", "PUT", "PATCH"} & set(MATRIX[p][1])
]
# Class names of two words or more (InboundMessage, SupplierSite) are never words of a sentence.
CLASS_NAMES = [name for name in MODEL_NAMES if re.fullmatch(r"([A-Z][a-z]+){2,}", name)]
BAD_BODIES = {
    "invalid JSON": b'{"number": "100234", ',
    "a list, not an object": b'[1, "two"]',
    # A wrong type for a field of every writable endpoint.
    "wrong types": b'{"number": [1], "name": {"a": 1}, "code": [7], "description": [], '
    b'"keys": 5, "payload": "x", "reason": {}, "meaning": [], "start": 5, "file": 1, '
    b'"revision": [], "factor": "many", "skip_errors": {}, "message_type": [], "note": []}',
}


def _send(client, method, url, body=b"{}", content_type="application/json"):
    csrf = {"HTTP_X_CSRFTOKEN": CSRF_TOKEN} if method != "GET" else {}
    return client.generic(method, url, body if method != "GET" else b"", content_type, **csrf)


def _no_class_names(response):
    text = response.content.decode()
    named = [name for name in CLASS_NAMES if re.search(rf"\b{name}\b", text)]
    assert named == [], f"{response.request['PATH_INFO']}: {text}"


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("pattern", API_PATTERNS)
def test_every_error_answer_of_every_endpoint_is_a_problem_document(pattern, caller, world):
    """401 without credentials, 403 for a role that may not, 405 for a method the endpoint
    does not take, 400 for an empty body, 404 and 409: whatever each method gets."""
    url = MATRIX[pattern][0].format(w=world)
    client = _client(caller, world)
    errors = 0
    for method in METHODS:
        response = _send(client, method, url)
        if response.status_code >= 400:
            problem_of(response)
            _no_class_names(response)
            errors += 1
    if pattern not in PEOPLE_PAGES:
        assert errors, f"{url}: no error provoked"


@pytest.mark.parametrize("body", BAD_BODIES)
@pytest.mark.parametrize("pattern", WRITE_PATTERNS)
def test_a_bad_body_is_a_problem_document(pattern, body, world):
    url, methods = MATRIX[pattern]
    client = _client("steward", world)
    for method in {"POST", "PUT", "PATCH"} & set(methods):
        response = _send(client, method, url.format(w=world), BAD_BODIES[body])
        # Some actions read no body: they answer what they would to any (403, 409).
        assert response.status_code >= 400, (method, url, response.content)
        problem = problem_of(response)
        _no_class_names(response)
        if response.status_code == 400 and body == "invalid JSON":
            assert problem["detail"].startswith("JSON parse error"), problem


def test_field_errors_point_into_the_body(world):
    client = _client("steward", world)
    response = _send(client, "POST", "/api/v1/items/", BAD_BODIES["wrong types"])
    problem = problem_of(response, 400)
    pointers = {error["pointer"] for error in problem["errors"]}
    assert {"#/number", "#/description", "#/base_unit"} <= pointers, problem["errors"]
    assert problem["detail"].startswith(f"{len(problem['errors'])} errors in the request: ")


def test_a_bad_query_parameter_is_named(world):
    client = _client("steward", world)
    response = client.get("/api/v1/resolve/item/", {"code": "MAT-1", "system": "SAP"})
    problem = problem_of(response, 400)
    assert problem["errors"] == [
        {"parameter": "system", "detail": "No source system 'SAP' (known: ERP_LEGACY, PLANNING)."}
    ]


def test_malformed_batch_keys_point_at_the_key_and_keep_the_keys_member(world):
    client = _client("steward", world)
    body = b'{"keys": [{"kind": "item", "system": "ERP_LEGACY", "code": "MAT-1"},'
    body += b' {"kind": "widget", "system": "ERP_LEGACY", "code": "X"},'
    body += b' ["item", "SAP", "X"], 5]}'
    problem = problem_of(_send(client, "POST", "/api/v1/resolve/batch/", body), 400)
    assert [error["pointer"] for error in problem["errors"]] == [
        "#/keys/1/kind",
        "#/keys/2/1",
        "#/keys/3",
    ]
    assert [(key["index"], key["field"]) for key in problem["keys"]] == [
        (1, "kind"),
        (2, "system"),
        (3, None),
    ]
    assert problem["detail"] == "3 key(s) are malformed."


def test_an_unresolved_code_is_a_problem_with_its_outcome(world):
    client = _client("steward", world)
    response = client.get("/api/v1/resolve/item/", {"system": "ERP_LEGACY", "code": "NOPE"})
    problem = problem_of(response, 404)
    assert problem["outcome"] == "not_found"
    assert problem["detail"] == "ERP_LEGACY has no item code 'NOPE'."
    assert "candidates" in problem


def test_an_unknown_record_is_a_404_in_the_api_words(world):
    client = _client("steward", world)
    problem = problem_of(client.get("/api/v1/suppliers/SUP-999999/"), 404)
    assert problem["detail"] == "No supplier with id SUP-999999."


def test_a_method_the_endpoint_does_not_take_is_a_405_naming_the_allowed_ones(world):
    response = _send(_client("steward", world), "DELETE", "/api/v1/units/H87/")
    assert problem_of(response, 405)["detail"] == 'Method "DELETE" not allowed.'
    assert "GET" in response["Allow"]


def test_no_credentials_is_a_401_that_says_how_to_authenticate(world):
    response = Client().get("/api/v1/items/")
    problem_of(response, 401)
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_session_write_without_its_csrf_token_is_a_403(world):
    client = _client("steward", world)
    response = client.post("/api/v1/items/", b"{}", "application/json")
    assert "CSRF" in problem_of(response, 403)["detail"]


def test_a_body_over_the_limit_is_a_413(world, settings):
    settings.HUB_MAX_REQUEST_BYTES = 1024
    client = _client("steward", world)
    response = _send(client, "POST", "/api/v1/items/", b'{"description": "' + b"x" * 2000 + b'"}')
    assert "the limit is 1024 bytes" in problem_of(response, 413)["detail"]


def test_a_body_in_a_media_type_not_read_is_a_415(world):
    client = _client("steward", world)
    response = _send(client, "POST", "/api/v1/items/", b"number=1", content_type="text/plain")
    assert "text/plain" in problem_of(response, 415)["detail"]


def test_too_many_wrong_keys_is_a_429_with_retry_after(world, settings):
    settings.HUB_API_KEY_FAILURE_LIMIT = 2
    _, key = create_api_client("ERP_LEGACY", "erp-sync")
    wrong = Client(HTTP_AUTHORIZATION="Bearer mdh_wrong_key")
    problem_of(wrong.get("/api/v1/items/"), 401)
    problem_of(wrong.get("/api/v1/items/"), 429)  # the failure that reaches the limit
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/items/")
    problem = problem_of(response, 429)
    assert problem["retry_after"] == int(response["Retry-After"]) > 0


def test_the_reconciliation_service_answers_problems_too(world):
    client = Client()
    problem_of(client.get("/reconcile/not-a-key/"), 403)
    problem_of(client.put(f"/reconcile/{world.reconcile_key}/"), 405)
    response = client.get(f"/reconcile/{world.reconcile_key}/", {"callback": "alert(1)"})
    assert "callback" in problem_of(response, 400)["detail"]
    response = client.get(f"/reconcile/{world.reconcile_key}/", {"queries": "{"})
    problem_of(response, 400)


def test_the_schema_declares_a_problem_for_every_error_answer_of_every_operation():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    ref = "#/components/schemas/Problem"
    operations = [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) > 50
    for method, path, operation in operations:
        codes = {code for code in operation["responses"] if int(code) >= 400}
        assert {"401", "403", "500"} <= codes, (method, path)
        for code in codes:
            content = operation["responses"][code]["content"]
            assert list(content) == ["application/problem+json"], (method, path, code)
            declared = content["application/problem+json"]["schema"]
            assert declared == {"$ref": ref} or declared["allOf"][0] == {"$ref": ref}, (
                method,
                path,
                code,
            )


def test_a_request_django_refuses_before_any_view_is_a_problem_too(world):
    """A host not allowed (SuspiciousOperation, handler400) and a form post without its CSRF
    token to a path for programs (CSRF_FAILURE_VIEW)."""
    problem_of(Client(HTTP_HOST="evil.example").get("/api/v1/items/"), 400)
    response = Client(enforce_csrf_checks=True).post("/healthz")
    assert "CSRF" in problem_of(response, 403)["detail"]
