"""Demo items with their revisions and pack conversions.

Item 42 depends only on items 1 to 41 (whose descriptions it must not repeat), so it is the
same item whether 200 or 5,000 items are asked for, and a bigger seed only adds to a smaller
one.
"""

from datetime import date, timedelta
from decimal import Decimal

from demo.build import REDRAWS, bulk_insert, gs1, rng
from demo.item_families import ITEM_FAMILIES, MANUFACTURERS
from demo.suppliers import supplier_number
from mdm.models import Item, ItemRevision, ItemUnitConversion, Supplier

FIRST_ITEM_NUMBER = 100000
# Supplier-specific packs come from the first few suppliers only, so that seeding more
# suppliers later does not change which supplier an item's pack belongs to.
KEY_SUPPLIERS = 10
COMPANY_GS1_PREFIX = "4098765"
CHANGE_REASONS = ("material change", "drawing update", "tolerance change", "cost reduction",
                  "new supplier qualified", "RoHS compliance", "packaging change")  # fmt: skip


def _weight(value):
    return max(Decimal("0.0001"), Decimal(f"{value:.4f}"))


def item_number(index):
    return str(FIRST_ITEM_NUMBER + index - 1)


def item_record(index, supplier_count, described):
    """One item with its revisions and pack conversions. `described` holds the descriptions
    of items 1 to index - 1; a description already taken is drawn again rather than repeated."""
    rnd = rng("item", index)
    families, weights = zip(*ITEM_FAMILIES, strict=True)
    for _ in range(REDRAWS):
        spec = rnd.choices(families, weights=weights)[0](rnd)
        if spec.description not in described:
            break
    described.add(spec.description)
    status = rnd.choices(
        (Item.Status.ACTIVE, Item.Status.BLOCKED, Item.Status.OBSOLETE), weights=(89, 5, 6)
    )[0]
    gtin = ""
    if rnd.random() < spec.gtin_share:
        prefix = MANUFACTURERS[spec.maker][0] if spec.maker else COMPANY_GS1_PREFIX
        gtin = gs1(f"{prefix}{index % 100000:05d}")
    weight = spec.weight if spec.weight is not None and rnd.random() < 0.7 else None
    item = {
        "number": item_number(index),
        "description": spec.description,
        "base_unit_id": spec.unit,
        "item_type": spec.item_type,
        "status": status,
        "gtin": gtin,
        "manufacturer": spec.maker or "",
        "mpn": spec.mpn,
        "commodity": spec.commodity,
        "net_weight": _weight(weight) if weight is not None else None,
        "weight_unit_id": "KGM" if weight is not None else None,
    }
    return item, _revisions(rnd, status), _conversions(rnd, spec, supplier_count)


def _revisions(rnd, status):
    """1-3 revisions back to back: earlier ones obsolete and ended, the last released and
    open-ended (or ended and obsolete too when the item itself is obsolete)."""
    count = rnd.choices((1, 2, 3), weights=(60, 30, 10))[0]
    start = date(2016, 1, 4) + timedelta(days=rnd.randrange(5 * 365))
    revisions = []
    for n in range(count):
        code = "ABC"[n]
        note = (
            "Initial release"
            if n == 0
            else f"ECN-{rnd.randint(20000, 29999)}: {rnd.choice(CHANGE_REASONS)}"
        )
        last = n == count - 1
        if last and status != Item.Status.OBSOLETE:
            revisions.append((code, ItemRevision.Status.RELEASED, start, None, note))
            break
        end = start + timedelta(days=rnd.randint(120, 700))
        revisions.append((code, ItemRevision.Status.OBSOLETE, start, end, note))
        start = end + timedelta(days=1)
    return revisions


def _conversions(rnd, spec, supplier_count):
    """Pack conversions as (from unit, to unit, factor, supplier index or None)."""
    if not spec.packs or rnd.random() >= 0.45:
        return []
    pack, factors = spec.packs
    factor = rnd.choice(factors)
    conversions = [(pack, spec.unit, factor, None)]
    if pack == "XBX" and rnd.random() < 0.3:
        conversions.append(("XPX", "XBX", rnd.choice((20, 24, 36, 48, 60)), None))
    if supplier_count and rnd.random() < 0.12:
        other = rnd.choice([f for f in factors if f != factor] or [factor * 2])
        supplier = rnd.randint(1, min(supplier_count, KEY_SUPPLIERS))
        conversions.append((pack, spec.unit, other, supplier))
    return conversions


def seed_items(created, count, supplier_count):
    existing = set(Item.objects.values_list("number", flat=True))
    taken_gtins = set(Item.objects.exclude(gtin="").values_list("gtin", flat=True))
    new, children, described = [], {}, set()
    for index in range(1, count + 1):
        fields, revisions, conversions = item_record(index, supplier_count, described)
        children[fields["number"]] = (revisions, conversions)
        if fields["number"] in existing:
            continue
        if fields["gtin"] in taken_gtins:
            fields["gtin"] = ""
        if fields["gtin"]:
            taken_gtins.add(fields["gtin"])
        new.append(Item(**fields))
    bulk_insert(created, Item, new, Item.PUBLIC_ID_PREFIX)

    item_ids = dict(Item.objects.values_list("number", "id"))
    supplier_ids = dict(Supplier.objects.values_list("number", "id"))
    existing_revisions = set(ItemRevision.objects.values_list("item_id", "revision"))
    existing_conversions = set(
        ItemUnitConversion.objects.values_list(
            "item_id", "supplier_id", "from_unit_id", "to_unit_id"
        )
    )
    new_revisions, new_conversions = [], []
    for number, (revisions, conversions) in children.items():
        item_id = item_ids[number]
        for code, status, start, end, note in revisions:
            if (item_id, code) not in existing_revisions:
                new_revisions.append(
                    ItemRevision(
                        item_id=item_id,
                        revision=code,
                        status=status,
                        effective_from=start,
                        effective_to=end,
                        description=note,
                    )
                )
        for from_unit, to_unit, factor, supplier_index in conversions:
            supplier_id = None
            if supplier_index is not None:
                supplier_id = supplier_ids.get(supplier_number(supplier_index))
                if supplier_id is None:
                    continue
            key = (item_id, supplier_id, from_unit, to_unit)
            if key in existing_conversions:
                continue
            existing_conversions.add(key)
            new_conversions.append(
                ItemUnitConversion(
                    item_id=item_id,
                    supplier_id=supplier_id,
                    from_unit_id=from_unit,
                    to_unit_id=to_unit,
                    factor=Decimal(factor),
                )
            )
    bulk_insert(created, ItemRevision, new_revisions)
    bulk_insert(created, ItemUnitConversion, new_conversions)
