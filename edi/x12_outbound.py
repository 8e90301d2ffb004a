"""Canonical purchase orders out as X12 004010 interchanges: an 850 for the original order,
an 860 for a change to it.

`render_850(order, sender=..., receiver=..., ...)` writes a `purchase_order` payload with
change_sequence 0, already in the supplier's own codes (the caller translates through the
cross-references), as one whole interchange: ISA, GS (PO), ST 850, BEG, CUR, DTM, N1
(ship-to, supplier, ship-from site), PO1 with its PID and DTM, CTT, SE, GE, IEA.
`render_860` writes a later change_sequence the same way with GS (PC), ST 860, BCH for BEG
and POC for PO1: every line as it now stands, change code RZ (replace all values). Standard
delimiters `*`, `:`, `~` (and `^`, which 004010 does not declare) unless others are given.

What goes where, so that edi.x12_inbound reads the same order back:

    po_number BEG03 / BCH03    order_date BEG05 / BCH06   change_sequence 0: BEG01 00;
    ship_to N1*ST N104         supplier N1*SU N104          later: BCH01 04, BCH05
    supplier_name N1*SU N102 (at most 60 characters)       supplier_site N1*SF N104
    currency CUR*BY CUR02
    need_by DTM*002: in the header when every line shares it, else in each line's loop
    line PO101 / POC01, quantity PO102 / POC03, unit PO103 / POC05, price PO104 / POC06; item
    VP, the buyer's part (when the caller gives one per line) BP, revision EC, mpn MG, gtin
    UP (12 digits), EN (8 or 13) or UK (14); description PID*F, in pieces of at most 80
    characters split between words.

Units go back through the partner's overrides, then the X12 355 crosswalk (the first X12 code
of a hub unit wins: XPK is PK, not PH). N1 codes carry qualifier 91, assigned by the seller:
they are the supplier's own codes.
"""

from datetime import UTC, datetime

from edi.x12 import Delimiters, isa_segment, render
from edi.x12_inbound import decimal_text, x12_unit

STANDARD_DELIMITERS = Delimiters(element="*", component=":", repetition="^", segment="~")
DESCRIPTION_PIECE = 80  # PID05 holds at most 80 characters
NAME_LENGTH = 60  # N102


class RenderError(ValueError):
    """The order cannot be written as X12 for this partner; the message says why."""


def render_850(
    order,
    *,
    sender,
    receiver,
    interchange_control,
    group_control,
    delimiters=None,
    when=None,
    units=None,
    purpose="00",
    buyer_items=None,
):
    """The original order as one X12 004010 interchange (text). `sender` and `receiver` are
    (ISA qualifier, id) pairs; `units` the partner's X12 355 -> hub unit overrides;
    `buyer_items` {line: the buyer's part number} for BP. RenderError when a value cannot be
    written, or when the order is a change (see render_860)."""
    if order.get("change_sequence", 0) != 0:
        raise RenderError(
            f"Order {order.get('po_number')} is change {order['change_sequence']}: a change "
            "goes out as an 860 (render_860)."
        )
    beginning = ["BEG", purpose, "SA", order["po_number"], "", _x12_date(order["order_date"])]
    body = _order_segments(order, beginning, "PO1", units, buyer_items or {})
    return interchange(
        "850", "PO", body, sender, receiver, interchange_control, group_control, delimiters, when
    )


def render_860(
    order,
    *,
    sender,
    receiver,
    interchange_control,
    group_control,
    delimiters=None,
    when=None,
    units=None,
    purpose="04",
    buyer_items=None,
):
    """A change to an order (change_sequence 1, 2, ...) as one X12 004010 860 interchange,
    each line as it now stands; the arguments as for render_850."""
    if not order.get("change_sequence"):
        raise RenderError(
            f"Order {order.get('po_number')} is the original order: it goes out as an 850."
        )
    beginning = [
        "BCH",
        purpose,
        "SA",
        order["po_number"],
        "",
        str(order["change_sequence"]),
        _x12_date(order["order_date"]),
    ]
    body = _order_segments(order, beginning, "POC", units, buyer_items or {})
    return interchange(
        "860", "PC", body, sender, receiver, interchange_control, group_control, delimiters, when
    )


def interchange(code, functional_id, body, sender, receiver, control, group, delimiters, when):
    """A whole 004010 interchange of one transaction set `code` whose segments after ST are
    `body`: ISA, GS (`functional_id`), ST, the body, SE, GE, IEA, rendered. `sender` and
    `receiver` are (qualifier, id); `delimiters` None for the standard ones."""
    delimiters = delimiters or STANDARD_DELIMITERS
    when = when or datetime.now(UTC)
    transaction = [["ST", code, "0001"], *body]
    transaction.append(["SE", str(len(transaction) + 1), "0001"])
    try:
        isa = isa_segment(
            sender_qualifier=sender[0],
            sender_id=sender[1],
            receiver_qualifier=receiver[0],
            receiver_id=receiver[1],
            control=control,
            when=when,
            delimiters=delimiters,
        )
        date, time = when.strftime("%Y%m%d"), when.strftime("%H%M")
        gs = ["GS", functional_id, sender[1], receiver[1], date, time, str(group), "X", "004010"]
        segments = [isa, gs, *transaction, ["GE", "1", str(group)], ["IEA", "1", isa[13]]]
        return render(segments, delimiters)
    except ValueError as error:
        raise RenderError(str(error)) from None


def _order_segments(order, beginning, line_tag, units, buyer_items):
    """BEG (or BCH) through CTT."""
    lines = order["lines"]
    dates = {line["need_by"] for line in lines}
    shared_date = dates.pop() if len(dates) == 1 else None
    segments = [beginning]
    if order.get("currency"):
        segments.append(["CUR", "BY", order["currency"]])
    if shared_date:
        segments.append(["DTM", "002", _x12_date(shared_date)])
    segments.append(["N1", "ST", "", "91", order["ship_to"]])
    name = (order.get("supplier_name") or "")[:NAME_LENGTH]
    segments.append(["N1", "SU", name, "91", order["supplier"]])
    if order.get("supplier_site"):
        segments.append(["N1", "SF", "", "91", order["supplier_site"]])
    for line in lines:
        segments.append(_line_segment(line_tag, line, units, buyer_items.get(line["line"])))
        for piece in _pieces(line.get("description") or ""):
            segments.append(["PID", "F", "", "", "", piece])
        if not shared_date:
            segments.append(["DTM", "002", _x12_date(line["need_by"])])
    segments.append(["CTT", str(len(lines))])
    return segments


def _line_segment(tag, line, units, buyer_item):
    """PO1*line*quantity*unit*price**ids, or POC*line*RZ*quantity**unit*price**ids."""
    unit = x12_unit(line["unit"], units)
    if unit is None:
        raise RenderError(
            f"Line {line['line']}: unit {line['unit']!r} has no X12 355 code in the partner's "
            "unit overrides or the crosswalk; add one to the partner's profile."
        )
    price = decimal_text(str(line["price"])) if line.get("price") is not None else ""
    ids = [("VP", line["item"]), ("BP", buyer_item), ("EC", line.get("revision"))]
    ids += [("MG", line.get("mpn")), (_gtin_qualifier(line.get("gtin")), line.get("gtin"))]
    pairs = [value for qualifier, code in ids if code for value in (qualifier, code)]
    quantity = decimal_text(str(line["quantity"]))
    if tag == "POC":
        return ["POC", str(line["line"]), "RZ", quantity, "", unit, price, "", *pairs]
    return ["PO1", str(line["line"]), quantity, unit, price, "", *pairs]


def _gtin_qualifier(gtin):
    """UP for a 12-digit UPC, UK for a 14-digit GTIN, EN for EAN-13 and EAN-8."""
    return {12: "UP", 14: "UK"}.get(len(gtin or ""), "EN")


def _pieces(text):
    """Text in pieces of at most DESCRIPTION_PIECE characters, split between words (a word
    longer than that is cut)."""
    pieces, current = [], ""
    for word in text.split(" "):
        while len(word) > DESCRIPTION_PIECE:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:DESCRIPTION_PIECE])
            word = word[DESCRIPTION_PIECE:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) > DESCRIPTION_PIECE:
            pieces.append(current)
            current = word
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def _x12_date(iso_date):
    """YYYY-MM-DD as CCYYMMDD."""
    return iso_date.replace("-", "")
