"""EDIFACT D.96A messages mapped to the hub's canonical contracts: ORDRSP to
po_acknowledgement v2, DESADV to ship_notice v3, and ORDERS to purchase_order v2 (for hubs that
receive orders, and to read back what edifact_outbound.render_orders writes).

Where things come from:
- ORDRSP: BGM 231 (its 1004 is the supplier's acknowledgement number), DTM 137 the
  acknowledgement date, RFF ON the purchase order number, NAD SU the supplier's name; per LIN
  group the order line (RFF LI, else the LIN's own number), the committed quantity (QTY 113,
  quantity to be delivered, else QTY 21), the committed date (DTM 67, 69, 76, 17, 191 or 2 on
  the line, else on the header) and the line status (below).
- DESADV: BGM 351 (1004 is the shipment id), DTM 11 the despatch date, DTM 17 (or 191, 69, 76,
  2) the expected delivery when there is one, NAD DP (or ST, CN) the ship-to; the CPS hierarchy
  of packs, each pack's SSCC from GIN BJ (or AW, its older qualifier) after its PAC; per LIN the
  despatched quantity (QTY 12) and the order line (RFF ON with its line number, else RFF LI or
  the LIN's own number and the header's RFF ON; a LIN with none of them goes without po_line,
  and the hub correlates it by its item). A line carried by several packs is one line of the
  notice, with a pack per SSCC; a LIN in a pack without an SSCC (a carton on a pallet) is
  carried by the nearest enclosing pack that has one.
- ORDERS: BGM 220 (1004 is the order number), DTM 137 the order date, RFF PP the change
  number, NAD SU, SF and ST (or DP), CUX, and per LIN: QTY 21, DTM 2, PRI, PIA EC revision.
Items: the code of the type the sender's side names (a supplier's SA, VP, VN for ORDRSP and
DESADV; a buyer's IN, BP first for ORDERS), else the LIN's own code; EN/UP codes give the
GTIN, MF the manufacturer part number. Item descriptions are IMD's 7008 texts: a text of the
full 35 characters continues in the next one, a shorter one ends a phrase (joined by a space).
Quantities keep the sender's decimals as a decimal string ("12.5"; a decimal comma is read).
Units: EDIFACT sends UN/ECE Rec 20 codes already, so QTY's 6411 passes through, `units`
overriding a partner's own codes (e.g. {"PCE": "H87"}); a QTY without a unit counts pieces
(H87), as EANCOM reads it.

Line statuses. The hub normalizes a supplier's line status through its code list
ACK_LINE_STATUS and the sender's cross-references (validation/status_codes.py), loaded for EDI
partners with the X12 855 ACK01 codes (element 668, scheme x12_668). An ORDRSP says the same
things with LIN 1229 (action request/notification) per line, or for the whole message with BGM
1225 (message function) or 4343 (response type); each is written as the X12 668 code of the
same meaning, so that one scheme serves both standards (see the tables below). A line's own
1229 wins over BGM's 1225, which wins over 4343.
"""

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal

from edi.edifact import (
    INVALID_VALUE,
    MISSING,
    VALUE_NOT_SUPPORTED,
    Problem,
)

# LIN 1229 -> X12 668: 5 accepted without amendment, 6 accepted with amendment, 3 changed,
# 7 not accepted, 2 deleted. 4 (no action) says nothing of its own: the header's status holds.
LINE_ACTION_STATUS = {"5": "IA", "6": "IC", "3": "IC", "7": "IR", "2": "ID"}
NO_ACTION = "4"
# BGM 1225 -> X12 668 for every line: 29 accepted without amendment, 28 accepted with amendment
# in the heading section (the lines stand), 34 accepted with amendment, 27 not accepted.
# 30 (amendment in the detail section) leaves each line to say its own.
MESSAGE_FUNCTION_STATUS = {"29": "IA", "28": "IA", "34": "IC", "27": "IR"}
# BGM 4343 -> X12 668: AP accepted, AD acknowledged with detail and no change, CA conditionally
# accepted, RE rejected. AC (with detail and change) leaves each line to say its own.
RESPONSE_TYPE_STATUS = {"AP": "IA", "AD": "IA", "CA": "IC", "RE": "IR"}
REJECTED = ("IR", "ID")

# Preferred DTM qualifiers, best first.
COMMITTED_DATES = ("67", "69", "76", "17", "191", "2")
EXPECTED_DELIVERY = ("17", "191", "69", "76", "2")
# Date formats (2379) read: CCYYMMDD, with a time, and a period (its start).
DATE_FORMATS = {"102": 8, "203": 12, "204": 14, "718": 17}
DEFAULT_UNIT = "H87"
SHIP_TO_PARTIES = ("DP", "ST", "CN")
SSCC_QUALIFIERS = ("BJ", "AW")
SUPPLIER_ITEM_TYPES = ("SA", "VP", "VN", "IN", "BP")
BUYER_ITEM_TYPES = ("IN", "BP", "SA", "VP", "VN")
GTIN_TYPES = ("EN", "UP")
MPN_TYPE = "MF"
REVISION_TYPE = "EC"
TEXT_LENGTH = 35  # an..35, the length of IMD's 7008 and NAD's 3036


@dataclass
class Mapped:
    """A message mapped to a canonical contract: its type and version, the payload, the
    problems that stop it from being used as it is, and what the document is, for people."""

    message_type: str | None
    schema_version: int | None
    payload: dict | None
    problems: list = field(default_factory=list)
    document: str = ""


def map_message(message, *, supplier, units=None):
    """Map an ORDRSP, DESADV or ORDERS message of `supplier` (the hub-side code of the
    partner's supplier) to its canonical payload."""
    units = units or {}
    mappers = {
        "ORDRSP": ("po_acknowledgement", 2, _acknowledgement),
        "DESADV": ("ship_notice", 3, _ship_notice),
        "ORDERS": ("purchase_order", 2, _purchase_order),
    }
    if message.type not in mappers:
        problem = Problem(
            "message",
            VALUE_NOT_SUPPORTED,
            f"Message type {message.type or '(none)'} has no canonical contract here.",
            1,
            "UNH",
            2,
            message.offset,
            1,
        )
        return Mapped(None, None, None, [problem], _document_label(message, {}))
    message_type, version, mapper = mappers[message.type]
    problems = []
    payload = mapper(message, supplier, units, problems)
    return Mapped(message_type, version, payload, problems, _document_label(message, payload))


def _document_label(message, payload):
    """What the message is, for people: "ORDRSP for PO 4500012", "DESADV shipment 881"."""
    if payload.get("shipment_id"):
        return f"{message.type} shipment {payload['shipment_id']}"
    if payload.get("po_number"):
        joiner = " for PO " if message.type == "ORDRSP" else " PO "
        return f"{message.type}{joiner}{payload['po_number']}"
    return f"{message.type} {message.reference}"


# --- ORDRSP -> po_acknowledgement ----------------------------------------------------------


def _acknowledgement(message, supplier, units, problems):
    header, lines = _sections(message.segments)
    bgm = _document(message, header, "231", problems)
    dates = _dates(header, problems)
    payload = {}
    _put(payload, "po_number", _reference(header, "ON"))
    _put(payload, "ack_number", bgm.value(2) if bgm else "")
    payload["supplier"] = supplier
    _put(payload, "supplier_name", _party_name(header, "SU"))
    _put(payload, "ack_date", dates.get("137"))
    _require(payload, "po_number", header, "RFF", "the purchase order number (RFF+ON)", problems)
    _require(payload, "ack_date", header, "DTM", "the response date (DTM+137)", problems)
    header_status = _header_status(bgm)
    header_date = _preferred(dates, COMMITTED_DATES)
    payload["lines"] = [
        _acknowledged_line(group, header_status, header_date, payload, units, problems)
        for group in lines
    ]
    _require_lines(payload, header, problems)
    return payload


def _acknowledged_line(group, header_status, header_date, payload, units, problems):
    lin = group[0]
    line = {}
    _put(line, "line", _line_number(group, problems))
    status = _line_status(lin, header_status, problems)
    if status:
        line["status"] = status
    rejected = status in REJECTED
    quantities = _quantities(group, problems)
    quantity, unit = quantities.get("113") or quantities.get("21") or (None, "")
    if rejected:
        quantity = "0"  # a rejected line commits nothing, whatever its QTY says
    if quantity is None:
        _missing_in_line(group, "QTY", "a committed quantity (QTY+113 or QTY+21)", problems)
    else:
        line["committed_quantity"] = quantity
    line["unit"] = _unit(unit, units)
    dates = _dates(group, problems)
    date = _preferred(dates, COMMITTED_DATES) or header_date
    if rejected and date is None:
        date = payload.get("ack_date")
    if date is None:
        _missing_in_line(group, "DTM", "a committed date (DTM+67, 69, 17 or 2)", problems)
    else:
        line["committed_date"] = date
    line.update(_item_fields(group, SUPPLIER_ITEM_TYPES))
    line.pop("revision", None)
    return line


def _header_status(bgm):
    if bgm is None:
        return None
    return MESSAGE_FUNCTION_STATUS.get(bgm.value(3)) or RESPONSE_TYPE_STATUS.get(bgm.value(4))


def _line_status(lin, header_status, problems):
    action = lin.value(2)
    if action and action != NO_ACTION:
        if action in LINE_ACTION_STATUS:
            return LINE_ACTION_STATUS[action]
        problems.append(
            _element_problem(
                lin,
                VALUE_NOT_SUPPORTED,
                f"LIN {lin.value(1)}: action code {action} (LIN element 2) is not a line "
                f"status; send one of {', '.join(LINE_ACTION_STATUS)}.",
                2,
            )
        )
        return None
    if header_status is None:
        problems.append(
            _element_problem(
                lin,
                MISSING,
                f"LIN {lin.value(1)} has no status: its action code (LIN element 2) is empty "
                "and the BGM does not answer the whole order (1225 29, 27, 28 or 34, or 4343 "
                "AP, AD, CA or RE).",
                2,
            )
        )
    return header_status


# --- DESADV -> ship_notice -----------------------------------------------------------------


def _ship_notice(message, supplier, units, problems):
    header, _ = _sections(message.segments)
    bgm = _document(message, header, "351", problems)
    dates = _dates(header, problems)
    payload = {}
    _put(payload, "shipment_id", bgm.value(2) if bgm else "")
    payload["supplier"] = supplier
    _put(payload, "ship_date", dates.get("11"))
    _put(payload, "expected_delivery", _preferred(dates, EXPECTED_DELIVERY))
    _put(payload, "ship_to", _party(header, SHIP_TO_PARTIES))
    if bgm is not None:
        _require(payload, "shipment_id", header, "BGM", "the shipment id (BGM element 2)", problems)
    _require(payload, "ship_date", header, "DTM", "the despatch date (DTM+11)", problems)
    _require(payload, "ship_to", header, "NAD", "the delivery party (NAD+DP or ST)", problems)
    order = _reference(header, "ON")
    payload["lines"] = _merge_lines(_despatched_lines(message.segments, order, units, problems))
    _require_lines(payload, header, problems)
    return payload


def _despatched_lines(segments, order, units, problems):
    """Every LIN of the message as (its notice line, the SSCCs of the pack carrying it)."""
    parents, ssccs = {}, {}
    pack = None
    items = []  # (LIN group, pack id)
    for segment in segments:
        if segment.tag == "CPS":
            pack = segment.value(1)
            parents[pack] = segment.value(2)
            ssccs.setdefault(pack, [])
        elif segment.tag == "LIN":
            items.append(([segment], pack))
        elif segment.tag in ("UNT", "CNT"):
            break
        elif items and items[-1][1] == pack:
            items[-1][0].append(segment)
        elif segment.tag == "GIN":
            ssccs.setdefault(pack, []).extend(_identity_numbers(segment, SSCC_QUALIFIERS))
    lines = []
    for group, item_pack in items:
        own = [n for s in group if s.tag == "GIN" for n in _identity_numbers(s, SSCC_QUALIFIERS)]
        line = _despatched_line(group, order, units, problems)
        lines.append((line, own or _enclosing_ssccs(item_pack, parents, ssccs)))
    return lines


def _despatched_line(group, order, units, problems):
    references = [s for s in group if s.tag == "RFF"]
    on = next((s for s in references if s.value(1, 1) == "ON"), None)
    po_number = on.value(1, 2) if on is not None else order
    line = {}
    _put(line, "po_number", po_number)
    if not po_number:
        _missing_in_line(group, "RFF", "the purchase order number (RFF+ON)", problems)
    if on is not None and on.value(1, 3):
        _put(line, "po_line", _positive_number(on, 1, on.value(1, 3), problems, component=3))
    elif group[0].value(1) or any(s.value(1, 1) == "LI" for s in references):
        _put(line, "po_line", _line_number(group, problems))
    fields = _item_fields(group, SUPPLIER_ITEM_TYPES)
    _put(line, "item", fields.get("item"))
    if "item" not in line:
        _missing_in_line(group, "LIN", "an item number (LIN element 3)", problems)
    quantity, unit = _quantities(group, problems).get("12", (None, ""))
    if quantity is None:
        _missing_in_line(group, "QTY", "a despatched quantity (QTY+12)", problems)
    else:
        line["quantity"] = quantity
    line["unit"] = _unit(unit, units)
    return line


def _enclosing_ssccs(pack, parents, ssccs):
    seen = set()
    while pack is not None and pack not in seen:
        if ssccs.get(pack):
            return ssccs[pack]
        seen.add(pack)
        pack = parents.get(pack) or None
    return []


def _merge_lines(lines):
    """One notice line per order line, item and unit, with a pack per SSCC: a pack's quantity
    is known when the LIN's pack holds a single SSCC."""
    merged = {}
    for line, ssccs in lines:
        key = (line.get("po_number"), line.get("po_line"), line.get("item"), line.get("unit"))
        quantity = Decimal(line.get("quantity", "0"))
        if key not in merged:
            merged[key] = (dict(line), {}, [quantity])
        else:
            merged[key][2].append(quantity)
        packs = merged[key][1]
        for sscc in ssccs:
            known = len(ssccs) == 1 and "quantity" in line
            pack_quantities = packs.setdefault(sscc, [])
            if known:
                pack_quantities.append(quantity)
    result = []
    for line, packs, quantities in merged.values():
        if "quantity" in line and len(quantities) > 1:
            line["quantity"] = _decimal_text(sum(quantities))
        if packs:
            line["packs"] = [
                {"sscc": sscc, "quantity": _decimal_text(sum(amounts))}
                if amounts
                else {"sscc": sscc}
                for sscc, amounts in packs.items()
            ]
        result.append(line)
    return result


def _identity_numbers(gin, qualifiers):
    """The identity numbers of a GIN (each C208's first number), when its qualifier is one of
    `qualifiers`."""
    if gin.value(1) not in qualifiers:
        return []
    return [gin.value(element, 1) for element in range(2, 7) if gin.value(element, 1)]


# --- ORDERS -> purchase_order --------------------------------------------------------------


def _purchase_order(message, supplier, units, problems):
    header, lines = _sections(message.segments)
    bgm = _document(message, header, "220", problems)
    dates = _dates(header, problems)
    payload = {}
    _put(payload, "po_number", bgm.value(2) if bgm else "")
    change = next((s for s in header if s.tag == "RFF" and s.value(1, 1) == "PP"), None)
    if change is None:
        payload["change_sequence"] = 0
    else:
        number = _positive_number(change, 1, change.value(1, 2), problems, minimum=0, component=2)
        _put(payload, "change_sequence", number)
    payload["supplier"] = _party(header, ("SU",)) or supplier
    _put(payload, "supplier_name", _party_name(header, "SU"))
    _put(payload, "supplier_site", _party(header, ("SF",)))
    _put(payload, "ship_to", _party(header, ("ST", "DP")))
    _put(payload, "order_date", dates.get("137") or dates.get("4"))
    currency = next((s for s in header if s.tag == "CUX"), None)
    _put(payload, "currency", currency.value(1, 2) if currency else "")
    if bgm is not None:
        _require(payload, "po_number", header, "BGM", "the order number (BGM element 2)", problems)
    _require(payload, "ship_to", header, "NAD", "the ship-to party (NAD+ST)", problems)
    _require(payload, "order_date", header, "DTM", "the order date (DTM+137)", problems)
    payload["lines"] = [_ordered_line(group, units, problems) for group in lines]
    _require_lines(payload, header, problems)
    return payload


def _ordered_line(group, units, problems):
    lin = group[0]
    line = {}
    _put(line, "line", _positive_number(lin, 1, lin.value(1), problems))
    fields = _item_fields(group, BUYER_ITEM_TYPES)
    _put(line, "item", fields.pop("item", None))
    if "item" not in line:
        _missing_in_line(group, "LIN", "an item number (LIN element 3)", problems)
    _put(line, "revision", fields.pop("revision", None))
    quantity, unit = _quantities(group, problems).get("21", (None, ""))
    if quantity is None:
        _missing_in_line(group, "QTY", "an ordered quantity (QTY+21)", problems)
    else:
        line["quantity"] = quantity
    line["unit"] = _unit(unit, units)
    need_by = _dates(group, problems).get("2")
    if need_by is None:
        _missing_in_line(group, "DTM", "a delivery date (DTM+2)", problems)
    else:
        line["need_by"] = need_by
    price = next((s for s in group if s.tag == "PRI" and s.value(1, 2)), None)
    if price is not None:
        _put(line, "price", _decimal(price, 1, 2, problems))
    line.update(fields)
    return line


# --- shared readers ------------------------------------------------------------------------


def _sections(segments):
    """The header (UNH to the first LIN, or to the first CPS of a DESADV) and the LIN groups
    (each LIN to the next LIN or the summary: UNS, CNT, UNT)."""
    header, lines = [], []
    in_header = True
    for segment in segments:
        if segment.tag in ("UNS", "CNT", "UNT"):
            break
        if segment.tag in ("LIN", "CPS"):
            in_header = False
        if segment.tag == "LIN":
            lines.append([segment])
        elif lines:
            lines[-1].append(segment)
        elif in_header:
            header.append(segment)
    return header, lines


def _first(segments, tag):
    return next((s for s in segments if s.tag == tag), None)


def _document(message, header, code, problems):
    """The BGM, checked: present, and naming the document code its message carries."""
    bgm = _first(header, "BGM")
    if bgm is None:
        problems.append(
            Problem(
                "segment",
                MISSING,
                f"The mandatory BGM (beginning of message) is missing from {message.type} "
                f"{message.reference}: it should follow the UNH with document code {code} and "
                "the document's number.",
                1,
                "BGM",
                offset=message.offset,
            )
        )
    elif bgm.value(1) and bgm.value(1) != code:
        problems.append(
            _element_problem(
                bgm,
                INVALID_VALUE,
                f"BGM document code {bgm.value(1)} (BGM element 1) is not {code}, the code of "
                f"a {message.type}.",
                1,
                1,
            )
        )
    return bgm


def _dates(segments, problems):
    """{qualifier: "YYYY-MM-DD"} of the DTM segments (the first of each qualifier)."""
    dates = {}
    for segment in segments:
        if segment.tag == "DTM" and segment.value(1, 1) not in dates:
            date = _date(segment, problems)
            if date is not None:
                dates[segment.value(1, 1)] = date
    return dates


def _date(dtm, problems):
    qualifier, text, form = dtm.value(1, 1), dtm.value(1, 2), dtm.value(1, 3) or "102"
    if form not in DATE_FORMATS:
        problems.append(
            _element_problem(
                dtm,
                VALUE_NOT_SUPPORTED,
                f"DTM+{qualifier}: date format {form} (DTM element 1, component 3) is not read "
                "here; send 102 (CCYYMMDD), 203 or 204.",
                1,
                3,
            )
        )
        return None
    length = DATE_FORMATS[form]
    try:
        if len(text) != length or not text.replace("-", "").isdigit():
            raise ValueError
        date = datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        problems.append(
            _element_problem(
                dtm,
                INVALID_VALUE,
                f"DTM+{qualifier}: {text or '(empty)'} (DTM element 1, component 2) is not a "
                f"valid date in format {form} (CCYYMMDD, {length} characters).",
                1,
                2,
            )
        )
        return None
    return date.isoformat()


def _preferred(dates, qualifiers):
    return next((dates[q] for q in qualifiers if q in dates), None)


def _quantities(segments, problems):
    """{qualifier: (decimal text, unit)} of the QTY segments (the first of each qualifier)."""
    quantities = {}
    for segment in segments:
        if segment.tag == "QTY" and segment.value(1, 1) not in quantities:
            quantity = _decimal(segment, 1, 2, problems)
            if quantity is not None:
                quantities[segment.value(1, 1)] = (quantity, segment.value(1, 3))
    return quantities


def _decimal(segment, element, component, problems):
    """A number as a decimal string ("12.5"; "12,5" and ".5" are read), or None with a problem."""
    text = segment.value(element, component)
    number = text.replace(",", ".")
    if number.startswith("."):
        number = "0" + number
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", number):
        problems.append(
            _element_problem(
                segment,
                INVALID_VALUE,
                f"{segment.tag}: {text or '(empty)'} (element {element}, component "
                f"{component}) is not a number.",
                element,
                component,
            )
        )
        return None
    return number


def _decimal_text(number):
    return f"{number:f}"


def _unit(code, units):
    if code in units:
        return units[code]
    return code or DEFAULT_UNIT


def _reference(segments, qualifier):
    rff = next((s for s in segments if s.tag == "RFF" and s.value(1, 1) == qualifier), None)
    return rff.value(1, 2) if rff is not None else ""


def _party(segments, qualifiers):
    """The party id (NAD C082 3039) of the first NAD with one of the qualifiers, by preference."""
    for qualifier in qualifiers:
        nad = next((s for s in segments if s.tag == "NAD" and s.value(1) == qualifier), None)
        if nad is not None and nad.value(2, 1):
            return nad.value(2, 1)
    return ""


def _party_name(segments, qualifier):
    nad = next((s for s in segments if s.tag == "NAD" and s.value(1) == qualifier), None)
    return _joined(nad.components(4)[:5]) if nad is not None else ""


def _joined(texts):
    """Texts split over 35-character elements, joined back (see the module docstring)."""
    result, previous = "", ""
    for text in texts:
        if not text:
            continue
        if result and len(previous) != TEXT_LENGTH:
            result += " "
        result += text
        previous = text
    return result


def _line_number(group, problems):
    """The order line a LIN group answers: RFF LI when given, else the LIN's own number."""
    li = next((s for s in group if s.tag == "RFF" and s.value(1, 1) == "LI"), None)
    if li is not None:
        return _positive_number(li, 1, li.value(1, 2), problems, component=2)
    lin = group[0]
    return _positive_number(lin, 1, lin.value(1), problems)


def _positive_number(segment, element, text, problems, minimum=1, component=None):
    if text.isdigit() and int(text) >= minimum:
        return int(text)
    problems.append(
        _element_problem(
            segment,
            INVALID_VALUE if text else MISSING,
            f"{segment.tag}: {text or '(empty)'} (element {element}) is not a line or sequence "
            f"number (a whole number from {minimum}).",
            element,
            component,
        )
    )
    return None


def _item_fields(group, preference):
    """item, gtin, mpn and revision from the LIN's code and its PIA codes, and description from
    its IMD texts (each only when given)."""
    lin = group[0]
    codes = [(lin.value(3, 1), lin.value(3, 2))] if lin.value(3, 1) else []
    for pia in (s for s in group if s.tag == "PIA"):
        codes += [(pia.value(e, 1), pia.value(e, 2)) for e in range(2, 7) if pia.value(e, 1)]
    by_type = {}
    for code, kind in codes:
        by_type.setdefault(kind, code)
    fields = {}
    item = next((by_type[kind] for kind in preference if kind in by_type), None)
    _put(fields, "item", item or (codes[0][0] if codes else None))
    texts = [t for s in group if s.tag == "IMD" for t in s.components(3)[3:5]]
    _put(fields, "description", _joined(texts))
    _put(fields, "mpn", by_type.get(MPN_TYPE))
    _put(fields, "gtin", next((by_type[k] for k in GTIN_TYPES if k in by_type), None))
    _put(fields, "revision", by_type.get(REVISION_TYPE))
    return fields


def _put(payload, key, value):
    if value is not None and value != "":
        payload[key] = value


def _require(payload, key, header, tag, what, problems):
    """A problem when the payload lacks a header value (unless the segment is there but could
    not be read): reported where the segment was expected, after the last header segment of
    the kind, else after the BGM or the UNH."""
    if key in payload or _unreadable(problems, tag, header[0].position, header[-1].position):
        return
    last = next((s for s in reversed(header) if s.tag in (tag, "BGM", "UNH")), header[0])
    problems.append(
        Problem(
            "segment",
            MISSING,
            f"The message does not give {what}.",
            last.position,
            tag,
            offset=last.offset,
        )
    )


def _unreadable(problems, tag, first, last):
    """Whether a segment of the kind between two positions could not be read."""
    return any(
        p.level == "element" and p.segment_tag == tag and first <= p.segment_position <= last
        for p in problems
    )


def _require_lines(payload, header, problems):
    if not payload["lines"]:
        last = header[-1]
        problems.append(
            Problem(
                "segment",
                MISSING,
                "The message has no LIN line items: the hub needs one for each order line.",
                last.position,
                "LIN",
                offset=last.offset,
            )
        )


def _missing_in_line(group, tag, what, problems):
    """A problem for what a LIN group lacks, unless a segment of the kind is there but could not
    be read (that problem says it already)."""
    if _unreadable(problems, tag, group[0].position, group[-1].position):
        return
    lin = group[0]
    problems.append(
        Problem(
            "segment",
            MISSING,
            f"LIN {lin.value(1) or '(no number)'} does not give {what}.",
            lin.position,
            tag,
            offset=lin.offset,
        )
    )


def _element_problem(segment, code, text, element, component=None):
    return Problem(
        "element", code, text, segment.position, segment.tag, element, segment.offset, component
    )
