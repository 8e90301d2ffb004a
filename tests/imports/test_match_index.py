"""The match index of the records an import writes in bulk (no save signals): brought up to
date after the apply commits by a task per batch of records, each idempotent; on PostgreSQL
the keys go by COPY (made to here for a handful of records)."""

import pytest

from imports import indexing
from imports.models import ImportRun
from mdm.models import Item
from tests.imports.conftest import apply
from xref import matching
from xref.matching import index
from xref.models import MatchKey

pytestmark = pytest.mark.django_db

HEADER = "number,description,base_unit,item_type\n"
# Seven items with a model number each.
ITEMS = HEADER + "".join(f"{500 + n},Pump housing QX{7100 + n}ZA,H87,component\n" for n in range(7))


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    """Batches of three records, and COPY from the first key (PostgreSQL)."""
    monkeypatch.setattr(indexing, "BATCH", 3)
    monkeypatch.setattr(index, "COPY_MIN_KEYS", 1)


@pytest.fixture
def batches(monkeypatch):
    """The (first id, last id) of each batch task run."""
    seen = []
    run_batch = indexing.index_batch

    def spy(run_id, first_id, last_id):
        seen.append((first_id, last_id))
        return run_batch(run_id, first_id, last_id)

    monkeypatch.setattr(indexing, "index_batch", spy)
    return seen


def item_keys():
    return set(MatchKey.objects.filter(kind=MatchKey.Kind.ITEM).values_list())


def rebuilt_keys(monkeypatch):
    """The keys a rebuild from the item table writes (through the ORM, not COPY)."""
    monkeypatch.setattr(index, "COPY_MIN_KEYS", 10**9)
    matching.rebuild(kinds=("item",))
    return item_keys()


def applied(text, capture):
    with capture(execute=True):
        run = apply("items", text)
    assert run.status == ImportRun.Status.APPLIED, run.message
    return run


def found_first(text):
    found = matching.match("item", text)
    return found[0].id if found else None


def test_every_item_an_import_writes_is_findable_after_its_batches(
    units, batches, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as pending:
        run = apply("items", ITEMS)
    assert found_first("QX7103ZA") is None  # written in bulk: not indexed by the apply

    for callback in pending:
        callback()

    items = list(Item.objects.order_by("pk"))
    assert [last - first for first, last in batches] == [2, 2, 0]
    assert batches[0][0] == items[0].pk and batches[-1][1] == items[-1].pk
    for n, item in enumerate(items):
        assert found_first(f"pump QX{7100 + n}ZA") == item.public_id
    assert item_keys() == rebuilt_keys(monkeypatch)
    assert run.status == ImportRun.Status.APPLIED


def test_an_import_that_changes_items_replaces_their_keys(
    units, monkeypatch, django_capture_on_commit_callbacks
):
    applied(ITEMS, django_capture_on_commit_callbacks)
    applied(HEADER + "502,Gear wheel RB4400,H87,component\n", django_capture_on_commit_callbacks)

    gear = Item.objects.get(number="502")
    assert found_first("RB4400 gear") == gear.public_id
    assert gear.pk not in MatchKey.objects.filter(key="c:QX7102ZA").values_list(
        "record_id", flat=True
    )
    assert item_keys() == rebuilt_keys(monkeypatch)


@pytest.mark.parametrize("changed", [False, True], ids=["created", "changed"])
def test_a_batch_delivered_twice_leaves_the_same_keys(
    units, changed, monkeypatch, django_capture_on_commit_callbacks
):
    run = applied(ITEMS, django_capture_on_commit_callbacks)
    if changed:
        run = applied(
            HEADER + "501,Gear wheel RB4400,H87,component\n502,Gear rim RB4401,H87,component\n",
            django_capture_on_commit_callbacks,
        )
    ids = sorted(Item.history.filter(change_reference=str(run.pk)).values_list("id", flat=True))
    before = item_keys()

    assert indexing.index_batch(run.pk, ids[0], ids[-1]) == len(ids)

    assert item_keys() == before == rebuilt_keys(monkeypatch)


def test_an_imported_item_is_checked_for_duplicates_of_the_master(
    units, django_capture_on_commit_callbacks
):
    from xref.models import DuplicatePair

    existing = Item.objects.create(
        number="9001",
        description="Pump housing QX7103ZA cast iron",
        mpn="QX7103ZA",
        base_unit=units[0],
        item_type=Item.Type.COMPONENT,
    )
    DuplicatePair.objects.all().delete()

    applied(
        HEADER.replace("item_type", "item_type,mpn")
        + "9002,Pump housing QX7103ZA,H87,component,QX7103ZA\n",
        django_capture_on_commit_callbacks,
    )

    imported = Item.objects.get(number="9002")
    pair = DuplicatePair.objects.get()
    assert {pair.record_a, pair.record_b} == {existing.public_id, imported.public_id}
    assert pair.score >= matching.SURE
