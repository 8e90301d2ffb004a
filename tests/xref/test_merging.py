"""Merging duplicate master records and undoing it (issue 19, items 3 and 5): the survivor
keeps its id and takes the steward's values, everything that pointed at the loser follows it,
the loser's id resolves to the survivor through any chain of merges, an unmerge leaves every
table as it was, and bad requests change nothing."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from mdm.models import (
    Item,
    ItemRevision,
    ItemUnitConversion,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
    Unit,
)
from quarantine.models import QuarantineCase
from tests.services import require
from tests.validation.world import OPEN_PO, build_world, example
from tests.xref.rows import assert_as_before, fresh, snapshot
from validation.models import (
    Acknowledgement,
    InboundMessage,
    PurchaseOrder,
    PurchaseOrderLine,
    ShipNotice,
    SupplyException,
)
from validation.submission import submit_message
from xref import duplicates, matching, resolve
from xref.merging import (
    MergeConflict,
    MergeError,
    merge,
    resolve_merged,
    survivorship,
    unmerge,
)
from xref.models import CrossReference, DuplicatePair, Merge
from xref.services import register_reference, target_by_key

pytestmark = pytest.mark.django_db

DUNS = "150483782"
VAT = "DE136695976"
GTIN = "4006381333931"
GLN = "4012345000009"
# Every table a merge may change, compared row by row (history tables are not: a merge and its
# undoing are two more entries there, as they should be).
TABLES = (
    Supplier,
    SupplierSite,
    Item,
    ItemRevision,
    ItemUnitConversion,
    Location,
    CrossReference,
    PurchaseOrder,
    PurchaseOrderLine,
    ShipNotice,
    Acknowledgement,
    SupplyException,
    QuarantineCase,
)


def ref(system, kind, code, target, preferred=True, scope=""):
    reference, _ = register_reference(
        kind=kind, system=system, code=code, target=target, scope=scope, is_preferred=preferred
    )
    return reference


@pytest.fixture
def hub(db):
    """Validation's world (tests/validation/world.py): Kugelmann S-100234, its sites HQ and
    OLD, the bearing 6204-2RS with revisions and pack conversions, plant HH01 with its docks,
    codes in four systems and open order OPEN_PO in the ledger."""
    return build_world()


def order(number, supplier, ship_to, item, site=None, plant=None):
    po = PurchaseOrder.objects.create(
        po_number=number,
        supplier=supplier,
        supplier_site=site,
        ship_to=ship_to,
        plant=plant,
        system=legacy(),
        change_sequence=0,
        order_date=dt.date(2026, 3, 2),
        released_at=timezone.now(),
        changed_at=timezone.now(),
    )
    line = PurchaseOrderLine.objects.create(
        order=po,
        line=10,
        item=item,
        quantity=100,
        unit_id="H87",
        base_quantity=100,
        base_unit_id="H87",
        need_by=dt.date(2026, 3, 20),
    )
    return po, line


def legacy():
    return SourceSystem.objects.get_or_create(code="ERP_LEGACY", defaults={"name": "ERP"})[0]


def exception_for(line, supplier, item, plant):
    """A supply exception on `line` (with the acknowledgement that raised it)."""
    message = InboundMessage.objects.create(
        message_type="po_acknowledgement",
        schema_version=1,
        system=legacy(),
        idempotency_key=f"ack-{line.pk}",
        payload_sha256="0" * 64,
        payload={},
        status="released",
    )
    ack = Acknowledgement.objects.create(
        order=line.order, message=message, ack_date=dt.date(2026, 3, 3)
    )
    return SupplyException.objects.create(
        acknowledgement=ack,
        order_line=line,
        supplier=supplier,
        item=item,
        plant=plant,
        status="accepted",
        ordered_quantity=100,
        on_time_quantity=50,
        quantity_at_risk=50,
        unit_id="H87",
        need_by=dt.date(2026, 3, 20),
    )


@pytest.fixture
def twin(hub):
    """Kugelmann onboarded a second time, from the cloud ERP: its own codes (preferred in
    systems where the first has a preferred code too), a site HQ like the first's and a site
    of its own, a pack conversion the first has already and one it has not, an order with
    the number of the first's open order and one of its own, a ship notice and a supply
    exception."""
    twin = Supplier.objects.create(
        number="S-200234", name="Kugelmann Waelzlager GmbH", country="DE", duns=DUNS
    )
    hq = SupplierSite.objects.create(supplier=twin, code="HQ", country="DE")
    store = SupplierSite.objects.create(supplier=twin, code="LAGER", country="DE")
    ref("ERP_CLOUD", "supplier", "BP200234", twin)
    ref("ERP_LEGACY", "supplier", "200234", twin)
    ref("SUPPLIER_NET", "supplier", "SUP-NET-0099", twin, preferred=False)
    ref("ERP_CLOUD", "supplier_site", "BP200234-HQ", hq)
    ItemUnitConversion.objects.create(
        item=hub.bearing, supplier=twin, from_unit_id="XBX", to_unit_id="H87", factor=12
    )
    ItemUnitConversion.objects.create(
        item=hub.bearing, supplier=twin, from_unit_id="XPX", to_unit_id="H87", factor=480
    )
    _, kept_line = order(OPEN_PO, twin, hub.dock, hub.bearing)
    exception_for(kept_line, twin, hub.bearing, hub.plant)
    _, line = order("4500099999", twin, hub.dock, hub.bearing, site=store, plant=hub.plant)
    ShipNotice.objects.create(
        supplier=twin,
        shipment_id="ASN-99",
        message=InboundMessage.objects.create(
            message_type="ship_notice",
            schema_version=1,
            system=legacy(),
            idempotency_key="asn-99",
            payload_sha256="0" * 64,
            payload={},
        ),
        ship_date=dt.date(2026, 3, 16),
        expected_delivery=dt.date(2026, 3, 19),
    )
    exception_for(line, twin, hub.bearing, hub.plant)
    twin.hq, twin.store = hq, store
    return twin


# --- merge, then unmerge --------------------------------------------------------------------


def test_a_supplier_merge_moves_everything_and_its_unmerge_leaves_every_table_as_before(
    hub, twin, steward
):
    before = snapshot(TABLES)
    survivor, loser = hub.supplier, twin

    done = merge("supplier", survivor.public_id, loser.public_id, user=steward, reason="Twice.")

    survivor, loser = fresh(survivor), fresh(loser)
    assert (loser.merged_into, loser.status) == (survivor.public_id, "inactive")
    # The longer name, and the DUNS only the loser had, which the loser gives up.
    assert (survivor.name, survivor.duns, loser.duns) == ("Kugelmann Waelzlager GmbH", DUNS, "")
    assert not CrossReference.objects.filter(supplier=loser).exists()
    cloud = CrossReference.objects.get(code="BP200234")
    assert (cloud.supplier, cloud.is_preferred) == (survivor, False)  # BP100234 stays preferred
    sites = dict(SupplierSite.objects.filter(supplier=survivor).values_list("pk", "code"))
    assert sites[twin.hq.pk] == f"HQ.{loser.public_id}"  # renamed beside the survivor's HQ
    assert sites[twin.store.pk] == "LAGER"
    assert PurchaseOrder.objects.get(po_number="4500099999").supplier == survivor
    assert PurchaseOrder.objects.get(po_number=OPEN_PO, supplier=loser)  # the survivor has one
    assert ShipNotice.objects.get(shipment_id="ASN-99").supplier == survivor
    exceptions = dict(
        SupplyException.objects.values_list("order_line__order__po_number", "supplier")
    )
    assert exceptions == {"4500099999": survivor.pk, OPEN_PO: loser.pk}  # stays with its order
    assert set(done.moved) == {
        "xref.crossreference",
        "xref.crossreference.unpreferred",
        "mdm.suppliersite.supplier",
        "mdm.itemunitconversion.supplier",
        "kept.mdm.itemunitconversion.supplier",
        "validation.purchaseorder.supplier",
        "kept.validation.purchaseorder.supplier",
        "validation.shipnotice.supplier",
        "validation.supplyexception.supplier",
        "kept.validation.supplyexception.supplier",
    }

    unmerge(done, user=steward, reason="Two companies after all.")

    assert_as_before(before)
    done.refresh_from_db()
    assert (done.undone_by, done.undo_reason) == (steward, "Two companies after all.")


def test_an_item_merge_moves_revisions_conversions_references_and_lines_and_comes_undone(
    hub, steward
):
    twin = Item.objects.create(
        number="6204-2RS-X",
        description="Deep groove ball bearing 6204-2RS sealed",
        base_unit_id="H87",
        item_type="component",
        gtin=GTIN,
    )
    b = ItemRevision.objects.create(item=twin, revision="B", effective_from=dt.date(2024, 1, 1))
    d = ItemRevision.objects.create(item=twin, revision="D", effective_from=dt.date(2028, 1, 1))
    ref("ERP_LEGACY", "item_revision", "BRG-B2", b)
    ref("ERP_CLOUD", "item", "MAT-6204-X", twin)
    same = ItemUnitConversion.objects.create(
        item=twin, from_unit_id="XBX", to_unit_id="H87", factor=10
    )
    other = ItemUnitConversion.objects.create(
        item=twin, from_unit_id="XPX", to_unit_id="H87", factor=400
    )
    line = PurchaseOrderLine.objects.create(
        order=hub.open_po,
        line=20,
        item=twin,
        quantity=5,
        unit_id="H87",
        base_quantity=5,
        base_unit_id="H87",
        need_by=dt.date(2026, 3, 20),
    )
    before = snapshot(TABLES)

    done = merge("item", hub.bearing.public_id, twin.public_id, user=steward)

    bearing = fresh(hub.bearing)
    assert (bearing.description, bearing.gtin) == (twin.description, GTIN)
    assert (fresh(twin).status, fresh(twin).gtin) == ("obsolete", "")
    assert fresh(b).revision == f"B.{twin.public_id}" and fresh(b).item == bearing
    assert fresh(d).item == bearing
    assert fresh(same).item == fresh(twin)  # the bearing has 1 XBX = 10 H87 already
    assert fresh(other).item == bearing
    assert fresh(line).item == bearing
    assert resolve.resolve("item_revision", "ERP_LEGACY", "BRG-B2")["id"] == (
        f"{bearing.public_id}/B.{twin.public_id}"
    )

    unmerge(done, user=steward)

    assert_as_before(before)


def test_a_location_merge_moves_its_children_and_orders_and_comes_undone(hub, steward):
    twin = Location.objects.create(
        code="HH01-GR1B",
        name="Goods receipt",
        kind="ship_to",
        country="DE",
        timezone="Europe/Berlin",
        parent=hub.plant,
        can_receive=True,
        gln=GLN,
    )
    bay = Location.objects.create(
        code="HH01-GR1B-1", name="Bay 1", kind="ship_to", country="DE", parent=twin
    )
    ref("SUPPLIER_NET", "location", "DE-HH-02", twin)
    po, _ = order("4500077777", hub.supplier, twin, hub.bearing, plant=hub.plant)
    before = snapshot(TABLES)

    done = merge("location", hub.dock.public_id, twin.public_id, user=steward)

    assert fresh(bay).parent == hub.dock
    assert fresh(po).ship_to == hub.dock
    assert fresh(hub.dock).gln == GLN and fresh(twin).gln == ""
    assert resolve.resolve("location", "SUPPLIER_NET", "DE-HH-02")["id"] == hub.dock.public_id

    unmerge(done, user=steward)

    assert_as_before(before)


def test_a_location_merged_into_its_parent_or_its_child_keeps_the_hierarchy_sound(hub, steward):
    aisle = Location.objects.create(
        code="HH01-WH1-A", name="Aisle A", kind="warehouse", country="DE", parent=hub.warehouse
    )
    before = snapshot(TABLES)

    # The warehouse into its plant: its aisle moves up to the plant.
    done = merge("location", hub.plant.public_id, hub.warehouse.public_id, user=steward)
    assert (fresh(aisle).parent, fresh(hub.plant).parent) == (hub.plant, None)
    unmerge(done, user=steward)
    assert_as_before(before)

    # The plant into its dock: the dock has no parent left, the plant's other places move to it.
    plant = hub.plant.public_id
    with pytest.raises(MergeError, match="cannot have itself or"):
        merge("location", hub.dock.public_id, plant, values={"parent": plant})
    done = merge("location", hub.dock.public_id, hub.plant.public_id, user=steward)
    assert fresh(hub.dock).parent is None
    assert fresh(hub.warehouse).parent == hub.dock
    assert fresh(hub.open_po).plant == hub.dock
    unmerge(done, user=steward)
    assert_as_before(before)


def test_an_erp_code_of_the_loser_resolves_to_the_survivor_and_back_after_the_unmerge(hub, steward):
    gone, kugelmann = hub.gone_supplier, hub.supplier
    assert resolve.resolve("supplier", "ERP_LEGACY", "100999")["id"] == gone.public_id

    done = merge("supplier", kugelmann.public_id, gone.public_id, user=steward)

    assert resolve.resolve("supplier", "ERP_LEGACY", "100999")["id"] == kugelmann.public_id
    translated = resolve.translate("supplier", "ERP_LEGACY", "100999", "ERP_CLOUD")
    assert (translated["status"], translated["code"]) == ("translated", "BP100234")
    assert target_by_key("supplier", gone.public_id) == kugelmann

    unmerge(done, user=steward)

    assert resolve.resolve("supplier", "ERP_LEGACY", "100999")["id"] == gone.public_id
    assert target_by_key("supplier", gone.public_id) == gone


def test_a_code_written_to_a_merged_record_later_resolves_to_the_live_one(hub, steward):
    gone, kugelmann = hub.gone_supplier, hub.supplier
    merge("supplier", kugelmann.public_id, gone.public_id, user=steward)
    # Written past the registry (which would follow the merge), as a bulk load might.
    CrossReference.objects.create(system=legacy(), kind="supplier", code="X1", supplier=gone)

    answer = resolve.resolve("supplier", "ERP_LEGACY", "X1")

    assert answer["id"] == kugelmann.public_id
    assert answer["record"]["merged_from"] == gone.public_id
    assert answer["record"]["name"] == "Kugelmann"
    assert resolve.translate("supplier", "ERP_LEGACY", "X1", "ERP_CLOUD")["code"] == "BP100234"


def test_a_merged_id_resolves_through_two_merges_in_a_chain(db, steward, viewer_api):
    a, b, c = (
        Supplier.objects.create(number=f"V{n}", name=f"Acme {n}", country="DE") for n in "ABC"
    )
    merge("supplier", b.public_id, a.public_id, user=steward)
    merge("supplier", c.public_id, b.public_id, user=steward)

    assert resolve_merged("supplier", a.public_id) == c.public_id
    response = viewer_api.get(f"/api/v1/suppliers/{a.public_id}/")
    assert response.status_code == 200
    assert (response.json()["public_id"], response.json()["merged_from"]) == (
        c.public_id,
        a.public_id,
    )
    assert response["Content-Location"].endswith(f"/api/v1/suppliers/{c.public_id}/")


def test_an_open_case_blocked_on_the_losers_code_moves_and_is_replayed(
    hub, steward, eager_celery, django_capture_on_commit_callbacks
):
    payload = example("purchase_order", supplier="100999")  # the inactive Gone
    with django_capture_on_commit_callbacks(execute=True):
        message = submit_message(
            system=hub.systems["ERP_LEGACY"],
            message_type="purchase_order",
            schema_version=1,
            payload=payload,
            idempotency_key="po-gone",
        ).message
    message.refresh_from_db()
    assert message.status == "quarantined"
    case = message.quarantine_case

    with django_capture_on_commit_callbacks(execute=True):
        done = merge("supplier", hub.supplier.public_id, hub.gone_supplier.public_id, user=steward)

    assert done.moved["quarantine.quarantinecase.replayed"] == [case.pk]
    message.refresh_from_db()
    assert message.status == "released", message.diagnostics
    case.refresh_from_db()
    assert case.status == "resolved_by_replay"
    reasons = [t.reason for t in case.transitions.all()]
    assert reasons[1] == (
        f"Replayed automatically: {hub.gone_supplier.public_id} was merged into "
        f"{hub.supplier.public_id}."
    )


# --- what the merge decides and records -----------------------------------------------------


def test_survivorship_offers_the_longer_name_the_newer_value_and_the_only_one(db):
    acme = Supplier.objects.create(number="V1", name="Acme", country="DE", vat=VAT)
    again = Supplier.objects.create(
        number="V2", name="ACME Fasteners", legal_name="Acme Fasteners GmbH", country="AT"
    )
    again.vat = "ATU13585627"
    again.save()  # changed last

    fields = survivorship("supplier", acme.public_id, again.public_id)

    assert fields["name"] == {
        "survivor": "Acme",
        "loser": "ACME Fasteners",
        "default": "ACME Fasteners",
        "rule": f"{again.public_id}'s: the longer",
    }
    assert fields["legal_name"]["default"] == "Acme Fasteners GmbH"
    assert fields["legal_name"]["rule"] == f"{again.public_id}'s: the other has none"
    assert fields["vat"]["default"] == "ATU13585627"
    assert fields["vat"]["rule"].startswith(f"{again.public_id}'s: changed last")
    assert fields["country"]["default"] == "AT"
    assert fields["country"]["rule"].endswith("(goes with the VAT number)")
    assert fields["status"]["rule"] == "the same on both"
    assert fields["duns"] == {
        "survivor": "",
        "loser": "",
        "default": "",
        "rule": "neither has one",
    }


def test_the_stewards_picks_win_and_the_history_names_the_merge(db, steward):
    acme = Supplier.objects.create(number="V1", name="Acme", country="DE")
    again = Supplier.objects.create(number="V2", name="ACME Fasteners", country="DE", duns=DUNS)

    merge(
        "supplier",
        acme.public_id,
        again.public_id,
        values={"name": "Acme Fasteners", "duns": ""},
        user=steward,
        reason="Same VAT number.",
    )

    acme, again = fresh(acme), fresh(again)
    assert (acme.name, acme.duns) == ("Acme Fasteners", "")
    assert again.duns == DUNS  # not taken, so kept
    entry = acme.history.first()
    assert entry.history_user == steward
    assert entry.history_change_reason.startswith(
        f"Merge #{Merge.objects.get().pk}: {again.public_id} merged into {acme.public_id}"
    )
    assert again.history.first().history_user == steward


def test_a_merged_record_leaves_the_match_index_and_the_duplicate_checks(db, steward):
    acme = Supplier.objects.create(number="V1", name="Acme Fasteners", country="DE", vat=VAT)
    again = Supplier.objects.create(
        number="V2", name="ACME Fasteners GmbH", country="DE", vat="DE 136 695 976"
    )
    third = Supplier.objects.create(number="V3", name="Acme Fasteners", country="DE", vat=VAT)
    duplicates.check("supplier", again.public_id)
    pairs = {p.other(again.public_id): p for p in duplicates.pairs_of("supplier", again.public_id)}
    assert {acme.public_id, third.public_id} <= set(pairs)

    merge("supplier", acme.public_id, again.public_id, user=steward)

    assert again.public_id not in {c.id for c in matching.match("supplier", "ACME Fasteners")}
    assert duplicates.check("supplier", again.public_id) == []
    left = {
        p.other(again.public_id): p.status for p in duplicates.pairs_of("supplier", again.public_id)
    }
    assert left == {acme.public_id: DuplicatePair.Status.SAME}  # decided; the open one dropped
    assert again.public_id not in {
        p.other(acme.public_id) for p in duplicates.check("supplier", acme.public_id)
    }


def test_an_unmerge_gives_the_pair_its_earlier_decision_back(db, steward):
    acme = Supplier.objects.create(number="V1", name="Acme Fasteners", country="DE", vat=VAT)
    again = Supplier.objects.create(
        number="V2", name="ACME Fasteners GmbH", country="DE", vat="DE 136 695 976"
    )
    duplicates.check("supplier", acme.public_id)
    pair = DuplicatePair.objects.get()
    assert pair.status == "open"

    done = merge("supplier", acme.public_id, again.public_id, user=steward)
    pair.refresh_from_db()
    assert pair.status == "same"
    unmerge(done, user=steward)

    pair.refresh_from_db()
    assert (pair.status, pair.decided_by, pair.note) == ("open", None, "")


# --- bad input: a clear error, nothing changed ---------------------------------------------


@pytest.fixture
def three(db, steward):
    """Acme A, and B already merged into C."""
    a, b, c = (
        Supplier.objects.create(number=f"V{n}", name=f"Acme {n}", country="DE") for n in "ABC"
    )
    merge("supplier", c.public_id, b.public_id, user=steward)
    return a, b, c


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda a, b, c, item: (a, a), MergeError, "{a} cannot be merged into itself."),
        (lambda a, b, c, item: (a, item), MergeError, "{item} is an item, not a supplier"),
        (lambda a, b, c, item: (a, "SUP-999999"), MergeError, "No supplier SUP-999999."),
        (
            lambda a, b, c, item: (b, a),
            MergeConflict,
            "{b} was merged into {c} on {today} by stella.steward; merge into {c} instead.",
        ),
        (
            lambda a, b, c, item: (a, b),
            MergeConflict,
            "{b} was merged into {c} on {today} by stella.steward; it cannot be merged again",
        ),
    ],
    ids=["into itself", "across kinds", "unknown record", "into a merged one", "merged loser"],
)
def test_a_merge_that_cannot_be_is_refused_with_nothing_changed(three, steward, call, error, words):
    a, b, c = (r.public_id for r in three)
    item = Item.objects.create(
        number="I1", description="Bolt", base_unit_id=unit().code, item_type="component"
    ).public_id
    before, merges = snapshot(TABLES), Merge.objects.count()

    with pytest.raises(error) as refused:
        merge("supplier", *call(a, b, c, item), user=steward)

    today = f"{timezone.localdate():%Y-%m-%d}"
    assert words.format(a=a, b=b, c=c, item=item, today=today) in str(refused.value)
    assert_as_before(before)
    assert Merge.objects.count() == merges


def unit():
    return Unit.objects.get_or_create(code="H87", defaults={"name": "piece"})[0]


def test_a_merge_of_records_changed_since_they_were_compared_is_a_conflict(db, steward):
    acme = Supplier.objects.create(number="V1", name="Acme", country="DE")
    again = Supplier.objects.create(number="V2", name="Acme GmbH", country="DE")
    seen = {r.public_id: r.updated_at.isoformat() for r in (acme, again)}
    again.name = "Acme Fasteners GmbH"
    again._history_user = steward
    again.save()
    before = snapshot(TABLES)

    with pytest.raises(MergeConflict, match=f"{again.public_id} was changed by stella.steward"):
        merge("supplier", acme.public_id, again.public_id, user=steward, seen=seen)

    assert_as_before(before)
    assert not Merge.objects.exists()
    seen[again.public_id] = fresh(again).updated_at.isoformat()
    assert merge("supplier", acme.public_id, again.public_id, user=steward, seen=seen)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"values": {"number": "V9"}}, "A supplier merge does not pick number"),
        ({"values": {"country": "Germany"}}, "country:"),
        ({"values": {"duns": "123"}}, "duns:"),
        ({"seen": {"SUP-999999": "2026-01-01T00:00:00Z"}}, "neither record of this merge"),
        ({"seen": {"{a}": "yesterday"}}, "is not a date and time"),
    ],
)
def test_bad_values_are_refused_with_nothing_changed(db, steward, kwargs, words):
    acme = Supplier.objects.create(number="V1", name="Acme", country="DE")
    again = Supplier.objects.create(number="V2", name="Acme GmbH", country="DE")
    if "seen" in kwargs:
        kwargs = {"seen": {k.format(a=acme.public_id): v for k, v in kwargs["seen"].items()}}
    before = snapshot(TABLES)

    with pytest.raises(MergeError) as refused:
        merge("supplier", acme.public_id, again.public_id, user=steward, **kwargs)

    assert not isinstance(refused.value, MergeConflict)
    assert words in str(refused.value)
    assert_as_before(before)
    assert not Merge.objects.exists()


def test_the_second_of_two_merges_of_one_loser_is_told_it_lost(db, steward):
    a, b, c = (
        Supplier.objects.create(number=f"V{n}", name=f"Acme {n}", country="DE") for n in "ABC"
    )
    merge("supplier", a.public_id, b.public_id, user=steward)

    with pytest.raises(MergeConflict, match=f"{b.public_id} was merged into {a.public_id}"):
        merge("supplier", c.public_id, b.public_id, user=steward)

    assert fresh(b).merged_into == a.public_id
    assert Merge.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_stewards_merging_one_loser_at_once_one_wins_the_other_is_told():
    require(connection.vendor == "postgresql", "PostgreSQL")
    a, b, c = (
        Supplier.objects.create(number=f"V{n}", name=f"Acme {n}", country="DE") for n in "ABC"
    )
    start = threading.Barrier(2, timeout=10)
    outcomes = []

    def steward_merging(survivor):
        try:
            start.wait()
            outcomes.append(merge("supplier", survivor.public_id, b.public_id))
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=steward_merging, args=(s,)) for s in (a, c)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    merges = [o for o in outcomes if isinstance(o, Merge)]
    refusals = [o for o in outcomes if isinstance(o, MergeConflict)]
    assert (len(merges), len(refusals)) == (1, 1), outcomes
    assert f"{b.public_id} was merged into {merges[0].survivor}" in str(refusals[0])
    assert Merge.objects.count() == 1


def test_an_unmerge_that_cannot_be_is_refused_with_nothing_changed(db, steward):
    a, b, c = (
        Supplier.objects.create(number=f"V{n}", name=f"Acme {n}", country="DE") for n in "ABC"
    )
    moved, _ = register_reference(kind="supplier", system=legacy(), code="B", target=b)
    first = merge("supplier", a.public_id, b.public_id, user=steward)
    second = merge("supplier", c.public_id, a.public_id, user=steward)
    before = snapshot(TABLES)

    with pytest.raises(MergeConflict, match=f"{a.public_id} was merged into {c.public_id}.*undo"):
        unmerge(first, user=steward)
    assert_as_before(before)

    unmerge(second, user=steward)
    with pytest.raises(MergeConflict, match="was undone on"):
        unmerge(second, user=steward)
    moved.delete()  # a row the first merge moved
    before = snapshot(TABLES)
    with pytest.raises(MergeConflict, match="1 cross-reference\\(s\\) the merge moved"):
        unmerge(first, user=steward)
    assert_as_before(before)
    assert fresh(b).merged_into == a.public_id
