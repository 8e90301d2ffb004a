"""EDIFACT written by the gateway: the CONTRL syntax and service report that answers a
partner's interchange, and a canonical purchase order as an ORDERS D.96A interchange. Both are
pydifact segments written by pydifact's serializer (which puts the release character before
every service character in a value), after a UNA of ":+.? '".

CONTRL (CONTRL:D:3:UN, or 4:1:UN when the partner writes syntax version 4): the UCI answers
the interchange (action 7, acknowledged, or 4, rejected, with the first envelope fault's code,
segment tag and element), a UCM answers each message (7 or 4, with a fault of its UNH or UNT),
then for each faulty segment a UCS (its position, UNH = 1, and a fault of the whole segment,
e.g. 13 for a missing one) with a UCD per faulty element. S011 counts the segment tag as
element 1, so the first data element (Problem.element_position 1) is 2 there.

ORDERS: UNB, UNH, BGM 220 (function 9, original, or 5, replace, for a change, whose number
goes in RFF PP), DTM 137 the order date, NAD SU (with the supplier's name), SF (the supplier
site), ST (the ship-to), CUX; per line LIN (the item as SA, the supplier's article number: an
order goes out in the supplier's codes), PIA (revision EC, MPN MF, GTIN EN), IMD (the
description in 35-character pieces), QTY 21 with its unit, DTM 2 the need-by date, PRI AAA the
net price; then UNS, CNT 2 (the number of lines), UNT, UNZ. Codes go out as given: a code
longer than its EDIFACT element (an..35) is for the partner agreement to settle.
"""

import datetime
from decimal import Decimal

from pydifact.control import Characters
from pydifact.segments import Segment
from pydifact.serializer import Serializer

from edi.edifact import CODECS, VERSION

CHARACTERS = Characters(decimal_point=".")  # the UNA ":+.? '"
ACKNOWLEDGED, REJECTED = "7", "4"
TEXT_LENGTH = 35
ENVELOPE_TAGS = ("UNA", "UNB", "UNZ")
MESSAGE_TAGS = ("UNH", "UNT")


def contrl(interchange, *, control, problems_by_message=None, when=None):
    """The CONTRL interchange answering `interchange` (from its recipient back to its
    sender), with interchange control reference `control`. problems_by_message adds, by
    message reference, what mapping a message found (edifact_inbound.Mapped.problems)."""
    problems_by_message = problems_by_message or {}
    rejected = bool(interchange.problems)
    version = "4" if interchange.syntax_version == "4" else "3"
    identifier = ["CONTRL", "4", "1", "UN"] if version == "4" else ["CONTRL", "D", "3", "UN"]
    first = interchange.problems[0] if interchange.problems else None
    body = [
        _segment("UNH", "1", identifier),
        _segment(
            "UCI",
            interchange.control,
            [interchange.sender, interchange.sender_qualifier],
            [interchange.recipient, interchange.recipient_qualifier],
            REJECTED if rejected else ACKNOWLEDGED,
            *_error_fields(first, ENVELOPE_TAGS),
        ),
    ]
    for message in interchange.messages:
        problems = _distinct([*message.problems, *problems_by_message.get(message.reference, [])])
        service = next(
            (p for p in problems if p.level == "message" and p.segment_tag in MESSAGE_TAGS), None
        )
        body.append(
            _segment(
                "UCM",
                message.reference,
                message.identifier,
                REJECTED if rejected or problems else ACKNOWLEDGED,
                *_error_fields(service, MESSAGE_TAGS),
            )
        )
        body += _segment_reports([p for p in problems if p is not service])
    body.append(_segment("UNT", str(len(body) + 1), "1"))
    syntax = interchange.syntax if interchange.syntax in CODECS else "UNOC"
    return _interchange(
        body,
        sender=[interchange.recipient, interchange.recipient_qualifier],
        recipient=[interchange.sender, interchange.sender_qualifier],
        control=control,
        when=when,
        syntax=[syntax, version],
        test=interchange.test,
    )


def _distinct(problems):
    """The problems with one per fault and place: parsing and mapping may both see one."""
    seen, result = set(), []
    for problem in problems:
        place = (
            problem.code,
            problem.segment_position,
            problem.element_position,
            problem.component_position,
        )
        if place not in seen:
            seen.add(place)
            result.append(problem)
    return result


def _error_fields(problem, tags):
    """0085 syntax error, 0013 service segment tag and S011 of a UCI or UCM."""
    if problem is None:
        return []
    return [
        problem.code,
        problem.segment_tag if problem.segment_tag in tags else "",
        *_s011(problem),
    ]


def _s011(problem):
    if problem.element_position is None:
        return []
    position = [str(problem.element_position + 1)]
    if problem.component_position:
        position.append(str(problem.component_position))
    return [position]


def _segment_reports(problems):
    """A UCS per faulty segment (another for each further fault of the whole segment), with a
    UCD per faulty element, in segment order."""
    by_position = {}
    for problem in problems:
        by_position.setdefault(problem.segment_position or 1, []).append(problem)
    segments = []
    for position in sorted(by_position):
        group = by_position[position]
        whole = [p for p in group if p.level != "element"]
        segments.append(_segment("UCS", str(position), whole[0].code if whole else ""))
        segments += [_segment("UCD", p.code, *_s011(p)) for p in group if p.level == "element"]
        segments += [_segment("UCS", str(position), p.code) for p in whole[1:]]
    return segments


def render_orders(order, *, sender, recipient, control, when=None):
    """A canonical purchase_order payload as an ORDERS D.96A interchange from `sender` to
    `recipient` (each an id, or (id, qualifier)), with interchange control reference
    `control`, dated `when` (now when None)."""
    change = order.get("change_sequence", 0)
    body = [
        _segment("UNH", "1", ["ORDERS", *VERSION.split(":")]),
        _segment("BGM", "220", order["po_number"], "5" if change else "9"),
        _segment("DTM", ["137", _date(order["order_date"]), "102"]),
    ]
    if change:
        body.append(_segment("RFF", ["PP", str(change)]))
    body.append(_segment("NAD", "SU", order["supplier"], "", _pieces(order.get("supplier_name"))))
    if order.get("supplier_site"):
        body.append(_segment("NAD", "SF", order["supplier_site"]))
    body.append(_segment("NAD", "ST", order["ship_to"]))
    if order.get("currency"):
        body.append(_segment("CUX", ["2", order["currency"], "9"]))
    for line in order["lines"]:
        body += _line(line)
    body += [_segment("UNS", "S"), _segment("CNT", ["2", str(len(order["lines"]))])]
    body.append(_segment("UNT", str(len(body) + 1), "1"))
    return _interchange(
        body,
        sender=_party(sender),
        recipient=_party(recipient),
        control=control,
        when=when,
        syntax=["UNOC", "3"],
    )


def _line(line):
    segments = [_segment("LIN", str(line["line"]), "", [line["item"], "SA"])]
    codes = [
        [line[key], kind]
        for key, kind in (("revision", "EC"), ("mpn", "MF"), ("gtin", "EN"))
        if line.get(key)
    ]
    if codes:
        segments.append(_segment("PIA", "1", *codes))
    pieces = _pieces(line.get("description"), limit=None)
    for start in range(0, len(pieces), 2):
        segments.append(_segment("IMD", "F", "", ["", "", "", *pieces[start : start + 2]]))
    segments.append(_segment("QTY", ["21", _number(line["quantity"]), line["unit"]]))
    segments.append(_segment("DTM", ["2", _date(line["need_by"]), "102"]))
    if line.get("price") is not None:
        segments.append(_segment("PRI", ["AAA", _number(line["price"])]))
    return segments


def _pieces(text, limit=5):
    """A text cut in 35-character pieces (at most `limit` of them)."""
    if not text:
        return []
    pieces = [text[i : i + TEXT_LENGTH] for i in range(0, len(text), TEXT_LENGTH)]
    return pieces[:limit] if limit else pieces


def _number(value):
    """A quantity or price as EDIFACT writes it: decimal text with a point (the UNA's)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{Decimal(repr(value)):f}"
    return f"{Decimal(value):f}"


def _date(iso_date):
    return iso_date.replace("-", "")


def _party(party):
    return [party] if isinstance(party, str) else list(party)


def _interchange(body, *, sender, recipient, control, when, syntax, test=False):
    when = when or datetime.datetime.now(datetime.UTC)
    date = when.strftime("%Y%m%d" if syntax[1] == "4" else "%y%m%d")
    header = ["UNB", syntax, sender, recipient, [date, when.strftime("%H%M")], str(control)]
    if test:
        header += ["", "", "", "", "", "1"]
    segments = [_segment(*header), *body, _segment("UNZ", "1", str(control))]
    return Serializer(CHARACTERS).serialize(segments, with_una_header=True)


def _segment(tag, *elements):
    """A pydifact segment, without its trailing empty elements."""
    elements = [list(e) if isinstance(e, list | tuple) else (e or "") for e in elements]
    while elements and elements[-1] in ("", []):
        elements.pop()
    return Segment(tag, *elements)
