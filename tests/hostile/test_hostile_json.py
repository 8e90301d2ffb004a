"""Hostile JSON bodies for the write APIs: wrong types, numbers that overflow a float or a
decimal column (or are NaN or Infinity), unicode edge cases (NUL, lone surrogates, direction
overrides, zero-width and combining characters, very long strings), malformed JSON; and,
made here, deep nesting, huge arrays and an over-size body. Each gets a 4xx with a JSON
error, and no table changes.

A submission that breaks its contract is kept as a `rejected` message by design (the sender
can look it up); such a message is the one row these tests allow, and it must be rejected.
One test per file of data/json/, named TARGET__what.json.
"""

import json
from pathlib import Path

import pytest

from mdm.models import Item
from tests.hostile.conftest import snapshot
from validation.models import InboundMessage

CORPUS = Path(__file__).parent / "data" / "json"
FILES = sorted(path.name for path in CORPUS.glob("*.json"))
TARGETS = {
    "messages": "/api/v1/messages/",
    "items": "/api/v1/items/",
    "conversions": "/api/v1/items/{item}/conversions/",
    "xrefs": "/api/v1/xrefs/",
    "resolve_batch": "/api/v1/resolve/batch/",
}


def post(api, target, body):
    item = Item.objects.get(number="EXIST-1").public_id
    return api.generic(
        "POST",
        TARGETS[target].format(item=item),
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=f"hostile-{len(body)}",
    )


def refused(api, target, body, status=400):
    """Sends the body; asserts the answer is `status` with a JSON error and that nothing was
    written but, for a submission that broke its contract, the rejected message."""
    before = snapshot()
    response = post(api, target, body)
    assert response.status_code == status, response.content[:500]
    error = response.json()
    assert error and isinstance(error, dict), error
    after = snapshot()
    kept = error.get("id")
    if kept:
        assert target == "messages" and error["errors"], error
        assert InboundMessage.objects.get(public_id=kept).status == "rejected"
        assert after.pop("InboundMessage")[0] == before.pop("InboundMessage")[0] + 1
    assert after == before
    return error


@pytest.mark.parametrize("name", FILES)
def test_it_refuses_the_body_and_writes_nothing(steward_key, name):
    target = name.split("__")[0]
    refused(steward_key, target, (CORPUS / name).read_bytes())


@pytest.mark.parametrize("target", ["messages", "items", "resolve_batch"])
def test_it_refuses_deep_nesting(steward_key, target):
    depth = 100_000
    body = b'{"payload": ' + b"[" * depth + b"]" * depth + b"}"
    error = refused(steward_key, target, body)
    assert error["detail"].startswith("JSON parse error"), error


def test_it_refuses_a_huge_array_of_keys(steward_key, unchanged):
    keys = [{"kind": "item", "system": "ERP_LEGACY", "code": f"M{n}"} for n in range(50_001)]
    error = refused(steward_key, "resolve_batch", json.dumps({"keys": keys}).encode())
    assert "50,000" in str(error), error


def test_it_refuses_a_body_over_the_limit(steward_key, settings):
    settings.HUB_MAX_REQUEST_BYTES = 64 * 1024
    lines = [{"line": n, "item": "X", "quantity": 1} for n in range(5_000)]
    body = json.dumps({"message_type": "forecast", "payload": {"lines": lines}}).encode()
    error = refused(steward_key, "messages", body, status=413)
    assert error["detail"].startswith(f"Request body is {len(body)} bytes"), error


def test_it_refuses_a_body_that_is_not_utf8(steward_key):
    refused(steward_key, "items", '{"number": "H-1", "description": "Ölpumpe"}'.encode("latin-1"))
