"""A UNIT_NOT_CONVERTIBLE case is fixed from its own page: the steward gives the factor, the
conversion is saved on the item (with its history) and the message replayed, in one step."""

import html

import pytest
from django.contrib.auth.models import Permission

from mdm.models import ItemUnitConversion
from quarantine.models import QuarantineCase
from tests.helpers import logged_in, validated
from tests.validation.world import example
from validation.models import InboundMessage

pytestmark = pytest.mark.django_db


def boxes_without_conversion(world):
    """The legacy ERP orders 2 boxes of the 6205 bearing, which has no box conversion: its
    case (UNIT_NOT_CONVERTIBLE)."""
    line = {**example("purchase_order")["lines"][0], "item": "BRG-6205-2RS", "unit": "BX"}
    line.pop("revision")
    payload = example("purchase_order", lines=[{**line, "quantity": "2"}])
    message = validated(world.systems["ERP_LEGACY"], "purchase_order", payload, key="boxes")
    case = QuarantineCase.objects.get(message=message)
    assert case.rule_codes == ["UNIT_NOT_CONVERTIBLE"]
    return case


@pytest.fixture
def case(world):
    return boxes_without_conversion(world)


def _post(client, case, **data):
    return client.post(f"/quarantine/{case.pk}/conversion/", {"entry": 0, **data})


def test_it_offers_the_conversion_prefilled_from_the_diagnostic(steward, world, case):
    page = logged_in(steward).get(f"/quarantine/{case.pk}/").content.decode()

    assert 'id="conversion-0"' in page
    assert "Box (XBX)" in page and "piece (H87)" in page
    assert world.bearing_b.public_id in page
    assert f'Only for supplier <a href="/admin/mdm/supplier/{world.supplier.pk}/change/">' in page
    assert "Add the conversion and replay" in page


def test_it_adds_the_conversion_and_the_replay_resolves_the_case(
    steward, world, case, django_capture_on_commit_callbacks
):
    client = logged_in(steward)

    with django_capture_on_commit_callbacks(execute=True):  # the replay's validation task
        response = _post(client, case, factor="12", for_supplier="on")

    assert response.status_code == 302
    conversion = ItemUnitConversion.objects.get(item=world.bearing_b)
    assert (conversion.from_unit_id, conversion.to_unit_id) == ("XBX", "H87")
    assert conversion.factor == 12 and conversion.supplier == world.supplier
    [history] = conversion.history.all()
    assert history.history_user == steward and history.change_source == "web"
    case.refresh_from_db()
    assert case.status == QuarantineCase.Status.RESOLVED_BY_REPLAY
    assert case.outcome == "Fixed by adding a unit conversion"
    assert InboundMessage.objects.get(pk=case.message_id).status == "released"
    shown = client.get(f"/quarantine/{case.pk}/").content.decode()
    assert "Unit conversion 1 XBX = 12 H87" in shown  # the message and the history say what
    assert 'id="conversion-0"' not in shown  # closed: nothing more to add


def test_for_every_supplier_when_unticked(steward, world, case):
    _post(logged_in(steward), case, factor="0.5")

    assert ItemUnitConversion.objects.get(item=world.bearing_b).supplier is None


@pytest.mark.parametrize(
    ("factor", "error"),
    [
        ("twelve", "'twelve' is not a number."),
        ("0", "The factor must be greater than zero"),
        ("-3", "The factor must be greater than zero"),
        ("1e999999999", "too large a number"),
        ("1.123456789", "no more than 8 decimal places"),
    ],
)
def test_a_bad_factor_is_refused_saves_nothing_and_keeps_what_was_typed(
    steward, world, case, factor, error
):
    response = _post(logged_in(steward), case, factor=factor, for_supplier="on")

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert error in page
    assert f'value="{factor}"' in page
    assert not ItemUnitConversion.objects.filter(item=world.bearing_b).exists()
    case.refresh_from_db()
    assert case.is_open and case.message.attempts == 1


def test_a_viewer_neither_sees_nor_posts_the_form(viewer, world, case):
    client = logged_in(viewer)

    assert 'id="conversion-0"' not in client.get(f"/quarantine/{case.pk}/").content.decode()
    assert _post(client, case, factor="12").status_code == 403
    assert not ItemUnitConversion.objects.filter(item=world.bearing_b).exists()


def test_a_steward_without_the_permission_to_add_conversions_is_refused(steward, world, case):
    steward.groups.get().permissions.remove(
        Permission.objects.get(codename="add_itemunitconversion")
    )
    client = logged_in(type(steward).objects.get(pk=steward.pk))

    page = client.get(f"/quarantine/{case.pk}/").content.decode()
    assert 'id="conversion-0"' not in page
    assert 'id="conversion-not-allowed"' in page
    assert _post(client, case, factor="12").status_code == 403
    assert not ItemUnitConversion.objects.filter(item=world.bearing_b).exists()
