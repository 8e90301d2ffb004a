"""What the gateway sends to its partners: the acknowledgements of what they sent (997, 999,
TA1, CONTRL) and the purchase orders released for the suppliers that trade by EDI (X12 850 or
860, EDIFACT ORDERS).

    next_controls(partner)            the partner's next interchange and group control numbers
    send(partner, text, ...)          store an outbound interchange and send it
    on_outcome(...)                   validation's signal: a released purchase order goes out
    send_order(message, partner)      render a released purchase order for the partner, send it

An outbound interchange is stored (raw, with its SHA-256), then goes out as a `hub.edi.sent`
event through the event outbox, in the same transaction: a push subscription of the partner's
source system (types ["hub.edi.*"]) delivers it to the partner's endpoint, signed, in order,
retried; a pull subscription lets the partner's gateway read it. When the partner's profile
names a directory (an AS2 or SFTP gateway's outbox), the interchange is written there too,
once committed (edi.tasks.write_file).

A released order is rendered in the supplier's own codes, which the released payload carries
per system (validation.enrich): the supplier, ship-to and items as the partner's source system
knows them, units as the hub's Rec 20 codes (which the X12 writer turns into 355 codes). An
order the partner's system has no code for (an item without its cross-reference) is stored as
rejected, saying which codes are missing, and not sent.
"""

import hashlib
import logging
import os
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from core.queue import send as send_task
from edi import edifact_outbound, x12_outbound
from edi.models import Interchange, Partner, Standard
from events.outbox import emit
from validation.models import InboundMessage

logger = logging.getLogger(__name__)

SENT = "hub.edi.sent"
# X12 control numbers have nine digits (ISA13) and GS06 up to nine: they start again at 1.
LAST_CONTROL = 999_999_999


def next_controls(partner):
    """(interchange control, group control) for the next interchange to `partner`, taken
    from its sequences (its row is locked: two workers never take the same)."""
    with transaction.atomic():
        locked = Partner.objects.select_for_update().get(pk=partner.pk)
        taken = (locked.next_interchange_control, locked.next_group_control)
        locked.next_interchange_control = _after(locked.next_interchange_control)
        locked.next_group_control = _after(locked.next_group_control)
        locked.save(update_fields=["next_interchange_control", "next_group_control"])
    return taken


def _after(number):
    return 1 if number >= LAST_CONTROL else number + 1


def send(partner, text, *, control, contents, answers=None, message=None):
    """Store `text` as an outbound interchange to `partner` and send it (the event now, the
    directory once committed). Call inside a transaction. Returns the Interchange."""
    raw = text.encode()
    interchange = Interchange.objects.create(
        direction=Interchange.Direction.OUTBOUND,
        standard=partner.standard,
        partner=partner,
        source=Interchange.Source.HUB,
        sender=f"{partner.hub_qualifier}:{partner.hub_id}",
        receiver=partner.envelope_id,
        control=control,
        contents=contents,
        raw=raw,
        size=len(raw),
        sha256=hashlib.sha256(raw).hexdigest(),
        status=Interchange.Status.SENT,
        answers=answers,
        message=message,
        received_at=timezone.now(),
    )
    emit(
        SENT,
        interchange.public_id,
        {
            "interchange": interchange.public_id,
            "partner": partner.name,
            "standard": partner.standard,
            "contents": contents,
            "control": control,
            "answers": answers.public_id if answers else None,
            "message": message.public_id if message else None,
            "sha256": interchange.sha256,
            "text": text,
        },
        f"EDI:{partner.name}",
        facts={
            "system": partner.system.code,
            "supplier": partner.supplier.public_id if partner.supplier_id else None,
        },
    )
    if partner.outbound_directory:
        transaction.on_commit(
            lambda: send_task(
                "edi.tasks.write_file",
                interchange.pk,
                unsent="write it with `manage.py edi_outbox` (it writes what is missing)",
            )
        )
    return interchange


def write_file(interchange):
    """Write an outbound interchange to its partner's directory (under a temporary name,
    then renamed: a gateway never picks up half a file). Returns the path."""
    directory = Path(interchange.partner.outbound_directory)
    suffix = "x12" if interchange.standard == Standard.X12 else "edi"
    path = directory / f"{interchange.public_id}.{suffix}"
    partial = directory / f".{interchange.public_id}.partial"
    directory.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(bytes(interchange.raw))
    os.replace(partial, path)
    return path


# --- released purchase orders ----------------------------------------------------------------


def on_outcome(sender, message, status, **kwargs):
    """validation.signals.message_outcome: a purchase order released for a supplier that
    trades by EDI is rendered and sent once the release commits."""
    if status != InboundMessage.Status.RELEASED or message.message_type != "purchase_order":
        return
    supplier = ((message.released_payload or {}).get("hub") or {}).get("supplier") or {}
    partners = Partner.objects.filter(
        send_orders=True, is_active=True, supplier__public_id=supplier.get("id")
    )
    for partner_pk in partners.values_list("pk", flat=True):
        transaction.on_commit(
            lambda partner_pk=partner_pk: send_task(
                "edi.tasks.send_order",
                message.pk,
                partner_pk,
                unsent="send it again with `manage.py edi_send_order`",
            )
        )


def send_order(message, partner):
    """The released purchase order `message` rendered for `partner` and sent; once only (an
    order sent already is returned as it was). Returns the outbound Interchange."""
    with transaction.atomic():
        earlier = Interchange.objects.filter(
            direction=Interchange.Direction.OUTBOUND, message=message, partner=partner
        ).first()
        if earlier is not None:
            return earlier
        order, missing = order_in_codes_of(message.released_payload, partner.system.code)
        interchange_control, group_control = next_controls(partner)
        if missing:
            return _unsendable(partner, message, interchange_control, missing)
        try:
            text, contents = _render(order, partner, interchange_control, group_control)
        except (x12_outbound.RenderError, ValueError) as exc:
            return _unsendable(partner, message, interchange_control, [str(exc)])
        return send(
            partner,
            text,
            control=str(interchange_control).zfill(9),
            contents=contents,
            message=message,
        )


def order_in_codes_of(released, system_code):
    """(the released order with the supplier, ship-to, site and items in `system_code`'s own
    codes and units as the hub's codes, [what has no code there])."""
    missing = []

    def code(found, what):
        value = (found or {}).get("codes", {}).get(system_code)
        if value is None:
            missing.append(f"{what} {(found or {}).get('id', '?')} has no code in {system_code}")
        return value

    hub = released.get("hub") or {}
    order = {
        name: released[name]
        for name in ("po_number", "change_sequence", "order_date", "currency", "supplier_name")
        if released.get(name) is not None
    }
    order["supplier"] = code(hub.get("supplier"), "supplier")
    order["ship_to"] = code(hub.get("ship_to"), "ship-to location")
    if hub.get("supplier_site"):
        order["supplier_site"] = code(hub["supplier_site"], "supplier site")
    order["lines"] = []
    for line in released.get("lines", ()):
        found = line.get("hub") or {}
        rendered = {
            name: line[name]
            for name in ("line", "quantity", "need_by", "price", "description", "mpn", "gtin")
            if line.get(name) is not None
        }
        rendered["item"] = code(found.get("item"), f"line {line.get('line')}: item")
        rendered["unit"] = (found.get("unit") or {}).get("id") or line.get("unit")
        order["lines"].append(rendered)
    return order, missing


def _render(order, partner, interchange_control, group_control):
    if partner.standard == Standard.EDIFACT:
        text = edifact_outbound.render_orders(
            order,
            sender=(partner.hub_id, partner.hub_qualifier),
            recipient=(partner.interchange_id, partner.qualifier),
            control=interchange_control,
        )
        return text, "ORDERS"
    changed = order.get("change_sequence", 0) != 0
    render = x12_outbound.render_860 if changed else x12_outbound.render_850
    text = render(
        order,
        sender=(partner.hub_qualifier, partner.hub_id),
        receiver=(partner.qualifier, partner.interchange_id),
        interchange_control=interchange_control,
        group_control=group_control,
        units=partner.units,
    )
    return text, "860" if changed else "850"


def _unsendable(partner, message, control, reasons):
    detail = "Not sent: " + "; ".join(reasons) + "."
    logger.warning("Order %s for %s: %s", message.public_id, partner, detail)
    return Interchange.objects.create(
        direction=Interchange.Direction.OUTBOUND,
        standard=partner.standard,
        partner=partner,
        source=Interchange.Source.HUB,
        control=str(control),
        contents="ORDERS" if partner.standard == Standard.EDIFACT else "850",
        raw=b"",
        size=0,
        sha256=hashlib.sha256(b"").hexdigest(),
        status=Interchange.Status.REJECTED,
        error=detail,
        message=message,
        received_at=timezone.now(),
    )
