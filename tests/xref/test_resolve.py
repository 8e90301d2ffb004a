"""The resolution service as a sync flow meets it: codes resolved on a date, a cut-over from
the legacy ERP to the cloud ERP, retired and ambiguous codes, translation between systems, and
batches whose query count does not grow with the number of keys."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mdm.models import (
    CodeList,
    CodeValue,
    Item,
    ItemRevision,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
    Unit,
    allocate_public_ids,
)
from xref import resolve
from xref.models import CrossReference

pytestmark = pytest.mark.django_db

CUT_OVER = dt.date(2025, 7, 1)
BEFORE = CUT_OVER - dt.timedelta(days=1)
AFTER = CUT_OVER + dt.timedelta(days=30)


def ref(system, code, record, scope="", **fields):
    """A cross-reference of `record` (its kind from the record's model)."""
    kind = {
        Item: "item",
        ItemRevision: "item_revision",
        Supplier: "supplier",
        SupplierSite: "supplier_site",
        Location: "location",
        Unit: "unit",
        CodeValue: "code_value",
    }[type(record)]
    return CrossReference.objects.create(
        kind=kind, system=system, code=code, scope=scope, **{kind: record}, **fields
    )


def build_world(erp, planning):
    """A bearing cut over from the legacy ERP (code 100234 until CUT_OVER) to the cloud ERP
    (MAT-100234 from CUT_OVER); a bolt known by code 500 in plant 1000 while code 500 in plant
    2000 is a nut; a washer whose only code ended; a supplier, a plant, a unit, a revision, a
    supplier site and a code value known by the legacy ERP."""
    cloud = SourceSystem.objects.create(code="ERP_CLOUD", name="Cloud ERP", kind="erp")
    piece = Unit.objects.create(code="H87", name="piece")

    def item(number, description):
        return Item.objects.create(
            number=number, description=description, base_unit=piece, item_type="component"
        )

    bearing = item("BRG-6204", "Deep groove ball bearing 6204")
    bolt = item("BOLT-M8", "Hex bolt M8x40")
    nut = item("NUT-M8", "Hex nut M8")
    washer = item("WSH-M8", "Washer M8")
    supplier = Supplier.objects.create(number="S-1", name="Bossard AG", country="CH")
    site = SupplierSite.objects.create(supplier=supplier, code="ZUG", country="CH")
    plant = Location.objects.create(
        code="PLANT-1000", name="Plant 1000", kind="plant", country="DE"
    )
    revision = ItemRevision.objects.create(
        item=bearing, revision="B", effective_from=dt.date(2024, 1, 1)
    )
    ack = CodeList.objects.create(code="ACK_LINE_STATUS", name="Acknowledgement line status")
    accepted = CodeValue.objects.create(code_list=ack, code="accepted", meaning="Accepted")

    refs = {
        "legacy": ref(erp, "100234", bearing, valid_to=CUT_OVER),
        "cloud": ref(cloud, "MAT-100234", bearing, valid_from=CUT_OVER, is_preferred=True),
        "planning": ref(planning, "BRG6204", bearing, is_preferred=True),
        "bolt_1000": ref(erp, "500", bolt, scope="1000"),
        "nut_2000": ref(erp, "500", nut, scope="2000"),
        "washer": ref(erp, "W-1", washer, valid_to=dt.date(2024, 1, 1)),
        "supplier": ref(erp, "V-77", supplier),
        "site": ref(erp, "V-77-ZUG", site),
        "plant": ref(erp, "1000", plant),
        "unit": ref(erp, "ST", piece),
        "revision": ref(erp, "100234-B", revision),
        "code_value": ref(erp, "AC", accepted),
    }
    return {
        "cloud": cloud,
        "bearing": bearing,
        "bolt": bolt,
        "nut": nut,
        "washer": washer,
        "supplier": supplier,
        "refs": refs,
    }


@pytest.fixture
def world(erp_system, planning_system):
    return build_world(erp_system, planning_system)


# --- resolve ---------------------------------------------------------------------------------


def test_it_resolves_a_code_to_the_record_and_the_reference_used(world):
    result = resolve.resolve("item", "ERP_LEGACY", "100234", as_of=BEFORE)

    assert result["status"] == "resolved"
    assert result["id"] == world["bearing"].public_id
    assert result["record"] == {
        "id": world["bearing"].public_id,
        "number": "BRG-6204",
        "description": "Deep groove ball bearing 6204",
        "status": "active",
        "base_unit": "H87",
    }
    assert result["reference"] == {
        "id": world["refs"]["legacy"].pk,
        "system": "ERP_LEGACY",
        "kind": "item",
        "scope": "",
        "code": "100234",
        "valid_from": None,
        "valid_to": CUT_OVER,
        "status": "active",
        "is_preferred": False,
    }


@pytest.mark.parametrize(
    ("as_of", "legacy", "cloud"),
    [
        (BEFORE, "resolved", "not_yet_valid"),
        (CUT_OVER, "retired", "resolved"),  # valid_to is the first day no longer valid
        (AFTER, "retired", "resolved"),
    ],
)
def test_it_resolves_before_at_and_after_a_cut_over(world, as_of, legacy, cloud):
    assert resolve.resolve("item", "ERP_LEGACY", "100234", as_of=as_of)["status"] == legacy
    assert resolve.resolve("item", "ERP_CLOUD", "MAT-100234", as_of=as_of)["status"] == cloud


def test_it_names_the_successor_of_a_code_retired_at_a_cut_over(world):
    result = resolve.resolve("item", "ERP_LEGACY", "100234", as_of=AFTER)

    assert result["status"] == "retired"
    assert result["id"] == world["bearing"].public_id
    assert result["valid_to"] == CUT_OVER
    assert result["reference"]["id"] == world["refs"]["legacy"].pk
    assert result["successor"]["system"] == "ERP_CLOUD"
    assert result["successor"]["code"] == "MAT-100234"
    assert result["successor"]["id"] == world["refs"]["cloud"].pk


def test_its_successor_agrees_with_the_registry(world):
    from xref import services

    if not hasattr(services, "successor_of"):
        pytest.skip("the registry has no successor_of yet")
    legacy = world["refs"]["legacy"]
    result = resolve.resolve("item", "ERP_LEGACY", "100234", as_of=AFTER)
    assert result["successor"]["id"] == services.successor_of(legacy).pk


def test_a_renumbering_in_the_same_system_is_the_successor(world, erp_system):
    ref(erp_system, "100234-NEW", world["bearing"], valid_from=CUT_OVER)

    result = resolve.resolve("item", "ERP_LEGACY", "100234", as_of=AFTER)

    assert result["successor"]["code"] == "100234-NEW"


def test_a_retired_code_nobody_took_over_has_no_successor(world):
    result = resolve.resolve("item", "ERP_LEGACY", "W-1", as_of=AFTER)

    assert result["status"] == "retired"
    assert result["id"] == world["washer"].public_id
    assert result["valid_to"] == dt.date(2024, 1, 1)
    assert result["successor"] is None


def test_a_withdrawn_reference_is_retired(world, erp_system):
    ref(erp_system, "OLD-7", world["nut"], status=CrossReference.Status.RETIRED)

    result = resolve.resolve("item", "ERP_LEGACY", "OLD-7", as_of=AFTER)

    assert result["status"] == "retired"
    assert result["valid_to"] is None


def test_a_code_valid_only_later_says_from_when(world):
    result = resolve.resolve("item", "ERP_CLOUD", "MAT-100234", as_of=BEFORE)

    assert result["status"] == "not_yet_valid"
    assert result["valid_from"] == CUT_OVER
    assert result["id"] == world["bearing"].public_id


def test_it_says_ambiguous_for_a_code_of_several_scopes_without_a_scope(world):
    result = resolve.resolve("item", "ERP_LEGACY", "500", as_of=AFTER)

    assert result["status"] == "ambiguous"
    assert [(m["scope"], m["id"]) for m in result["matches"]] == [
        ("1000", world["bolt"].public_id),
        ("2000", world["nut"].public_id),
    ]


def test_it_resolves_the_same_code_with_a_scope(world):
    in_1000 = resolve.resolve("item", "ERP_LEGACY", "500", scope="1000", as_of=AFTER)
    in_2000 = resolve.resolve("item", "ERP_LEGACY", "500", scope="2000", as_of=AFTER)
    in_3000 = resolve.resolve("item", "ERP_LEGACY", "500", scope="3000", as_of=AFTER)

    assert (in_1000["status"], in_1000["id"]) == ("resolved", world["bolt"].public_id)
    assert (in_2000["status"], in_2000["id"]) == ("resolved", world["nut"].public_id)
    assert in_3000["status"] == "not_found"


def test_an_unscoped_code_answers_for_every_scope_and_wins_without_one(world, erp_system):
    ref(erp_system, "500", world["washer"])  # valid in every scope

    assert (
        resolve.resolve("item", "ERP_LEGACY", "500", as_of=AFTER)["id"] == world["washer"].public_id
    )
    in_1000 = resolve.resolve("item", "ERP_LEGACY", "500", scope="1000", as_of=AFTER)
    in_3000 = resolve.resolve("item", "ERP_LEGACY", "500", scope="3000", as_of=AFTER)
    assert in_1000["id"] == world["bolt"].public_id
    assert in_3000["id"] == world["washer"].public_id


def test_a_code_of_several_scopes_meaning_one_record_resolves(world, erp_system):
    ref(erp_system, "900", world["bolt"], scope="1000")
    ref(erp_system, "900", world["bolt"], scope="2000")

    result = resolve.resolve("item", "ERP_LEGACY", "900", as_of=AFTER)

    assert (result["status"], result["id"]) == ("resolved", world["bolt"].public_id)


def test_an_unknown_code_is_not_found_with_candidates_when_matching_offers_them(world, monkeypatch):
    from xref import resolve as module

    monkeypatch.setattr(module, "candidates", lambda kind, code, **near: [{"id": "ITM-000001"}])
    assert resolve.resolve("item", "ERP_LEGACY", "100235")["candidates"] == [{"id": "ITM-000001"}]
    assert resolve.resolve("item", "ERP_LEGACY", "100235")["status"] == "not_found"


def test_a_code_known_for_another_kind_or_system_is_not_found(world):
    assert resolve.resolve("supplier", "ERP_LEGACY", "100234")["status"] == "not_found"
    assert resolve.resolve("item", "PLANNING", "100234")["status"] == "not_found"


def test_a_unit_code_resolves_only_through_a_reference(world):
    assert resolve.resolve("unit", "ERP_LEGACY", "ST")["id"] == "H87"
    assert resolve.resolve("unit", "ERP_LEGACY", "H87")["status"] == "not_found"


def test_every_kind_has_its_summary(world):
    keys = [
        ("supplier", "ERP_LEGACY", "V-77"),
        ("supplier_site", "ERP_LEGACY", "V-77-ZUG"),
        ("location", "ERP_LEGACY", "1000"),
        ("unit", "ERP_LEGACY", "ST"),
        ("item_revision", "ERP_LEGACY", "100234-B"),
        ("code_value", "ERP_LEGACY", "AC"),
    ]
    records = [result["record"] for result in resolve.resolve_many(keys, AFTER)]

    supplier, site = world["supplier"], world["supplier"].sites.get()
    bearing = world["bearing"].public_id
    assert records == [
        {
            "id": supplier.public_id,
            "number": "S-1",
            "name": "Bossard AG",
            "status": "active",
            "country": "CH",
        },
        {"id": site.public_id, "supplier": supplier.public_id, "code": "ZUG", "status": "active"},
        {
            "id": "LOC-000001",
            "code": "PLANT-1000",
            "name": "Plant 1000",
            "kind": "plant",
            "status": "active",
        },
        {"id": "H87", "name": "piece"},
        {"id": f"{bearing}/B", "item": bearing, "revision": "B", "status": "released"},
        {
            "id": "ACK_LINE_STATUS:accepted",
            "list": "ACK_LINE_STATUS",
            "code": "accepted",
            "meaning": "Accepted",
        },
    ]


def test_it_refuses_malformed_keys_naming_each(world):
    with pytest.raises(resolve.InvalidKeys) as raised:
        resolve.resolve_many(
            [
                ("item", "ERP_LEGACY", "100234"),
                ("itm", "ERP_LEGACY", "1"),
                ("item", "SAP", "1"),
                {"kind": "item", "system": "ERP_LEGACY"},
                "item ERP_LEGACY 1",
            ]
        )
    assert raised.value.count == 4
    assert [(e["index"], e["field"]) for e in raised.value.errors] == [
        (1, "kind"),
        (2, "system"),
        (3, "code"),
        (4, None),
    ]
    assert "SAP" in raised.value.errors[1]["message"]
    assert "ERP_LEGACY" in raised.value.errors[1]["message"]


def test_it_takes_keys_as_dicts_and_strips_codes(world):
    key = {"kind": "item", "system": "ERP_LEGACY", "code": " 100234 ", "scope": None}
    assert resolve.resolve_many([key], BEFORE)[0]["status"] == "resolved"


@pytest.mark.django_db(transaction=True)
def test_source_systems_are_cached_outside_transactions(erp_system):
    resolve.resolve("item", "ERP_LEGACY", "100234")  # the system codes are now cached
    with CaptureQueriesContext(connection) as queries:
        # resolve_many: resolve() would go on to ask the match index for candidates of the
        # unknown code, queries that have nothing to do with the systems.
        resolve.resolve_many([("item", "ERP_LEGACY", "100234")])
    # bulk_create sends no signal, as if another web process had added the system.
    SourceSystem.objects.bulk_create(
        [SourceSystem(code="SUPPLIER_NET", name="Supplier network", kind="supplier_network")]
    )

    assert len(queries) == 2  # the references, the unknown code's near misses: no systems
    assert resolve.resolve("item", "SUPPLIER_NET", "X")["status"] == "not_found"
    resolve._systems.forget()  # the database is emptied after this test


def test_as_of_defaults_to_today(world):
    # The cut-over lies in the past: today the legacy code is retired.
    assert resolve.resolve("item", "ERP_LEGACY", "100234")["status"] == "retired"


# --- batches ---------------------------------------------------------------------------------


def test_a_batch_answers_in_request_order_with_mixed_statuses(world):
    keys = [
        ("item", "ERP_LEGACY", "W-1"),
        ("item", "ERP_CLOUD", "MAT-100234"),
        ("item", "ERP_LEGACY", "NOPE"),
        ("item", "ERP_LEGACY", "500"),
        ("item", "ERP_LEGACY", "500", "2000"),
        ("item", "ERP_CLOUD", "MAT-100234"),  # a duplicate
        ("supplier", "ERP_LEGACY", "V-77"),
        ("item", "ERP_LEGACY", "100234"),
    ]

    results = resolve.resolve_many(keys, as_of=AFTER)

    assert [r["status"] for r in results] == [
        "retired",
        "resolved",
        "not_found",
        "ambiguous",
        "resolved",
        "resolved",
        "resolved",
        "retired",
    ]
    assert results[1]["id"] == results[5]["id"] == world["bearing"].public_id
    assert results[4]["id"] == world["nut"].public_id
    assert results[6]["id"] == world["supplier"].public_id
    assert results[2] == {"status": "not_found", "candidates": []}  # no near miss among its codes
    assert results[7]["successor"]["code"] == "MAT-100234"


def test_an_empty_batch_is_an_empty_answer(world):
    assert resolve.resolve_many([]) == []
    assert resolve.translate_many([]) == []


def bulk_world(size, erp, planning, cloud, piece):
    """`size` items each with a current, an ended, a cloud and an ambiguous code, and the
    batch of 5 * size keys asking for them (one of them unknown)."""
    ids = allocate_public_ids("ITM", size * 2)
    items = Item.objects.bulk_create(
        Item(
            public_id=public_id,
            number=f"N-{n}",
            description=f"Item {n}",
            base_unit=piece,
            item_type="component",
        )
        for n, public_id in enumerate(ids)
    )
    references = []
    for n in range(size):
        one, two = items[2 * n], items[2 * n + 1]
        references += [
            CrossReference(kind="item", system=erp, code=f"R-{n}", item=one),
            CrossReference(kind="item", system=erp, code=f"X-{n}", item=two, valid_to=CUT_OVER),
            CrossReference(kind="item", system=cloud, code=f"C-{n}", item=two, valid_from=CUT_OVER),
            CrossReference(
                kind="item", system=planning, code=f"P-{n}", item=one, is_preferred=True
            ),
            CrossReference(kind="item", system=erp, code=f"A-{n}", item=one, scope="1000"),
            CrossReference(kind="item", system=erp, code=f"A-{n}", item=two, scope="2000"),
        ]
    CrossReference.objects.bulk_create(references)
    keys = []
    for n in range(size):
        keys += [
            ("item", "ERP_LEGACY", f"R-{n}"),
            ("item", "ERP_LEGACY", f"X-{n}"),
            ("item", "ERP_LEGACY", f"A-{n}"),
            ("item", "ERP_LEGACY", f"UNKNOWN-{n}"),
            ("item", "ERP_CLOUD", f"C-{n}"),
        ]
    return keys


def _queries(function, keys):
    with CaptureQueriesContext(connection) as queries:
        results = function(keys, AFTER)
    return len(queries), results


def test_the_number_of_queries_does_not_grow_with_the_keys(erp_system, planning_system):
    cloud = SourceSystem.objects.create(code="ERP_CLOUD", name="Cloud ERP", kind="erp")
    piece = Unit.objects.create(code="H87", name="piece")
    keys = bulk_world(100, erp_system, planning_system, cloud, piece)

    _queries(resolve.resolve_many, keys[:5])  # reads the system's codes for near misses once
    few, few_results = _queries(resolve.resolve_many, keys[:5])
    many, many_results = _queries(resolve.resolve_many, keys)

    assert len(many_results) == 500
    statuses = ["resolved", "retired", "ambiguous", "not_found", "resolved"]
    assert [r["status"] for r in few_results] == statuses
    assert [r["status"] for r in many_results] == statuses * 100
    assert [r["successor"]["code"] for r in many_results[1::5]] == [f"C-{n}" for n in range(100)]
    # systems, references with their records, successors, whether the codes near misses are
    # looked for among changed
    assert few == many == 4


def test_translating_a_batch_takes_a_fixed_number_of_queries(erp_system, planning_system):
    cloud = SourceSystem.objects.create(code="ERP_CLOUD", name="Cloud ERP", kind="erp")
    piece = Unit.objects.create(code="H87", name="piece")
    bulk_world(100, erp_system, planning_system, cloud, piece)
    keys = [("item", "ERP_LEGACY", f"R-{n}", "PLANNING") for n in range(100)]

    few, _ = _queries(resolve.translate_many, keys[:1])
    many, results = _queries(resolve.translate_many, keys)

    assert [r["code"] for r in results] == [f"P-{n}" for n in range(100)]
    assert few == many == 3  # systems, references with their records, target codes


# --- translate -------------------------------------------------------------------------------


def test_it_translates_to_the_preferred_code_of_the_target_system(world):
    result = resolve.translate("item", "ERP_LEGACY", "100234", "PLANNING", as_of=BEFORE)

    assert result["status"] == "translated"
    assert result["code"] == "BRG6204"
    assert result["id"] == world["bearing"].public_id
    assert result["reference"]["id"] == world["refs"]["planning"].pk


def test_it_translates_across_a_cut_over(world):
    after = resolve.translate("item", "PLANNING", "BRG6204", "ERP_CLOUD", as_of=AFTER)
    before = resolve.translate("item", "PLANNING", "BRG6204", "ERP_CLOUD", as_of=BEFORE)
    legacy = resolve.translate("item", "PLANNING", "BRG6204", "ERP_LEGACY", as_of=BEFORE)

    assert (after["status"], after["code"]) == ("translated", "MAT-100234")
    assert before == {"status": "no_code_in_target", "id": world["bearing"].public_id}
    assert (legacy["status"], legacy["code"]) == ("translated", "100234")  # the only one


def test_without_a_preferred_code_it_lists_the_target_codes(world, planning_system):
    ref(planning_system, "BOLT-A", world["bolt"])
    ref(planning_system, "BOLT-B", world["bolt"])

    result = resolve.translate("item", "ERP_LEGACY", "500", "PLANNING", scope="1000")

    assert result["status"] == "no_preferred"
    assert result["id"] == world["bolt"].public_id
    assert [r["code"] for r in result["references"]] == ["BOLT-A", "BOLT-B"]


def test_with_a_preferred_code_it_picks_it(world, planning_system):
    ref(planning_system, "BOLT-A", world["bolt"])
    ref(planning_system, "BOLT-B", world["bolt"], is_preferred=True)

    result = resolve.translate("item", "ERP_LEGACY", "500", "PLANNING", scope="1000")

    assert (result["status"], result["code"]) == ("translated", "BOLT-B")


def test_preferred_codes_in_several_target_scopes_need_a_target_scope(world, planning_system):
    ref(planning_system, "BOLT-1", world["bolt"], scope="1000", is_preferred=True)
    ref(planning_system, "BOLT-2", world["bolt"], scope="2000", is_preferred=True)

    unsure = resolve.translate("item", "ERP_LEGACY", "500", "PLANNING", scope="1000")
    sure = resolve.translate("item", "ERP_LEGACY", "500", "PLANNING", "1000", to_scope="2000")

    assert unsure["status"] == "ambiguous"
    assert [m["code"] for m in unsure["matches"]] == ["BOLT-1", "BOLT-2"]
    assert (sure["status"], sure["code"]) == ("translated", "BOLT-2")


def test_preferred_codes_that_agree_across_target_scopes_translate(world, planning_system):
    """The record's code in every target scope is the same: nothing for the caller to choose
    (this was "ambiguous", a 409)."""
    ref(planning_system, "BOLT-1", world["bolt"], scope="1000", is_preferred=True)
    ref(planning_system, "BOLT-1", world["bolt"], scope="2000", is_preferred=True)

    result = resolve.translate("item", "ERP_LEGACY", "500", "PLANNING", scope="1000")

    assert (result["status"], result["code"]) == ("translated", "BOLT-1")
    assert result["reference"]["scope"] == "1000"


def test_codes_without_a_preferred_one_that_agree_translate(world, planning_system):
    ref(planning_system, "BOLT-1", world["bolt"], scope="1000")
    ref(planning_system, "BOLT-1", world["bolt"], scope="2000")

    result = resolve.translate("item", "ERP_LEGACY", "500", "PLANNING", scope="1000")

    assert (result["status"], result["code"]) == ("translated", "BOLT-1")


def test_a_code_that_does_not_resolve_translates_to_its_resolution(world):
    retired = resolve.translate("item", "ERP_LEGACY", "100234", "PLANNING", as_of=AFTER)
    unknown = resolve.translate("item", "ERP_LEGACY", "NOPE", "PLANNING")
    ambiguous = resolve.translate("item", "ERP_LEGACY", "500", "PLANNING")

    assert retired["status"] == "retired"
    assert retired["successor"]["code"] == "MAT-100234"
    assert unknown["status"] == "not_found"
    assert ambiguous["status"] == "ambiguous"


def test_a_record_without_a_code_in_the_target_says_so(world):
    result = resolve.translate("supplier", "ERP_LEGACY", "V-77", "PLANNING")

    assert result == {"status": "no_code_in_target", "id": world["supplier"].public_id}


def test_a_translation_batch_answers_in_request_order(world):
    keys = [
        {"kind": "item", "from_system": "ERP_LEGACY", "code": "100234", "to_system": "ERP_CLOUD"},
        {"kind": "item", "from_system": "ERP_CLOUD", "code": "MAT-100234", "to_system": "PLANNING"},
        {"kind": "item", "from_system": "ERP_CLOUD", "code": "NOPE", "to_system": "PLANNING"},
    ]

    results = resolve.translate_many(keys, AFTER)

    assert [r["status"] for r in results] == ["retired", "translated", "not_found"]
    assert results[1]["code"] == "BRG6204"
