"""The demo's trading partner: the seed scenario's third supplier trades by EDI.

Its acknowledgement of the raised order (70 % confirmed, 30 % two weeks late for lack of
capacity) reaches the hub as an X12 855 through the EDI gateway (edi.receiving), which answers
with a 997 and submits it as the supplier network's po_acknowledgement: the same supply
exception follows as from a portal's JSON. The hub's released orders to that supplier go out
to it as 850s (a change as an 860), in the supplier network's codes.
"""

import datetime

from django.utils import timezone

from edi import receiving, x12_outbound
from edi.models import Interchange, Partner

# How the hub is addressed on the demo's envelopes.
HUB_QUALIFIER, HUB_ID = "ZZ", "VALDORHUB"


def partner_for(supplier, system, supplier_code):
    """The supplier's EDI profile (made the first time): the supplier network's system, the
    supplier's code there, X12 004010, its released orders sent to it."""
    partner, _ = Partner.objects.get_or_create(
        name=f"{supplier.name} (EDI)",
        defaults={
            "qualifier": "ZZ",
            "interchange_id": f"SUP{supplier.public_id.split('-')[-1]}"[:15],
            "hub_qualifier": HUB_QUALIFIER,
            "hub_id": HUB_ID,
            "system": system,
            "supplier_code": supplier_code,
            "supplier": supplier,
            "versions": ["004010"],
            # Its implementation guide: EA is a piece (the crosswalk would read Rec 20 "each").
            "units": {"EA": "H87"},
            "send_orders": True,
        },
    )
    return partner


def acknowledgement_855(ack, partner, control, when=None):
    """The canonical acknowledgement `ack` (po_acknowledgement v1 in the partner's codes, its
    statuses X12 668 codes, its units X12 355 codes) as the partner's X12 855 interchange."""
    when = when or timezone.now()
    body = [
        ["BAK", "00", "AC", ack["po_number"], _date(ack["ack_date"]), "", "", "", ack["ack_number"]]
    ]
    by_line = {}
    for line in ack["lines"]:
        by_line.setdefault(line["line"], []).append(line)
    for number, lines in by_line.items():
        unit = lines[0]["unit"]
        total = sum(line["committed_quantity"] for line in lines)
        body.append(["PO1", str(number), str(total), unit])
        for line in lines:
            body.append(
                [
                    "ACK",
                    line["status"],
                    str(line["committed_quantity"]),
                    line["unit"],
                    "067",  # current schedule delivery: the committed date
                    _date(line["committed_date"]),
                ]
            )
    body.append(["CTT", str(len(by_line))])
    text = x12_outbound.interchange(
        "855",
        "PR",
        body,
        (partner.qualifier, partner.interchange_id),
        (partner.hub_qualifier, partner.hub_id),
        control,
        control,
        None,
        when,
    )
    return text.encode()


def send_acknowledgement(ack, partner, control):
    """The acknowledgement sent as the partner would: an 855 into the EDI gateway. Returns
    the inbound Interchange (an interchange sent before is not sent again)."""
    earlier = Interchange.objects.filter(
        partner=partner, direction=Interchange.Direction.INBOUND, control=str(control).zfill(9)
    ).first()
    if earlier is not None:
        return earlier
    raw = acknowledgement_855(ack, partner, control)
    try:
        return receiving.receive(raw, source=Interchange.Source.API, system=partner.system)
    except receiving.Refused as refusal:
        return refusal.interchange


def _date(iso):
    return datetime.date.fromisoformat(str(iso)).strftime("%Y%m%d")
