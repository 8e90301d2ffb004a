"""Seeding the demo world, in this order, in one transaction:

1. the master records (demo.reference_data, demo.plants, demo.suppliers, demo.items): units,
   source systems, code lists, plants with their calendars, suppliers with their sites,
   items with their revisions and pack conversions;
2. the match index of the records just added (bulk inserts send no signals);
3. the cross-references of the four systems (demo.references);
4. each quarantine team's service level (demo.teams);
5. a duplicate run over the suppliers, supplier sites and locations added (three suppliers
   are planted twice, demo.suppliers.TWINS, and one head office, SITE_TWINS), run once the
   seed has committed;

and, once that has committed, 6. the demo messages (demo.messages), submitted like a sync
flow would submit them. A failure before the commit leaves nothing half-written.

Idempotent: records are looked up by their natural keys and only the missing ones are
created. Records that already exist, perhaps edited by a steward since, are left alone, which
is why `make run` can seed on every start.
"""

from collections import Counter

from django.db import transaction
from django.utils import timezone

from core.history import change_source
from demo.approvals import seed_approval_policies
from demo.items import seed_items
from demo.messages import submit_demo_messages
from demo.plants import seed_plants
from demo.reference_data import seed_code_lists, seed_systems, seed_units
from demo.references import seed_references
from demo.subscriptions import seed_subscriptions
from demo.suppliers import MAX_SUPPLIERS, seed_supplier_calendars, seed_suppliers
from demo.teams import seed_team_settings
from mdm.models import (
    Calendar,
    CalendarException,
    CodeList,
    CodeValue,
    Item,
    ItemRevision,
    ItemUnitConversion,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
    Unit,
)
from xref import duplicates, matching

DEFAULT_ITEMS = 5000
DEFAULT_SUPPLIERS = 200

# The summary's rows of master records, in this order.
SUMMARY = (
    (Unit, "units"),
    (SourceSystem, "source systems"),
    (CodeList, "code lists"),
    (CodeValue, "code values"),
    (Calendar, "calendars"),
    (CalendarException, "calendar exceptions"),
    (Location, "locations"),
    (Supplier, "suppliers"),
    (SupplierSite, "supplier sites"),
    (Item, "items"),
    (ItemRevision, "item revisions"),
    (ItemUnitConversion, "unit conversions"),
)


def seed_demo(items=DEFAULT_ITEMS, suppliers=DEFAULT_SUPPLIERS, today=None, messages=True):
    """Create whatever of the demo world is missing; return (what, created, total) rows.

    `today` places the plant calendar exceptions in this year and the next, and the ERP
    cut-over of the first seed at the start of the next quarter. `messages=False` leaves the
    demo messages out (the validation benchmark brings its own).
    """
    if items < 0 or not 0 <= suppliers <= MAX_SUPPLIERS:
        raise ValueError(
            f"Give 0 or more items and 0 to {MAX_SUPPLIERS} suppliers "
            f"(got {items} items, {suppliers} suppliers)."
        )
    today = today or timezone.localdate()
    created = Counter()
    with transaction.atomic(), change_source("command", reference="seed_demo"):
        created[Unit] += seed_units()
        seed_systems(created)
        seed_code_lists(created)
        seed_plants(created, today.year)
        seed_supplier_calendars(created)
        seed_suppliers(created, suppliers)
        seed_items(created, items, suppliers)
        summary = [(label, created[model], model.objects.count()) for model, label in SUMMARY]
        summary.append(_index_new_records())
        summary.extend(seed_references(today, items, suppliers))
        seed_team_settings()
        seed_subscriptions(created)
        # Last: the seed's own writes are not changes a person asks for.
        seed_approval_policies()
        # New suppliers, sites and locations are looked at for duplicates (bulk inserts queue
        # no checks): a run each, once the seed has committed. Items are left to a steward's run.
        for model, kind in (
            (Supplier, "supplier"),
            (SupplierSite, "supplier_site"),
            (Location, "location"),
        ):
            if created[model]:
                duplicates.full_run(kind)
        if messages:
            # The messages need the records and cross-references for good: after the commit.
            transaction.on_commit(submit_demo_messages)
    return summary


def _index_new_records():
    """Index the records the seed added for match; the summary row: records indexed now, and
    all the records the index covers."""
    added = matching.index_unindexed()
    total = sum(matching.SPECS[name].model.objects.count() for name in matching.KINDS)
    return ("match index (records)", added, total)
