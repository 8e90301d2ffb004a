"""Long text for the reconciliation service, as the review sent it (a 3,000-character suggest
prefix held a worker 82 s, a 6,000-character query 120 s, 1,000 queries of 5,000 characters
88 s): each is refused at once with a 400 in the service's own shape (JSON `detail`, CORS),
naming the limit, and nothing is written."""

import json
import time
from urllib.parse import urlencode

import pytest

from reconcile.services import MAX_BATCH, MAX_BATCH_CHARACTERS, MAX_TEXT, create_key

FORM = "application/x-www-form-urlencoded"
# One word, many words, and text with no letters: each shape of long text costs differently.
SHAPES = {
    "one word": "".join(chr(ord("a") + n * 7 % 26) for n in range(6000)),
    "words": ("Acme Plastics Industries " * 240)[:6000],
    "digits and dashes": ("4006381-333931-" * 400)[:6000],
}
PREFIX_LENGTH = 3000


@pytest.fixture
def service_url(stored):
    return f"/reconcile/{create_key('hostile-openrefine')[1]}/"


def refused(response, limit, started):
    assert time.monotonic() - started < 2.0
    assert response.status_code == 400, response.content[:300]
    assert response["Access-Control-Allow-Origin"] == "*"
    assert f"at most {limit}" in response.json()["detail"]


def post(client, url, queries):
    body = urlencode({"queries": json.dumps(queries)})
    return client.post(url, data=body, content_type=FORM)


@pytest.mark.parametrize("shape", SHAPES)
def test_it_refuses_a_long_query_at_once(client, service_url, unchanged, shape):
    started = time.monotonic()
    response = post(client, service_url, {"q0": {"query": SHAPES[shape], "type": "Supplier"}})
    refused(response, MAX_TEXT, started)


@pytest.mark.parametrize("shape", SHAPES)
def test_it_refuses_a_long_property_value_at_once(client, service_url, unchanged, shape):
    query = {"query": "Acme", "properties": [{"pid": "mpn", "v": [{"id": SHAPES[shape]}]}]}
    started = time.monotonic()
    refused(post(client, service_url, {"q0": query}), MAX_TEXT, started)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("what", ["entity", "type", "property"])
def test_it_refuses_a_long_suggest_prefix_at_once(client, service_url, unchanged, shape, what):
    started = time.monotonic()
    response = client.get(f"{service_url}suggest/{what}", {"prefix": SHAPES[shape][:PREFIX_LENGTH]})
    refused(response, MAX_TEXT, started)


def test_it_refuses_a_batch_of_long_queries_at_once(client, service_url, unchanged):
    queries = {
        f"q{n}": {"query": f"{n:04d} {SHAPES['words'][: MAX_TEXT - 5]}"} for n in range(MAX_BATCH)
    }
    started = time.monotonic()
    refused(post(client, service_url, queries), MAX_BATCH_CHARACTERS, started)
