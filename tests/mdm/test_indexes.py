"""Indexes a write pays for: on PostgreSQL, numbers, public ids and the history's change
reference keep their exact-match (unique) indexes but no LIKE (varchar_pattern_ops) twin,
which no query of the hub uses and every insert would maintain."""

import pytest
from django.db import IntegrityError, connection, transaction

from mdm.models import Item, Supplier, Unit
from tests.services import require

pytestmark = pytest.mark.django_db


def _index_definitions(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %s",
            [table],
        )
        return [definition for (definition,) in cursor.fetchall()]


@pytest.mark.parametrize("model", [Item, Supplier])
def test_numbers_and_public_ids_have_no_pattern_index(model):
    require(connection.vendor == "postgresql", "PostgreSQL")
    definitions = _index_definitions(model._meta.db_table)
    assert not [d for d in definitions if "varchar_pattern_ops" in d and "(number " in d]
    assert not [d for d in definitions if "varchar_pattern_ops" in d and "(public_id " in d]
    # Their exact-match unique indexes stay.
    assert any(d.startswith("CREATE UNIQUE INDEX") and "(number)" in d for d in definitions)
    assert any(d.startswith("CREATE UNIQUE INDEX") and "(public_id)" in d for d in definitions)


def test_history_change_reference_has_only_its_plain_index():
    require(connection.vendor == "postgresql", "PostgreSQL")
    definitions = _index_definitions(Item.history.model._meta.db_table)
    on_reference = [d for d in definitions if "(change_reference" in d]
    assert len(on_reference) == 1 and "varchar_pattern_ops" not in on_reference[0]


def test_a_second_item_with_a_number_is_still_refused():
    unit = Unit.objects.create(code="H87", name="piece", mapping_class="count")
    Item.objects.create(number="B-1", description="Bolt", base_unit=unit, item_type="component")
    with pytest.raises(IntegrityError), transaction.atomic():
        Item.objects.bulk_create(
            [Item(number="B-1", description="Nut", base_unit=unit, item_type="component")]
        )
