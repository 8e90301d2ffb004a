"""Units of measure: the Rec 20 / Rec 21 load and conversions.

Most tests load only the units they use (`load_units(codes=...)`), from the real reference
files; a few load everything.
"""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from mdm.models import Item, ItemUnitConversion, Supplier, Unit
from mdm.units import (
    Conversion,
    ConversionError,
    are_compatible,
    convert,
    convert_detailed,
    is_mass,
    load_units,
    registry,
)

pytestmark = pytest.mark.django_db


def units(*codes):
    load_units(codes=codes)
    return {unit.code: unit for unit in Unit.objects.filter(code__in=codes)}


def make_item(number="BOLT-M8", base_unit="H87", **fields):
    return Item.objects.create(
        number=number,
        description="Hex bolt M8x40",
        base_unit_id=base_unit,
        item_type=Item.Type.COMPONENT,
        **fields,
    )


def make_supplier(number="S-100", name="Fastenal"):
    return Supplier.objects.create(number=number, name=name, country="DE")


def pack(item, from_unit, factor, to_unit, **fields):
    return ItemUnitConversion.objects.create(
        item=item, from_unit_id=from_unit, to_unit_id=to_unit, factor=Decimal(factor), **fields
    )


# --- Loading -------------------------------------------------------------------------------


def test_it_loads_every_rec20_and_rec21_code():
    out = StringIO()
    call_command("load_units", stdout=out)

    rec20 = Unit.objects.filter(source=Unit.Source.REC20)
    rec21 = Unit.objects.filter(source=Unit.Source.REC21)
    assert rec20.count() == 2136
    assert rec20.filter(status=Unit.Status.DELETED).count() == 309
    assert rec20.filter(status=Unit.Status.DEPRECATED).count() == 71
    assert rec21.count() == 406
    assert not rec21.exclude(code__startswith="X").exists()
    assert "2542 created, 0 updated, 0 unchanged" in out.getvalue()

    box = Unit.objects.get(code="XBX")
    assert (box.name, box.status, box.mapping_class) == ("Box", "active", "item_specific")
    assert Unit.objects.get(code="BX").status == Unit.Status.DELETED  # old Rec 20 package code
    kilotonne = Unit.objects.get(code="KTN")
    assert (kilotonne.name, kilotonne.symbol, kilotonne.pint_expression) == (
        "kilotonne",
        "kt",
        "kilometric_ton",
    )
    assert Unit.objects.get(code="LBR").conversion_factor == "0,453 592 37 kg"
    assert Unit.objects.get(code="KGM").level_category == "1"
    assert Unit.objects.get(code="H87").pint_expression == "piece"
    assert Unit.objects.get(code="C62").pint_expression == "piece"


def test_it_changes_nothing_on_a_second_load():
    first = load_units()
    history = Unit.history.count()

    second = load_units()

    assert (first.created, first.updated, first.unchanged) == (2542, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2542)
    assert Unit.objects.count() == 2542
    assert Unit.history.count() == history


def test_it_restores_an_edited_unit_and_records_the_change():
    units("KGM", "LBR")
    Unit.objects.filter(code="KGM").update(name="kilo", pint_expression="gram")

    result = load_units(codes=["KGM", "LBR"])

    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    kilogram = Unit.objects.get(code="KGM")
    assert (kilogram.name, kilogram.pint_expression) == ("kilogram", "kilogram")
    latest = kilogram.history.first()
    assert (latest.history_type, latest.name, latest.change_source) == ("~", "kilogram", "command")


def test_it_maps_every_expression_to_a_unit_the_registry_knows():
    load_units()
    mapped = Unit.objects.exclude(pint_expression="")

    for unit in mapped:
        assert are_compatible(unit, unit)
        registry().parse_expression(unit.pint_expression)
    assert mapped.count() >= 80


# --- Global conversions --------------------------------------------------------------------


def test_it_converts_kilotonnes_to_kilograms_not_knots():
    units("KTN", "KGM")

    assert convert(1, "KTN", "KGM") == Decimal("1000000")
    assert str(convert(1, "KTN", "KGM")) == "1000000"


def test_it_converts_kilograms_and_pounds_exactly():
    units("KGM", "LBR")

    assert convert("0.45359237", "KGM", "LBR") == Decimal("1")
    assert convert(10, "LBR", "KGM") == Decimal("4.5359237")
    # 1 / 0.45359237, to 28 significant digits.
    assert convert(1, "KGM", "LBR") == Decimal("2.204622621848775807229738013")


def test_it_counts_dozens_gross_and_pairs_in_pieces():
    units("DZN", "H87", "GRO", "PR", "EA", "C62", "P1")

    assert convert(1, "DZN", "H87") == 12
    assert convert(36, "H87", "DZN") == 3
    assert convert(1, "GRO", "DZN") == 12
    assert convert(3, "PR", "EA") == 6
    assert convert(5, "C62", "H87") == 5
    with pytest.raises(ConversionError, match="percent is a plain number and piece a count"):
        convert(50, "P1", "H87")


def test_it_converts_temperatures_with_their_offset():
    units("CEL", "FAH", "KEL")

    assert convert(0, "CEL", "FAH") == 32
    assert convert(100, "CEL", "FAH") == 212
    assert convert(-40, "FAH", "CEL") == -40
    assert convert(0, "CEL", "KEL") == Decimal("273.15")


def test_it_accepts_numbers_in_any_form_and_negative_quantities():
    units("MTR", "MMT")

    assert convert(Decimal("1.5"), "MTR", "MMT") == 1500
    assert convert("1.5", "MTR", "MMT") == 1500
    assert convert(0.1, "MTR", "MMT") == 100
    assert convert(-2, "MTR", "MMT") == -2000
    with pytest.raises(ConversionError, match="'1,5' is not a number"):
        convert("1,5", "MTR", "MMT")


def test_it_refuses_a_quantity_beyond_the_bound_before_any_arithmetic():
    units("KGM", "GRM")

    assert convert("123456789012345678", "KGM", "KGM") == Decimal("123456789012345678")
    assert convert("0.000000000001", "KGM", "GRM") == Decimal("1E-9")
    for quantity in ("1e999999999", "1e-999999999", "1e1000000", 10**100000, 1e300):
        with pytest.raises(ConversionError, match="at most 18 digits before the decimal point"):
            convert(quantity, "KGM", "GRM")
    with pytest.raises(ConversionError, match="12 after it"):
        convert("0.0000000000001", "KGM", "GRM")


def test_it_refuses_an_unknown_code():
    units("KGM")

    with pytest.raises(ConversionError, match="Unknown unit code 'ZZZ'"):
        convert(1, "ZZZ", "KGM")


def test_it_refuses_a_deleted_unit():
    units("BX", "H87", "XSX")

    with pytest.raises(ConversionError, match="BX \\(box\\) was deleted from UN/ECE Rec 20"):
        convert(1, "BX", "H87")
    with pytest.raises(ConversionError, match="was deleted from UN/ECE Rec 21"):
        convert(1, "H87", "XSX")


def test_it_converts_a_deprecated_unit_with_a_warning():
    hectare = units("HAR", "MTK")["HAR"]
    assert hectare.status == Unit.Status.DEPRECATED

    result = convert_detailed(2, hectare, "MTK")

    assert result == Conversion(
        quantity=Decimal("20000"),
        warnings=[
            "Unit HAR (hectare) is deprecated in UN/ECE Rec 20; use an active unit where you can."
        ],
        path=["HAR", "MTK"],
    )


def test_it_has_no_global_conversion_for_packs_and_calendar_units():
    units("XBX", "H87", "E49", "DAY")

    with pytest.raises(ConversionError, match="what one Box holds differs by item"):
        convert(1, "XBX", "H87")
    with pytest.raises(ConversionError, match="working day depends on a working calendar"):
        convert(1, "E49", "DAY")
    assert convert(3, "XBX", "XBX") == 3


def test_it_knows_which_units_are_masses():
    found = units("KGM", "LBR", "H87", "XBX", "MTQ")

    assert [code for code in found if is_mass(code)] == ["KGM", "LBR"]
    assert is_mass(found["KGM"])
    assert are_compatible("KGM", "LBR")
    assert not are_compatible("KGM", "MTQ")


def test_it_maps_a_hand_made_unit_by_its_code():
    Unit.objects.create(code="KGM", name="kilogram")
    Unit.objects.create(code="LBR", name="pound")

    assert is_mass("KGM")
    assert convert(10, "LBR", "KGM") == Decimal("4.5359237")


# --- Item conversions ----------------------------------------------------------------------


def test_it_refuses_pieces_to_kilograms_without_the_item_weight():
    units("H87", "KGM")
    bolt = make_item()

    expected = (
        "Cannot convert H87 (piece) to KGM (kilogram): piece is a count and kilogram a mass; "
        "give the item's net weight or a conversion for this item."
    )
    with pytest.raises(ConversionError) as refused:
        convert(10, "H87", "KGM")
    assert str(refused.value) == expected
    with pytest.raises(ConversionError, match="for item BOLT-M8: piece is a count"):
        convert(10, "H87", "KGM", item=bolt)


def test_it_converts_pieces_to_mass_with_the_item_weight():
    units("H87", "KGM", "GRM", "DZN")
    bolt = make_item(net_weight=Decimal("0.025"), weight_unit_id="KGM")

    assert convert(40, "H87", "KGM", item=bolt) == 1
    assert convert(1, "DZN", "GRM", item=bolt) == 300
    assert convert(1, "KGM", "H87", item=bolt) == 40


def test_it_converts_boxes_to_pieces_through_an_item_conversion():
    units("XBX", "H87")
    bolt = make_item()
    pack(bolt, "XBX", 12, "H87")

    assert convert(2, "XBX", "H87", item=bolt) == 24
    assert convert(36, "H87", "XBX", item=bolt) == 3
    assert convert(1, "H87", "XBX", item=bolt) == Decimal("0.08333333333333333333333333333")


def test_it_prefers_the_suppliers_own_conversion():
    units("XBX", "H87")
    bolt = make_item()
    fastenal, wuerth = make_supplier(), make_supplier("S-200", "Würth")
    pack(bolt, "XBX", 12, "H87")
    pack(bolt, "H87", "0.1", "XBX", supplier=wuerth)  # Würth boxes hold 10, given the other way

    assert convert(1, "XBX", "H87", item=bolt, supplier=wuerth) == 10
    assert convert(1, "XBX", "H87", item=bolt, supplier=fastenal) == 12
    assert convert(1, "XBX", "H87", item=bolt) == 12


def test_it_uses_only_conversions_valid_on_the_date():
    units("XBX", "H87")
    bolt = make_item()
    pack(bolt, "XBX", 12, "H87", valid_to=datetime.date(2024, 12, 31))
    pack(bolt, "XBX", 20, "H87", valid_from=datetime.date(2025, 1, 1))

    assert convert(1, "XBX", "H87", item=bolt, on_date=datetime.date(2024, 6, 1)) == 12
    assert convert(1, "XBX", "H87", item=bolt, on_date=datetime.date(2025, 6, 1)) == 20
    assert convert(1, "XBX", "H87", item=bolt) == 20


def test_it_follows_a_pack_chain_to_a_global_unit():
    units("XPX", "XBX", "H87", "DZN", "KGM")
    bolt = make_item(net_weight=Decimal("0.025"), weight_unit_id="KGM")
    pack(bolt, "XPX", 40, "XBX")
    pack(bolt, "XBX", 12, "H87")

    result = convert_detailed(1, "XPX", "DZN", item=bolt)

    assert result.quantity == 40
    assert result.path == ["XPX", "XBX", "H87", "DZN"]
    assert convert(1, "XPX", "KGM", item=bolt) == 12
    with pytest.raises(ConversionError, match="none of this item's conversions leads from XPX"):
        convert(1, "XPX", "KGM", item=make_item("NUT-M8"))


def test_it_keeps_item_weights_in_units_of_mass():
    units("H87", "KGM", "MTR")
    bolt = make_item(net_weight=Decimal("0.025"), weight_unit_id="MTR")

    with pytest.raises(ValidationError, match="MTR is not a unit of mass"):
        bolt.full_clean()
