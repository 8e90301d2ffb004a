"""Demo cross-references: the codes Valdor's four systems use for the demo records.

- ERP_LEGACY numbers materials per plant (scope = legacy plant code 1000, 2000, 3000): mostly
  the hub's item number, but plant 2000 reused the numbers of a few items it never stocked for
  local parts, so those codes mean different items in different plants and resolving them
  without a scope is ambiguous. Vendors have vendor numbers, plants plant codes, storage
  locations and docks codes within their plant, units X12-style codes, acknowledgement
  statuses two-digit codes, revisions item number + level.
- ERP_CLOUD replaces it at a cut-over date: every ERP_LEGACY reference ends that day
  (valid_to) and the ERP_CLOUD references start it (valid_from), so resolving as of a date
  before the cut-over and after it gives different answers.
- PLANNING has its own item and location codes; a few items were renumbered in planning at
  the start of the cut-over's previous quarter, so the old code has a successor.
- SUPPLIER_NET knows suppliers and their sites by network id, ship-to locations by GLN,
  units by X12 355 codes and acknowledgement line statuses by X12 855 ACK01 codes.

One reference per record, system and scope is preferred (the code translation uses).

The cut-over is the first day of the quarter after the first seed's `today`; later seeds keep
the date already in the data, so seeding again in another quarter adds nothing. Deterministic
and idempotent like the records: each reference depends only on its record's index, and only
references missing by (system, kind, scope, code, valid_from) are added; a code a steward has
claimed since is left to the steward.
"""

import random
from collections import defaultdict
from datetime import date

from simple_history.utils import bulk_create_with_history

from core.history import current_change_source
from demo.build import SEED
from demo.items import item_number
from demo.reference_data import DEMO_UNITS
from demo.suppliers import TWINS, supplier_number, twin_number
from mdm.models import (
    CodeValue,
    Item,
    ItemRevision,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
    Unit,
)
from xref.models import TARGETS, CrossReference, Kind

LEGACY, CLOUD, PLANNING, NETWORK = "ERP_LEGACY", "ERP_CLOUD", "PLANNING", "SUPPLIER_NET"
SYSTEMS = (LEGACY, CLOUD, PLANNING, NETWORK)
BATCH_SIZE = 1000

# Demo plant code -> (ERP_LEGACY plant, ERP_CLOUD plant, PLANNING location prefix). The
# warehouse (-WH1) and goods receipt dock (-GR1) of each plant are coded within the plant.
PLANT_CODES = {
    "DE01": ("1000", "DE10", "ING"),
    "US01": ("2000", "US10", "GRR"),
    "MX01": ("3000", "MX10", "QRO"),
}
# Share of items each legacy plant stocks.
PLANT_SHARES = (("1000", 0.85), ("2000", 0.5), ("3000", 0.35))
# In every block of this many items, plant 2000 gives the block's second item the number of
# the first (which plant 2000 never stocked): the same code means two items in two plants.
REUSE_BLOCK = 50
# Every this many items (offset 7), planning renumbered the item.
RENUMBER_EVERY = 100

# X12 355 unit codes and the UN/ECE Rec 20/21 codes they mean, from the hand-made crosswalk
# in ../shared/refdata/x12/x12_355_to_unece_rec20_crosswalk_common.csv (see its SOURCES.md).
# The first code of each unit is the preferred one. Rows whose unit is not loaded are skipped.
X12_UNITS = (
    ("EA", "H87"),  # each: the piece in most ERPs
    ("PC", "H87"),
    ("UN", "C62"),
    ("DZ", "DZN"),
    ("PR", "PR"),
    ("ST", "SET"),
    ("KT", "KT"),
    ("KG", "KGM"),
    ("GR", "GRM"),  # not Rec 20 GRO (gross)
    ("LB", "LBR"),
    ("OZ", "ONZ"),
    ("MR", "MTR"),
    ("CM", "CMT"),
    ("MM", "MMT"),
    ("IN", "INH"),
    ("FT", "FOT"),
    ("LT", "LTR"),
    ("ML", "MLT"),
    ("GA", "GLL"),
    ("HR", "HUR"),
    ("DA", "DAY"),
    ("BX", "XBX"),
    ("CA", "XCS"),  # case, not the deleted Rec 20 CA (can)
    ("CT", "XCT"),
    ("PK", "XPK"),
    ("PL", "XPX"),  # pallet, not Rec 21 PL (pail)
    ("BG", "XBG"),
    ("DR", "XDR"),
    ("RL", "XRO"),  # roll, not Rec 21 RL (reel)
    ("RE", "XRL"),
)
PLANNING_UNITS = (("PCS", "H87"), ("KG", "KGM"), ("M", "MTR"), ("L", "LTR"))

# ACK_LINE_STATUS values by code in each system. X12 855 ACK01 (element 668, version 004010)
# codes from ../shared/refdata/x12/code_lists_004010/x12_element_668.csv; the first code of
# each status is preferred. AA, IE and SP are left out: which status they mean is a
# procurement decision.
X12_ACK_STATUS = (
    ("IA", "accepted"),  # Item Accepted
    ("AC", "accepted"),  # Item Accepted and Shipped
    ("AR", "accepted"),  # Item Accepted and Released for Shipment
    ("IC", "accepted_with_changes"),  # Item Accepted - Changes Made
    ("IQ", "accepted_with_changes"),  # Item Accepted - Quantity Changed
    ("IP", "accepted_with_changes"),  # Item Accepted - Price Changed
    ("DR", "accepted_with_changes"),  # Item Accepted - Date Rescheduled
    ("IS", "accepted_with_changes"),  # Item Accepted - Substitution Made
    ("IB", "backordered"),  # Item Backordered
    ("BP", "backordered"),  # Partial Shipment, Balance Backordered
    ("IR", "rejected"),  # Item Rejected
    ("ID", "rejected"),  # Item Deleted
    *((f"R{n}", "rejected") for n in range(1, 9)),  # Item Rejected, with a reason
    ("IH", "on_hold"),  # Item on Hold
    ("IF", "on_hold"),  # Item on Hold, Incomplete Description
    ("IW", "on_hold"),  # Item on Hold - Waiver Required
)
LEGACY_ACK_STATUS = (
    ("01", "accepted"),
    ("02", "accepted_with_changes"),
    ("03", "backordered"),
    ("04", "rejected"),
    ("05", "on_hold"),
)
CLOUD_ACK_STATUS = (
    ("ACCEPTED", "accepted"),
    ("CHANGED", "accepted_with_changes"),
    ("BACKORDERED", "backordered"),
    ("REJECTED", "rejected"),
    ("ON_HOLD", "on_hold"),
)
ACK_LIST = "ACK_LINE_STATUS"


def cutover_date(today):
    """The first day of the quarter after `today`'s."""
    quarter_end_month = (today.month - 1) // 3 * 3 + 3
    if quarter_end_month == 12:
        return date(today.year + 1, 1, 1)
    return date(today.year, quarter_end_month + 1, 1)


def quarter_before(day):
    """The first day of the quarter before the one starting on `day`."""
    month = day.month - 3
    return date(day.year, month, 1) if month >= 1 else date(day.year - 1, month + 12, 1)


def legacy_plants(index):
    """The legacy plants stocking item `index`, and the code plant 2000 gives it."""
    rnd = random.Random(f"{SEED}:xref-item:{index}")
    plants = [plant for plant, share in PLANT_SHARES if rnd.random() < share] or ["1000"]
    position = (index - 1) % REUSE_BLOCK
    code_2000 = item_number(index)
    if position == 0:  # its number is reused in plant 2000 by the next item
        plants = [plant for plant in plants if plant != "2000"]
        if "1000" not in plants:
            plants.insert(0, "1000")
    elif position == 1:
        plants = sorted({*plants, "2000"})
        code_2000 = item_number(index - 1)
    return plants, code_2000


def cloud_item_code(index):
    return f"{40_000_000 + index}"


def planning_item_code(number):
    return f"PL-{number}"


def legacy_vendor_code(index):
    return f"7{index:05d}"


def cloud_partner_code(index):
    return f"BP{1_000_000 + index}"


def twin_partner_code(index):
    return f"BP{2_000_000 + index}"


def network_supplier_code(index):
    # 7919 and 10^8 are coprime: distinct indexes get distinct ids.
    return f"AN01{index * 7919 % 10**8:08d}"


def seed_references(today, items, suppliers):
    """Add the missing demo cross-references of the first `items` items and `suppliers`
    suppliers; return the summary rows (none without the four systems)."""
    systems = dict(SourceSystem.objects.filter(code__in=SYSTEMS).values_list("code", "id"))
    if len(systems) < len(SYSTEMS):
        return []
    cutover = _stored_cutover(systems) or cutover_date(today)
    wanted = _Builder(systems, cutover)
    wanted.items(items)
    wanted.suppliers(suppliers)
    wanted.twins(suppliers)
    wanted.locations()
    wanted.units()
    wanted.code_values()
    created = _insert_missing(wanted.references, systems)
    return [("cross-references", created, CrossReference.objects.count())]


def _stored_cutover(systems):
    """The cut-over date of an earlier seed: the start of ERP_CLOUD's code of plant DE01."""
    return (
        CrossReference.objects.filter(
            system_id=systems[CLOUD], kind=Kind.LOCATION, scope="", code=PLANT_CODES["DE01"][1]
        )
        .exclude(valid_from=None)
        .values_list("valid_from", flat=True)
        .first()
    )


class _Builder:
    """Collects the wanted references as unsaved CrossReference objects."""

    def __init__(self, systems, cutover):
        self.systems = systems
        self.cutover = cutover
        self.renumbered = quarter_before(cutover)
        self.references = []

    def add(self, system, kind, code, target_id, scope="", preferred=True, **dates):
        if system == LEGACY:
            dates.setdefault("valid_to", self.cutover)
        elif system == CLOUD:
            dates.setdefault("valid_from", self.cutover)
        field, _ = TARGETS[kind]
        self.references.append(
            CrossReference(
                system_id=self.systems[system],
                kind=kind,
                scope=scope,
                code=code,
                is_preferred=preferred,
                origin=CrossReference.Origin.IMPORT,
                **{f"{field}_id": target_id},
                **dates,
            )
        )

    def items(self, count):
        numbers = {item_number(index): index for index in range(1, count + 1)}
        item_ids = dict(Item.objects.filter(number__in=numbers).values_list("number", "id"))
        revisions = defaultdict(list)
        for item_id, revision_id in (
            ItemRevision.objects.filter(item_id__in=item_ids.values())
            .values_list("item_id", "id")
            .order_by("item_id", "effective_from", "revision")
        ):
            revisions[item_id].append(revision_id)
        for number, index in numbers.items():
            item_id = item_ids.get(number)
            if item_id is None:
                continue
            plants, code_2000 = legacy_plants(index)
            for plant in plants:
                code = code_2000 if plant == "2000" else number
                self.add(LEGACY, Kind.ITEM, code, item_id, scope=plant)
            for level, revision_id in enumerate(revisions[item_id]):
                self.add(LEGACY, Kind.ITEM_REVISION, f"{number}-{level:02d}", revision_id)
            self.add(CLOUD, Kind.ITEM, cloud_item_code(index), item_id)
            code = planning_item_code(number)
            if index % RENUMBER_EVERY == 7:
                self.add(PLANNING, Kind.ITEM, code, item_id, valid_to=self.renumbered)
                self.add(PLANNING, Kind.ITEM, f"{code}-N", item_id, valid_from=self.renumbered)
            else:
                self.add(PLANNING, Kind.ITEM, code, item_id)

    def suppliers(self, count):
        numbers = {supplier_number(index): index for index in range(1, count + 1)}
        supplier_ids = dict(Supplier.objects.filter(number__in=numbers).values_list("number", "id"))
        sites = defaultdict(list)
        for supplier_id, site_id, code in SupplierSite.objects.filter(
            supplier_id__in=supplier_ids.values()
        ).values_list("supplier_id", "id", "code"):
            sites[supplier_id].append((site_id, code))
        for number, index in numbers.items():
            supplier_id = supplier_ids.get(number)
            if supplier_id is None:
                continue
            self.add(LEGACY, Kind.SUPPLIER, legacy_vendor_code(index), supplier_id)
            self.add(CLOUD, Kind.SUPPLIER, cloud_partner_code(index), supplier_id)
            network_id = network_supplier_code(index)
            self.add(NETWORK, Kind.SUPPLIER, network_id, supplier_id)
            for site_id, code in sorted(sites[supplier_id], key=lambda site: site[1]):
                self.add(NETWORK, Kind.SUPPLIER_SITE, f"{network_id}-{code}", site_id)

    def twins(self, count):
        """The ERP_CLOUD partner code of each planted twin supplier (demo.suppliers.TWINS)."""
        numbers = {twin_number(index): index for index in TWINS if index <= count}
        for number, supplier_id in Supplier.objects.filter(number__in=numbers).values_list(
            "number", "id"
        ):
            self.add(CLOUD, Kind.SUPPLIER, twin_partner_code(numbers[number]), supplier_id)

    def locations(self):
        codes = [f"{plant}{suffix}" for plant in PLANT_CODES for suffix in ("", "-WH1", "-GR1")]
        found = {
            code: (location_id, gln)
            for code, location_id, gln in Location.objects.filter(code__in=codes).values_list(
                "code", "id", "gln"
            )
        }
        for plant, (legacy, cloud, planning) in PLANT_CODES.items():
            places = (
                (plant, legacy, "", cloud, "", planning),
                (f"{plant}-WH1", "0001", legacy, "SL01", cloud, f"{planning}-WH"),
                (f"{plant}-GR1", "GR01", legacy, "DOCK1", cloud, None),
            )
            for code, legacy_code, legacy_scope, cloud_code, cloud_scope, planning_code in places:
                if code not in found:
                    continue
                location_id, gln = found[code]
                self.add(LEGACY, Kind.LOCATION, legacy_code, location_id, scope=legacy_scope)
                self.add(CLOUD, Kind.LOCATION, cloud_code, location_id, scope=cloud_scope)
                if planning_code:
                    self.add(PLANNING, Kind.LOCATION, f"VAL-{planning_code}", location_id)
                if gln and code != f"{plant}-WH1":  # suppliers ship to plants and docks
                    self.add(NETWORK, Kind.LOCATION, gln, location_id)

    def units(self):
        loaded = set(
            Unit.objects.filter(
                code__in={unit for _, unit in (*X12_UNITS, *PLANNING_UNITS)} | set(DEMO_UNITS)
            ).values_list("code", flat=True)
        )
        for system, table in (
            (LEGACY, X12_UNITS),
            (NETWORK, X12_UNITS),
            (PLANNING, PLANNING_UNITS),
        ):
            seen = set()
            for code, unit in table:
                if unit in loaded:
                    self.add(system, Kind.UNIT, code, unit, preferred=unit not in seen)
                    seen.add(unit)
        for unit in sorted(set(DEMO_UNITS) & loaded):
            self.add(CLOUD, Kind.UNIT, unit, unit)

    def code_values(self):
        values = dict(CodeValue.objects.filter(code_list__code=ACK_LIST).values_list("code", "id"))
        tables = (
            (LEGACY, LEGACY_ACK_STATUS),
            (CLOUD, CLOUD_ACK_STATUS),
            (NETWORK, X12_ACK_STATUS),
        )
        for system, table in tables:
            seen = set()
            for code, value in table:
                if value in values:
                    self.add(
                        system, Kind.CODE_VALUE, code, values[value], preferred=value not in seen
                    )
                    seen.add(value)


def _insert_missing(wanted, systems):
    """Insert the wanted references not stored yet. One that would claim a code or a
    preference a steward has claimed since is skipped, or inserted not preferred."""
    stored = CrossReference.objects.filter(system_id__in=systems.values()).values_list(
        "system_id", "kind", "scope", "code", "valid_from", "valid_to", "status",
        "is_preferred", *(f"{field}_id" for field, _ in TARGETS.values()),
    )  # fmt: skip
    keys = set()
    claims = defaultdict(list)  # (system, kind, scope, code) -> active periods
    preferred = defaultdict(list)  # (system, kind, scope, target) -> preferred active periods
    for system_id, kind, scope, code, start, end, status, is_preferred, *targets in stored:
        keys.add((system_id, kind, scope, code, start))
        if status == CrossReference.Status.ACTIVE:
            claims[(system_id, kind, scope, code)].append((start, end))
            if is_preferred:
                target = next(t for t in targets if t is not None)
                preferred[(system_id, kind, scope, target)].append((start, end))

    new = []
    for reference in wanted:
        key = (reference.system_id, reference.kind, reference.scope, reference.code)
        if (*key, reference.valid_from) in keys:
            continue
        period = (reference.valid_from, reference.valid_to)
        if any(_overlap(period, other) for other in claims[key]):
            continue
        claims[key].append(period)
        keys.add((*key, reference.valid_from))
        if reference.is_preferred:
            place = (reference.system_id, reference.kind, reference.scope, reference.target_id)
            if any(_overlap(period, other) for other in preferred[place]):
                reference.is_preferred = False
            else:
                preferred[place].append(period)
        new.append(reference)

    if new:
        source, change_reference = current_change_source()
        bulk_create_with_history(
            new,
            CrossReference,
            batch_size=BATCH_SIZE,
            default_change_reason="demo data",
            custom_historical_attrs={"change_source": source, "change_reference": change_reference},
        )
    return len(new)


def _overlap(a, b):
    """Whether two [from, to) periods share a day; None is open."""
    return (a[1] is None or b[0] is None or b[0] < a[1]) and (
        b[1] is None or a[0] is None or a[0] < b[1]
    )
