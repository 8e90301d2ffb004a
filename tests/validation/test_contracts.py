"""Message contracts: one JSON Schema per type and version, pinned once published, served to
every role, and checked with every error reported at its JSON path."""

import datetime
import json
import shutil

import jsonschema_rs
import pytest

from validation import contracts
from validation.models import MessageType

from .world import BUSINESS_DATES, EXAMPLES, example


def test_every_message_type_has_a_published_v1():
    assert tuple(MessageType.values) == contracts.MESSAGE_TYPES
    assert {(t, 1) for t in contracts.MESSAGE_TYPES} <= set(contracts.PUBLISHED)


def test_it_pins_every_published_contract_file():
    # Editing a published file fails here: publish a new version (a new file) instead.
    files = {
        (path.parent.name, int(path.stem[1:])) for path in contracts.CONTRACTS_DIR.glob("*/v*.json")
    }
    assert files == set(contracts.PUBLISHED), "every contract file is published and pinned"
    for (message_type, version), pinned in contracts.PUBLISHED.items():
        schema = json.loads(contracts.contract_path(message_type, version).read_text())
        assert contracts.sha256_of(schema) == pinned, f"{message_type} v{version} was edited"


def test_it_refuses_to_load_an_edited_contract(tmp_path, monkeypatch):
    shutil.copytree(contracts.CONTRACTS_DIR, tmp_path / "contracts")
    edited = tmp_path / "contracts" / "receipt" / "v1.json"
    schema = json.loads(edited.read_text())
    schema["required"].remove("location")
    edited.write_text(json.dumps(schema))
    monkeypatch.setattr(contracts, "CONTRACTS_DIR", tmp_path / "contracts")
    contracts._load.cache_clear()
    try:
        with pytest.raises(contracts.EditedContract, match="never edited"):
            contracts.get_contract("receipt", 1)
    finally:
        contracts._load.cache_clear()


@pytest.mark.parametrize("message_type", contracts.MESSAGE_TYPES)
def test_each_contract_is_a_complete_2020_12_schema(message_type):
    schema = contracts.get_contract(message_type, 1)
    assert jsonschema_rs.meta.is_valid(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:mdm-hub:contract:{message_type}:v1"
    assert schema["title"] and schema["description"]
    assert schema["additionalProperties"] is False
    if "lines" in schema["properties"]:  # a forecast acceptance has none
        assert schema["properties"]["lines"]["items"]["additionalProperties"] is False
    assert f"Business date: {schema['x-business-date']}" in schema["description"]


@pytest.mark.parametrize("message_type", contracts.MESSAGE_TYPES)
def test_the_example_of_each_type_conforms_and_has_its_business_date(message_type):
    payload = EXAMPLES[message_type]
    assert contracts.contract_errors(message_type, 1, payload) == []
    expected = datetime.date.fromisoformat(BUSINESS_DATES[message_type])
    assert contracts.business_date(message_type, 1, payload) == expected


def test_it_reports_every_error_at_its_path_in_order():
    payload = example("forecast", version=0, bucket="fortnight", surprise=True)
    del payload["horizon"]["end"]
    payload["lines"] = [dict(payload["lines"][0]) for _ in range(12)]
    payload["lines"][2]["quantity"] = "12,5"
    payload["lines"][10]["quantity"] = True
    del payload["lines"][10]["unit"]
    payload["lines"][11]["period_start"] = "2026-02-30"

    errors = contracts.contract_errors("forecast", 1, payload)

    assert [error["path"] for error in errors] == [
        "$",
        "$.bucket",
        "$.horizon.end",
        "$.lines[2].quantity",
        "$.lines[10].quantity",
        "$.lines[10].unit",
        "$.lines[11].period_start",
        "$.version",
    ]
    messages = {error["path"]: error["message"] for error in errors}
    assert "'surprise' was unexpected" in messages["$"]
    assert messages["$.horizon.end"] == "Missing: this property is required."
    assert messages["$.lines[2].quantity"] == (
        '"12,5" is not a decimal number; write it like 12.5 or "12.5".'
    )
    assert messages["$.lines[11].period_start"] == (
        '"2026-02-30" is not a valid date; write it as YYYY-MM-DD.'
    )


@pytest.mark.parametrize("quantity", [12, 12.5, "12", "12.5", "-3", "0.000001"])
def test_a_quantity_is_a_number_or_a_decimal_string(quantity):
    payload = example("inventory_balance")
    payload["lines"][0]["quantity"] = quantity
    assert contracts.contract_errors("inventory_balance", 1, payload) == []


@pytest.mark.parametrize("quantity", ["12.", ".5", "1e3", "12 kg", "", None, [1]])
def test_anything_else_is_not_a_quantity(quantity):
    payload = example("inventory_balance")
    payload["lines"][0]["quantity"] = quantity
    errors = contracts.contract_errors("inventory_balance", 1, payload)
    assert [error["path"] for error in errors] == ["$.lines[0].quantity"]


@pytest.mark.parametrize("message_type", ["purchase_order", "po_acknowledgement"])
def test_v2_adds_what_the_sender_says_of_its_records_and_v1_stays_as_it_was(message_type):
    v1 = example(message_type)
    described = example(message_type, supplier_name="Kugelmann GmbH")
    described["lines"][0].update(
        description="Deep groove ball bearing 6204", mpn="6204-2RSH", gtin="4006381333931"
    )

    assert contracts.contract_errors(message_type, 1, v1) == []
    assert contracts.contract_errors(message_type, 2, v1) == []  # every field new is optional
    assert contracts.contract_errors(message_type, 2, described) == []
    assert [error["path"] for error in contracts.contract_errors(message_type, 1, described)] == [
        "$",
        "$.lines[0]",
    ]
    assert contracts.business_date(message_type, 2, described) == contracts.business_date(
        message_type, 1, v1
    )


def test_a_payload_that_is_not_an_object_is_one_error():
    assert contracts.contract_errors("receipt", 1, ["not", "an", "object"]) == [
        {"path": "$", "message": '["not","an","object"] is not of type "object"'}
    ]


def test_an_unknown_contract_is_refused():
    with pytest.raises(contracts.UnknownContract):
        contracts.contract_errors("forecast", 2, {})
    with pytest.raises(contracts.UnknownContract):
        contracts.get_contract("invoice", 1)


# --- the API -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_integration_client_lists_the_contracts(erp_api):
    response = erp_api.get("/api/v1/contracts/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["type"], row["version"]) for row in rows] == [
        ("forecast", 1),
        ("purchase_order", 1),
        ("purchase_order", 2),
        ("purchase_order", 3),
        ("po_acknowledgement", 1),
        ("po_acknowledgement", 2),
        ("ship_notice", 1),
        ("ship_notice", 2),
        ("ship_notice", 3),
        ("receipt", 1),
        ("inventory_balance", 1),
        ("forecast_acceptance", 1),
    ]
    assert rows[0]["title"] == "Forecast v1"
    assert rows[0]["url"] == "http://testserver/api/v1/contracts/forecast/1/"


@pytest.mark.django_db
@pytest.mark.parametrize("client", ["erp_api", "viewer_api", "steward_api"])
def test_every_role_reads_a_contract(request, client):
    api = request.getfixturevalue(client)
    response = api.get("/api/v1/contracts/ship_notice/1/")
    assert response.status_code == 200
    assert response.json() == contracts.get_contract("ship_notice", 1)


@pytest.mark.django_db
def test_an_unknown_contract_is_a_404_naming_the_published_ones(erp_api):
    response = erp_api.get("/api/v1/contracts/forecast/7/")
    assert response.status_code == 404
    assert "forecast v7" in response.json()["detail"]
    assert "Published: forecast v1" in response.json()["detail"]


@pytest.mark.django_db
def test_contracts_need_credentials(anonymous_api):
    assert anonymous_api.get("/api/v1/contracts/").status_code == 401
