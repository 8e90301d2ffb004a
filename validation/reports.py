"""Supply exceptions for their screen and API, and the ledger's figures for the metrics."""

from collections import defaultdict

from django.db.models import Count, F, Min, Q

from validation.models import PurchaseOrder, ReceiptLine, SupplyException


def supply_exceptions():
    """Supply exceptions with what their screen and API show, newest first."""
    return SupplyException.objects.select_related(
        "supplier", "item", "plant", "order_line__order", "acknowledgement__message"
    ).order_by("-raised_at", "-id")


# --- figures for the metrics --------------------------------------------------------------


def acknowledgement_turnaround(since=None):
    """Per supplier (public id): how long from a purchase order's first release to its first
    acknowledgement, over the acknowledged orders (released since `since`, when given):
    {"orders", "avg_seconds", "max_seconds"}."""
    orders = PurchaseOrder.objects.all()
    if since is not None:
        orders = orders.filter(released_at__gte=since)
    firsts = (
        orders.filter(acknowledgements__isnull=False)
        .annotate(first_ack=Min("acknowledgements__recorded_at"))
        .values_list("supplier__public_id", "released_at", "first_ack")
    )
    spans = defaultdict(list)
    for supplier, released, acknowledged in firsts:
        spans[supplier].append(max((acknowledged - released).total_seconds(), 0.0))
    return {
        supplier: {
            "orders": len(seconds),
            "avg_seconds": sum(seconds) / len(seconds),
            "max_seconds": max(seconds),
        }
        for supplier, seconds in sorted(spans.items())
    }


def ship_notice_coverage(since=None):
    """Receipt lines in all (of receipts recorded since `since`, when given), those a ship
    notice announced before (same order line and shipment), and the share: {"receipts",
    "with_ship_notice", "share"} (share None when nothing was received)."""
    lines = ReceiptLine.objects.all()
    if since is not None:
        lines = lines.filter(receipt__recorded_at__gte=since)
    totals = lines.aggregate(
        receipts=Count("pk"),
        with_ship_notice=Count(
            "pk", filter=Q(notice__isnull=False, notice__recorded_at__lte=F("receipt__recorded_at"))
        ),
    )
    receipts = totals["receipts"]
    covered = totals["with_ship_notice"]
    return {
        "receipts": receipts,
        "with_ship_notice": covered,
        "share": covered / receipts if receipts else None,
    }
