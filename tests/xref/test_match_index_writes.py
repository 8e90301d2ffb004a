"""The two ways keys are written to the match index: through the ORM (a save's record, and
every write on SQLite) and by COPY through a temporary table (a batch on PostgreSQL). Both
write the same rows, and both leave keys already there as they are."""

import pytest

from mdm.models import Location, Supplier
from xref import matching
from xref.matching import index
from xref.models import MatchKey

pytestmark = pytest.mark.django_db


def all_keys():
    return set(MatchKey.objects.values_list())


@pytest.fixture
def world(items, suppliers, locations):
    Supplier.objects.create(
        number="V100009",
        name="Li & Li",
        legal_name="Li & Li Trading Ltd",
        country="HK",
        vat="CHE-116.281.710 MWST",
    )


def rebuilt(monkeypatch, copy_from):
    monkeypatch.setattr(index, "COPY_MIN_KEYS", copy_from)
    matching.rebuild()
    return all_keys()


def test_a_copied_index_equals_the_one_the_orm_writes(world, monkeypatch):
    by_orm = rebuilt(monkeypatch, 10**9)
    by_copy = rebuilt(monkeypatch, 1)

    assert by_copy == by_orm
    # The names stored on word keys came through too.
    assert ("w:li", "li li") in {(key, text) for _, key, _, text in by_copy}


def test_writing_keys_a_record_has_adds_only_the_missing_ones(world, monkeypatch):
    monkeypatch.setattr(index, "COPY_MIN_KEYS", 1)
    spec = matching.SPECS["location"]
    rows = list(Location.objects.values(*spec.fields))
    before = all_keys()
    MatchKey.objects.filter(kind=spec.kind, key__startswith="t:").delete()

    assert matching.index_rows(spec, rows) > 0

    assert all_keys() == before


def test_bulk_inserted_records_are_indexed_by_copy_too(world, monkeypatch):
    monkeypatch.setattr(index, "COPY_MIN_KEYS", 1)
    Location.objects.bulk_create(
        [Location(public_id="LOC-900001", code="US07", name="Austin plant", kind="plant")]
    )

    assert matching.index_unindexed(kinds=("location",)) == 1

    assert matching.match("location", "Austin plant")[0].id == "LOC-900001"
