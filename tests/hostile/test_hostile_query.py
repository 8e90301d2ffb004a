"""Hostile query parameter values (SQL and LIKE injection, regular expressions, NUL bytes,
direction overrides, lone surrogates, overlong values) in every text parameter of the list,
filter, resolve, translate, match and convert endpoints: each answer is JSON, a 200 that
lists only records really containing the value, or a 400 or 404 with an error; never a 5xx,
and no table changes. One test per value of data/query_values.txt, plus an overlong one.
"""

import json
from pathlib import Path
from urllib.parse import quote

import pytest

LINES = (Path(__file__).parent / "data" / "query_values.txt").read_text("utf-8").splitlines()
VALUES = [
    line.encode("utf-8").decode("unicode_escape")
    for line in LINES
    if line.strip() and not line.startswith("#")
]
OVERLONG = "EXIST-1" * 15_000  # about 100 kB

# (path with the other parameters, the parameter that gets the value, is it a list)
ENDPOINTS = [
    ("/api/v1/items/?", "q", True),
    ("/api/v1/items/?", "status", True),
    ("/api/v1/items/?", "updated_since", True),
    ("/api/v1/suppliers/?", "country", True),
    ("/api/v1/code-lists/?", "q", True),
    ("/api/v1/xrefs/?", "code", True),
    ("/api/v1/xrefs/?", "system", True),
    ("/api/v1/xrefs/?", "target", True),
    ("/api/v1/xrefs/?", "valid_at", True),
    ("/api/v1/messages/?", "system", True),
    ("/api/v1/messages/?", "received_after", True),
    ("/api/v1/quarantine/cases/?", "q", True),
    ("/api/v1/quarantine/cases/?", "rule", True),
    ("/api/v1/resolve/item/?system=ERP_LEGACY&", "code", False),
    ("/api/v1/resolve/item/?code=MAT-1&", "system", False),
    ("/api/v1/resolve/item/?system=ERP_LEGACY&code=MAT-1&", "as_of", False),
    ("/api/v1/translate/item/?from_system=ERP_LEGACY&to_system=PLANNING&", "code", False),
    ("/api/v1/match/supplier/?", "q", False),
    ("/api/v1/match/item/?", "mpn", False),
    ("/api/v1/match/supplier/?q=acme&", "limit", False),
    ("/api/v1/units/convert/?to=H87&quantity=1&", "from", False),
    ("/api/v1/units/convert/?from=XBX&to=H87&", "quantity", False),
]


def encoded(value):
    # surrogatepass: a lone surrogate goes out as the bytes a careless client would send.
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def check(api, value):
    for path, parameter, is_list in ENDPOINTS:
        url = f"{path}{parameter}={encoded(value)}"
        response = api.get(url)
        where = f"{parameter}={value[:40]!r} at {path}"
        assert response.status_code in (200, 400, 404), f"{response.status_code} for {where}"
        body = response.json()
        if response.status_code != 200:
            assert body, where
        elif is_list:
            # A record listed must really contain the value: a LIKE wildcard or an injected
            # condition that matched everything would list records that do not.
            for record in body["results"]:
                text = json.dumps(record, ensure_ascii=False).lower()
                assert value.lower() in text, f"{where} listed {record}"


@pytest.mark.parametrize("value", VALUES, ids=[repr(value)[1:-1][:40] for value in VALUES])
def test_it_answers_a_hostile_value_without_a_server_error(steward_key, unchanged, value):
    check(steward_key, value)


def test_it_answers_an_overlong_value_without_a_server_error(steward_key, unchanged):
    check(steward_key, OVERLONG)


def test_it_refuses_a_nul_in_any_parameter(steward_key):
    response = steward_key.get("/api/v1/resolve/item/?system=ERP_LEGACY&code=MAT%001")
    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]


def test_it_finds_the_stored_code_with_a_plain_value(steward_key):
    """The endpoints above do answer with records, so an empty answer means something."""
    assert steward_key.get("/api/v1/items/?q=EXIST").json()["count"] == 1
    assert steward_key.get("/api/v1/resolve/item/?system=ERP_LEGACY&code=MAT-1").status_code == 200
