"""A large reconciliation batch (as OpenRefine sends a column of a few hundred values) is
answered in its request with the same candidates, scores and `match` flags as each of its
queries sent alone, in the batch's order; repeated values are answered alike."""

import json
from urllib.parse import urlencode

import pytest

from reconcile import services

pytestmark = pytest.mark.django_db

NAMES = [
    "Acme Plastics",
    "acme plastic gmbh",
    "Nordwind Castings",
    "nordwind castngs",
    "Zzyzx Unheard Of",
    "Shady Sons",
    "ACME",
    "Bolt",
    "Hex bolt M8",
    "Main Plant Bremen",
    "Hamburg",
    "",
]
# Enough distinct queries that the batch shares its reads (xref.matching.batch).
SPELLINGS = [str.lower, str.upper, str.title, lambda name: name + " Ltd", lambda name: name[:-1]]


def large_batch():
    texts = [spell(name) for spell in SPELLINGS for name in NAMES]
    texts += [f"{name} {n}" for n in range(4) for name in NAMES]
    queries = {f"q{n}": {"query": text} for n, text in enumerate(texts)}
    queries["q2"] = {
        "query": "Acme",
        "type": "Supplier",
        "properties": [{"pid": "country", "v": "FR"}],
    }
    queries["q5"] = {
        "query": "",
        "type": "Supplier",
        "properties": [{"pid": "duns", "v": "123456789"}],
    }
    queries["q7"] = {"query": "Nordwind Castings", "type": "Supplier", "limit": 2}
    queries["repeated"] = queries["q1"]
    return queries


def test_it_answers_a_large_batch_as_it_answers_each_query_alone(world, key, client):
    queries = large_batch()
    distinct = len({json.dumps(query, sort_keys=True) for query in queries.values()})
    assert distinct >= services.SHARED_READS_QUERIES
    body = urlencode({"queries": json.dumps(queries)})
    response = client.post(
        f"/reconcile/{key[1]}/", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    answer = response.json()
    assert list(answer) == list(queries)
    for name, query in queries.items():
        alone = services.reconcile_batch({name: query})
        assert answer[name] == alone[name], name
    assert answer["q5"]["result"][0]["id"] == world["acme_de"].public_id
    assert answer["q5"]["result"][0]["match"] is True
    assert [c["id"] for c in answer["q2"]["result"]][0] == world["acme_fr"].public_id
    assert len(answer["q7"]["result"]) <= 2
    assert answer["repeated"] == answer["q1"]


def test_it_answers_a_small_batch_in_the_request(world):
    answer = services.reconcile_batch({"q0": {"query": "Nordwind Castings"}})
    assert answer["q0"]["result"][0]["id"] == world["nordwind"].public_id
