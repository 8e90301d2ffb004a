"""The demo's planted duplicate suppliers (issue 19): seeded twice, found by the duplicate
run the seed starts, each with an ERP code of its own."""

from datetime import date

import pytest

from demo.references import twin_partner_code
from demo.seed import seed_demo
from demo.suppliers import TWINS, supplier_number, twin_number
from mdm.models import Supplier
from xref import duplicates
from xref.models import CrossReference, DuplicateRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(demo_units, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(items=50, suppliers=30, today=date(2026, 3, 2), messages=False)


def test_the_seed_plants_each_twin_and_the_queue_shows_it_beside_its_original(seeded):
    clusters = duplicates.clusters("supplier")

    for index in TWINS:
        original = Supplier.objects.get(number=supplier_number(index))
        twin = Supplier.objects.get(number=twin_number(index))
        assert any({original.public_id, twin.public_id} <= set(c.records) for c in clusters)
    assert DuplicateRun.objects.filter(kind="supplier", status="finished").exists()


def test_each_twin_has_an_erp_code_of_its_own(seeded):
    twin = Supplier.objects.get(number=twin_number(TWINS[0]))

    reference = CrossReference.objects.get(code=twin_partner_code(TWINS[0]))

    assert reference.supplier_id == twin.pk
    assert reference.system.code == "ERP_CLOUD"


def test_a_second_seed_plants_nothing_again(seeded, django_capture_on_commit_callbacks):
    before = Supplier.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(items=50, suppliers=30, today=date(2026, 3, 2), messages=False)

    assert Supplier.objects.count() == before


def test_the_steward_merges_a_twin_its_erp_code_follows_and_unmerge_puts_it_back(seeded, steward):
    """Issue 19's "done when" on the demo: merge a planted pair, the old id still resolves,
    every ERP code resolves to the survivor; unmerge."""
    from xref import merging
    from xref.resolve import resolve

    original = Supplier.objects.get(number=supplier_number(TWINS[0]))
    twin = Supplier.objects.get(number=twin_number(TWINS[0]))
    code = twin_partner_code(TWINS[0])
    today = date(2026, 12, 7)  # after the demo's cut-over of the cloud ERP

    def resolved():
        return resolve("supplier", "ERP_CLOUD", code, as_of=today)["record"]["id"]

    assert resolved() == twin.public_id
    done = merging.merge(
        "supplier", original.public_id, twin.public_id, user=steward, reason="one company"
    )

    assert resolved() == original.public_id
    assert merging.resolve_merged("supplier", twin.public_id) == original.public_id

    merging.unmerge(done, user=steward, reason="two companies after all")

    assert resolved() == twin.public_id
    assert merging.resolve_merged("supplier", twin.public_id) == twin.public_id
