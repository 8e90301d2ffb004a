"""Duplicates found among the master records (issue 19, detection and decisions): pairs
scored by the calibrated matcher, checked on every save and by full runs, grouped into
clusters, and decisions that hold until an identifier changes."""

import io

import pytest
from django.core.management import CommandError, call_command

from mdm.models import Item, Location, Supplier
from xref import duplicates
from xref.duplicates import clusters, decide
from xref.matching import SURE, WORTH_A_LOOK
from xref.models import DuplicatePair, DuplicateRun, MatchLabel

pytestmark = pytest.mark.django_db

# The same VAT number written two ways. (Two suppliers cannot share a DUNS or an LEI: the
# database refuses it, so a VAT number is what two records of one company share.)
ACME_VAT = "DE136695976"


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    pass


def supplier(number, name, country="DE", **fields):
    return Supplier.objects.create(number=number, name=name, country=country, **fields)


@pytest.fixture
def acme_twice(db):
    """Acme Fasteners onboarded twice (the VAT number written apart once), and Globex."""
    return (
        supplier("V1", "Acme Fasteners", vat=ACME_VAT),
        supplier("V2", "ACME Fasteners GmbH", vat="DE 136 695 976"),
        supplier("V3", "Globex Components", vat="DE811128135"),
    )


def pair_of(one, other):
    first, second = sorted((one.public_id, other.public_id))
    return DuplicatePair.objects.get(record_a=first, record_b=second)


def test_it_pairs_two_suppliers_with_one_vat_number_and_near_names(acme_twice):
    acme, acme_again, globex = acme_twice

    found = duplicates.check("supplier", acme.public_id)

    assert [(p.record_a, p.record_b) for p in found] == [(acme.public_id, acme_again.public_id)]
    assert found[0].score >= SURE
    assert found[0].status == "open"
    assert found[0].evidence["vat"] == 100
    assert not duplicates.pairs_of("supplier", globex.public_id).exists()


def test_it_checks_a_saved_supplier_once_the_save_commits(
    acme_twice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        again = supplier("V4", "Globex Components Inc", vat="DE 811 128 135")

    pair = pair_of(acme_twice[2], again)
    assert pair.score >= WORTH_A_LOOK
    assert pair.checked_at is not None


def test_it_drops_an_open_pair_when_one_record_is_deleted(
    acme_twice, django_capture_on_commit_callbacks
):
    acme, acme_again, _ = acme_twice
    duplicates.check("supplier", acme.public_id)

    with django_capture_on_commit_callbacks(execute=True):
        acme_again.delete()

    assert not duplicates.pairs_of("supplier", acme.public_id).exists()


def test_a_not_same_decision_holds_until_an_identifier_changes(
    acme_twice, steward, django_capture_on_commit_callbacks
):
    acme, acme_again, _ = acme_twice
    duplicates.check("supplier", acme.public_id)
    pair = decide(pair_of(acme, acme_again), "not_same", steward, "Two legal entities.")

    duplicates.check("supplier", acme.public_id)
    with django_capture_on_commit_callbacks(execute=True):
        duplicates.full_run("supplier")
    with django_capture_on_commit_callbacks(execute=True):
        acme_again.name = "Acme Fastener GmbH"
        acme_again.save()

    pair.refresh_from_db()
    assert (pair.status, pair.decided_by, pair.note) == ("not_same", steward, "Two legal entities.")

    with django_capture_on_commit_callbacks(execute=True):
        acme_again.duns = "150483782"
        acme_again.save()

    pair.refresh_from_db()
    assert pair.status == "open"
    assert pair.decided_by is None
    assert pair.note.startswith("Reopened: an identifier")
    history = list(pair.history.order_by("history_date", "history_id"))
    statuses = [
        h.status for i, h in enumerate(history) if i == 0 or h.status != history[i - 1].status
    ]
    assert statuses == ["open", "not_same", "open"]
    assert history[-1].change_source == "task"


def test_a_decision_is_kept_with_its_author_and_undone(acme_twice, steward):
    acme, acme_again, _ = acme_twice
    duplicates.check("supplier", acme.public_id)
    pair = pair_of(acme, acme_again)

    decide(pair, "same", steward, "One company, two ERPs.")

    pair.refresh_from_db()
    assert (pair.status, pair.decided_by) == ("same", steward)
    assert pair.identity
    label = MatchLabel.objects.get(record=acme_again.public_id)
    assert (label.is_match, label.source, label.query["q"]) == (
        True,
        "duplicates",
        "Acme Fasteners",
    )
    assert pair.history.latest("history_date").history_user == steward

    decide(pair, "open", steward)

    pair.refresh_from_db()
    assert (pair.status, pair.decided_by, pair.identity) == ("open", None, "")
    assert not MatchLabel.objects.exists()


def test_it_refuses_an_unknown_decision(acme_twice):
    duplicates.check("supplier", acme_twice[0].public_id)
    pair = pair_of(*acme_twice[:2])

    with pytest.raises(duplicates.DuplicateError, match="choose one of open, same"):
        decide(pair, "merge")


def test_it_pairs_items_with_one_part_number(units):
    def item(number, description, **fields):
        return Item.objects.create(
            number=number,
            description=description,
            base_unit=units.h87,
            item_type=Item.Type.COMPONENT,
            **fields,
        )

    bolt = item("100234", "Hex bolt ISO 4017 M8x40 8.8 zinc", manufacturer="Boltara", mpn="BT-4017")
    again = item("B-77", "HEX BOLT M8X40 ISO4017 zinc plated", manufacturer="Boltara", mpn="BT4017")
    item("100235", "Hex nut ISO 4032 M8 zinc plated", manufacturer="Boltara", mpn="BT-4032")

    found = duplicates.check("item", again.public_id)

    assert [(p.record_a, p.record_b) for p in found] == [(bolt.public_id, again.public_id)]
    assert found[0].score >= SURE


def test_it_pairs_a_supplier_site_location_entered_twice(db):
    def site(code, name, address):
        return Location.objects.create(
            code=code,
            name=name,
            kind=Location.Kind.SUPPLIER_SITE,
            country="DE",
            address=address,
            postal_code="85049",
        )

    first = site("S-ACME-1", "Acme Fasteners Ingolstadt", "Hauptstrasse 12")
    second = site("S-ACME-9", "Acme Fasteners Ingolstadt works", "Hauptstr. 12")

    found = duplicates.check("location", second.public_id)

    assert [(p.record_a, p.record_b) for p in found] == [(first.public_id, second.public_id)]


def test_a_plant_its_warehouse_and_its_dock_at_one_address_are_never_one_place(db):
    def place(code, name, kind):
        return Location.objects.create(
            code=code,
            name=name,
            kind=kind,
            country="DE",
            address="Werkstrasse 1",
            postal_code="85049",
        )

    plant = place("DE01", "Ingolstadt plant", Location.Kind.PLANT)
    place("DE01-WH1", "Ingolstadt plant central warehouse", Location.Kind.WAREHOUSE)
    place("DE01-GR1", "Ingolstadt plant goods receipt", Location.Kind.SHIP_TO)
    again = place("DE01-X", "Ingolstadt plant", Location.Kind.PLANT)

    found = duplicates.check("location", again.public_id)

    assert [(p.record_a, p.record_b) for p in found] == [(plant.public_id, again.public_id)]


# --- clusters ------------------------------------------------------------------------------


def planted(kind, first, second, score, status="open"):
    return DuplicatePair.objects.create(
        kind=kind, record_a=first, record_b=second, score=score, status=status
    )


def test_clusters_join_pairs_that_share_a_record_best_first():
    planted("supplier", "SUP-000001", "SUP-000002", 95.0)
    planted("supplier", "SUP-000002", "SUP-000003", 92.0)
    planted("supplier", "SUP-000001", "SUP-000003", 30.0)
    planted("supplier", "SUP-000007", "SUP-000008", 97.0)
    planted("supplier", "SUP-000004", "SUP-000005", 95.0)
    planted("supplier", "SUP-000005", "SUP-000006", 40.0)
    planted("supplier", "SUP-000009", "SUP-000010", 99.0, status="not_same")
    planted("item", "ITM-000001", "ITM-000002", 99.0)

    found = clusters("supplier")

    assert [(c.records, c.best) for c in found] == [
        (("SUP-000007", "SUP-000008"), 97.0),
        (("SUP-000001", "SUP-000002", "SUP-000003"), 95.0),
        (("SUP-000004", "SUP-000005"), 95.0),
    ]
    # At worth a look, 5~6 joins no cluster: 4 and 6 are nothing alike.
    assert [c.records for c in clusters("supplier", min_score=WORTH_A_LOOK)][2:] == [
        ("SUP-000004", "SUP-000005"),
        ("SUP-000005", "SUP-000006"),
    ]


def test_a_chain_of_look_alikes_is_not_one_cluster():
    """A like B, B like C, but A and C nothing alike: two clusters that share B."""
    planted("supplier", "SUP-000001", "SUP-000002", 97.0)
    planted("supplier", "SUP-000002", "SUP-000003", 93.0)

    found = clusters("supplier")

    assert [c.records for c in found] == [
        ("SUP-000001", "SUP-000002"),
        ("SUP-000002", "SUP-000003"),
    ]


# --- a full run ----------------------------------------------------------------------------

SINGLES = [
    "Baltic Timber Trading",
    "Nordwind Logistik",
    "Rheinmetall Gusswerk",
    "Sonnenschein Solar",
    "Kupferhammer Draht",
    "Alpenland Kunststoffe",
    "Weserbergland Papier",
    "Elbtal Elektronik",
    "Harzer Hydraulik",
    "Schwarzwald Federn",
    "Bodensee Optik",
    "Moselglas Verpackung",
    "Spreewald Gummi",
    "Oderland Stahlbau",
    "Eifel Keramik",
    "Taunus Textil",
    "Lausitz Lacke",
    "Altmark Antriebe",
    "Vogtland Ventile",
    "Ruhrpott Robotik",
]
TWINS = [
    ("Hansa Pumpen", "Hansa Pumpen GmbH", "DE129273398"),
    ("Brenner Werkzeug", "Brenner Werkzeuge", "DE118619387"),
    ("Isar Kabelwerk", "ISAR Kabelwerk AG", "DE129443683"),
    ("Main Chemie", "Main-Chemie", "DE114103379"),
    ("Saale Schrauben", "Saale Schrauben KG", "DE131429021"),
]


def test_a_full_run_finds_the_planted_pairs_and_finishes(db, django_capture_on_commit_callbacks):
    for number, name in enumerate(SINGLES):
        supplier(f"S{number}", name)
    twins = set()
    for number, (name, other, vat) in enumerate(TWINS):
        one = supplier(f"T{number}a", name, vat=vat)
        two = supplier(f"T{number}b", other, vat=vat)
        twins.add(tuple(sorted((one.public_id, two.public_id))))

    with django_capture_on_commit_callbacks(execute=True):
        run = duplicates.full_run("supplier", chunk_size=7)

    run = DuplicateRun.objects.get(pk=run.pk)
    assert (run.status, run.chunks_total, run.chunks_done, run.pending) == ("finished", 5, 5, [])
    assert run.finished_at is not None
    assert run.pairs_found == len(twins)
    found = {(p.record_a, p.record_b) for p in DuplicatePair.objects.filter(kind="supplier")}
    assert found == twins
    assert all(c.best >= SURE for c in clusters("supplier"))
    assert len(clusters("supplier")) == len(twins)


def test_a_chunk_delivered_twice_counts_once(acme_twice, django_capture_on_commit_callbacks):
    run = duplicates.full_run("supplier", chunk_size=2)  # not sent: outside the capture
    ids = sorted(s.public_id for s in acme_twice)

    duplicates.check_chunk(run.pk, 0, ids[:2])
    duplicates.check_chunk(run.pk, 0, ids[:2])

    run.refresh_from_db()
    assert (run.chunks_done, run.pending, run.status) == (1, [1], "running")


def test_the_command_starts_a_run(acme_twice, django_capture_on_commit_callbacks):
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("find_duplicates", "supplier", stdout=out)

    assert DuplicateRun.objects.get().status == "finished"
    assert pair_of(*acme_twice[:2]).status == "open"


def test_the_command_runs_over_every_kind_supplier_sites_included(
    acme_twice, django_capture_on_commit_callbacks
):
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("find_duplicates", "--all", stdout=out)

    assert sorted(DuplicateRun.objects.values_list("kind", flat=True)) == [
        "item",
        "location",
        "supplier",
        "supplier_site",
    ]
    assert "supplier_site: run" in out.getvalue()
    with pytest.raises(CommandError, match="supplier_site"):
        call_command("find_duplicates", stdout=out)
