"""X12 transaction sets into the hub's canonical contracts: 855 -> po_acknowledgement v2,
856 -> ship_notice v3, 850 (an order) and 860 (a change to one) -> purchase_order v2.

`map_transaction(transaction, group, supplier=..., units=...)` reads one parsed transaction
set (edi.x12) and returns a `Mapped`: the message type, the contract version, the payload and
the problems found on the way. A problem is an `edi.x12.Problem` with the segment position,
tag and element position the 997 reports: what the contract needs and the X12 lacks is a
missing segment (720 code 3) or a missing element (723 code 1), an unreadable date is 723
code 8, an unreadable number or line number 723 code 6, a unit or code the hub cannot read
723 code 7. Nothing missing is guessed: the payload leaves the field out, so a payload is
valid against its contract exactly when `problems` is empty. Problems the reader found in the
syntax stay on the transaction set; these are the mapping's own.

Units: the payload's `unit` is the UN/ECE Rec 20 code (Rec 21 packages as "X" + code), not
the X12 355 code. The partner's own overrides (X12 code -> hub code, from its profile) are
consulted first, then the crosswalk in edi/data/x12_355_units.csv (see SOURCES.md there and
its warnings column: X12 CA is a case, XCS, not Rec 20's old "can"). The partner's source
system therefore states its unit codes as Rec 20 codes, the same for every EDI partner.

Items: the item code is the first of the vendor's codes (VP, VN, VC, VA), then the buyer's
(BP, IN, PI, CB); EN, UP and UK give the GTIN, MG the manufacturer part number, EC the
revision. A ship notice has no GTIN field, so there a GTIN (then an MPN) is the item code
when no other code is sent. Dates: CCYYMMDD; YYMMDD too in versions before 004010 (00-49
are 20xx, 50-99 19xx). An 850 is read as the original order (change_sequence 0, BEG01 00 only),
an 860 as the order after the change BCH05 numbers (BCH01 04 or 05), each POC the line as it
now stands (a deleted line, POC02 DI, has no canonical form and is reported).
"""

import csv
import datetime
import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from edi.x12 import Problem

UNITS_FILE = Path(__file__).resolve().parent / "data" / "x12_355_units.csv"

# X12 element 668, line item status codes (ACK01 of the 855), as in
# ../shared/refdata/x12/code_lists_004010/x12_element_668.csv.
LINE_STATUS_CODES = frozenset({
    "AA", "AC", "AR", "BP", "DR", "IA", "IB", "IC", "ID", "IE", "IF", "IH", "IP", "IQ", "IR",
    "IS", "IW", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "SP",
})  # fmt: skip
# ACK01 codes that accept the line as ordered: an ACK without a quantity commits the order's.
ACCEPTED_AS_ORDERED = frozenset({"IA", "AC", "AR"})
# BAK02 (587) for a PO1 without an ACK: the line is accepted as ordered, or rejected.
BAK_ACCEPTS = frozenset({"AC", "AD", "AE", "AK", "AT"})
BAK_REJECTS = frozenset({"RD", "RF", "RJ", "RN", "RV"})

# Product id qualifiers (235), in order of preference for the item code.
ITEM_QUALIFIERS = ("VP", "VN", "VC", "VA", "BP", "IN", "PI", "CB")
GTIN_QUALIFIERS = ("EN", "UP", "UK")

# Date qualifiers (374), best first. A committed date: promised or scheduled delivery, then
# shipment, then what was requested (an order accepted as is commits to its requested date).
COMMITTED_DATES = (
    "067", "069", "017", "070", "072", "073", "075", "371",
    "068", "079", "080", "082", "083", "085",
    "002", "074", "106", "010", "037", "038",
)  # fmt: skip
NEED_BY_DATES = ("002", "106", "074", "063", "010", "038")
SHIPPED_DATES = ("011",)
DELIVERY_DATES = ("017", "067", "069", "371")

# The HL levels of an 856 from the top, by BSN05; S, O, T (tare), P (pack), I (item) otherwise.
HL_LAYOUTS = {"0001": "SOPI", "0002": "SOIP", "0003": "SPOI", "0004": "SOI"}
DEFAULT_HL_LAYOUT = "SOTPI"

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")


@dataclass
class Mapped:
    """One transaction set as a canonical message, with what kept it from being one."""

    message_type: str
    schema_version: int
    payload: dict
    problems: list
    document: str


# --- units ----------------------------------------------------------------------------------


@functools.cache
def unit_crosswalk():
    """{X12 355 code: Rec 20 (or X + Rec 21) code} from edi/data/x12_355_units.csv."""
    with open(UNITS_FILE, encoding="utf-8", newline="") as handle:
        return {row["x12_355_code"]: row["unece_code"] for row in csv.DictReader(handle)}


def hub_unit(x12_code, overrides=None):
    """The hub's unit code for an X12 355 code: the partner's override, else the crosswalk's;
    None when neither knows it."""
    code = x12_code.strip().upper()
    for key, value in (overrides or {}).items():
        if key.strip().upper() == code:
            return value
    return unit_crosswalk().get(code)


def x12_unit(hub_code, overrides=None):
    """The X12 355 code for a hub unit code: the partner's override that gives it, else the
    crosswalk's first row that does; None when there is none."""
    code = hub_code.strip().upper()
    for key, value in (overrides or {}).items():
        if value.strip().upper() == code:
            return key.strip().upper()
    for key, value in unit_crosswalk().items():
        if value == code:
            return key
    return None


# --- reading elements, noting problems ------------------------------------------------------


class _Reading:
    """What the mapping of one transaction set has found wrong so far, and how it reads
    elements: each reader notes its own problem and returns None for a value it cannot give."""

    def __init__(self, transaction, group, units):
        self.transaction = transaction
        self.units = units
        self.problems = []
        self.short_dates = (group.version or "")[:6] < "004010"

    def missing_segment(self, tag, position, what):
        self.problems.append(
            Problem(
                "segment",
                "3",
                f"{tag} ({what}) is missing.",
                segment_position=position,
                segment_tag=tag,
            )
        )

    def element_problem(self, segment, n, code, message):
        self.problems.append(
            Problem(
                "element",
                code,
                f"{segment.tag}{n:02d} {message}",
                segment_position=segment.position,
                segment_tag=segment.tag,
                element_position=n,
                offset=segment.offset,
            )
        )

    def text(self, segment, n, what, required=True):
        value = segment.element(n).strip()
        if not value and required:
            self.element_problem(segment, n, "1", f"({what}) is missing.")
        return value or None

    def date(self, segment, n, what, required=True):
        value = self.text(segment, n, what, required)
        if value is None:
            return None
        parsed = parse_date(value, self.short_dates)
        if parsed is None:
            form = "CCYYMMDD or YYMMDD" if self.short_dates else "CCYYMMDD"
            self.element_problem(segment, n, "8", f"({what}) {value!r} is not a date ({form}).")
        return parsed

    def decimal(self, segment, n, what, required=True):
        value = self.text(segment, n, what, required)
        if value is None:
            return None
        if not _NUMBER.match(value):
            self.element_problem(segment, n, "6", f"({what}) {value!r} is not a number.")
            return None
        return decimal_text(value)

    def line_number(self, segment, n, what):
        value = self.text(segment, n, what)
        if value is None:
            return None
        if not value.isdigit() or int(value) < 1:
            self.element_problem(
                segment, n, "6", f"({what}) {value!r} is not a line number (1, 2, 3...)."
            )
            return None
        return int(value)

    def unit(self, segment, n, what):
        value = self.text(segment, n, what)
        value = segment.components(n)[0].strip() if value else None  # POC05 is a composite
        if value is None:
            return None
        unit = hub_unit(value, self.units)
        if unit is None:
            self.element_problem(
                segment,
                n,
                "7",
                f"({what}) {value!r} is a unit the hub cannot read: neither the partner's "
                "unit overrides nor the X12 355 crosswalk know it.",
            )
        return unit


def parse_date(value, short_dates=False):
    """CCYYMMDD (or, with short_dates, YYMMDD) as an ISO date string; None when invalid."""
    if not value.isdigit() or len(value) not in ((6, 8) if short_dates else (8,)):
        return None
    if len(value) == 6:
        year = int(value[:2])
        value = f"{2000 + year if year < 50 else 1900 + year}{value[2:]}"
    try:
        return datetime.date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
    except ValueError:
        return None


def decimal_text(value):
    """An X12 number (R) as the contracts' decimal string: "4.50" -> "4.5", ".5" -> "0.5"."""
    text = format(Decimal(value), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# --- shared pieces --------------------------------------------------------------------------


def _body(transaction):
    return [s for s in transaction.segments if s.tag not in ("ST", "SE")]


def _first(segments, tag):
    return next((s for s in segments if s.tag == tag), None)


def _end_position(transaction):
    """Where a segment missing at the end was expected: the CTT, else the SE."""
    for segment in transaction.segments:
        if segment.tag in ("CTT", "SE"):
            return segment.position
    return transaction.segments[-1].position if transaction.segments else None


def _product_ids(segment, first):
    """{qualifier: id} of the (qualifier, id) pairs from element `first` on."""
    ids = {}
    for n in range(first, len(segment.elements), 2):
        qualifier, value = segment.element(n).strip(), segment.element(n + 1).strip()
        if qualifier and value:
            ids.setdefault(qualifier, value)
    return ids


def _product_fields(ids, fields):
    """The payload's item, gtin, mpn and revision from product ids, those in `fields`."""
    found = {
        "item": next((ids[q] for q in ITEM_QUALIFIERS if q in ids), None),
        "gtin": next((ids[q] for q in GTIN_QUALIFIERS if q in ids), None),
        "mpn": ids.get("MG"),
        "revision": ids.get("EC"),
    }
    return {name: found[name] for name in fields if found[name]}


def _ship_notice_item(ids):
    """A ship notice's item code: a code, else the GTIN, else the MPN (it has no field for
    them)."""
    for qualifier in (*ITEM_QUALIFIERS, *GTIN_QUALIFIERS, "MG"):
        if qualifier in ids:
            return ids[qualifier]
    return None


def _description(pids):
    """The free-form descriptions (PID*F), joined."""
    texts = [p.element(5).strip() for p in pids if p.element(1) == "F" and p.element(5).strip()]
    return " ".join(texts) or None


def _party(segments, roles):
    """The first N1 whose entity code (N101) is one of `roles`, in the order of `roles`."""
    for role in roles:
        for segment in segments:
            if segment.tag == "N1" and segment.element(1) == role:
                return segment
    return None


def _date_candidates(segment):
    """(qualifier, element position of the date) pairs a DTM, SCH or ACK carries."""
    if segment.tag == "DTM":
        return [(segment.element(1), 2)]
    if segment.tag == "SCH":
        return [(segment.element(5), 6), (segment.element(8), 9)]
    if segment.tag == "ACK":
        return [(segment.element(4), 5)]
    return []


def _pick_date(reading, sources, ranks, what):
    """The best-ranked date of the first source (a list of DTM/SCH/ACK segments) that has
    one of the qualifiers in `ranks`; (None, False) when no source has one. An unreadable
    date is noted, not skipped: the next-best date would be a guess."""
    for segments in sources:
        found = [
            (ranks.index(qualifier), segment, n)
            for segment in segments
            for qualifier, n in _date_candidates(segment)
            if qualifier in ranks and segment.element(n).strip()
        ]
        if found:
            _, segment, n = min(found, key=lambda candidate: candidate[0])
            return reading.date(segment, n, what), True
    return None, False


def _header_and_loops(body, loop_tag, end_tags=("CTT",)):
    """The segments before the first `loop_tag`, and each loop (its segments, from the
    `loop_tag` to the next one or to an end tag)."""
    header, loops = [], []
    for segment in body:
        if segment.tag in end_tags:
            break
        if segment.tag == loop_tag:
            loops.append([segment])
        elif loops:
            loops[-1].append(segment)
        else:
            header.append(segment)
    return header, loops


def _header_dates(header):
    """The header's DTMs, leaving out those of N9 and ADV loops."""
    dates, inside_loop = [], False
    for segment in header:
        if segment.tag in ("N9", "ADV"):
            inside_loop = True
        elif segment.tag == "N1":
            inside_loop = False
        elif segment.tag == "DTM" and not inside_loop:
            dates.append(segment)
    return dates


def _line_parts(loop):
    """A PO1 loop's parts: its own DTMs, SCHs and PIDs, and each ACK with its DTM."""
    parts = {"dates": [], "schedules": [], "pids": [], "acks": []}
    context = "line"
    for segment in loop[1:]:
        tag = segment.tag
        if tag == "SLN" or context == "sublines":
            context = "sublines"  # SLN loops (with their own ACKs) close the PO1 loop
        elif tag == "ACK":
            parts["acks"].append((segment, []))
            context = "ack"
        elif tag == "DTM" and context == "ack":
            parts["acks"][-1][1].append(segment)
            context = "line"
        elif tag == "DTM" and context == "line":
            parts["dates"].append(segment)
        elif tag == "SCH":
            parts["schedules"].append(segment)
            context = "schedule"
        elif tag == "PID" and context == "line":
            parts["pids"].append(segment)
        elif tag in ("N1", "N9", "QTY", "PKG"):
            context = "other"  # their DTMs and PIDs speak of something else
        elif context == "ack":
            context = "line"
    return parts


def _without_empty(payload):
    return {key: value for key, value in payload.items() if value is not None}


# --- 855 -> po_acknowledgement ---------------------------------------------------------------


def map_855(transaction, group, *, supplier, units=None):
    reading = _Reading(transaction, group, units)
    header, loops = _header_and_loops(_body(transaction), "PO1")
    bak = _first(header, "BAK")
    payload = {"supplier": supplier}
    if bak is None:
        reading.missing_segment("BAK", 2, "beginning of the acknowledgement")
    else:
        payload["po_number"] = reading.text(bak, 3, "purchase order number")
        payload["ack_number"] = reading.text(bak, 8, "acknowledgement number", required=False)
        payload["ack_date"] = reading.date(bak, 4, "acknowledgement date")
    party = _party(header, ("SU", "SE", "VN"))
    if party is not None and party.element(2).strip():
        payload["supplier_name"] = party.element(2).strip()
    header_dates = _header_dates(header)
    lines = []
    for loop in loops:
        lines.extend(_acknowledged_lines(reading, bak, loop, header_dates))
    if not loops:
        reading.missing_segment("PO1", _end_position(transaction), "a line acknowledged")
    payload["lines"] = lines
    po_number = payload.get("po_number")
    return Mapped(
        message_type="po_acknowledgement",
        schema_version=2,
        payload=_without_empty(payload),
        problems=reading.problems,
        document=f"855 for PO {po_number}" if po_number else f"855 {transaction.control}",
    )


def _acknowledged_lines(reading, bak, loop, header_dates):
    """The canonical lines of one PO1 loop: one per ACK, or one from BAK02 without an ACK."""
    po1 = loop[0]
    parts = _line_parts(loop)
    line = reading.line_number(po1, 1, "line number")
    described = {"description": _description(parts["pids"])}
    line_sources = [parts["dates"], parts["schedules"], header_dates]
    if not parts["acks"]:
        fields = _unacknowledged_line(reading, bak, po1)
        if fields is None:
            return []
        ids = _product_ids(po1, 6)
        date, found = _pick_date(reading, line_sources, COMMITTED_DATES, "committed date")
        if not found:
            reading.missing_segment("DTM", po1.position, f"committed date of line {line}")
        fields["committed_date"] = date
        return [
            _without_empty(
                {"line": line, **fields, **_product_fields(ids, ("item", "mpn", "gtin"))}
                | described
            )
        ]
    lines = []
    for ack, ack_dates in parts["acks"]:
        status = reading.text(ack, 1, "line status")
        if status is not None and status not in LINE_STATUS_CODES:
            reading.element_problem(ack, 1, "7", f"{status!r} is not an X12 668 line status.")
        if ack.element(2).strip() or status not in ACCEPTED_AS_ORDERED:
            quantity = reading.decimal(ack, 2, "committed quantity")
            unit = reading.unit(ack, 3, "unit") if quantity is not None else None
        else:  # accepted as ordered: the order's quantity is the one committed
            quantity = reading.decimal(po1, 2, "quantity ordered")
            unit = reading.unit(po1, 3, "unit") if quantity is not None else None
        sources = [[ack], ack_dates, *line_sources]
        date, found = _pick_date(reading, sources, COMMITTED_DATES, "committed date")
        if not found:
            reading.missing_segment("DTM", ack.position, f"committed date of line {line}")
        ids = _product_ids(po1, 6) | _product_ids(ack, 7)  # a substitute's ids win
        fields = {
            "line": line,
            "status": status,
            "committed_quantity": quantity,
            "unit": unit,
            "committed_date": date,
            **_product_fields(ids, ("item", "mpn", "gtin")),
        }
        lines.append(_without_empty(fields | described))
    return lines


def _unacknowledged_line(reading, bak, po1):
    """Status, quantity and unit of a PO1 without an ACK, from the header's BAK02: accepted
    as ordered, or rejected with nothing committed. None (and a problem) otherwise."""
    kind = bak.element(2).strip() if bak is not None else ""
    if kind in BAK_ACCEPTS:
        quantity = reading.decimal(po1, 2, "quantity ordered")
        return {
            "status": "IA",
            "committed_quantity": quantity,
            "unit": reading.unit(po1, 3, "unit"),
        }
    if kind in BAK_REJECTS:
        return {"status": "IR", "committed_quantity": "0", "unit": reading.unit(po1, 3, "unit")}
    reading.missing_segment(
        "ACK",
        po1.position,
        f"line status of line {po1.element(1)}: BAK02 {kind!r} does not say it",
    )
    return None


# --- 856 -> ship_notice ---------------------------------------------------------------------


@dataclass(eq=False)  # levels link to each other: compared by identity
class _Level:
    """One HL of an 856 with the segments up to the next HL."""

    hl: object
    segments: list = field(default_factory=list)
    parent: object = None
    children: list = field(default_factory=list)

    @property
    def code(self):
        return self.hl.element(3).strip()

    def first(self, tag):
        return _first(self.segments, tag)

    def sscc(self):
        """The SSCC on this level's MAN*GM, without the "00" application identifier."""
        for segment in self.segments:
            if segment.tag == "MAN":
                for n in (1, 4):
                    if segment.element(n) == "GM" and segment.element(n + 1).strip():
                        return _sscc(segment.element(n + 1).strip())
        return None

    def lineage(self):
        """This level, then its parent, up to the shipment."""
        level, seen = self, []
        while level is not None and level not in seen:  # a loop in HL02 ends here
            seen.append(level)
            level = level.parent
        return seen


def _sscc(value):
    # GS1-128 labels print "(00)" before the 18 digits; many senders keep the 00.
    return value[2:] if len(value) == 20 and value.startswith("00") and value.isdigit() else value


def _hierarchy(body, layout):
    """The HL levels, each linked to its parent: by HL02, or when HL02 is empty, to the last
    level above it in the BSN05 layout."""
    levels, by_id = [], {}
    for segment in body:
        if segment.tag == "HL":
            level = _Level(segment)
            levels.append(level)
            by_id.setdefault(segment.element(1).strip(), level)
        elif segment.tag == "CTT":
            break
        elif levels:
            levels[-1].segments.append(segment)
    for index, level in enumerate(levels):
        parent_id = level.hl.element(2).strip()
        if parent_id:
            level.parent = by_id.get(parent_id)
        elif level.code in layout and level.code != layout[0]:
            above = layout[: layout.index(level.code)]
            level.parent = next(
                (other for other in reversed(levels[:index]) if other.code in above), None
            )
        if level.parent is not None:
            level.parent.children.append(level)
    return levels


def map_856(transaction, group, *, supplier, units=None):
    reading = _Reading(transaction, group, units)
    body = _body(transaction)
    header = []
    for segment in body:
        if segment.tag == "HL":
            break
        header.append(segment)
    bsn = _first(header, "BSN")
    payload = {"supplier": supplier}
    if bsn is None:
        reading.missing_segment("BSN", 2, "beginning of the ship notice")
        layout = DEFAULT_HL_LAYOUT
    else:
        payload["shipment_id"] = reading.text(bsn, 2, "shipment id")
        layout = HL_LAYOUTS.get(bsn.element(5).strip(), DEFAULT_HL_LAYOUT)
    levels = _hierarchy(body, layout)
    shipment = next((level for level in levels if level.code == "S"), None)
    where = shipment.hl.position if shipment else (bsn.position if bsn else 2)
    dates = [[s for s in shipment.segments if s.tag == "DTM"]] if shipment else []
    dates.append([s for s in header if s.tag == "DTM"])
    payload["ship_date"], found = _pick_date(reading, dates, SHIPPED_DATES, "ship date")
    if not found:
        reading.missing_segment("DTM", where, "ship date, qualifier 011")
    # ship_notice v3: many ASNs carry no delivery date (DTM 017, 067...); left out then.
    payload["expected_delivery"], _ = _pick_date(
        reading, dates, DELIVERY_DATES, "expected delivery"
    )
    payload["ship_to"] = _ship_to(reading, shipment, levels, where)
    lines = {}
    for level in levels:
        if level.code == "I":
            line = _shipped_line(reading, level)
            key = tuple(line.get(name) for name in ("po_number", "po_line", "item", "unit"))
            if key in lines:
                _add_to_line(lines[key], line)
            else:
                lines[key] = line
    if not lines:
        reading.missing_segment("HL", _end_position(transaction), "an item level, HL03 I")
    payload["lines"] = list(lines.values())
    shipment_id = payload.get("shipment_id")
    return Mapped(
        message_type="ship_notice",
        schema_version=3,
        payload=_without_empty(payload),
        problems=reading.problems,
        document=f"856 shipment {shipment_id}" if shipment_id else f"856 {transaction.control}",
    )


def _ship_to(reading, shipment, levels, where):
    """The ship-to party's code (N1*ST, N104): the shipment level's, else any level's."""
    candidates = [shipment] if shipment else []
    candidates += [level for level in levels if level is not shipment]
    for level in candidates:
        party = _party(level.segments, ("ST",))
        if party is not None:
            return reading.text(party, 4, "ship-to code")
    reading.missing_segment("N1", where, "ship-to party, N101 ST")
    return None


def _shipped_line(reading, level):
    """One item level as a ship notice line (po_number, po_line, item, quantity, unit,
    packs), looking up the hierarchy for its order and pack. The order line is LIN01, else
    SN101; a retail cross-dock 856 gives neither (the item is identified under the order by
    its UPC or EAN), and the line goes without po_line: the hub correlates it by its item."""
    where = level.hl.position
    lin, sn1 = level.first("LIN"), level.first("SN1")
    line = {}
    prf = next((up.first("PRF") for up in level.lineage() if up.first("PRF")), None)
    if prf is None:
        reading.missing_segment("PRF", where, "purchase order of the item")
    else:
        line["po_number"] = reading.text(prf, 1, "purchase order number")
    if lin is None:
        reading.missing_segment("LIN", where, "item identification")
    else:
        if lin.element(1).strip():
            line["po_line"] = reading.line_number(lin, 1, "purchase order line")
        elif sn1 is not None and sn1.element(1).strip():
            line["po_line"] = reading.line_number(sn1, 1, "purchase order line")
        line["item"] = _ship_notice_item(_product_ids(lin, 2))
        if line["item"] is None:
            reading.element_problem(lin, 3, "1", "(product id) is missing.")
    if sn1 is None:
        reading.missing_segment("SN1", where, "quantity shipped")
    else:
        line["quantity"] = reading.decimal(sn1, 2, "quantity shipped")
        line["unit"] = reading.unit(sn1, 3, "unit")
    line["packs"] = _packs(level, line.get("quantity"))
    return _without_empty(line)


def _packs(level, quantity):
    """The packs carrying an item level: the pack (or tare) above it, with the item's
    quantity, else the packs below it with their own SN1 quantity."""
    for up in level.lineage()[1:]:
        if up.code in ("P", "T") and up.sscc():
            return [_without_empty({"sscc": up.sscc(), "quantity": quantity})]
    packs = []
    for child in level.children:
        if child.code in ("P", "T") and child.sscc():
            sn1 = child.first("SN1")
            amount = sn1.element(2).strip() if sn1 is not None else ""
            pack = {"sscc": child.sscc()}
            if _NUMBER.match(amount):
                pack["quantity"] = decimal_text(amount)
            packs.append(pack)
    return packs or None


def _add_to_line(line, more):
    if "quantity" in line and "quantity" in more:
        line["quantity"] = decimal_text(str(Decimal(line["quantity"]) + Decimal(more["quantity"])))
    if more.get("packs"):
        line["packs"] = line.get("packs", []) + more["packs"]


# --- 850 and 860 -> purchase_order ---------------------------------------------------------

# Where an order and its lines say what: the 850's BEG and PO1, the 860's BCH and POC.
ORDER_LAYOUTS = {
    "850": {"begin": "BEG", "date": 5, "line": "PO1", "quantity": 2, "unit": 3, "price": 4},
    "860": {"begin": "BCH", "date": 6, "line": "POC", "quantity": 3, "unit": 5, "price": 6},
}
PRODUCT_IDS_FROM = {"PO1": 6, "POC": 8}


def map_850(transaction, group, *, supplier, units=None):
    return _map_order(transaction, group, supplier, units, ORDER_LAYOUTS["850"])


def map_860(transaction, group, *, supplier, units=None):
    return _map_order(transaction, group, supplier, units, ORDER_LAYOUTS["860"])


def _map_order(transaction, group, supplier, units, layout):
    reading = _Reading(transaction, group, units)
    header, loops = _header_and_loops(_body(transaction), layout["line"])
    begin = _first(header, layout["begin"])
    payload = {}
    if begin is None:
        reading.missing_segment(layout["begin"], 2, "beginning of the purchase order")
    else:
        payload["change_sequence"] = _change_sequence(reading, begin)
        payload["po_number"] = reading.text(begin, 3, "purchase order number")
        payload["order_date"] = reading.date(begin, layout["date"], "order date")
    seller = _party(header, ("SU", "SE", "VN"))
    payload["supplier"] = supplier
    if seller is not None:
        payload["supplier"] = seller.element(4).strip() or supplier
        payload["supplier_name"] = seller.element(2).strip() or None
    site = _party(header, ("SF",))
    if site is not None:
        payload["supplier_site"] = reading.text(site, 4, "supplier site code")
    ship_to = _party(header, ("ST",))
    if ship_to is None:
        reading.missing_segment("N1", loops[0][0].position if loops else 2, "ship-to party")
    else:
        payload["ship_to"] = reading.text(ship_to, 4, "ship-to code")
    cur = _first(header, "CUR")
    if cur is not None:
        payload["currency"] = reading.text(cur, 2, "currency")
        if payload["currency"] and not re.fullmatch(r"[A-Z]{3}", payload["currency"]):
            reading.element_problem(cur, 2, "7", f"{payload['currency']!r} is not a currency.")
            payload["currency"] = None
    dates = _header_dates(header)
    payload["lines"] = [_ordered_line(reading, loop, dates, layout) for loop in loops]
    if not loops:
        reading.missing_segment(layout["line"], _end_position(transaction), "an order line")
    po_number = payload.get("po_number")
    code = transaction.code
    return Mapped(
        message_type="purchase_order",
        schema_version=2,
        payload=_without_empty(payload),
        problems=reading.problems,
        document=f"{code} PO {po_number}" if po_number else f"{code} {transaction.control}",
    )


def _change_sequence(reading, begin):
    """0 for an original 850 (BEG01 00); an 860's change order sequence number (BCH05) for a
    change or a replacement (BCH01 04, 05). A cancellation or any other purpose has no
    canonical form."""
    purpose = reading.text(begin, 1, "purpose")
    if begin.tag == "BEG" and purpose == "00":
        return 0
    if begin.tag == "BCH" and purpose in ("04", "05"):
        value = reading.text(begin, 5, "change order sequence number")
        if value is not None and not value.isdigit():
            reading.element_problem(begin, 5, "6", f"{value!r} is not a whole number.")
        return int(value) if value and value.isdigit() else None
    if purpose is not None:
        wanted = "an original order (00)" if begin.tag == "BEG" else "a change (04, 05)"
        reading.element_problem(begin, 1, "7", f"{purpose!r}: only {wanted} is read.")
    return None


def _ordered_line(reading, loop, header_dates, layout):
    first = loop[0]
    parts = _line_parts(loop)
    if first.tag == "POC" and first.element(2) == "DI":
        reading.element_problem(first, 2, "7", "DI: a deleted line has no canonical form.")
    ids = _product_ids(first, PRODUCT_IDS_FROM[first.tag])
    line = {
        "line": reading.line_number(first, 1, "line number"),
        "quantity": reading.decimal(first, layout["quantity"], "quantity ordered"),
        "unit": reading.unit(first, layout["unit"], "unit"),
        "price": reading.decimal(first, layout["price"], "unit price", required=False),
        "description": _description(parts["pids"]),
        **_product_fields(ids, ("item", "revision", "mpn", "gtin")),
    }
    if "item" not in line:
        position = PRODUCT_IDS_FROM[first.tag] + 1
        reading.element_problem(
            first, position, "1", "(item: a vendor's or buyer's part) is missing."
        )
    sources = [parts["dates"], parts["schedules"], header_dates]
    line["need_by"], found = _pick_date(reading, sources, NEED_BY_DATES, "need-by date")
    if not found:
        reading.missing_segment("DTM", first.position, f"need-by date of line {first.element(1)}")
    return _without_empty(line)


# --- dispatch -------------------------------------------------------------------------------

MAPPERS = {"855": map_855, "856": map_856, "850": map_850, "860": map_860}


def map_transaction(transaction, group, *, supplier, units=None):
    """The canonical message of one transaction set (see the module docstring). KeyError for
    a transaction set code without a mapper: look in MAPPERS first."""
    return MAPPERS[transaction.code](transaction, group, supplier=supplier, units=units)
