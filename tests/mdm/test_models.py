"""Master-record validation as a data steward meets it: full_clean() says what is wrong in a
sentence, and the database still refuses the worst mistakes when clean() is bypassed."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from mdm.models import (
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

VALID_GTIN = "4006381333931"
VALID_GLN = "0614141000005"
VALID_LEI = "213800KUD8LAJWSQ9D15"


@pytest.fixture
def units(db):
    """Kilogram, piece, box, and a Rec 20 code marked deleted ("05", lift)."""
    return {
        unit.code: unit
        for unit in Unit.objects.bulk_create(
            [
                Unit(
                    code="KGM",
                    name="kilogram",
                    symbol="kg",
                    pint_expression="kilogram",
                    mapping_class=Unit.MappingClass.DIRECT,
                ),
                Unit(code="H87", name="piece", mapping_class=Unit.MappingClass.CUSTOM),
                Unit(
                    code="XBX",
                    name="box",
                    source=Unit.Source.REC21,
                    mapping_class=Unit.MappingClass.ITEM_SPECIFIC,
                ),
                Unit(code="05", name="lift", status=Unit.Status.DELETED),
            ]
        )
    }


@pytest.fixture
def bolt(units):
    return Item.objects.create(
        number="BOLT-M8",
        description="Hex bolt M8x40",
        base_unit=units["H87"],
        item_type=Item.Type.COMPONENT,
        gtin=VALID_GTIN,
    )


@pytest.fixture
def acme(db):
    return Supplier.objects.create(number="S-100", name="Acme Fasteners", country="DE")


def _errors(record):
    """The message dict full_clean() raises; fails the test when the record is valid."""
    with pytest.raises(ValidationError) as caught:
        record.full_clean()
    return caught.value.message_dict


def _item(units, **fields):
    values = {
        "number": "NUT-M8",
        "description": "Hex nut M8",
        "base_unit": units["H87"],
        "item_type": Item.Type.COMPONENT,
    }
    values.update(fields)
    return Item(**values)


# Items


@pytest.mark.django_db
def test_it_refuses_a_duplicate_item_number(bolt, units):
    errors = _errors(_item(units, number="BOLT-M8"))
    assert errors["number"] == ["Item with this Number already exists."]


@pytest.mark.django_db
def test_it_names_the_check_digit_of_a_wrong_gtin(units):
    errors = _errors(_item(units, gtin="4006381333932"))
    assert errors["gtin"] == ["GTIN check digit is wrong (expected 1)."]


@pytest.mark.django_db
def test_it_refuses_a_gtin_another_item_has(bolt, units):
    errors = _errors(_item(units, gtin=VALID_GTIN))
    assert "Another item already has this GTIN." in errors["gtin"]


@pytest.mark.django_db
def test_it_lets_many_items_go_without_a_gtin(units):
    for number in ("A-1", "A-2"):
        item = _item(units, number=number, gtin="")
        item.full_clean()
        item.save()
    assert Item.objects.filter(gtin="").count() == 2


@pytest.mark.django_db
def test_it_refuses_a_unit_deleted_from_rec20_as_base_unit(units):
    errors = _errors(_item(units, base_unit=units["05"]))
    assert errors["base_unit"] == [
        "Unit 05 (lift) was deleted from UN/ECE Rec 20 and may not be used."
    ]


@pytest.mark.django_db
def test_it_accepts_a_deprecated_unit(units):
    units["H87"].status = Unit.Status.DEPRECATED
    units["H87"].save()
    _item(units).full_clean()


@pytest.mark.django_db
def test_it_wants_a_weight_unit_with_a_net_weight(units):
    errors = _errors(_item(units, net_weight=Decimal("0.012")))
    assert errors["weight_unit"] == ["Net weight and weight unit go together."]
    errors = _errors(_item(units, weight_unit=units["KGM"]))
    assert errors["weight_unit"] == ["Net weight and weight unit go together."]


@pytest.mark.django_db
def test_it_accepts_a_net_weight_in_a_mass_unit(units):
    _item(units, net_weight=Decimal("0.012"), weight_unit=units["KGM"]).full_clean()


@pytest.mark.django_db
def test_it_refuses_a_negative_net_weight(units):
    errors = _errors(_item(units, net_weight=Decimal("-1"), weight_unit=units["KGM"]))
    assert errors["net_weight"] == ["Ensure this value is greater than or equal to 0."]


@pytest.mark.django_db
def test_it_keeps_weight_and_unit_together_in_the_database(units):
    with pytest.raises(IntegrityError), transaction.atomic():
        Item.objects.create(
            number="NUT-M8",
            description="Hex nut M8",
            base_unit=units["H87"],
            item_type=Item.Type.COMPONENT,
            net_weight=Decimal("0.012"),
        )


@pytest.mark.django_db
def test_it_refuses_a_duplicate_gtin_in_the_database(bolt, units):
    with pytest.raises(IntegrityError), transaction.atomic():
        Item.objects.create(
            number="NUT-M8",
            description="Hex nut M8",
            base_unit=units["H87"],
            item_type=Item.Type.COMPONENT,
            gtin=VALID_GTIN,
        )


# Public ids


@pytest.mark.django_db
def test_it_gives_new_items_sequential_public_ids(units):
    first = _item(units, number="A-1")
    first.save()
    second = _item(units, number="A-2")
    second.save()
    assert (first.public_id, second.public_id) == ("ITM-000001", "ITM-000002")


@pytest.mark.django_db
def test_it_keeps_a_public_id_when_a_record_is_saved_again(bolt):
    public_id = bolt.public_id
    bolt.description = "Hex bolt M8x40, zinc plated"
    bolt.save()
    bolt.refresh_from_db()
    assert bolt.public_id == public_id
    assert Item.objects.get(number="BOLT-M8").public_id == public_id


@pytest.mark.django_db
def test_it_never_reuses_the_public_id_of_a_deleted_record(units):
    _item(units, number="A-1").save()
    newest = _item(units, number="A-2")
    newest.save()
    assert newest.public_id == "ITM-000002"
    newest.delete()

    again = _item(units, number="A-2")
    again.save()
    assert again.public_id == "ITM-000003"


@pytest.mark.django_db
def test_it_numbers_each_kind_of_record_on_its_own(bolt, acme):
    calendar = Calendar.objects.create(code="PLANT-BY", name="Plant Bavaria")
    location = Location.objects.create(code="P100", name="Plant", kind="plant", country="DE")
    assert bolt.public_id == "ITM-000001"
    assert acme.public_id == "SUP-000001"
    assert calendar.public_id == "CAL-000001"
    assert location.public_id == "LOC-000001"


# Item revisions


def _revision(item, revision, start, end=None, status=ItemRevision.Status.RELEASED):
    return ItemRevision(
        item=item, revision=revision, effective_from=start, effective_to=end, status=status
    )


@pytest.mark.django_db
def test_it_refuses_a_revision_that_ends_before_it_starts(bolt):
    errors = _errors(_revision(bolt, "B", date(2026, 6, 1), date(2026, 5, 31)))
    assert errors["effective_to"] == ["A revision cannot end before it becomes effective."]

    with pytest.raises(IntegrityError), transaction.atomic():
        _revision(bolt, "B", date(2026, 6, 1), date(2026, 5, 31)).save()


@pytest.mark.django_db
def test_it_refuses_overlapping_released_revisions(bolt):
    _revision(bolt, "A", date(2026, 1, 1)).save()

    errors = _errors(_revision(bolt, "B", date(2026, 6, 1)))
    assert errors["__all__"] == [
        "Released revision A is effective over the same dates (2026-01-01 to open); end it first."
    ]


@pytest.mark.django_db
def test_it_accepts_a_revision_that_follows_the_previous_one(bolt):
    _revision(bolt, "A", date(2026, 1, 1), date(2026, 5, 31)).save()
    _revision(bolt, "B", date(2026, 6, 1)).full_clean()
    # An obsolete revision does not compete with a released one.
    _revision(bolt, "X", date(2026, 3, 1), status=ItemRevision.Status.OBSOLETE).full_clean()


@pytest.mark.django_db
def test_it_refuses_a_duplicate_revision_code(bolt):
    _revision(bolt, "A", date(2026, 1, 1), date(2026, 5, 31)).save()
    errors = _errors(_revision(bolt, "A", date(2027, 1, 1), status="obsolete"))
    assert "This item already has a revision with this code." in errors["__all__"]


# Suppliers


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("lei", "213800KUD8LXJWSQ9D15", "LEI check digits are wrong."),
        ("vat", "DE136695977", "VAT number check digits are wrong for DE."),
        ("duns", "15048378", "DUNS number must have 9 digits."),
        ("country", "XX", "'XX' is not an ISO 3166-1 alpha-2 country code."),
        ("country", "de", "'de' is not an ISO 3166-1 alpha-2 country code."),
    ],
)
def test_it_refuses_a_supplier_with_a_bad_identifier(field, value, message):
    supplier = Supplier(number="S-200", name="Bolt & Co", **{"country": "DE", field: value})
    assert _errors(supplier)[field] == [message]


@pytest.mark.django_db
def test_it_accepts_a_supplier_with_valid_identifiers():
    Supplier(
        number="S-200",
        name="Bolt & Co",
        country="DE",
        lei=VALID_LEI,
        vat="DE136695976",
        duns="150483782",
    ).full_clean()


@pytest.mark.django_db
def test_it_refuses_an_lei_another_supplier_has(acme):
    acme.lei = VALID_LEI
    acme.save()
    errors = _errors(Supplier(number="S-200", name="Bolt & Co", country="DE", lei=VALID_LEI))
    assert "Another supplier already has this LEI." in errors["lei"]


# Locations


@pytest.fixture
def plant(db):
    return Location.objects.create(code="P100", name="Plant", kind="plant", country="DE")


@pytest.mark.django_db
def test_it_refuses_a_location_with_a_wrong_gln():
    location = Location(code="W1", name="Warehouse", kind="warehouse", country="DE")
    location.gln = "0614141000006"
    assert _errors(location)["gln"] == ["GLN check digit is wrong (expected 5)."]


@pytest.mark.django_db
def test_it_refuses_a_gln_another_location_has(plant):
    plant.gln = VALID_GLN
    plant.save()
    location = Location(code="W1", name="Warehouse", kind="warehouse", country="DE", gln=VALID_GLN)
    assert "Another location already has this GLN." in _errors(location)["gln"]


@pytest.mark.django_db
def test_it_refuses_a_cycle_of_parent_locations(plant):
    hall = Location.objects.create(
        code="P100-H1", name="Hall 1", kind="warehouse", country="DE", parent=plant
    )
    plant.parent = hall
    assert _errors(plant)["parent"] == ["This parent would make a cycle of locations."]
    plant.parent = plant
    assert _errors(plant)["parent"] == ["This parent would make a cycle of locations."]


@pytest.mark.django_db
def test_it_refuses_a_location_as_its_own_parent_in_the_database(plant):
    with pytest.raises(IntegrityError), transaction.atomic():
        Location.objects.filter(pk=plant.pk).update(parent=plant)


@pytest.mark.django_db
def test_it_wants_a_supplier_site_for_a_supplier_site_location(acme, plant):
    location = Location(code="S-100-01", name="Acme", kind="supplier_site", country="DE")
    assert _errors(location)["supplier_site"] == [
        "A supplier-site location names its supplier site."
    ]

    site = SupplierSite.objects.create(supplier=acme, code="01", country="DE")
    location.supplier_site = site
    location.full_clean()
    plant.supplier_site = site
    assert _errors(plant)["supplier_site"] == ["Only supplier-site locations name a supplier site."]


@pytest.mark.django_db
def test_it_refuses_a_duplicate_site_code_for_one_supplier(acme):
    SupplierSite.objects.create(supplier=acme, code="01", country="DE")
    errors = _errors(SupplierSite(supplier=acme, code="01", country="DE"))
    assert "This supplier already has a site with this code." in errors["__all__"]


# Calendar exceptions


@pytest.fixture
def calendar(db):
    return Calendar.objects.create(code="PLANT-BY", name="Plant Bavaria")


@pytest.mark.django_db
def test_it_refuses_overlapping_calendar_exceptions(calendar):
    CalendarException.objects.create(
        calendar=calendar, start=date(2026, 8, 3), end=date(2026, 8, 14), reason="summer shutdown"
    )
    clash = CalendarException(
        calendar=calendar, start=date(2026, 8, 14), end=date(2026, 8, 17), reason="bridge day"
    )
    assert _errors(clash)["__all__"] == [
        "Overlaps the exception 2026-08-03..2026-08-14 (summer shutdown)."
    ]
    # The day after is free.
    clash.start = date(2026, 8, 15)
    clash.full_clean()


@pytest.mark.django_db
def test_it_refuses_a_calendar_exception_that_ends_before_it_starts(calendar):
    backwards = CalendarException(
        calendar=calendar, start=date(2026, 8, 14), end=date(2026, 8, 3), reason="typo"
    )
    assert _errors(backwards)["end"] == ["An exception cannot end before it starts."]
    with pytest.raises(IntegrityError), transaction.atomic():
        backwards.save()


# Item unit conversions


def _conversion(item, units, factor="12", **fields):
    values = {"item": item, "from_unit": units["XBX"], "to_unit": units["H87"]}
    values.update(fields)
    return ItemUnitConversion(factor=Decimal(factor), **values)


@pytest.mark.django_db
def test_it_refuses_a_conversion_factor_of_zero(bolt, units):
    errors = _errors(_conversion(bolt, units, factor="0"))
    assert "The factor must be greater than zero." in errors["__all__"]


@pytest.mark.django_db
def test_it_refuses_a_conversion_between_a_unit_and_itself(bolt, units):
    errors = _errors(_conversion(bolt, units, to_unit=units["XBX"]))
    assert "A conversion needs two different units." in errors["__all__"]


@pytest.mark.django_db
def test_it_refuses_a_conversion_with_a_deleted_unit(bolt, units):
    errors = _errors(_conversion(bolt, units, from_unit=units["05"]))
    assert errors["from_unit"] == [
        "Unit 05 (lift) was deleted from UN/ECE Rec 20 and may not be used."
    ]


@pytest.mark.django_db
def test_it_refuses_overlapping_conversions_for_the_same_units(bolt, units):
    _conversion(bolt, units, valid_from=date(2026, 1, 1)).save()

    errors = _errors(_conversion(bolt, units, factor="10", valid_from=date(2026, 6, 1)))
    assert len(errors["__all__"]) == 1
    assert errors["__all__"][0].startswith("A conversion 1 XBX = 12")
    assert errors["__all__"][0].endswith("H87 already applies to this item over overlapping dates.")


@pytest.mark.django_db
def test_it_accepts_conversions_that_do_not_overlap(bolt, units, acme):
    _conversion(bolt, units, valid_to=date(2026, 5, 31)).save()
    # A new pack size from June, and a supplier's own pack, live next to it.
    _conversion(bolt, units, factor="10", valid_from=date(2026, 6, 1)).full_clean()
    _conversion(bolt, units, factor="20", supplier=acme).full_clean()


@pytest.mark.django_db
def test_it_refuses_a_conversion_valid_to_before_valid_from(bolt, units):
    backwards = _conversion(bolt, units, valid_from=date(2026, 6, 1), valid_to=date(2026, 1, 1))
    assert _errors(backwards)["valid_to"] == ["A conversion cannot end before it starts."]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"factor": "0"},
        {"factor": "-12"},
        {"to_unit": "XBX"},
        {"valid_from": date(2026, 6, 1), "valid_to": date(2026, 1, 1)},
    ],
    ids=["zero factor", "negative factor", "same units", "dates reversed"],
)
def test_it_holds_conversion_rules_in_the_database(bolt, units, fields):
    values = {"item": bolt, "from_unit": units["XBX"], "to_unit": units["H87"], "factor": "12"}
    values.update(fields)
    if "to_unit" in fields:
        values["to_unit"] = units[fields["to_unit"]]
    with pytest.raises(IntegrityError), transaction.atomic():
        ItemUnitConversion.objects.create(**values)


# Source systems and code lists


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("domains", "message"),
    [
        (
            ["item", "bom"],
            "Unknown domain(s): bom. Known: item, supplier, location, unit, calendar, code.",
        ),
        (["item", "item"], "A domain is listed twice."),
        ("item", "Give a list of domain names."),
    ],
)
def test_it_refuses_unknown_authoritative_domains(domains, message):
    system = SourceSystem(code="ERP_CLOUD", name="Cloud ERP", kind="erp", authoritative_for=domains)
    assert _errors(system)["authoritative_for"] == [message]


@pytest.mark.django_db
def test_it_accepts_known_authoritative_domains():
    SourceSystem(
        code="ERP_CLOUD", name="Cloud ERP", kind="erp", authoritative_for=["item", "supplier"]
    ).full_clean()


@pytest.mark.django_db
def test_it_refuses_a_system_code_in_lower_case():
    errors = _errors(SourceSystem(code="erp_cloud", name="Cloud ERP", kind="erp"))
    assert errors["code"] == [
        "Use upper-case letters, digits and underscores, starting with a letter."
    ]


@pytest.mark.django_db
def test_it_refuses_a_duplicate_code_in_a_code_list():
    statuses = CodeList.objects.create(code="ACK_LINE_STATUS", name="Acknowledgement line status")
    CodeValue.objects.create(code_list=statuses, code="ACCEPTED", meaning="Accepted as ordered")
    errors = _errors(CodeValue(code_list=statuses, code="ACCEPTED", meaning="Again"))
    assert "This code already exists in the list." in errors["__all__"]


@pytest.mark.django_db
def test_it_reports_an_unknown_base_unit_as_a_validation_error():
    errors = _errors(Item(number="X-1", description="x", base_unit_id="ZZZ", item_type="component"))
    assert "base_unit" in errors


@pytest.mark.django_db
def test_it_prints_the_clashing_factor_as_a_steward_wrote_it(bolt, units):
    _conversion(bolt, units).save()
    errors = _errors(_conversion(bolt, units, factor="10"))
    assert errors["__all__"][0].startswith("A conversion 1 XBX = 12 H87 already applies")


@pytest.mark.django_db
def test_it_refuses_to_change_a_public_id(bolt):
    bolt.public_id = ""
    with pytest.raises(ValueError):
        bolt.save()
