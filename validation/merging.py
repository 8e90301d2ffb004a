"""The ledger follows merged master records (xref.merging, through xref.signals): the
purchase orders, order lines, ship notices and supply exceptions that pointed at the loser
(a supplier site too: the orders sent to it) point at the survivor, and back when the merge
is undone.

A purchase order or ship notice whose number the survivor has already (the supplier's own
numbering of two records' orders met) stays with the loser, listed as kept: the ledger
correlates acknowledgements and receipts by supplier and number, so two would be one. The
supply exceptions of a kept order stay with it."""

from django.db.models import Q

from validation.models import PurchaseOrder, PurchaseOrderLine, ShipNotice, SupplyException
from xref.merging import move_rows, move_rows_back

# The ledger's foreign keys to each kind of record: (model, field, number unique per record).
LEDGER = {
    "supplier": (
        (PurchaseOrder, "supplier", "po_number"),
        (ShipNotice, "supplier", "shipment_id"),
        (SupplyException, "supplier", None),
    ),
    "item": (
        (PurchaseOrderLine, "item", None),
        (SupplyException, "item", None),
    ),
    "location": (
        (PurchaseOrder, "ship_to", None),
        (PurchaseOrder, "plant", None),
        (SupplyException, "plant", None),
    ),
    "supplier_site": ((PurchaseOrder, "supplier_site", None),),
}


def move_ledger(sender, kind, survivor, loser, merge, **kwargs):
    """records_merged: the loser's ledger rows to the survivor; {label: [ids]}."""
    moved = {}
    for model, field, unique_with in LEDGER.get(kind, ()):
        kept_orders = moved.get("kept.validation.purchaseorder.supplier")
        keep = (
            Q(order_line__order__in=kept_orders)
            if model is SupplyException and kept_orders
            else None
        )
        moved.update(move_rows(model, field, loser, survivor, unique_with, keep))
    return moved


def move_ledger_back(sender, kind, survivor, loser, merge, **kwargs):
    """records_unmerged: the rows move_ledger moved, back to the loser."""
    for model, field, _ in LEDGER.get(kind, ()):
        move_rows_back(model, field, merge.moved, loser, survivor)
