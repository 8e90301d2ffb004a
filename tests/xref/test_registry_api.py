"""/api/v1/xrefs/ as an integration engineer meets it: idempotent registration (201, then
200 with the same reference), conflicts named (409), records given by natural key, filters,
changes, who may do what, and the history every change leaves."""

import datetime as dt

import pytest

from mdm.models import ApiClient
from tests.problems import errors_by_field, problem_of
from tests.xref.conftest import CUTOVER
from xref.filters import CrossReferenceFilterSet
from xref.models import CrossReference

pytestmark = pytest.mark.django_db

URL = "/api/v1/xrefs/"


def payload(**changes):
    return {
        "kind": "item",
        "system": "ERP_LEGACY",
        "scope": "1000",
        "code": "100234",
        "target": changes.pop("target", None) or "ITM-000001",
        **changes,
    }


@pytest.fixture
def bolt_payload(world):
    return payload(target=world.bolt.public_id, valid_to=str(CUTOVER))


# --- registration ---------------------------------------------------------------------------


def test_it_registers_a_reference_and_shows_it_with_its_record(steward_api, world, bolt_payload):
    response = steward_api.post(URL, bolt_payload, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        "id": body["id"],
        "kind": "item",
        "system": "ERP_LEGACY",
        "scope": "1000",
        "code": "100234",
        "target": world.bolt.public_id,
        "target_summary": {
            "id": world.bolt.public_id,
            "name": "Hex bolt ISO 4017 M8x40 8.8 zinc plated",
            "status": "active",
        },
        "valid_from": None,
        "valid_to": "2026-07-01",
        "status": "active",
        "is_preferred": False,
        "origin": "api",
        "created_by": "api:erp-steward",
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert CrossReference.objects.get().target == world.bolt


def test_it_answers_the_same_registration_again_with_the_stored_reference(
    steward_api, bolt_payload
):
    first = steward_api.post(URL, bolt_payload, format="json")
    again = steward_api.post(URL, bolt_payload, format="json")
    inside = steward_api.post(URL, {**bolt_payload, "valid_from": "2026-01-01"}, format="json")

    assert (first.status_code, again.status_code, inside.status_code) == (201, 200, 200)
    assert first.json()["id"] == again.json()["id"] == inside.json()["id"]
    assert inside.json()["valid_from"] is None  # the stored reference, as it is
    assert CrossReference.objects.count() == 1


def test_it_refuses_a_conflicting_registration_naming_the_reference(
    steward_api, world, bolt_payload
):
    stored = steward_api.post(URL, bolt_payload, format="json").json()

    response = steward_api.post(
        URL, payload(target=world.nut.public_id, valid_from="2026-06-01"), format="json"
    )

    body = problem_of(response, 409)
    assert f"reference #{stored['id']}" in body["detail"]
    assert world.bolt.public_id in body["detail"]
    assert body["conflict"] == {
        "id": stored["id"],
        "system": "ERP_LEGACY",
        "kind": "item",
        "scope": "1000",
        "code": "100234",
        "target": world.bolt.public_id,
        "valid_from": None,
        "valid_to": "2026-07-01",
        "status": "active",
        "is_preferred": stored["is_preferred"],
    }
    assert CrossReference.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "key", "expected"),
    [
        ("item_revision", "{pump}/B", "{pump}/B"),
        ("supplier", "{acme}", "{acme}"),
        ("supplier_site", "{acme_ship1}", "{acme_ship1}"),
        ("location", "{warehouse}", "{warehouse}"),
        ("unit", "xbx", "XBX"),
        ("code_value", "ACK_LINE_STATUS:accepted", "ACK_LINE_STATUS:accepted"),
        ("item", "{bolt_lower}", "{bolt}"),
    ],
)
def test_it_takes_each_kind_of_record_by_natural_key(steward_api, world, kind, key, expected):
    ids = {
        "pump": world.pump.public_id,
        "acme": world.acme.public_id,
        "acme_ship1": world.acme_ship1.public_id,
        "warehouse": world.warehouse.public_id,
        "bolt": world.bolt.public_id,
        "bolt_lower": world.bolt.public_id.lower(),
    }
    data = payload(kind=kind, target=key.format(**ids), system="SUPPLIER_NET", scope="")

    response = steward_api.post(URL, data, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["target"] == expected.format(**ids)
    assert response.json()["target_summary"]["id"] == expected.format(**ids)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"target": "ITM-999999"}, "target", "No item 'ITM-999999'"),
        ({"kind": "item_revision", "target": "ITM-000001"}, "target", "ITM-000123/B"),
        ({"system": "SAP"}, "system", "No source system with code 'SAP'"),
        ({"kind": "material"}, "kind", "not a valid choice"),
        ({"code": "100\n234"}, "code", "no line breaks"),
        ({"valid_from": "2026-07-01", "valid_to": "2026-01-01"}, "valid_to", "end after"),
        ({"origin": "manual"}, "origin", "not a valid choice"),
        ({"status": "retired"}, "status", "registered active"),
    ],
)
def test_it_refuses_bad_input_with_a_400_saying_why(steward_api, world, changes, field, message):
    response = steward_api.post(URL, payload(target=world.bolt.public_id) | changes, format="json")

    assert response.status_code == 400
    assert message in str(errors_by_field(response)[field])


def test_it_keeps_a_confirmed_match_as_such(steward_api, world):
    response = steward_api.post(
        URL, payload(target=world.bolt.public_id, origin="match_confirmed"), format="json"
    )

    assert response.json()["origin"] == "match_confirmed"


# --- reading and filtering --------------------------------------------------------------------


@pytest.fixture
def references(world, add_reference):
    """The bolt cut over from ERP_LEGACY (plant 1000) to ERP_CLOUD; 100234 in plant 2000 is
    the nut; the pump's revision B and the acknowledgement status IA in the supplier network."""
    return {
        "legacy": add_reference(world.legacy, "100234", world.bolt, scope="1000",
                                valid_to=CUTOVER),
        "cloud": add_reference(world.cloud, "40000001", world.bolt, valid_from=CUTOVER,
                               is_preferred=True),
        "nut": add_reference(world.legacy, "100234", world.nut, scope="2000"),
        "revision": add_reference(world.legacy, "300100-01", world.pump_b),
        "ack": add_reference(world.network, "IA", world.accepted, is_preferred=True),
        "withdrawn": add_reference(world.planning, "PL-OLD", world.bolt, status="retired"),
    }  # fmt: skip


def ids(response):
    assert response.status_code == 200, response.json()
    return sorted(row["id"] for row in response.json()["results"])


def pks(references, *names):
    return sorted(references[name].pk for name in names)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"system": "erp_legacy"}, ("legacy", "nut", "revision")),
        ({"kind": "code_value"}, ("ack",)),
        ({"code": "100234"}, ("legacy", "nut")),
        ({"code": "100234", "scope": "2000"}, ("nut",)),
        ({"target": "{bolt}"}, ("legacy", "cloud", "withdrawn")),
        ({"target": "{pump}/B"}, ("revision",)),
        ({"target": "ACK_LINE_STATUS:accepted"}, ("ack",)),
        ({"status": "retired"}, ("withdrawn",)),
        ({"valid_at": "2026-06-30", "target": "{bolt}"}, ("legacy",)),
        ({"valid_at": "2026-07-01", "target": "{bolt}"}, ("cloud",)),
        ({"q": "3001"}, ("revision",)),
        ({"is_preferred": "true"}, ("cloud", "ack")),
    ],
)
def test_it_filters_references(erp_api, world, references, params, expected):
    params = {
        key: value.format(bolt=world.bolt.public_id, pump=world.pump.public_id)
        for key, value in params.items()
    }

    assert ids(erp_api.get(URL, params)) == pks(references, *expected)


def test_it_lists_references_changed_since_a_time(world, references):
    later = references["ack"]
    CrossReference.objects.exclude(pk=later.pk).update(
        updated_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    )

    queryset = CrossReferenceFilterSet(
        {"updated_since": "2026-01-01T00:00:00Z"}, CrossReference.objects.all()
    ).qs

    assert list(queryset) == [later]


def test_it_reads_one_reference_by_id(erp_api, world, references):
    response = erp_api.get(f"{URL}{references['revision'].pk}/")

    assert response.status_code == 200
    assert response.json()["target"] == f"{world.pump.public_id}/B"
    assert response.json()["target_summary"] == {
        "id": f"{world.pump.public_id}/B",
        "name": "New impeller",
        "status": "released",
    }
    assert erp_api.get(f"{URL}999999/").status_code == 404


def test_it_lists_without_a_query_per_reference(
    erp_api, world, references, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):  # authentication, roles, count, the page
        response = erp_api.get(URL)

    assert response.json()["count"] == len(references)


# --- changes ----------------------------------------------------------------------------------


def test_it_ends_a_reference_with_a_patch(steward_api, references):
    response = steward_api.patch(
        f"{URL}{references['nut'].pk}/", {"valid_to": "2026-09-01"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["valid_to"] == "2026-09-01"
    assert response.json()["origin"] == "manual"  # how it came to be does not change


def test_it_refuses_a_change_into_a_conflict_with_a_409(steward_api, world, references):
    response = steward_api.patch(f"{URL}{references['nut'].pk}/", {"scope": "1000"}, format="json")

    assert problem_of(response, 409)["conflict"]["id"] == references["legacy"].pk
    references["nut"].refresh_from_db()
    assert references["nut"].scope == "2000"


def test_it_points_a_reference_at_another_record(steward_api, world, references):
    url = f"{URL}{references['nut'].pk}/"

    response = steward_api.patch(url, {"target": world.pump.public_id}, format="json")
    assert response.status_code == 200
    assert response.json()["target"] == world.pump.public_id

    response = steward_api.patch(url, {"kind": "supplier"}, format="json")
    assert response.status_code == 400
    assert "new kind" in str(errors_by_field(response)["target"])

    response = steward_api.put(
        url,
        payload(kind="supplier", target=world.acme.public_id, scope="2000"),
        format="json",
    )
    assert response.status_code == 200, response.json()
    references["nut"].refresh_from_db()
    assert (references["nut"].kind, references["nut"].target) == ("supplier", world.acme)
    assert references["nut"].item_id is None


def test_it_deletes_a_reference(steward_api, references):
    reference = references["withdrawn"]

    assert steward_api.delete(f"{URL}{reference.pk}/").status_code == 204

    assert not CrossReference.objects.filter(pk=reference.pk).exists()
    assert reference.history.latest().history_type == "-"


# --- who may do what ------------------------------------------------------------------------


def test_it_needs_credentials(anonymous_api, world):
    assert anonymous_api.get(URL).status_code == 401
    assert anonymous_api.post(URL, payload(), format="json").status_code == 401


def test_a_viewer_reads_but_cannot_register(viewer_api, world, references):
    assert viewer_api.get(URL).status_code == 200
    response = viewer_api.post(URL, payload(target=world.bolt.public_id), format="json")
    assert response.status_code == 403


def test_an_integration_client_reads_but_cannot_register_or_change(erp_api, world, references):
    assert erp_api.get(URL).status_code == 200
    response = erp_api.post(URL, payload(target=world.bolt.public_id), format="json")
    assert response.status_code == 403
    url = f"{URL}{references['nut'].pk}/"
    assert erp_api.patch(url, {"code": "X"}, format="json").status_code == 403
    assert erp_api.delete(url).status_code == 403
    assert CrossReference.objects.count() == len(references)


# --- history ----------------------------------------------------------------------------------


def test_an_api_change_is_recorded_with_its_source_and_client_and_can_be_reverted(
    steward_api, world, bolt_payload
):
    reference_id = steward_api.post(URL, bolt_payload, format="json").json()["id"]
    steward_api.patch(f"{URL}{reference_id}/", {"code": "WRONG"}, format="json")
    reference = CrossReference.objects.get(pk=reference_id)

    records = reference.history.order_by("history_id")
    client_user = ApiClient.objects.get(name="erp-steward").user
    assert [(r.history_type, r.change_source, r.history_user) for r in records] == [
        ("+", "api", client_user),
        ("~", "api", client_user),
    ]

    records.first().instance.save()

    reference.refresh_from_db()
    assert reference.code == "100234"
