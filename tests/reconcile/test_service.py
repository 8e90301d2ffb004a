"""The reconciliation service at the HTTP level, called the way OpenRefine calls it: the
manifest from the browser (CORS or JSONP), reconciliation and data extension as form posts
(`queries=<JSON>`, `extend=<JSON>`, application/x-www-form-urlencoded, never multipart).
Every JSON answer is checked against the spec's schema."""

import json
import time
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test import Client

from reconcile import services
from reconcile.models import ReconciliationKey
from tests.problems import problem_of
from tests.reconcile.schemas import assert_valid
from xref import matching

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"


def post_form(client, url, **fields):
    """A form post as OpenRefine's backend sends it."""
    body = urlencode({name: json.dumps(value) for name, value in fields.items()})
    return client.post(url, data=body, content_type=FORM)


def reconcile(client, url, queries):
    assert_valid("reconciliation-query-batch", queries)
    response = post_form(client, url, queries=queries)
    assert response.status_code == 200, response.content
    assert response["Access-Control-Allow-Origin"] == "*"
    return assert_valid("reconciliation-result-batch", response.json())


def refused(response, *phrases):
    assert response.status_code == 400, response.content[:300]
    assert response["Access-Control-Allow-Origin"] == "*"
    detail = response.json()["detail"]
    for phrase in phrases:
        assert phrase in detail, detail
    return detail


# --- manifest, keys, CORS, JSONP -----------------------------------------------------------


def test_it_serves_the_manifest_with_absolute_urls(client, service_url, world):
    response = client.get(service_url)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    manifest = assert_valid("manifest", response.json())
    assert manifest["versions"] == ["0.2"]
    # v0.2's schema has no batchSize (it allows any other member); the spec's text puts it at
    # the manifest's top, as its own getty.json example does.
    assert manifest["batchSize"] == services.MAX_BATCH
    assert [t["id"] for t in manifest["defaultTypes"]] == ["Supplier", "Item", "Location"]
    base = f"http://testserver{service_url}"
    assert manifest["view"]["url"] == "http://testserver/reconcile/records/{{id}}/"
    assert manifest["preview"]["url"] == f"{base}preview?id={{{{id}}}}"
    for what in ("entity", "type", "property"):
        suggest = manifest["suggest"][what]
        assert suggest["service_url"] + suggest["service_path"] == f"{base}suggest/{what}"
    propose = manifest["extend"]["propose_properties"]
    assert propose["service_url"] + propose["service_path"] == f"{base}properties"
    assert manifest["identifierSpace"].startswith("http://testserver/")


def test_it_refuses_a_wrong_key_with_a_403_the_browser_can_read(client, key):
    for url in ("/reconcile/rk_wrong/", "/reconcile/rk_wrong/suggest/entity?prefix=ac"):
        response = client.get(url)
        assert response.status_code == 403
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "revoked" in response.json()["detail"]
    response = post_form(client, "/reconcile/rk_wrong/", queries={"q0": {"query": "Acme"}})
    assert response.status_code == 403


def test_it_refuses_a_revoked_key(client, key, service_url, admin_client):
    assert client.get(service_url).status_code == 200
    admin_client.post(
        "/admin/reconcile/reconciliationkey/",
        {"action": "revoke", "_selected_action": [key[0].pk]},
    )
    key[0].refresh_from_db()
    assert not key[0].is_active and key[0].revoked_at
    response = client.get(service_url)
    assert response.status_code == 403
    assert response["Access-Control-Allow-Origin"] == "*"


def test_it_notes_when_a_key_was_last_used(client, key, service_url):
    assert key[0].last_used_at is None
    client.get(service_url)
    key[0].refresh_from_db()
    assert key[0].last_used_at is not None


def test_it_answers_a_cors_preflight(client, service_url):
    response = client.options(
        service_url,
        HTTP_ORIGIN="http://127.0.0.1:3333",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert response["Access-Control-Allow-Headers"] == "content-type"


def test_it_answers_jsonp_and_refuses_a_callback_that_is_not_a_name(client, service_url):
    response = client.get(service_url, {"callback": "jQuery123_cb"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    body = response.content.decode()
    assert body.startswith("/**/jQuery123_cb(") and body.endswith(");")
    assert_valid("manifest", json.loads(body[len("/**/jQuery123_cb(") : -2]))
    for bad in ("alert(1)//", "a b", "x;y", "1abc", ""):
        response = client.get(service_url, {"callback": bad})
        assert "callback" in problem_of(response, 400)["detail"], bad


def test_the_service_answers_alike_without_its_trailing_slash(client, key, world):
    """No redirect: it would carry no CORS headers, and a POST redirected loses its body."""
    with_slash, without = f"/reconcile/{key[1]}/", f"/reconcile/{key[1]}"
    queries = {"q0": {"query": "Nordwind Castings", "type": "Supplier"}}
    results = reconcile(client, without, queries)
    assert results["q0"]["result"][0]["id"] == world["nordwind"].public_id
    assert results == reconcile(client, with_slash, queries)
    manifest = client.get(without)
    assert manifest.status_code == 200
    assert manifest["Access-Control-Allow-Origin"] == "*"
    assert manifest.json() == client.get(with_slash).json()
    preflight = client.options(without, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    extend = {"ids": [world["nordwind"].public_id], "properties": [{"id": "code:ERP_LEGACY"}]}
    response = post_form(client, without, extend=extend)
    assert response.json()["rows"][world["nordwind"].public_id]["code:ERP_LEGACY"] == [
        {"str": "V-0300"}
    ]
    wrong_key = client.get("/reconcile/rk_wrong")
    assert wrong_key.status_code == 403
    assert wrong_key["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("suggest/entity", {"prefix": "Nordwind"}),
        ("suggest/type", {"prefix": "sup"}),
        ("suggest/property", {"prefix": "du"}),
        ("properties", {"type": "Supplier"}),
        ("preview", {"id": "SUP-000001"}),
    ],
)
def test_a_sub_path_answers_alike_with_a_trailing_slash(client, service_url, world, path, params):
    params = {k: v.replace("SUP-000001", world["nordwind"].public_id) for k, v in params.items()}
    canonical = client.get(f"{service_url}{path}", params)
    slashed = client.get(f"{service_url}{path}/", params)
    assert canonical.status_code == slashed.status_code == 200
    assert slashed["Access-Control-Allow-Origin"] == "*"
    assert slashed.content == canonical.content


def test_the_spaces_without_their_slash_are_still_redirected_to_their_pages(client, db):
    assert client.get("/reconcile/records")["Location"] == "/reconcile/records/"
    assert client.get("/reconcile/types")["Location"] == "/reconcile/types/"


def test_every_error_of_the_service_carries_the_cors_headers(client, service_url, world):
    with mock.patch.object(services, "reconcile_batch", side_effect=RuntimeError("a bug")):
        failing = Client(raise_request_exception=False)
        crashed = post_form(failing, service_url, queries={"q0": {"query": "Acme"}})
    answers = [
        (405, client.put(service_url)),
        (400, client.get(service_url, {"queries": "{"})),
        (404, client.get(f"{service_url}preview", {"id": "SUP-999999"})),
        (404, client.get("/reconcile/records/SUP-999999/")),
        (500, crashed),
    ]
    for status, response in answers:
        assert response.status_code == status, response.content[:300]
        assert response["Access-Control-Allow-Origin"] == "*", status
        assert "POST" in response["Access-Control-Allow-Methods"], status
    assert problem_of(crashed, 500)["detail"] == (
        "The hub failed to answer this request; the error has been logged."
    )


# --- reconciliation ------------------------------------------------------------------------


def test_it_answers_a_batch_of_ten_with_all_ten_keys(client, service_url, world):
    names = [
        "Acme Plastics",
        "Nordwind Castings",
        "nordwind castngs",
        "Zzyzx Unheard Of",
        "Shady Sons",
        "ACME",
        "Nordwind",
        "",
        "Bolt",
        "qwrtplk",
    ]
    queries = {f"q{n}": {"query": name, "type": "Supplier"} for n, name in enumerate(names)}
    queries["q7"] = {"query": "", "type": "Supplier", "properties": [{"pid": "duns", "v": "0"}]}
    results = reconcile(client, service_url, queries)
    assert list(results) == list(queries)
    assert results["q3"] == {"result": []}
    top = results["q2"]["result"][0]
    assert top["id"] == world["nordwind"].public_id
    assert top["type"] == [{"id": "Supplier", "name": "Supplier"}]
    assert 0 <= top["score"] <= 100
    assert "S300" in top["description"]


def test_it_answers_queries_sent_by_get(client, service_url, world):
    queries = {"q0": {"query": "Nordwind Castings", "type": "Supplier"}}
    response = client.get(service_url, {"queries": json.dumps(queries)})
    assert response.status_code == 200
    result = assert_valid("reconciliation-result-batch", response.json())["q0"]["result"]
    assert result[0]["id"] == world["nordwind"].public_id
    assert result[0]["match"] is True  # an exact, unique name well ahead of the next


def test_an_identifier_hit_is_a_match(client, service_url, world):
    queries = {
        "q0": {
            "query": "Acme",
            "type": "Supplier",
            "properties": [{"pid": "duns", "v": "123456789"}],
        },
        "q1": {"query": "", "type": "Item", "properties": [{"pid": "gtin", "v": "4006381333931"}]},
        "q2": {
            "query": "Plant",
            "type": "Location",
            "properties": [{"pid": "gln", "v": 4012345000009}],
        },
        "q3": {"query": "Nordwind", "properties": [{"pid": "lei", "v": ["213800KUD8LAJWSQ9D15"]}]},
    }
    results = reconcile(client, service_url, queries)
    expected = {"q0": "acme_de", "q1": "bolt", "q2": "plant", "q3": "nordwind"}
    for key, name in expected.items():
        top = results[key]["result"][0]
        assert top["id"] == world[name].public_id, key
        assert top["match"] is True, key
        assert top["score"] >= matching.SURE
    assert {"id": "duns", "value": 100.0} in results["q0"]["result"][0]["features"]


def test_ambiguous_names_are_not_matched(client, service_url, world):
    results = reconcile(client, service_url, {"q0": {"query": "Acme Plastics", "type": "Supplier"}})
    candidates = results["q0"]["result"]
    assert {c["id"] for c in candidates[:2]} == {
        world["acme_de"].public_id,
        world["acme_fr"].public_id,
    }
    assert not any(c["match"] for c in candidates)


def test_a_country_condition_tells_namesakes_apart(client, service_url, world):
    query = {"query": "Acme Plastics", "type": "Supplier"}
    results = reconcile(
        client,
        service_url,
        {
            "q0": {**query, "properties": [{"pid": "country", "v": "FR"}]},
            "q1": {**query, "properties": [{"pid": "country", "v": "Germany"}]},
        },
    )
    assert results["q0"]["result"][0]["id"] == world["acme_fr"].public_id
    assert results["q1"]["result"][0]["id"] == world["acme_de"].public_id


def test_a_disagreeing_identifier_lowers_the_score_and_is_never_a_match(client, service_url, world):
    queries = {
        "q0": {
            "query": "Acme Plastics",
            "type": "Supplier",
            "properties": [{"pid": "country", "v": "DE"}, {"pid": "duns", "v": "987654321"}],
        }
    }
    candidates = reconcile(client, service_url, queries)["q0"]["result"]
    queries["q0"]["properties"] = [{"pid": "country", "v": "DE"}]
    plain = reconcile(client, service_url, queries)["q0"]["result"][0]

    acme_de = next(c for c in candidates if c["id"] == world["acme_de"].public_id)
    assert plain["id"] == acme_de["id"] and plain["match"] is True
    assert acme_de["score"] <= plain["score"] - services.CONFLICT_PENALTY
    assert {"id": "duns_conflict", "value": True} in acme_de["features"]
    assert not any(c["match"] for c in candidates)


def test_it_filters_by_type_and_honours_the_limit(client, service_url, world):
    queries = {
        "q0": {"query": "Acme Plastics", "type": "Supplier", "limit": 1},
        "q1": {"query": "Acme Plastics", "type": "Item"},
        "q2": {"query": "Hex bolt M8", "type": ["Item", "Location"]},
        "q4": {"query": "Main Plant Bremen"},
    }
    results = reconcile(client, service_url, queries)
    assert len(results["q0"]["result"]) == 1
    assert all(c["type"][0]["id"] == "Item" for c in results["q1"]["result"])
    assert results["q2"]["result"][0]["id"] == world["bolt"].public_id
    assert results["q4"]["result"][0]["id"] == world["plant"].public_id


def test_a_type_matches_in_any_case(client, service_url, world):
    """A type typed by hand in OpenRefine's dialog is sent as typed."""
    query = {"query": "Acme Plastics", "properties": [{"pid": "country", "v": "DE"}]}
    spellings = ["Supplier", "supplier", "SUPPLIER", " sUpPlIeR ", ["supplier", "Supplier"]]
    queries = {f"q{n}": {**query, "type": type_id} for n, type_id in enumerate(spellings)}
    queries["items"] = {"query": "Hex bolt M8", "type": ["item", "LOCATION"]}
    results = reconcile(client, service_url, queries)
    canonical = results["q0"]["result"]
    assert canonical[0]["id"] == world["acme_de"].public_id
    for key in queries:
        if key.startswith("q"):
            assert results[key]["result"] == canonical, queries[key]["type"]
    assert results["items"]["result"][0]["id"] == world["bolt"].public_id
    proposal = client.get(f"{service_url}properties", {"type": "supplier"}).json()
    assert proposal["type"] == "Supplier"
    assert "duns" in [p["id"] for p in proposal["properties"]]


@pytest.mark.parametrize("type_id", ["NoSuchType", ["Supplier", "Suppliers"]])
def test_an_unknown_type_is_a_400_naming_it_and_the_types(client, service_url, world, type_id):
    """The v0.2 result has no member for a query's error: an empty result would read as "no
    match", so the batch is refused, naming the query and the type."""
    unknown = "NoSuchType" if type_id == "NoSuchType" else "Suppliers"
    queries = {"q0": {"query": "Acme Plastics"}, "q1": {"query": "Acme", "type": type_id}}
    detail = refused(post_form(client, service_url, queries=queries))
    assert detail == (
        f"Query 'q1' names an unknown type {unknown!r}; the types are Supplier, Item, "
        "Location (in any case)."
    )
    response = client.get(f"{service_url}properties", {"type": "Nope"})
    assert refused(response) == "Unknown type 'Nope'; the types are Supplier, Item, Location."


@pytest.mark.parametrize(
    "queries",
    ["{not json", "[1, 2]", '"text"', '{"q0": 5}', '{"q0": ["Acme"]}'],
)
def test_bad_queries_are_a_400_with_a_json_reason(client, service_url, queries):
    response = client.post(service_url, data=urlencode({"queries": queries}), content_type=FORM)
    assert response["Access-Control-Allow-Origin"] == "*"
    assert problem_of(response, 400)["detail"]


def test_a_batch_over_the_advertised_batch_size_is_a_400_naming_it(client, service_url, world):
    batch_size = client.get(service_url).json()["batchSize"]
    queries = {f"q{n}": {"query": "Nordwind"} for n in range(batch_size)}
    assert len(reconcile(client, service_url, queries)) == batch_size
    queries["one_more"] = {"query": "Nordwind"}
    detail = refused(post_form(client, service_url, queries=queries))
    assert detail == (f"A batch holds at most {batch_size} queries; this one has {batch_size + 1}.")


@pytest.mark.parametrize("name", ["queries", "extend"])
def test_a_parameter_nested_5000_deep_is_a_400_naming_the_limit(client, service_url, name):
    """The review's reproduction: Python's json module fails with RecursionError (a 500)."""
    deep = "[" * 5000 + "]" * 5000
    response = client.post(service_url, data=urlencode({name: deep}), content_type=FORM)
    assert response.status_code == 400
    assert response["Access-Control-Allow-Origin"] == "*"
    assert problem_of(response, 400)["detail"] == (
        f"{name} is not valid JSON: The document is nested too deeply: at most 64 "
        "levels of objects and arrays are accepted."
    )


# The review's reproductions of long text: a 3,000-character suggest prefix took 82 s, a
# 6,000-character query 120 s before gunicorn killed the worker. Each is now refused at once,
# at /api/v1/match/'s own limit.
LIMIT = matching.MAX_QUERY_LENGTH
FAST = 2.0  # seconds; the refusals do no matching


def test_the_reconciliation_limit_is_the_match_apis(client, service_url, steward_api, world):
    over = "acme " * (LIMIT // 5) + "x"
    assert len(over) == LIMIT + 1
    answer = steward_api.get("/api/v1/match/supplier/", {"q": over})
    assert answer.status_code == 400
    assert str(LIMIT) in str(answer.json())
    refused(post_form(client, service_url, queries={"q0": {"query": over}}), str(LIMIT))
    # At the limit, both answer.
    assert steward_api.get("/api/v1/match/supplier/", {"q": over[:LIMIT]}).status_code == 200
    reconcile(client, service_url, {"q0": {"query": over[:LIMIT]}})


def test_a_suggest_prefix_of_3000_characters_is_a_400(client, service_url, world):
    prefix = "".join(chr(ord("a") + n % 26) for n in range(3000))
    for what in ("entity", "type", "property"):
        started = time.monotonic()
        response = client.get(f"{service_url}suggest/{what}", {"prefix": prefix})
        refused(response, "3000 characters", f"at most {LIMIT} characters")
        assert time.monotonic() - started < FAST


def test_a_query_of_6000_characters_is_a_400_naming_the_query(client, service_url, world):
    queries = {"q0": {"query": "Acme"}, "q1": {"query": ("Acme Plastics " * 429)[:6000]}}
    assert len(queries["q1"]["query"]) == 6000
    started = time.monotonic()
    detail = refused(post_form(client, service_url, queries=queries), "'q1'", "6000 characters")
    assert detail == f"Query 'q1' is 6000 characters long; give at most {LIMIT} characters."
    assert time.monotonic() - started < FAST


def test_a_property_value_over_the_limit_is_a_400(client, service_url, world):
    query = {
        "query": "Acme Plastics",
        "properties": [{"pid": "vat", "v": "DE" + "1" * LIMIT}],
    }
    detail = refused(post_form(client, service_url, queries={"q0": query}), "'q0'", "'vat'")
    assert f"{LIMIT + 2} characters long; give at most {LIMIT}" in detail


def test_a_batch_over_its_total_text_is_a_400_naming_the_limit(client, service_url, world):
    """1,000 queries of 5,000 characters took 88 s; queries each within the limit are still
    bounded in sum."""
    total = services.MAX_BATCH_CHARACTERS
    count = total // LIMIT + 1
    queries = {f"q{n}": {"query": f"{n:03d} " + "x" * (LIMIT - 4)} for n in range(count)}
    started = time.monotonic()
    detail = refused(post_form(client, service_url, queries=queries))
    assert detail == (
        f"A batch holds at most {total} characters of query text and property values; this "
        f"one has {count * LIMIT}. Send it in smaller batches."
    )
    assert time.monotonic() - started < FAST


# --- suggest, properties, extension, preview, view ----------------------------------------


def test_it_suggests_entities_with_a_cursor(client, service_url, world):
    url = f"{service_url}suggest/entity"
    first = assert_valid(
        "suggest-entities-response",
        client.get(url, {"prefix": "Acme Plas", "type": "Supplier"}).json(),
    )
    ids = [e["id"] for e in first["result"]]
    assert {world["acme_de"].public_id, world["acme_fr"].public_id} <= set(ids)
    assert first["result"][0]["notable"] == [{"id": "Supplier", "name": "Supplier"}]
    later = client.get(url, {"prefix": "Acme Plas", "type": "Supplier", "cursor": 1}).json()
    assert [e["id"] for e in later["result"]] == ids[1:]
    by_id = client.get(url, {"prefix": world["bolt"].public_id}).json()
    assert by_id["result"][0]["id"] == world["bolt"].public_id


def test_it_suggests_types_and_properties(client, service_url, world):
    types = client.get(f"{service_url}suggest/type", {"prefix": "sup"}).json()
    assert_valid("suggest-types-response", types)
    assert [t["id"] for t in types["result"]] == ["Supplier"]
    props = client.get(f"{service_url}suggest/property", {"prefix": "du"}).json()
    assert_valid("suggest-properties-response", props)
    assert [p["id"] for p in props["result"]] == ["duns"]
    codes = client.get(f"{service_url}suggest/property", {"prefix": "code:"}).json()
    assert [p["id"] for p in codes["result"]] == ["code:ERP_LEGACY", "code:PLANNING"]
    page = client.get(f"{service_url}suggest/property", {"prefix": "", "cursor": 2}).json()
    first = client.get(f"{service_url}suggest/property", {"prefix": ""}).json()
    assert page["result"][0] == first["result"][2]


def test_it_proposes_properties_per_type(client, service_url, world):
    response = client.get(f"{service_url}properties", {"type": "Supplier"})
    proposal = assert_valid("data-extension-property-proposal", response.json())
    ids = [p["id"] for p in proposal["properties"]]
    assert {"status", "country", "duns", "code:ERP_LEGACY"} <= set(ids)
    item = client.get(f"{service_url}properties", {"type": "Item", "limit": 3}).json()
    assert len(item["properties"]) == 3
    assert client.get(f"{service_url}properties", {"type": "Nope"}).status_code == 400


def test_extend_returns_erp_codes_and_record_values(client, service_url, world):
    acme, nordwind, bolt = world["acme_de"], world["nordwind"], world["bolt"]
    query = {
        "ids": [acme.public_id, nordwind.public_id, bolt.public_id, "SUP-999999", "junk"],
        "properties": [
            {"id": "code:ERP_LEGACY"},
            {"id": "code:PLANNING"},
            {"id": "status"},
            {"id": "country"},
            {"id": "base_unit"},
        ],
    }
    assert_valid("data-extension-query", query)
    response = post_form(client, service_url, extend=query)
    assert response.status_code == 200
    answer = assert_valid("data-extension-response", response.json())
    assert [m["id"] for m in answer["meta"]] == [p["id"] for p in query["properties"]]
    rows = answer["rows"]
    assert rows[acme.public_id]["code:ERP_LEGACY"] == [{"str": "V-0100"}]  # the preferred one
    assert rows[nordwind.public_id]["code:ERP_LEGACY"] == [{"str": "V-0300"}]  # the only one
    assert rows[bolt.public_id]["code:ERP_LEGACY"] == [{"str": "MAT-100"}]
    assert rows[acme.public_id]["code:PLANNING"] == []
    assert rows[acme.public_id]["status"] == [{"str": "active"}]
    assert rows[acme.public_id]["country"] == [{"str": "DE"}]
    assert rows[bolt.public_id]["base_unit"] == [{"str": "H87"}]
    assert rows[acme.public_id]["base_unit"] == []
    assert rows["SUP-999999"] == rows["junk"] == {p["id"]: [] for p in query["properties"]}


def test_bad_extend_requests_are_a_400(client, service_url):
    for extend in ("{oops", '{"ids": "SUP-1", "properties": []}', '{"ids": []}'):
        response = client.post(service_url, data=urlencode({"extend": extend}), content_type=FORM)
        assert response.status_code == 400, extend


def test_the_preview_is_a_framable_escaped_card(client, service_url, world):
    tricky = world["tricky"]
    response = client.get(f"{service_url}preview", {"id": tricky.public_id})
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert response["Access-Control-Allow-Origin"] == "*"
    html = response.content.decode()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html and "S400" in html
    assert client.get(f"{service_url}preview", {"id": "SUP-999999"}).status_code == 404
    # Every other page of the hub still refuses to be framed.
    assert client.get("/admin/login/")["X-Frame-Options"] == "DENY"


def test_the_view_link_opens_the_record_in_the_admin(client, service_url, world):
    template = client.get(service_url).json()["view"]["url"]
    supplier = world["acme_de"]
    response = client.get(template.replace("{{id}}", supplier.public_id))
    assert response.status_code == 302
    assert response["Location"] == f"/admin/mdm/supplier/{supplier.pk}/change/"
    assert client.get("/reconcile/records/SUP-999999/").status_code == 404
    assert client.get("/reconcile/records/nonsense/").status_code == 404


# --- keys: admin and command ---------------------------------------------------------------


def test_a_steward_creates_a_key_in_the_admin_and_sees_its_url_once(client, steward):
    client.force_login(steward)
    response = client.post("/admin/reconcile/reconciliationkey/add/", {"name": "sales-refine"})
    assert response.status_code == 200
    key = ReconciliationKey.objects.get(name="sales-refine")
    assert key.created_by == steward and key.is_active
    url = response.context["service_url"]
    assert url.startswith("http://testserver/reconcile/rk_")
    assert url in response.content.decode()
    secret = url.rsplit("/", 2)[1]
    assert key.key_hash == ReconciliationKey.hash_key(secret)
    assert (
        secret
        not in client.get(f"/admin/reconcile/reconciliationkey/{key.pk}/change/").content.decode()
    )
    assert client.get(url.removeprefix("http://testserver")).status_code == 200


def test_the_command_prints_a_working_service_url(client, capsys):
    call_command(
        "create_reconciliation_key", "--name", "cli-refine", "--base-url", "https://hub.example/"
    )
    out = capsys.readouterr().out
    url = next(word for word in out.split() if word.startswith("https://hub.example/reconcile/"))
    assert client.get(url.removeprefix("https://hub.example")).status_code == 200


def test_the_api_schema_leaves_the_reconciliation_service_out(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "/reconcile/" not in target.read_text()


def test_an_openrefine_session_from_service_url_to_erp_codes(client, service_url, world):
    """Add the service, reconcile a column of supplier names (auto-matching only the sure
    ones), then add a column with each matched supplier's legacy ERP code."""
    manifest = assert_valid("manifest", client.get(service_url).json())
    propose = manifest["extend"]["propose_properties"]
    proposal = client.get(
        propose["service_url"] + propose["service_path"], {"type": "Supplier"}
    ).json()
    assert "code:ERP_LEGACY" in [p["id"] for p in proposal["properties"]]

    column = ["Nordwind Castings", "Acme Plastics", "Unknown Widgets Ltd"]
    queries = {f"q{n}": {"query": name, "type": "Supplier"} for n, name in enumerate(column)}
    results = reconcile(client, service_url, queries)
    matched = {
        key: answer["result"][0]["id"]
        for key, answer in results.items()
        if answer["result"] and answer["result"][0]["match"]
    }
    assert matched == {"q0": world["nordwind"].public_id}  # Acme has a namesake: left to a person

    extend = {"ids": list(matched.values()), "properties": [{"id": "code:ERP_LEGACY"}]}
    answer = assert_valid(
        "data-extension-response", post_form(client, service_url, extend=extend).json()
    )
    assert answer["rows"][world["nordwind"].public_id]["code:ERP_LEGACY"] == [{"str": "V-0300"}]


def test_identifiers_naming_two_records_are_not_a_match(client, service_url, world):
    queries = {
        "q0": {
            "query": "Acme Plastics",
            "type": "Supplier",
            "properties": [
                {"pid": "duns", "v": "123456789"},
                {"pid": "lei", "v": "213800KUD8LAJWSQ9D15"},
            ],
        }
    }
    candidates = reconcile(client, service_url, queries)["q0"]["result"]
    hits = {
        c["id"]
        for c in candidates
        if any(f["id"] in ("duns", "lei") and f["value"] == 100.0 for f in c["features"])
    }
    assert hits == {world["acme_de"].public_id, world["nordwind"].public_id}
    assert not any(c["match"] for c in candidates)
