"""A 404 from the API says, in the API's words, what was not found: never a model's class
name, and a problem document in every mode, an unknown /api/ path included."""

import re

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from tests.problems import problem_of

# An id of the wrong form for the lookup, and one of the right form that names nothing.
UNKNOWN = ("NO-SUCH-1", "999999")
# Class names short enough to be ordinary words ("Unit", "Item", "Rule") would match the
# API's own nouns; the test looks for them as they are written in code, capitalised.
MODEL_NAMES = sorted({model.__name__ for model in apps.get_models()}, key=len, reverse=True)


def _api_detail_routes(patterns=None, namespace=None):
    """(url name, its keyword arguments) of every API route that names a record."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_detail_routes(pattern.url_patterns, pattern.namespace or namespace)
            continue
        assert isinstance(pattern, URLPattern)
        keywords = set(pattern.pattern.regex.groupindex)
        if namespace or not pattern.name or not keywords or "format" in keywords:
            continue
        if "path" in keywords:  # the catch-all
            continue
        yield pattern.name, pattern.pattern


def _unknown_urls(name, pattern):
    converters = getattr(pattern, "converters", {})
    for unknown in UNKNOWN:
        kwargs = {
            key: 999999 if type(converters.get(key)).__name__ == "IntConverter" else unknown
            for key in pattern.regex.groupindex
        }
        url = reverse(name, kwargs=kwargs)
        if url.startswith("/api/"):
            yield url


ROUTES = sorted(
    {(name, url) for name, pattern in _api_detail_routes() for url in _unknown_urls(name, pattern)}
)


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(("name", "url"), ROUTES)
def test_it_names_no_model_in_a_404(api, name, url):
    response = api.get(url)
    if response.status_code == 405:  # an action that is only posted
        response = api.post(url, {}, format="json")
    # Some routes refuse the unknown value or a missing parameter first (400).
    assert response.status_code in (400, 404), (name, url, response.content)
    detail = str(problem_of(response))
    assert "matches the given query" not in detail
    assert "'detail': 'Not found.'" not in detail, f"{url}: says not which record"
    named = [model for model in MODEL_NAMES if re.search(rf"\b{model}\b", detail)]
    assert named == [], f"{url}: {detail}"


def test_it_says_which_message_is_unknown(api):
    response = api.get("/api/v1/messages/MSG-NO-SUCH/")
    assert problem_of(response, 404)["detail"] == "No message with id MSG-NO-SUCH."


def test_it_says_which_parent_is_unknown(api):
    response = api.get("/api/v1/items/ITM-999999/revisions/A/")
    assert problem_of(response, 404)["detail"] == "No item with id ITM-999999."


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_api_path_is_a_json_404_in_every_mode(api, settings, debug):
    """With HUB_DEBUG (`make run`), Django answered its HTML page listing every URL."""
    settings.DEBUG = debug
    for method in ("get", "post"):
        response = getattr(api, method)("/api/v1/no-such-endpoint/")
        assert problem_of(response, 404)["detail"] == (
            "No API endpoint at /api/v1/no-such-endpoint/; the endpoints are listed at /api/docs/."
        )


def test_a_write_to_no_endpoint_is_a_json_404_not_a_csrf_page(admin_user):
    """A session without a CSRF token: the 404 says what is wrong, as for an API key."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.put("/api/v1/calendars/CAL-1/exceptions/0.08/", {}, format="json")
    problem_of(response, 404)


def test_a_path_without_its_trailing_slash_is_redirected_or_named(api, settings):
    settings.DEBUG = True
    response = api.get("/api/v1/items?q=bolt")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/items/?q=bolt"
    response = api.post("/api/v1/items", {}, format="json")
    assert problem_of(response, 404)["detail"] == (
        "No API endpoint at /api/v1/items; did you mean /api/v1/items/ ?"
    )
