"""How the demo makes its records: a random generator per record, check digits, and inserts
that leave a history row behind.

Deterministic: every record is drawn from its own random generator, seeded with the record's
kind and index, so the same sizes always give the same data. Idempotent: records are looked
up by their natural keys and only the missing ones are created.
"""

import random

from simple_history.utils import bulk_create_with_history
from stdnum import ean

from core.history import current_change_source
from mdm.models import allocate_public_ids

SEED = "valdor-demo-1"
BATCH_SIZE = 500
# How often a name or description already taken is drawn again before it is repeated.
REDRAWS = 30


def gs1(body):
    return body + ean.calc_check_digit(body)


def rng(kind, index=0):
    """A generator for one record: its data depends on nothing but its kind and index."""
    return random.Random(f"{SEED}:{kind}:{index}")


def get_or_create(created, model, defaults=None, **lookup):
    record, was_created = model.objects.get_or_create(defaults=defaults or {}, **lookup)
    created[model] += was_created
    return record


def bulk_insert(created, model, records, prefix=None):
    """Insert new records with an initial history row each, and public ids if they have
    them."""
    if not records:
        return
    if prefix:
        for record, public_id in zip(
            records, allocate_public_ids(prefix, len(records)), strict=True
        ):
            record.public_id = public_id
    source, reference = current_change_source()
    bulk_create_with_history(
        records,
        model,
        batch_size=BATCH_SIZE,
        default_change_reason="demo data",
        custom_historical_attrs={"change_source": source, "change_reference": reference},
    )
    created[model] += len(records)
