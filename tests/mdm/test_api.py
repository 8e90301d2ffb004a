"""API v1 as an integration engineer meets it: who may read and write, records created and
changed through the model's own validation, nested records, filters, clear errors, and the
history every change leaves."""

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from rest_framework.test import APIClient

from mdm.filters import ItemFilterSet, LocationFilterSet, SupplierFilterSet
from mdm.models import (
    ApiClient,
    Calendar,
    CalendarException,
    CodeList,
    CodeValue,
    Item,
    ItemRevision,
    ItemUnitConversion,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
    Unit,
)
from mdm.services import create_api_client
from tests.problems import errors_by_field, problem_of

pytestmark = pytest.mark.django_db

VALID_GTIN = "4006381333931"
VALID_GLN = "4012345000009"
VALID_LEI = "5493001KJTIIGC8Y1R12"


@pytest.fixture
def units(db):
    """Piece, kilogram, gram, box, a deprecated and a deleted code; typed in by hand, so the
    units service maps them by code."""
    rows = [
        Unit(code="H87", name="piece"),
        Unit(code="KGM", name="kilogram", symbol="kg"),
        Unit(code="GRM", name="gram", symbol="g"),
        Unit(code="XBX", name="box", source=Unit.Source.REC21),
        Unit(code="LBR", name="pound", symbol="lb"),
        Unit(code="05", name="lift", status=Unit.Status.DELETED),
    ]
    return {unit.code: unit for unit in Unit.objects.bulk_create(rows)}


@pytest.fixture
def bolt(units):
    return Item.objects.create(
        number="BOLT-M8",
        description="Hex bolt M8x40",
        base_unit=units["H87"],
        item_type=Item.Type.COMPONENT,
        manufacturer="Bossard",
        mpn="BN-4711",
        gtin=VALID_GTIN,
    )


@pytest.fixture
def steel(units):
    return Item.objects.create(
        number="STEEL-S235",
        description="Steel sheet S235",
        base_unit=units["KGM"],
        item_type=Item.Type.RAW_MATERIAL,
        status=Item.Status.BLOCKED,
    )


@pytest.fixture
def acme(db):
    return Supplier.objects.create(
        number="S-100", name="Acme Fasteners", legal_name="Acme Fasteners GmbH", country="DE"
    )


@pytest.fixture
def globex(db):
    return Supplier.objects.create(
        number="S-200", name="Globex", country="US", duns="123456789", lei=VALID_LEI
    )


@pytest.fixture
def workdays(db):
    return Calendar.objects.create(code="MON-FRI", name="Monday to Friday")


@pytest.fixture
def plant(workdays):
    return Location.objects.create(
        code="PLANT-1",
        name="Plant Augsburg",
        kind=Location.Kind.PLANT,
        country="DE",
        gln=VALID_GLN,
        calendar=workdays,
    )


def item_payload(**changes):
    payload = {
        "number": "NUT-M8",
        "description": "Hex nut M8",
        "base_unit": "H87",
        "item_type": "component",
    }
    return {**payload, **changes}


# --- Access ----------------------------------------------------------------------------------


def test_it_refuses_anonymous_callers_with_a_bearer_challenge(anonymous_api):
    response = anonymous_api.get("/api/v1/items/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_it_refuses_an_unknown_key(erp_system):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer mdh_0000_notakey")
    assert api.get("/api/v1/items/").status_code == 401


def test_it_accepts_a_key_whose_secret_contains_underscores(erp_system, monkeypatch):
    # token_urlsafe() secrets contain "_" about half the time.
    monkeypatch.setattr(ApiClient, "new_key", lambda: ("0a1b2c3d", "mdh_0a1b2c3d_se_cr_et"))
    create_api_client("ERP_LEGACY", "underscored")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer mdh_0a1b2c3d_se_cr_et")
    assert api.get("/api/v1/items/").status_code == 200


def test_it_refuses_a_revoked_key(erp_api):
    ApiClient.objects.filter(name="erp-sync").update(is_active=False)
    response = erp_api.get("/api/v1/items/")
    assert response.status_code == 401
    assert response.json()["detail"] == "This API key has been revoked."


def test_it_lets_every_role_read(erp_api, steward_api, viewer_api, bolt):
    for api in (erp_api, steward_api, viewer_api):
        response = api.get("/api/v1/items/")
        assert response.status_code == 200
        assert response.json()["results"][0]["public_id"] == bolt.public_id


def test_it_refuses_writes_by_a_viewer_and_an_integration_client(viewer_api, erp_api, units):
    for api in (viewer_api, erp_api):
        response = api.post("/api/v1/items/", item_payload(), format="json")
        assert response.status_code == 403
    assert not Item.objects.exists()


def test_it_refuses_a_delete_by_an_integration_client(erp_api, bolt):
    assert erp_api.delete(f"/api/v1/items/{bolt.public_id}/").status_code == 403
    assert Item.objects.filter(pk=bolt.pk).exists()


def test_it_lets_a_steward_session_write(steward, units):
    api = APIClient()
    api.force_login(steward)
    response = api.post("/api/v1/items/", item_payload(), format="json")
    assert response.status_code == 201, response.json()


# --- Items -------------------------------------------------------------------------------------


def test_it_creates_reads_updates_and_deletes_an_item(steward_api, units):
    response = steward_api.post(
        "/api/v1/items/",
        item_payload(net_weight="0.0052", weight_unit="KGM", gtin="5901234123457"),
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["public_id"].startswith("ITM-")
    assert created["base_unit"] == "H87"
    assert created["weight_unit"] == "KGM"
    url = f"/api/v1/items/{created['public_id']}/"

    assert steward_api.get(url).json()["description"] == "Hex nut M8"

    response = steward_api.patch(url, {"description": "Hex nut M8, zinc plated"}, format="json")
    assert response.status_code == 200, response.json()
    assert Item.objects.get(public_id=created["public_id"]).description == (
        "Hex nut M8, zinc plated"
    )

    replacement = item_payload(status="blocked", gtin="", net_weight=None, weight_unit=None)
    response = steward_api.put(url, replacement, format="json")
    assert response.status_code == 200, response.json()
    item = Item.objects.get(public_id=created["public_id"])
    assert (item.status, item.gtin, item.weight_unit) == ("blocked", "", None)

    assert steward_api.delete(url).status_code == 204
    assert steward_api.get(url).status_code == 404


def test_it_keeps_the_public_id_and_timestamps_read_only(steward_api, bolt):
    response = steward_api.patch(
        f"/api/v1/items/{bolt.public_id}/",
        {"public_id": "ITM-999999", "created_at": "2000-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 200
    bolt.refresh_from_db()
    assert bolt.public_id != "ITM-999999"
    assert bolt.created_at.year != 2000


def test_it_explains_a_wrong_gtin_check_digit(steward_api, units):
    response = steward_api.post("/api/v1/items/", item_payload(gtin="4006381333932"), format="json")
    assert response.status_code == 400
    assert errors_by_field(response) == {"gtin": ["GTIN check digit is wrong (expected 1)."]}


def test_it_names_an_unknown_base_unit_code(steward_api, units):
    response = steward_api.post("/api/v1/items/", item_payload(base_unit="ZZZ"), format="json")
    assert response.status_code == 400
    assert errors_by_field(response) == {"base_unit": ["No unit with code 'ZZZ'."]}


def test_it_accepts_a_unit_code_in_lower_case(steward_api, units):
    response = steward_api.post("/api/v1/items/", item_payload(base_unit="h87"), format="json")
    assert response.status_code == 201
    assert response.json()["base_unit"] == "H87"


def test_it_gives_the_models_message_for_a_deleted_unit(steward_api, units):
    response = steward_api.post("/api/v1/items/", item_payload(base_unit="05"), format="json")
    assert response.status_code == 400
    assert errors_by_field(response) == {
        "base_unit": ["Unit 05 (lift) was deleted from UN/ECE Rec 20 and may not be used."]
    }


def test_it_refuses_a_weight_without_its_unit(steward_api, units):
    response = steward_api.post("/api/v1/items/", item_payload(net_weight="1.5"), format="json")
    assert response.status_code == 400
    assert errors_by_field(response) == {"weight_unit": ["Net weight and weight unit go together."]}


def test_it_refuses_duplicates_with_the_models_message(steward_api, bolt):
    response = steward_api.post("/api/v1/items/", item_payload(number="BOLT-M8"), format="json")
    assert response.status_code == 400
    assert errors_by_field(response) == {"number": ["Item with this Number already exists."]}

    response = steward_api.post("/api/v1/items/", item_payload(gtin=VALID_GTIN), format="json")
    assert response.status_code == 400
    assert errors_by_field(response) == {"gtin": ["Another item already has this GTIN."]}


def test_it_lets_an_item_keep_its_own_number_and_gtin(steward_api, bolt):
    response = steward_api.put(
        f"/api/v1/items/{bolt.public_id}/",
        item_payload(number="BOLT-M8", gtin=VALID_GTIN, description="Hex bolt M8x45"),
        format="json",
    )
    assert response.status_code == 200, response.json()


def test_it_reports_a_database_conflict_as_409(steward_api, units, monkeypatch):
    def refuse(*args, **kwargs):
        raise IntegrityError("UNIQUE constraint failed: mdm_item.number")

    monkeypatch.setattr(Item, "save", refuse)
    response = steward_api.post("/api/v1/items/", item_payload(), format="json")
    # The database's words name its tables: the answer says what to do instead.
    detail = problem_of(response, 409)["detail"]
    assert detail.startswith("The change conflicts with data already stored.")
    assert "mdm_item" not in detail


# --- Revisions and conversions -----------------------------------------------------------------


def test_it_manages_an_items_revisions_by_code(steward_api, bolt):
    base = f"/api/v1/items/{bolt.public_id}/revisions/"
    response = steward_api.post(
        base,
        {"revision": "A", "effective_from": "2025-01-01", "effective_to": "2025-06-30"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["item"] == bolt.public_id
    response = steward_api.post(
        base, {"revision": "B", "effective_from": "2025-07-01"}, format="json"
    )
    assert response.status_code == 201, response.json()

    assert [r["revision"] for r in steward_api.get(base).json()["results"]] == ["A", "B"]
    assert steward_api.get(f"{base}B/").json()["effective_to"] is None

    response = steward_api.patch(f"{base}A/", {"status": "obsolete"}, format="json")
    assert response.status_code == 200
    assert ItemRevision.objects.get(item=bolt, revision="A").status == "obsolete"

    assert steward_api.delete(f"{base}A/").status_code == 204
    assert list(bolt.revisions.values_list("revision", flat=True)) == ["B"]


def test_it_refuses_an_overlapping_or_duplicate_revision(steward_api, bolt):
    ItemRevision.objects.create(item=bolt, revision="A", effective_from=dt.date(2025, 1, 1))
    base = f"/api/v1/items/{bolt.public_id}/revisions/"

    response = steward_api.post(
        base, {"revision": "B", "effective_from": "2025-03-01"}, format="json"
    )
    assert response.status_code == 400
    [message] = errors_by_field(response)[""]
    assert message.startswith("Released revision A is effective over the same dates")

    response = steward_api.post(
        base, {"revision": "A", "effective_from": "2026-01-01", "status": "obsolete"}, format="json"
    )
    assert response.status_code == 400
    assert errors_by_field(response) == {"": ["This item already has a revision with this code."]}


def test_it_gives_404_for_revisions_of_an_unknown_item(steward_api, bolt):
    assert steward_api.get("/api/v1/items/ITM-999999/revisions/").status_code == 404
    response = steward_api.post(
        "/api/v1/items/ITM-999999/revisions/",
        {"revision": "A", "effective_from": "2025-01-01"},
        format="json",
    )
    assert response.status_code == 404


def test_it_manages_an_items_pack_conversions(steward_api, bolt, acme, units):
    base = f"/api/v1/items/{bolt.public_id}/conversions/"
    response = steward_api.post(
        base,
        {"from_unit": "XBX", "to_unit": "H87", "factor": "12", "supplier": "S-100"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["item"], created["supplier"]) == (bolt.public_id, acme.public_id)

    detail = f"{base}{created['id']}/"
    assert steward_api.patch(detail, {"factor": "10"}, format="json").status_code == 200
    assert ItemUnitConversion.objects.get().factor == Decimal("10")
    assert steward_api.get(base).json()["count"] == 1


def test_it_refuses_a_bad_conversion_with_the_models_messages(steward_api, bolt, units):
    base = f"/api/v1/items/{bolt.public_id}/conversions/"
    response = steward_api.post(
        base, {"from_unit": "XBX", "to_unit": "H87", "factor": "0"}, format="json"
    )
    assert response.status_code == 400
    assert errors_by_field(response) == {"": ["The factor must be greater than zero."]}

    response = steward_api.post(
        base,
        {"from_unit": "XBX", "to_unit": "H87", "factor": "12", "supplier": "S-999"},
        format="json",
    )
    assert response.status_code == 400
    assert errors_by_field(response) == {
        "supplier": ["No supplier with public id or number 'S-999'."]
    }


# --- Suppliers and sites -----------------------------------------------------------------------


def test_it_creates_reads_updates_and_deletes_a_supplier(steward_api):
    response = steward_api.post(
        "/api/v1/suppliers/",
        {"number": "S-300", "name": "Initech", "country": "FR", "lei": VALID_LEI},
        format="json",
    )
    assert response.status_code == 201, response.json()
    url = f"/api/v1/suppliers/{response.json()['public_id']}/"
    assert response.json()["public_id"].startswith("SUP-")

    assert steward_api.patch(url, {"status": "blocked"}, format="json").status_code == 200
    assert steward_api.get(url).json()["status"] == "blocked"
    assert steward_api.delete(url).status_code == 204
    assert not Supplier.objects.exists()


def test_it_explains_bad_supplier_identifiers(steward_api, globex):
    response = steward_api.post(
        "/api/v1/suppliers/",
        {"number": "S-301", "name": "Bad ids", "country": "XX", "lei": "5493001KJTIIGC8Y1R13"},
        format="json",
    )
    assert response.status_code == 400
    assert errors_by_field(response) == {
        "country": ["'XX' is not an ISO 3166-1 alpha-2 country code."],
    }

    response = steward_api.post(
        "/api/v1/suppliers/",
        {"number": "S-301", "name": "Bad ids", "country": "DE", "lei": "5493001KJTIIGC8Y1R13"},
        format="json",
    )
    assert errors_by_field(response) == {"lei": ["LEI check digits are wrong."]}

    response = steward_api.post(
        "/api/v1/suppliers/",
        {"number": "S-301", "name": "Copy", "country": "DE", "duns": "123456789"},
        format="json",
    )
    assert response.status_code == 400
    assert errors_by_field(response) == {"duns": ["Another supplier already has this DUNS number."]}


def test_it_manages_a_suppliers_sites_by_code(steward_api, acme, workdays):
    base = f"/api/v1/suppliers/{acme.public_id}/sites/"
    response = steward_api.post(
        base,
        {"code": "HAMBURG", "country": "DE", "city": "Hamburg", "calendar": workdays.public_id},
        format="json",
    )
    assert response.status_code == 201, response.json()
    site = response.json()
    assert site["public_id"].startswith("SST-")
    assert (site["supplier"], site["calendar"]) == (acme.public_id, workdays.public_id)

    assert steward_api.get(f"{base}HAMBURG/").json()["city"] == "Hamburg"
    response = steward_api.patch(f"{base}HAMBURG/", {"calendar": None}, format="json")
    assert response.status_code == 200
    assert SupplierSite.objects.get().calendar is None

    response = steward_api.post(base, {"code": "HAMBURG", "country": "DE"}, format="json")
    assert response.status_code == 400
    assert errors_by_field(response) == {"": ["This supplier already has a site with this code."]}

    response = steward_api.post(
        base, {"code": "BREMEN", "country": "DE", "calendar": "CAL-999999"}, format="json"
    )
    assert errors_by_field(response) == {"calendar": ["No calendar with public id 'CAL-999999'."]}


def test_it_keeps_sites_under_their_own_supplier(steward_api, acme, globex):
    SupplierSite.objects.create(supplier=acme, code="MAIN", country="DE")
    assert steward_api.get(f"/api/v1/suppliers/{globex.public_id}/sites/MAIN/").status_code == 404
    response = steward_api.post(
        f"/api/v1/suppliers/{globex.public_id}/sites/", {"code": "MAIN", "country": "US"}
    )
    assert response.status_code == 201


# --- Locations, calendars, code lists, systems, units ------------------------------------------


def test_it_links_locations_by_public_id(steward_api, plant, acme):
    site = SupplierSite.objects.create(supplier=acme, code="MAIN", country="DE")
    response = steward_api.post(
        "/api/v1/locations/",
        {
            "code": "WH-1",
            "name": "Warehouse 1",
            "kind": "warehouse",
            "country": "DE",
            "parent": plant.public_id,
            "calendar": plant.calendar.public_id,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["parent"] == plant.public_id

    response = steward_api.post(
        "/api/v1/locations/",
        {"code": "ACME-MAIN", "name": "Acme main", "kind": "supplier_site", "country": "DE"},
        format="json",
    )
    assert errors_by_field(response) == {
        "supplier_site": ["A supplier-site location names its supplier site."]
    }
    response = steward_api.post(
        "/api/v1/locations/",
        {
            "code": "ACME-MAIN",
            "name": "Acme main",
            "kind": "supplier_site",
            "country": "DE",
            "supplier_site": site.public_id,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()


def test_it_refuses_a_location_cycle(steward_api, plant):
    hall = Location.objects.create(
        code="HALL-1", name="Hall", kind="warehouse", country="DE", parent=plant
    )
    response = steward_api.patch(
        f"/api/v1/locations/{plant.public_id}/", {"parent": hall.public_id}, format="json"
    )
    assert response.status_code == 400
    assert errors_by_field(response) == {"parent": ["This parent would make a cycle of locations."]}


def test_it_refuses_to_delete_a_calendar_still_in_use_with_409(steward_api, plant, workdays):
    response = steward_api.delete(f"/api/v1/calendars/{workdays.public_id}/")
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail.startswith("This record cannot be deleted: it is still referenced by 1 location")
    assert plant.public_id in detail
    assert Calendar.objects.filter(pk=workdays.pk).exists()


def test_it_refuses_to_delete_a_parent_location_with_409(steward_api, plant):
    Location.objects.create(
        code="HALL-1", name="Hall", kind="warehouse", country="DE", parent=plant
    )
    response = steward_api.delete(f"/api/v1/locations/{plant.public_id}/")
    assert response.status_code == 409
    assert "HALL-1" in response.json()["detail"]


def test_it_refuses_to_delete_a_system_with_api_clients_with_409(steward_api):
    response = steward_api.delete("/api/v1/systems/ERP_LEGACY/")
    assert response.status_code == 409
    assert "erp-steward (ERP_LEGACY)" in response.json()["detail"]


def test_it_shows_a_calendars_exceptions_and_adds_new_ones(steward_api, workdays):
    CalendarException.objects.create(
        calendar=workdays, start=dt.date(2025, 12, 24), end=dt.date(2025, 12, 31), reason="Xmas"
    )
    calendar = steward_api.get(f"/api/v1/calendars/{workdays.public_id}/").json()
    assert [e["reason"] for e in calendar["exceptions"]] == ["Xmas"]

    base = f"/api/v1/calendars/{workdays.public_id}/exceptions/"
    response = steward_api.post(
        base,
        {"start": "2025-08-09", "end": "2025-08-09", "is_working": True, "reason": "Stocktake"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert steward_api.get(base).json()["count"] == 2

    response = steward_api.post(
        base, {"start": "2025-12-30", "end": "2026-01-02", "reason": "Overlap"}, format="json"
    )
    assert response.status_code == 400
    assert errors_by_field(response)[""][0].startswith("Overlaps the exception 2025-12-24")


def test_it_refuses_a_calendar_without_working_days(steward_api):
    response = steward_api.post(
        "/api/v1/calendars/",
        {"code": "NEVER", "name": "Never", "working_weekdays": "0000000"},
        format="json",
    )
    assert response.status_code == 400
    assert errors_by_field(response) == {
        "working_weekdays": ["A calendar needs at least one working weekday."]
    }


def test_it_manages_code_lists_and_their_values_by_code(steward_api):
    response = steward_api.post(
        "/api/v1/code-lists/", {"code": "ACK.LINE", "name": "Ack line status"}, format="json"
    )
    assert response.status_code == 201, response.json()
    base = "/api/v1/code-lists/ACK.LINE/values/"
    response = steward_api.post(base, {"code": "ACCEPTED", "meaning": "Accepted"}, format="json")
    assert response.status_code == 201, response.json()
    response = steward_api.post(base, {"code": "ACCEPTED", "meaning": "Again"}, format="json")
    assert errors_by_field(response) == {"": ["This code already exists in the list."]}

    code_list = steward_api.get("/api/v1/code-lists/ACK.LINE/").json()
    assert [v["code"] for v in code_list["values"]] == ["ACCEPTED"]
    assert steward_api.delete(f"{base}ACCEPTED/").status_code == 204
    assert not CodeValue.objects.exists()
    assert CodeList.objects.get().code == "ACK.LINE"


def test_it_manages_source_systems_by_code(steward_api):
    response = steward_api.post(
        "/api/v1/systems/",
        {"code": "PLANNING", "name": "APS", "kind": "planning", "authoritative_for": ["item"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert steward_api.get("/api/v1/systems/PLANNING/").json()["authoritative_for"] == ["item"]

    response = steward_api.patch(
        "/api/v1/systems/PLANNING/", {"authoritative_for": ["item", "item"]}, format="json"
    )
    assert errors_by_field(response) == {"authoritative_for": ["A domain is listed twice."]}

    response = steward_api.post(
        "/api/v1/systems/", {"code": "erp", "name": "x", "kind": "erp"}, format="json"
    )
    assert response.status_code == 400
    assert list(errors_by_field(response)) == ["code"]


def test_it_serves_units_read_only(steward_api, units):
    assert steward_api.get("/api/v1/units/KGM/").json()["name"] == "kilogram"
    assert steward_api.post("/api/v1/units/", {"code": "ZZZ", "name": "x"}).status_code == 405
    assert steward_api.delete("/api/v1/units/KGM/").status_code == 405
    found = steward_api.get("/api/v1/units/", {"q": "kilo"}).json()["results"]
    assert [unit["code"] for unit in found] == ["KGM"]


# --- Filters and pagination --------------------------------------------------------------------


def test_item_filters_search_number_description_mpn_gtin_and_manufacturer(bolt, steel):
    def found(**params):
        return {item.number for item in ItemFilterSet(params, Item.objects.all()).qs}

    assert found(q="bolt") == {"BOLT-M8"}
    assert found(q="sheet") == {"STEEL-S235"}
    assert found(q="bn-47") == {"BOLT-M8"}
    assert found(q="4006381") == {"BOLT-M8"}
    assert found(q="bossard") == {"BOLT-M8"}
    assert found(status="blocked") == {"STEEL-S235"}
    assert found(item_type="component") == {"BOLT-M8"}
    assert found() == {"BOLT-M8", "STEEL-S235"}


def test_supplier_filters_search_names_and_identifiers(acme, globex):
    def found(**params):
        return {s.number for s in SupplierFilterSet(params, Supplier.objects.all()).qs}

    assert found(country="de") == {"S-100"}
    assert found(q="gmbh") == {"S-100"}
    assert found(q="12345678") == {"S-200"}
    assert found(q=VALID_LEI[:8]) == {"S-200"}
    assert found(status="active") == {"S-100", "S-200"}


def test_location_filters_kind_country_and_gln(plant):
    Location.objects.create(code="DC-US", name="Dallas DC", kind="dc", country="US")

    def found(**params):
        return {loc.code for loc in LocationFilterSet(params, Location.objects.all()).qs}

    assert found(kind="plant") == {"PLANT-1"}
    assert found(country="US") == {"DC-US"}
    assert found(q=VALID_GLN) == {"PLANT-1"}
    assert found(q="dallas") == {"DC-US"}


def test_updated_since_keeps_records_changed_at_or_after_it(bolt, steel):
    Item.objects.filter(pk=steel.pk).update(updated_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    filterset = ItemFilterSet({"updated_since": "2024-06-01T00:00:00Z"}, Item.objects.all())
    assert list(filterset.qs) == [bolt]
    filterset = ItemFilterSet({"updated_since": "2024-01-01"}, Item.objects.all())
    assert set(filterset.qs) == {bolt, steel}

    filterset = ItemFilterSet({"updated_since": "yesterday"}, Item.objects.all())
    assert not filterset.is_valid()
    assert "ISO 8601" in filterset.errors["updated_since"][0]


def test_it_filters_lists_over_http(erp_api, bolt, steel, acme, globex, plant):
    Item.objects.filter(pk=steel.pk).update(updated_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))

    def numbers(url, **params):
        response = erp_api.get(url, params)
        assert response.status_code == 200, response.json()
        return [row.get("number") or row.get("code") for row in response.json()["results"]]

    assert numbers("/api/v1/items/", status="blocked") == ["STEEL-S235"]
    assert numbers("/api/v1/items/", q="bossard") == ["BOLT-M8"]
    assert numbers("/api/v1/items/", updated_since="2024-06-01T00:00:00+00:00") == ["BOLT-M8"]
    assert numbers("/api/v1/suppliers/", country="US") == ["S-200"]
    assert numbers("/api/v1/locations/", kind="plant") == ["PLANT-1"]
    assert numbers("/api/v1/locations/", kind="dc") == []
    assert numbers("/api/v1/systems/", kind="erp") == ["ERP_LEGACY"]


def test_it_explains_bad_filter_values(erp_api, bolt):
    response = erp_api.get("/api/v1/items/", {"updated_since": "last week"})
    assert response.status_code == 400
    assert errors_by_field(response) == {
        "updated_since": ["Give an ISO 8601 date-time, e.g. 2025-01-31T08:00:00Z or 2025-01-31."]
    }
    response = erp_api.get("/api/v1/items/", {"status": "gone"})
    assert response.status_code == 400
    assert list(errors_by_field(response)) == ["status"]


def test_it_pages_lists(erp_api, units):
    Item.objects.bulk_create(
        Item(
            number=f"P-{n:02d}",
            public_id=f"ITM-9000{n:02d}",
            description="Part",
            base_unit=units["H87"],
            item_type="component",
        )
        for n in range(5)
    )
    page = erp_api.get("/api/v1/items/", {"page_size": 2}).json()
    assert page["count"] == 5
    assert [row["number"] for row in page["results"]] == ["P-00", "P-01"]
    last = erp_api.get("/api/v1/items/", {"page_size": 2, "page": 3}).json()
    assert [row["number"] for row in last["results"]] == ["P-04"]
    assert last["next"] is None
    assert erp_api.get("/api/v1/items/", {"page": 9}).status_code == 404


# --- History ---------------------------------------------------------------------------------


def test_an_api_change_is_recorded_with_its_source_and_client(steward_api, bolt):
    response = steward_api.patch(
        f"/api/v1/items/{bolt.public_id}/", {"description": "Changed by ERP"}, format="json"
    )
    assert response.status_code == 200
    change = bolt.history.latest()
    assert change.history_type == "~"
    assert change.change_source == "api"
    assert change.history_user.username == "api:erp-steward"
    assert change.history_user == ApiClient.objects.get(name="erp-steward").user


def test_an_api_change_can_be_reverted_from_history(steward_api, bolt):
    steward_api.patch(
        f"/api/v1/items/{bolt.public_id}/",
        {"description": "Wrong", "status": "blocked"},
        format="json",
    )
    bolt.refresh_from_db()
    assert (bolt.description, bolt.status) == ("Wrong", "blocked")

    bolt.history.earliest().instance.save()

    bolt.refresh_from_db()
    assert (bolt.description, bolt.status) == ("Hex bolt M8x40", "active")


def test_an_api_create_and_delete_are_recorded(steward_api, units):
    response = steward_api.post("/api/v1/items/", item_payload(), format="json")
    public_id = response.json()["public_id"]
    steward_api.delete(f"/api/v1/items/{public_id}/")
    records = Item.history.filter(public_id=public_id).order_by("history_id")
    assert [(r.history_type, r.change_source) for r in records] == [("+", "api"), ("-", "api")]


# --- Helpers: unit conversion and working days ---------------------------------------------------


def test_it_converts_global_and_pack_units(erp_api, bolt, units):
    ItemUnitConversion.objects.create(
        item=bolt, from_unit=units["XBX"], to_unit=units["H87"], factor=12
    )
    response = erp_api.get(
        "/api/v1/units/convert/", {"quantity": "2", "from": "XBX", "to": "H87", "item": "BOLT-M8"}
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "quantity": "2",
        "from": "XBX",
        "to": "H87",
        "result": "24",
        "warnings": [],
    }

    response = erp_api.get("/api/v1/units/convert/", {"quantity": "10", "from": "LBR", "to": "KGM"})
    assert response.json()["result"] == "4.5359237"
    response = erp_api.get(
        "/api/v1/units/convert/", {"quantity": "1.5", "from": "kgm", "to": "GRM"}
    )
    assert response.json()["result"] == "1500"


def test_it_passes_on_deprecation_warnings(erp_api, units):
    Unit.objects.filter(code="LBR").update(status=Unit.Status.DEPRECATED)
    response = erp_api.get("/api/v1/units/convert/", {"quantity": "1", "from": "LBR", "to": "GRM"})
    assert response.status_code == 200
    [warning] = response.json()["warnings"]
    assert "LBR" in warning


def test_it_explains_an_impossible_conversion(erp_api, units):
    response = erp_api.get("/api/v1/units/convert/", {"quantity": "1", "from": "KGM", "to": "H87"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Cannot convert KGM (kilogram) to H87 (piece)")


def test_it_names_the_bad_conversion_parameter(erp_api, units):
    response = erp_api.get("/api/v1/units/convert/", {"from": "KGM", "to": "GRM"})
    assert response.status_code == 400
    assert errors_by_field(response) == {"quantity": ["This field is required."]}

    response = erp_api.get(
        "/api/v1/units/convert/", {"quantity": "lots", "from": "KGM", "to": "ZZZ", "date": "soon"}
    )
    assert response.status_code == 400
    assert set(errors_by_field(response)) == {"quantity", "to", "date"}
    assert errors_by_field(response)["to"] == ["No unit with code 'ZZZ'."]

    response = erp_api.get(
        "/api/v1/units/convert/", {"quantity": "1", "from": "XBX", "to": "H87", "item": "NOPE"}
    )
    assert errors_by_field(response) == {"item": ["No item with public id or number 'NOPE'."]}


@pytest.mark.parametrize("quantity", ["1e999999999", "1e-999999999", "1e1000000", "1e100000"])
def test_it_refuses_a_quantity_beyond_the_bound_at_once(erp_api, units, quantity):
    """The review's reproduction: each of these held a worker (until it was killed, for 31 s,
    or to write a 200 KB answer)."""
    started = time.monotonic()
    response = erp_api.get(
        "/api/v1/units/convert/", {"quantity": quantity, "from": "KGM", "to": "GRM"}
    )
    assert time.monotonic() - started < 1
    assert response.status_code == 400
    [message] = errors_by_field(response)["quantity"]
    assert message.endswith(
        "give at most 18 digits before the decimal point and 12 after it "
        "(an exponent from -12 to +17)."
    ), message


def test_it_adds_and_counts_working_days(erp_api, workdays):
    url = f"/api/v1/calendars/{workdays.public_id}/"
    response = erp_api.get(f"{url}add-working-days/", {"date": "2025-01-03", "days": "1"})
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "calendar": workdays.public_id,
        "date": "2025-01-03",
        "days": 1,
        "result": "2025-01-06",
    }
    response = erp_api.get(f"{url}working-days/", {"from": "2025-01-06", "to": "2025-01-13"})
    assert response.status_code == 200, response.json()
    assert response.json()["working_days"] == 5


def test_it_names_the_bad_working_day_parameter(erp_api, workdays):
    url = f"/api/v1/calendars/{workdays.public_id}/"
    response = erp_api.get(f"{url}add-working-days/", {"date": "03.01.2025"})
    assert response.status_code == 400
    assert set(errors_by_field(response)) == {"date", "days"}

    response = erp_api.get(f"{url}working-days/", {"to": "2025-01-13"})
    assert errors_by_field(response) == {"from": ["This field is required."]}

    response = erp_api.get(
        "/api/v1/calendars/CAL-999999/working-days/", {"from": "2025-01-06", "to": "2025-01-13"}
    )
    assert response.status_code == 404


def test_it_explains_a_calendar_that_never_works(erp_api, workdays, monkeypatch):
    from mdm import calendars

    def never(calendar, day, n):
        raise ValueError("Calendar MON-FRI has no working day in the 1098 days after 2025-01-03.")

    monkeypatch.setattr(calendars, "add_working_days", never)
    response = erp_api.get(
        f"/api/v1/calendars/{workdays.public_id}/add-working-days/",
        {"date": "2025-01-03", "days": "1"},
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Calendar MON-FRI has no working day")


# --- Command ---------------------------------------------------------------------------------


def test_the_command_prints_a_new_key_once(erp_system, capsys):
    call_command("create_api_client", "--system", "ERP_LEGACY", "--name", "erp-nightly")
    output = capsys.readouterr().out
    assert output.startswith("API key for erp-nightly (ERP_LEGACY, integration): mdh_")
    assert output.rstrip().endswith("— store it now, it is not shown again.")
    key = output.split(": ", 1)[1].split(" ")[0]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/items/").status_code == 200


def test_the_command_explains_bad_input(erp_system):
    with pytest.raises(CommandError, match="No source system 'NOPE'"):
        call_command("create_api_client", "--system", "NOPE", "--name", "x")
    with pytest.raises(CommandError, match="Unknown role 'admin'"):
        call_command(
            "create_api_client", "--system", "ERP_LEGACY", "--name", "x", "--role", "admin"
        )
    call_command("create_api_client", "--system", "ERP_LEGACY", "--name", "x")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_api_client", "--system", "ERP_LEGACY", "--name", "x")
    assert SourceSystem.objects.get().api_clients.count() == 1
