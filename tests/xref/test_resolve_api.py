"""The resolve and translate API as an integration client meets it: status codes per answer,
batches in request order with the key echoed, clear 400s, and who may call it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from mdm.models import ApiClient, SourceSystem, Unit
from mdm.services import create_api_client
from tests.problems import errors_by_field, problem_of
from tests.xref.test_resolve import AFTER, BEFORE, CUT_OVER, build_world, bulk_world
from xref.serializers import REFERENCE_FIELDS

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(erp_system, planning_system):
    return build_world(erp_system, planning_system)


def _resolve(api, kind="item", **params):
    return api.get(f"/api/v1/resolve/{kind}/", params)


def _translate(api, kind="item", **params):
    return api.get(f"/api/v1/translate/{kind}/", params)


# --- single resolve --------------------------------------------------------------------------


def test_it_resolves_a_code(world, erp_api):
    response = _resolve(erp_api, system="ERP_LEGACY", code="100234", as_of=BEFORE.isoformat())

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "resolved"
    assert body["id"] == world["bearing"].public_id
    assert body["record"]["number"] == "BRG-6204"
    assert body["reference"]["code"] == "100234"
    assert body["reference"]["valid_to"] == CUT_OVER.isoformat()


def test_a_reference_in_an_answer_reads_as_the_registry_shows_it(world, erp_api):
    """One shape of a reference across the API: what resolve names (the reference and its
    successor) is the registry's reference, field for field."""
    retired = problem_of(
        _resolve(erp_api, system="ERP_LEGACY", code="100234", as_of=AFTER.isoformat()), 404
    )

    for named in (retired["reference"], retired["successor"]):
        registered = erp_api.get(f"/api/v1/xrefs/{named['id']}/").json()
        assert named == {field: registered[field] for field in REFERENCE_FIELDS}


def test_a_retired_code_is_404_with_its_successor(world, erp_api):
    response = _resolve(erp_api, system="ERP_LEGACY", code="100234", as_of=AFTER.isoformat())

    body = problem_of(response, 404)
    assert body["outcome"] == "retired"
    assert body["detail"] == (
        f"ERP_LEGACY's item code '100234' is retired since {CUT_OVER.isoformat()}. "
        "Its successor is named."
    )
    assert body["valid_to"] == CUT_OVER.isoformat()
    assert body["successor"]["system"] == "ERP_CLOUD"
    assert body["successor"]["code"] == "MAT-100234"


def test_an_unknown_code_is_404_not_found_with_candidates(world, erp_api):
    response = _resolve(erp_api, system="ERP_LEGACY", code="NOPE")

    body = problem_of(response, 404)
    assert body["outcome"] == "not_found"
    assert body["detail"] == "ERP_LEGACY has no item code 'NOPE'."
    assert isinstance(body["candidates"], list)


def test_a_code_of_several_scopes_is_409_without_a_scope_and_200_with_one(world, erp_api):
    unsure = _resolve(erp_api, system="ERP_LEGACY", code="500")
    sure = _resolve(erp_api, system="ERP_LEGACY", code="500", scope="2000")

    assert [m["scope"] for m in problem_of(unsure, 409)["matches"]] == ["1000", "2000"]
    assert sure.status_code == 200
    assert sure.json()["id"] == world["nut"].public_id


def test_a_code_valid_only_later_is_404(world, erp_api):
    response = _resolve(erp_api, system="ERP_CLOUD", code="MAT-100234", as_of=BEFORE.isoformat())

    body = problem_of(response, 404)
    assert body["outcome"] == "not_yet_valid"
    assert body["valid_from"] == CUT_OVER.isoformat()


@pytest.mark.parametrize(
    ("kind", "params", "named"),
    [
        ("itm", {"system": "ERP_LEGACY", "code": "1"}, "kind"),
        ("item", {"system": "SAP", "code": "1"}, "system"),
        ("item", {"code": "1"}, "system"),
        ("item", {"system": "ERP_LEGACY"}, "code"),
        ("item", {"system": "ERP_LEGACY", "code": "1", "as_of": "31.12.2025"}, "as_of"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(world, erp_api, kind, params, named):
    response = _resolve(erp_api, kind, **params)

    assert list(errors_by_field(response)) == [named]


# --- batch resolve ---------------------------------------------------------------------------


def test_a_batch_answers_in_request_order_with_the_key_echoed(world, erp_api):
    keys = [
        {"kind": "item", "system": "ERP_LEGACY", "code": "100234"},
        {"kind": "item", "system": "ERP_CLOUD", "code": "MAT-100234"},
        {"kind": "item", "system": "ERP_LEGACY", "code": "NOPE"},
        {"kind": "item", "system": "ERP_LEGACY", "code": "500"},
        {"kind": "item", "system": "ERP_LEGACY", "code": "500", "scope": "1000"},
        {"kind": "item", "system": "ERP_CLOUD", "code": "MAT-100234"},
    ]

    response = erp_api.post(
        "/api/v1/resolve/batch/", {"as_of": AFTER.isoformat(), "keys": keys}, format="json"
    )

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [
        "retired",
        "resolved",
        "not_found",
        "ambiguous",
        "resolved",
        "resolved",
    ]
    assert results[0]["key"] == {
        "kind": "item",
        "system": "ERP_LEGACY",
        "code": "100234",
        "scope": None,
    }
    assert results[4]["key"]["scope"] == "1000"
    assert results[4]["id"] == world["bolt"].public_id
    assert results[0]["successor"]["code"] == results[1]["reference"]["code"] == "MAT-100234"


def test_a_batch_takes_as_many_queries_for_500_keys_as_for_5(erp_api, erp_system, planning_system):
    cloud = SourceSystem.objects.create(code="ERP_CLOUD", name="Cloud ERP", kind="erp")
    piece = Unit.objects.create(code="H87", name="piece")
    keys = [
        {"kind": kind, "system": system, "code": code}
        for kind, system, code in bulk_world(100, erp_system, planning_system, cloud, piece)
    ]

    def post(keys):
        body = {"as_of": AFTER.isoformat(), "keys": keys}
        with CaptureQueriesContext(connection) as queries:
            response = erp_api.post("/api/v1/resolve/batch/", body, format="json")
        assert response.status_code == 200
        return len(queries), response.json()["results"]

    # Records the key's first use (an update made once a minute) and reads the system's codes
    # that near misses are looked for among (kept while they stay the same).
    post(keys[:5])
    few, _ = post(keys[:5])
    many, results = post(keys)

    assert len(results) == 500
    # the key with its role, the systems (read fresh inside a transaction), the references
    # with their records, the successors, whether the codes near misses are looked for among
    # changed
    assert few == many == 5


def test_a_batch_lists_its_malformed_keys_by_index(world, erp_api):
    keys = [
        {"kind": "item", "system": "ERP_LEGACY", "code": "100234"},
        {"kind": "item", "system": "SAP", "code": "1"},
        {"kind": "part", "system": "ERP_LEGACY", "code": "1"},
    ]

    response = erp_api.post("/api/v1/resolve/batch/", {"keys": keys}, format="json")

    body = problem_of(response, 400)
    assert [(e["index"], e["field"]) for e in body["keys"]] == [(1, "system"), (2, "kind")]
    assert [e["pointer"] for e in body["errors"]] == ["#/keys/1/system", "#/keys/2/kind"]
    assert body["detail"] == "2 key(s) are malformed."


def test_a_batch_of_more_than_50000_keys_is_refused(world, erp_api):
    key = {"kind": "item", "system": "ERP_LEGACY", "code": "100234"}

    response = erp_api.post("/api/v1/resolve/batch/", {"keys": [key] * 50_001}, format="json")

    assert response.status_code == 400
    assert "At most 50,000 keys" in errors_by_field(response)["keys"][0]


def test_a_batch_that_is_not_json_is_400(world, erp_api):
    response = erp_api.post("/api/v1/resolve/batch/", b"{keys: [", content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_a_batch_is_read_within_the_hubs_limits_on_json(world, erp_api, settings):
    """The batch is read by the API's one JSON parser: nesting too deep is a 400, a body
    over the request limit a 413, as everywhere else in the API."""
    deep = b'{"keys": ' + b"[" * 100 + b"]" * 100 + b"}"
    response = erp_api.post("/api/v1/resolve/batch/", deep, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]

    settings.HUB_MAX_REQUEST_BYTES = 1024
    key = {"kind": "item", "system": "ERP_LEGACY", "code": "100234"}
    response = erp_api.post("/api/v1/resolve/batch/", {"keys": [key] * 40}, format="json")
    assert response.status_code == 413


def test_a_batch_needs_a_list_of_keys_and_a_good_date(world, erp_api):
    no_keys = erp_api.post("/api/v1/resolve/batch/", {"key": []}, format="json")
    bad_date = erp_api.post(
        "/api/v1/resolve/batch/", {"keys": [], "as_of": "tomorrow"}, format="json"
    )

    assert list(errors_by_field(no_keys)) == ["keys"]
    assert list(errors_by_field(bad_date)) == ["as_of"]


# --- translate -------------------------------------------------------------------------------


def test_it_translates_a_code(world, erp_api):
    response = _translate(
        erp_api, from_system="ERP_LEGACY", code="100234", to_system="PLANNING", as_of=BEFORE
    )

    assert response.status_code == 200
    assert response.json()["status"] == "translated"
    assert response.json()["code"] == "BRG6204"
    assert response.json()["id"] == world["bearing"].public_id


def test_translation_without_a_preferred_code_is_409(world, erp_api, planning_system):
    from tests.xref.test_resolve import ref

    ref(planning_system, "BOLT-A", world["bolt"])
    ref(planning_system, "BOLT-B", world["bolt"])

    response = _translate(
        erp_api, from_system="ERP_LEGACY", code="500", scope="1000", to_system="PLANNING"
    )

    body = problem_of(response, 409)
    assert body["outcome"] == "no_preferred"
    assert [r["code"] for r in body["references"]] == ["BOLT-A", "BOLT-B"]


def test_translation_to_codes_that_all_agree_is_200(world, erp_api, planning_system):
    """Every candidate reference in the target gives BOLT-1: the answer, not a 409."""
    from tests.xref.test_resolve import ref

    ref(planning_system, "BOLT-1", world["bolt"], scope="1000", is_preferred=True)
    ref(planning_system, "BOLT-1", world["bolt"], scope="2000", is_preferred=True)

    response = _translate(
        erp_api, from_system="ERP_LEGACY", code="500", scope="1000", to_system="PLANNING"
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["code"]) == ("translated", "BOLT-1")


def test_translation_without_a_target_code_is_404(world, erp_api):
    response = _translate(
        erp_api, "supplier", from_system="ERP_LEGACY", code="V-77", to_system="PLANNING"
    )

    body = problem_of(response, 404)
    assert (body["outcome"], body["id"]) == ("no_code_in_target", world["supplier"].public_id)
    assert body["detail"] == f"{world['supplier'].public_id} has no code in PLANNING."


def test_translation_names_a_missing_target_system(world, erp_api):
    response = _translate(erp_api, from_system="ERP_LEGACY", code="100234")

    assert list(errors_by_field(response)) == ["to_system"]


def test_a_translation_batch_answers_in_request_order(world, erp_api):
    keys = [
        {"kind": "item", "from_system": "PLANNING", "code": "BRG6204", "to_system": "ERP_CLOUD"},
        {"kind": "item", "from_system": "PLANNING", "code": "NOPE", "to_system": "ERP_CLOUD"},
    ]

    response = erp_api.post(
        "/api/v1/translate/batch/", {"as_of": AFTER.isoformat(), "keys": keys}, format="json"
    )

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["status"], r.get("code")) for r in results] == [
        ("translated", "MAT-100234"),
        ("not_found", None),
    ]
    assert results[1]["key"]["to_system"] == "ERP_CLOUD"


# --- who may call ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/v1/resolve/item/", "/api/v1/translate/item/", "/api/v1/resolve/batch/"]
)
def test_callers_without_a_key_get_401(world, anonymous_api, url):
    assert anonymous_api.get(url).status_code == 401


def test_viewers_may_not_resolve(world, viewer_api, erp_system):
    _, key = create_api_client("ERP_LEGACY", "erp-viewer", role="viewer")
    viewer_key = APIClient()
    viewer_key.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    assert _resolve(viewer_api, system="ERP_LEGACY", code="100234").status_code == 403
    assert _resolve(viewer_key, system="ERP_LEGACY", code="100234").status_code == 403
    batch = viewer_key.post("/api/v1/resolve/batch/", {"keys": []}, format="json")
    assert batch.status_code == 403


def test_integration_clients_and_stewards_may_resolve_and_batch(world, erp_api, steward_api):
    for api in (erp_api, steward_api):
        single = _resolve(api, system="ERP_LEGACY", code="100234", as_of=BEFORE.isoformat())
        batch = api.post("/api/v1/resolve/batch/", {"keys": []}, format="json")
        translate_batch = api.post("/api/v1/translate/batch/", {"keys": []}, format="json")
        assert single.status_code == 200
        assert batch.status_code == translate_batch.status_code == 200
        assert batch.json() == {"results": []}


def test_a_revoked_key_is_refused_at_once(world, erp_api):
    assert _resolve(erp_api, system="ERP_LEGACY", code="100234").status_code == 404
    ApiClient.objects.filter(name="erp-sync").update(is_active=False)

    assert _resolve(erp_api, system="ERP_LEGACY", code="100234").status_code == 401
