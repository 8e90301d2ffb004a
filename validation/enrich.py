"""What the hub knows about the codes of a message, and the enrichment of the released payload.

`Facts` gathers what the rules and the enrichment look at, in a fixed number of queries per
batch of payload objects (the message header, or one chunk of lines), whatever the number of
lines. One Facts serves every chunk of a message's lines and remembers what it looked up, so
a batch only looks up the codes no earlier chunk named (a forecast repeats the same items and
plants period after period: after its first chunks, a chunk costs almost no queries):

1. the new codes, resolved in ONE `xref.resolve.resolve_many` batch, in the sending system, at
   the business date, line codes within the plant scope of the message (see below);
2. one query mapping the references used to their records' primary keys, and one for every
   active reference of the new records (and of the items' base units and the header
   locations' plants) valid at the date: the other systems' codes for the enrichment, and the
   sender's own code for its plants;
3. for the header: one query for its locations (with their parents and calendars) and one for
   the calendars' exceptions; for lines: one query each for the revisions, the pack
   conversions and the net weights of new items, and one for new units.

Plant scope: a system that numbers items per plant (ERP_LEGACY scopes item codes by its plant
code) is answered within the plant of the message, the plant of its receiving location (the
location itself or the nearest plant above it); the scope is the sender's own code for that
plant. Systems whose codes are not scoped are unaffected: a scoped lookup also finds unscoped
codes. Translation to another system uses that system's code for the plant the same way: the
plant of the receiving location, or for a forecast line the line's own plant.

Quantities are converted to the item's base unit with the rules of `mdm.units.convert`: global
conversions by pint (through `mdm.units`), the item's pack conversions valid at the date (a
supplier's own replacing the generic one between the same two units), and its net weight
linking the base unit to mass. The conversions of a chunk's items are read at once and
searched with `mdm.units.find_path` (each pair once, remembered in the memo); a pair that
does not convert is handed to `mdm.units.convert` itself (for the first SUGGESTION_LIMIT such
pairs), which words the reason and has the last say.

The enrichment of an object (the header, or a line) is one key, "hub", beside the fields as
sent (the contracts allow no field "hub", so it never collides). Per code field that
resolved: the canonical id and every OTHER system's code for the record (its preferred
reference at the date, else its only one; a system with none is left out). For a line with
an item, its quantity in the item's base unit, with that unit's codes; for a purchase order
line whose item has a pack conversion of the order's own supplier, the quantity in that pack
too (what the supplier network, the order's target, counts in); the revision's canonical id:

    "hub": {
      "item":     {"id": "ITM-000123", "codes": {"ERP_LEGACY": "100122", "PLANNING": "PL-100122"}},
      "unit":     {"id": "XBX", "codes": {"ERP_LEGACY": "BX", "SUPPLIER_NET": "BX"}},
      "quantity": {"value": "120", "unit": "H87", "codes": {"ERP_LEGACY": "EA", ...}},
      "supplier_quantity": {"value": "10", "unit": "XBX", "codes": {...}},
      "revision": {"id": "ITM-000123/B"}
    }
"""

import dataclasses
import logging
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

from django.db import connection
from django.db.models import Q, prefetch_related_objects

from core.db import one_of
from mdm import units as unit_service
from mdm.calendars import WorkingCalendar
from mdm.models import (
    Item,
    ItemRevision,
    ItemUnitConversion,
    Location,
    SourceSystem,
    Supplier,
    Unit,
)
from xref import described
from xref.models import TARGET_FIELDS, TARGETS, CrossReference, Kind
from xref.resolve import NOT_FOUND, RESOLVED, candidates, resolve_many

logger = logging.getLogger(__name__)

# The factor between a unit and itself: an int, so the common case skips Fraction arithmetic.
SAME = 1
# Unknown codes looked up for fuzzy candidates (and what lines say of their records besides,
# matched once per distinct description), and unconvertible pairs worded by mdm.units, per
# batch: each costs queries of its own, so a message with thousands of them stays fast.
SUGGESTION_LIMIT = 20
# Significant digits of a converted quantity, as mdm.units rounds.
PRECISION = 28
LOCATION_DEPTH = 4  # how far up the location tree a plant or a calendar is looked for


@dataclasses.dataclass(frozen=True)
class Place:
    """A location as the ship-to and calendar rules see it."""

    pk: int
    public_id: str
    code: str
    kind: str
    status: str
    can_receive: bool
    plant_pk: int | None  # the location itself when it is a plant, else the nearest above it
    calendar: WorkingCalendar | None  # its own, else the nearest one above it


class Systems:
    """The source systems, read once per message: id -> code and kind."""

    def __init__(self, sender):
        rows = SourceSystem.objects.filter(is_active=True).values_list("id", "code", "kind")
        self.sender = sender
        self.code = {pk: code for pk, code, _ in rows}
        self.kind = {pk: kind for pk, _, kind in rows}
        self.code.setdefault(sender.pk, sender.code)
        self.kind.setdefault(sender.pk, sender.kind)
        self.others = sorted(
            (pk for pk in self.code if pk != sender.pk), key=lambda pk: self.code[pk]
        )
        self._of_kind = {}

    def of_kind(self, kind):
        """The other systems of a kind (erp, planning, supplier_network)."""
        if kind not in self._of_kind:
            self._of_kind[kind] = [pk for pk in self.others if self.kind[pk] == kind]
        return self._of_kind[kind]


class Facts:
    """What the hub knows about the codes of a batch of payload objects (see the module
    docstring). Build it, call `load(objects)`, then ask."""

    def __init__(self, *, systems, as_of, layout, header=None):
        self.systems = systems
        self.system = systems.sender
        self.as_of = as_of
        self.layout = layout  # validation.rules.Layout of the message type
        self.header = header  # for a chunk of lines: the header's Facts
        self.fields = layout.lines if header is not None else layout.header
        # Set from the header: the receiving location (a Place), the plant (pk) and the
        # sender's scope for it, and the message's supplier (pk).
        self.receiving = header.receiving if header is not None else None
        self.plant = header.plant if header is not None else None
        self.scope = header.line_scope if header is not None else ""
        self.supplier_pk = header.supplier_pk if header is not None else None
        self.line_scope = ""
        self.answers = {}  # (kind, code) -> resolve answer
        self.targets = {}  # (kind, code) -> the record's key: pk, or the code for a unit
        self.codes = {}  # (kind, record key) -> {system id: [(scope, code, preferred)]}
        self.places = {}  # location pk -> Place
        self.items = {}  # item public id -> pk
        self.revisions = {}  # item pk -> [(revision, status, from, to)]
        self.units = {}  # Rec 20 code -> Unit
        self.packs = defaultdict(list)  # item pk -> [(from, to, factor, supplier pk)]
        self.weights = {}  # item pk -> (net weight, weight unit)
        self.packs_loaded = set()  # item pks whose conversions are loaded
        self.pairs_seen = set()  # (item code, unit code) pairs looked at
        self.memo = {}  # rules' and the enrichment's answers per distinct codes
        self._of_kind = {}
        for field in self.fields:
            self._of_kind.setdefault(field.kind, field)
        self.item_field = self._of_kind.get(Kind.ITEM)  # the item and unit a line is in
        self.unit_field = self._of_kind.get(Kind.UNIT)
        self.suggestions_left = SUGGESTION_LIMIT
        self.worded_left = SUGGESTION_LIMIT

    # --- loading ----------------------------------------------------------------------------

    def load(self, objects):
        """Look up what is not known yet for `objects` (the header alone, or a chunk of
        lines): the same Facts serves every chunk of a message, so a code seen in an earlier
        chunk costs nothing in a later one."""
        wanted = {}
        answers = self.answers
        for obj in objects:
            for field in self.fields:
                value = obj.get(field.name)
                if value.__class__ is str and (field.kind, value) not in answers:
                    wanted[(field.kind, value)] = None
        new = list(wanted)
        self._resolve(new)
        targets = self._load_targets(new)
        if self.header is None:
            self._load_places(targets.get(Kind.LOCATION, ()))
            self._load_codes(targets)
            self._settle_header(objects[0])
        else:
            self._load_codes(targets)
            if self.layout.revision and any(obj.get(self.layout.revision) for obj in objects):
                self._load_revisions(targets.get(Kind.ITEM, ()))
            self._load_conversions(objects)
        return self

    def _settle_header(self, header):
        """The receiving location, its plant, the sender's scope for it, and the supplier."""
        if self.layout.receiving and isinstance(header.get(self.layout.receiving), str):
            self.receiving = self.place(header[self.layout.receiving])
        if self.receiving is not None and self.receiving.plant_pk is not None:
            self.plant = self.receiving.plant_pk
            self.line_scope = self.plant_scope(self.system.pk, self.plant)
        supplier = self.layout.supplier_field
        if supplier and isinstance(header.get(supplier), str):
            self.supplier_pk = self.target(Kind.SUPPLIER, header[supplier])

    def plant_of(self, obj):
        """The plant (pk) an object is for: a forecast line's own location when it is a plant,
        else the plant of the message's receiving location."""
        for field in self.fields:
            if field.role == "plant":
                value = obj.get(field.name)
                key = ("plant_of", value)
                if key not in self.memo:
                    answer = self.answer(field.kind, value) if isinstance(value, str) else None
                    is_plant = (
                        answer is not None
                        and answer["status"] == RESOLVED
                        and answer["record"]["kind"] == Location.Kind.PLANT
                    )
                    self.memo[key] = self.target(field.kind, value) if is_plant else self.plant
                return self.memo[key]
        return self.plant

    def _resolve(self, keys):
        asked = [(kind, code) for kind, code in keys if code.strip()]
        for kind, code in keys:
            if not code.strip():
                self.answers[(kind, code)] = {"status": NOT_FOUND, "candidates": []}
        if not asked:
            return
        system = self.system.code
        answers = resolve_many(
            [(kind, system, code, self.scope) for kind, code in asked], as_of=self.as_of
        )
        self.answers.update(zip(asked, answers, strict=True))

    def _load_targets(self, keys):
        """The records' keys of the references the new `keys` resolved by (one query);
        returns them by kind."""
        used = defaultdict(list)  # reference id -> the codes it answered (" X" and "X" alike)
        for key in keys:
            answer = self.answers[key]
            if answer["status"] == RESOLVED:
                used[answer["reference"]["id"]].append(key)
        found = defaultdict(set)
        if not used:
            return found
        condition, params = one_of("x.id", used, int)
        sql = f"SELECT x.id, x.kind, {TARGET_COLUMNS} FROM {TABLE} x WHERE {condition}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        for pk, kind, number, unit in rows:
            target = unit if number is None else number
            found[kind].add(target)
            for key in used[pk]:
                self.targets[key] = target
                answer = self.answers[key]
                if kind == Kind.ITEM:
                    self.items[answer["id"]] = target
                    found[Kind.UNIT].add(answer["record"]["base_unit"])
        return found

    def _load_codes(self, targets):
        """Every system's codes at the date for new records (by kind), and for the plants of
        the header's locations: one query."""
        wanted = defaultdict(set)
        for kind, keys in targets.items():
            wanted[kind].update(key for key in keys if (kind, key) not in self.codes)
        for place in self.places.values():
            if place.plant_pk is not None:
                wanted[Kind.LOCATION].add(place.plant_pk)
        wanted = {kind: keys for kind, keys in wanted.items() if keys}
        if not wanted:
            return
        day = self.as_of.isoformat()
        params = [day, day]
        conditions = []
        for kind, keys in sorted(wanted.items()):
            field, _ = TARGETS[kind]
            condition, values = one_of(f"x.{field}_id", keys, str if kind == Kind.UNIT else int)
            conditions.append(f"(x.kind = %s AND {condition})")
            params += [kind, *values]
        # The sender's own codes are needed for its plants only (the scope of its codes).
        params.append(self.system.pk)
        sql = (
            f"SELECT x.kind, x.system_id, x.scope, x.code, x.is_preferred, {TARGET_COLUMNS} "
            f"FROM {TABLE} x WHERE x.status = 'active' "
            "AND (x.valid_from IS NULL OR x.valid_from <= %s) "
            "AND (x.valid_to IS NULL OR x.valid_to > %s) "
            f"AND ({' OR '.join(conditions)}) "
            "AND (x.kind = 'location' OR x.system_id <> %s) ORDER BY x.id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        codes = self.codes
        for kind, keys in wanted.items():
            for key in keys:
                codes.setdefault((kind, key), {})  # known now, even with no code anywhere
        for kind, system_id, scope, code, preferred, number, unit in rows:
            by_system = codes[(kind, unit if number is None else number)]
            by_system.setdefault(system_id, []).append((scope, code, bool(preferred)))

    def _load_places(self, pks):
        pks = [pk for pk in pks if pk not in self.places]
        if not pks:
            return
        related = ["calendar"]
        for depth in range(1, LOCATION_DEPTH):
            related += ["__".join(["parent"] * depth), "__".join(["parent"] * depth + ["calendar"])]
        locations = list(Location.objects.filter(pk__in=pks).select_related(*related))
        calendars = {}
        for location in locations:
            node = location
            for _ in range(LOCATION_DEPTH):
                if node is None:
                    break
                if node.calendar_id:
                    calendars[node.calendar_id] = node.calendar
                node = node.parent if node.parent_id else None
        if calendars:
            prefetch_related_objects(list(calendars.values()), "exceptions")
        working = {pk: WorkingCalendar(calendar) for pk, calendar in calendars.items()}
        for location in locations:
            self.places[location.pk] = _place(location, working)

    def _load_revisions(self, pks):
        pks = [pk for pk in pks if pk not in self.revisions]
        if not pks:
            return
        for pk in pks:
            self.revisions[pk] = []
        rows = ItemRevision.objects.filter(item_id__in=pks).values_list(
            "item_id", "revision", "status", "effective_from", "effective_to"
        )
        for item_id, *revision in rows.order_by("item_id", "effective_from", "revision"):
            self.revisions[item_id].append(tuple(revision))

    def _load_conversions(self, objects):
        """Units, pack conversions and net weights: for the items sent in a unit other than
        their base unit (and, for a supplier's pack quantity, every item)."""
        item_field, unit_field = self.item_field, self.unit_field
        if item_field is None or unit_field is None:
            return
        every = self.layout.supplier_quantity and self.supplier_pk is not None
        answers = self.answers
        codes, items, seen = set(), set(), self.pairs_seen
        for obj in objects:
            pair = (obj.get(item_field.name), obj.get(unit_field.name))
            if pair in seen:
                continue
            seen.add(pair)
            item = answers.get((Kind.ITEM, pair[0]))
            unit = answers.get((Kind.UNIT, pair[1]))
            if not item or item["status"] != RESOLVED:
                continue
            base = item["record"]["base_unit"]
            codes.add(base)
            if unit and unit["status"] == RESOLVED:
                codes.add(unit["id"])
                if unit["id"] != base or every:
                    items.add(self.items[item["id"]])
        items -= self.packs_loaded
        codes -= set(self.units)
        if items:
            self.packs_loaded |= items
            suppliers = Q(supplier__isnull=True)
            if self.supplier_pk:
                suppliers |= Q(supplier_id=self.supplier_pk)
            day = self.as_of
            rows = (
                ItemUnitConversion.objects.filter(suppliers, item_id__in=items)
                .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day))
                .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
                .order_by("item_id", "supplier_id", "from_unit_id", "to_unit_id")
                .values_list("item_id", "from_unit_id", "to_unit_id", "factor", "supplier_id")
            )
            for item_id, source, target, factor, supplier_id in rows:
                self.packs[item_id].append((source, target, Fraction(factor), supplier_id))
                codes.update((source, target))
            weights = Item.objects.filter(pk__in=items, net_weight__isnull=False).values_list(
                "pk", "net_weight", "weight_unit_id"
            )
            for pk, weight, unit in weights:
                self.weights[pk] = (Fraction(weight), unit)
                codes.add(unit)
        codes -= set(self.units)
        if codes:
            self.units.update((unit.code, unit) for unit in Unit.objects.filter(code__in=codes))

    # --- answers ----------------------------------------------------------------------------

    def answer(self, kind, code):
        """The resolve answer for a code of these objects (or of the header)."""
        found = self.answers.get((kind, code))
        if found is None and self.header is not None:
            return self.header.answer(kind, code)
        return found

    def target(self, kind, code):
        """The record's key (pk, or the unit code) of a resolved code, or None."""
        found = self.targets.get((kind, code))
        if found is None and self.header is not None:
            return self.header.target(kind, code)
        return found

    def place(self, code):
        """The Place a header location code means, or None."""
        pk = self.target(Kind.LOCATION, code)
        source = self if self.header is None else self.header
        return source.places.get(pk) if pk is not None else None

    def remember(self, key, compute):
        """compute() once per key for these objects."""
        try:
            return self.memo[key]
        except KeyError:
            value = self.memo[key] = compute()
            return value

    def fuzzy_candidates(self, kind, code, near=None):
        """Candidates for an unknown code: its near misses among the sender's codes (`near`, as
        the batch resolve found them), then, for the first SUGGESTION_LIMIT unknown codes,
        fuzzy candidates from the matching service (once per code: lines that say different
        things of a code's record ask for it again, see `hints()`)."""
        key = ("fuzzy", kind, code)
        if key in self.memo:
            return self.memo[key]
        if self.suggestions_left <= 0:
            return list(near or ())
        self.suggestions_left -= 1
        try:
            found = candidates(kind, code, near=near or [])
        except Exception:  # the matcher is an aid: a failing one must not fail validation
            logger.exception("Fuzzy candidates for %s %r failed", kind, code)
            found = list(near or ())
        self.memo[key] = found
        return found

    def hints(self, field, obj):
        """What else `obj` says of the record its `field` code means, when that code is not
        found: ((object field, matcher parameter, value), ...) of the layout's hints for the
        field that `obj` fills; () when the code resolved or the object says nothing more."""
        wanted = self.layout.hints.get(field.name)
        if not wanted:
            return ()
        answer = self.answer(field.kind, obj.get(field.name))
        if answer is None or answer["status"] != NOT_FOUND:
            return ()
        return tuple(
            (name, parameter, obj[name].strip())
            for name, parameter in wanted
            if isinstance(obj.get(name), str) and obj[name].strip()
        )

    def described_candidates(self, kind, hints):
        """The records `hints` (as `hints()` gives them) describe, with why
        (`xref.described`): one match per distinct hints, within the same SUGGESTION_LIMIT
        as the fuzzy candidates."""
        if not hints:
            return []
        key = ("described", kind, hints)
        if key in self.memo:
            return self.memo[key]
        if self.suggestions_left <= 0:
            return []
        self.suggestions_left -= 1
        text = " ".join(value for _, parameter, value in hints if parameter == "text")
        identifiers = {parameter: value for _, parameter, value in hints if parameter != "text"}
        try:
            found = described.candidates(kind, text, **identifiers)
        except Exception:  # the matcher is an aid: a failing one must not fail validation
            logger.exception("Candidates for %s described by %r failed", kind, hints)
            found = []
        self.memo[key] = found
        return found

    # --- codes in other systems -------------------------------------------------------------

    def refs(self, kind, target):
        """{system id: [(scope, code, preferred)]} of a record's codes at the date."""
        found = self.codes.get((kind, target))
        if found is None and self.header is not None:
            return self.header.refs(kind, target)
        return found or {}

    def code_in(self, system_id, kind, target, plant=None):
        """System's code for a record at the date (its preferred one, else its only one),
        within the plant's scope when the system scopes codes; None when it has none or
        several with none preferred."""
        rows = self.refs(kind, target).get(system_id)
        if not rows:
            return None
        if len(rows) == 1 and not rows[0][0]:
            return rows[0][1]  # one unscoped code: the common case
        key = ("code", system_id, kind, target, plant)
        if key in self.memo:
            return self.memo[key]
        scope = self.plant_scope(system_id, plant) if plant is not None else ""
        if scope:
            rows = [row for row in rows if row[0] == scope] or [row for row in rows if not row[0]]
        chosen = [row for row in rows if row[2]] or (rows if len(rows) == 1 else [])
        found = {row[1] for row in chosen}
        self.memo[key] = code = found.pop() if len(found) == 1 else None
        return code

    def plant_scope(self, system_id, plant):
        """The scope a system files a plant's codes under: its code for the plant."""
        key = ("plant", system_id, plant)
        if key not in self.memo:
            rows = self.refs(Kind.LOCATION, plant).get(system_id, [])
            chosen = [row for row in rows if row[2]] or rows
            self.memo[key] = (chosen[0][0] or chosen[0][1]) if chosen else ""
        return self.memo[key]

    # --- revisions and conversions ----------------------------------------------------------

    def factor(self, item_pk, base, unit, supplier_pk=None):
        """How many base units one `unit` is for the item: (Fraction, None), or (None, why)."""
        key = ("factor", item_pk, base, unit)
        if key not in self.memo:
            self.memo[key] = self._factor(item_pk, base, unit, supplier_pk)
        return self.memo[key]

    def _factor(self, item_pk, base, unit, supplier_pk):
        if unit == base:
            return SAME, None
        units = self.units
        source, target = units.get(unit), units.get(base)
        if source is None or target is None:
            return None, f"Unit {unit if source is None else base} is not in the hub."
        for refused in (source, target):
            if refused.usable_error():
                return None, refused.usable_error()
        edges = self._graph(item_pk, supplier_pk, base, unit)
        path = unit_service.find_path(
            unit, base, edges, {code: units[code] for code in edges if code in units}
        )
        if path is None:
            return self._worded(item_pk, source, target, supplier_pk)
        found = Fraction(1)
        for step_source, step_target, factor in path:
            if factor is None:
                factor = unit_service.global_factor(units[step_source], units[step_target])
            found *= factor
        return found, None

    def _graph(self, item_pk, supplier_pk, base, unit):
        """The item's conversions as edges: unit code -> [(unit code, factor)]."""
        rows = self.packs.get(item_pk, [])
        own = {frozenset((a, b)) for a, b, _, supplier in rows if supplier == supplier_pk}
        edges = defaultdict(list)
        for source, target, factor, supplier in rows:
            if supplier is not None and supplier != supplier_pk:
                continue
            if supplier is None and frozenset((source, target)) in own:
                continue  # the supplier's own conversion between these units wins
            edges[source].append((target, factor))
            edges[target].append((source, 1 / factor))
        weight = self.weights.get(item_pk)
        if weight is not None and weight[1] != base:
            edges[base].append((weight[1], weight[0]))
            edges[weight[1]].append((base, 1 / weight[0]))
        edges.setdefault(unit, [])
        edges.setdefault(base, [])
        return edges

    def _worded(self, item_pk, source, target, supplier_pk):
        """mdm.units' own answer for a pair that does not convert here: its sentence, or (if
        it does convert after all) its factor."""
        if self.worded_left <= 0:
            return None, (
                f"Cannot convert {source.code} ({source.name}) to {target.code} "
                f"({target.name}) for this item: none of its conversions leads there."
            )
        self.worded_left -= 1
        item = Item.objects.select_related("base_unit", "weight_unit").get(pk=item_pk)
        supplier = Supplier.objects.get(pk=supplier_pk) if supplier_pk else None
        try:
            quantity = unit_service.convert(
                1, source, target, item=item, supplier=supplier, on_date=self.as_of
            )
        except unit_service.ConversionError as exc:
            return None, str(exc)
        logger.warning("mdm.units converts %s to %s for item %s", source, target, item_pk)
        return Fraction(quantity), None


TABLE = CrossReference._meta.db_table
# A reference's record: the numeric key (every kind but units), or the unit's code.
TARGET_COLUMNS = (
    "COALESCE("
    + ", ".join(f"x.{field}_id" for field in TARGET_FIELDS if field != "unit")
    + "), x.unit_id"
)


def _place(location, working):
    """A Location (with its parents loaded) as a Place."""
    plant = calendar = None
    node = location
    for _ in range(LOCATION_DEPTH):
        if calendar is None and node.calendar_id:
            calendar = working.get(node.calendar_id)
        if plant is None and node.kind == Location.Kind.PLANT:
            plant = node
        if not node.parent_id:
            break
        node = node.parent
    return Place(
        pk=location.pk,
        public_id=location.public_id,
        code=location.code,
        kind=location.kind,
        status=location.status,
        can_receive=location.can_receive,
        plant_pk=plant.pk if plant else None,
        calendar=calendar,
    )


def as_decimal_text(value, factor=SAME):
    """`value` (int, float or decimal text; valid per QUANTITY_INVALID) times a factor (SAME
    or a Fraction), as plain decimal text: 1200, 12.5, never 1.2E+3."""
    same = factor is SAME
    if same and type(value) is int:
        return str(value)
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not same:
        product = Fraction(number) * factor
        with localcontext() as context:
            context.prec = PRECISION
            context.rounding = ROUND_HALF_EVEN
            number = Decimal(product.numerator) / Decimal(product.denominator)
    text = format(number.normalize(), "f")
    return text
