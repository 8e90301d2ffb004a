"""Where each message type keeps its codes, quantities and dates (LAYOUTS), and the target
systems it needs codes for.

The fields of each message type:

    type                header codes                       line codes
    forecast            -                                  item, location (a plant), unit
    purchase_order      supplier, supplier_site, ship_to   item, unit (+ revision of the item)
    po_acknowledgement  supplier                           status (code value), item, unit
    ship_notice         supplier, ship_to                  item, unit
    receipt             location (receives)                item, unit
    inventory_balance   location                           item, unit
    forecast_acceptance -                                  - (no lines: a plan and version)

Target systems (NO_TARGET_CODE), by kind of source system, and the records they need codes
for: a forecast goes to the ERP (item, location, unit), a purchase order to the supplier
network (supplier, site, ship-to, unit), an acknowledgement and a ship notice to the ERP, a
receipt and an inventory balance to planning (item, unit). With several systems of the kind
(ERP_LEGACY and ERP_CLOUD), a code in any one of them at the business date is enough: one is
before its cut-over, the other after. A forecast acceptance names no record: its plan and
version are checked against the ledger (validation.controls.forecast), nothing is resolved.
"""

import dataclasses

from xref.models import Kind

ITEM, SUPPLIER, SITE, LOCATION, UNIT, CODE_VALUE = (
    Kind.ITEM.value,
    Kind.SUPPLIER.value,
    Kind.SUPPLIER_SITE.value,
    Kind.LOCATION.value,
    Kind.UNIT.value,
    Kind.CODE_VALUE.value,
)
KIND_NAMES = {
    ITEM: "item",
    SUPPLIER: "supplier",
    SITE: "supplier site",
    LOCATION: "location",
    UNIT: "unit",
    CODE_VALUE: "status code",
}

ACK_LIST = "ACK_LINE_STATUS"
REJECTED_STATUS = f"{ACK_LIST}:rejected"


@dataclasses.dataclass(frozen=True)
class Field:
    """A code field of a payload object: its name, the cross-reference kind it is resolved
    as, and its role ("ship_to": a location goods are delivered to; "plant": a forecast's
    planning location)."""

    name: str
    kind: str
    role: str = ""


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where a message type keeps its codes, quantities and dates."""

    header: tuple = ()
    lines: tuple = ()
    quantity: str = "quantity"
    zero_allowed: bool = False  # a zero quantity means something (a stock of none)
    revision: str | None = None  # the line field naming a revision of the line's item
    # The header location the message is about: its plant scopes the line codes, its calendar
    # judges the dates.
    receiving: str | None = None
    header_dates: tuple = ()  # header dates that must be working days there
    line_dates: tuple = ()  # line dates that must be working days there
    # Target systems (by SourceSystem kind) and the kinds of record they need codes for: a
    # record none of them has a code for gets NO_TARGET_CODE.
    targets: dict = dataclasses.field(default_factory=dict)
    supplier_quantity: bool = False  # give the quantity in the supplier's pack unit too
    # What else an object says of the record a code field means, by code field: (the
    # object's field, what it is to the matcher: "text" or an identifier such as "gtin").
    # Matched for candidates when the code does not resolve (see XREF_UNRESOLVED).
    hints: dict = dataclasses.field(default_factory=dict)

    @property
    def supplier_field(self):
        return next((f.name for f in self.header if f.kind == SUPPLIER), None)


_ITEM, _UNIT = Field("item", ITEM), Field("unit", UNIT)
# The optional fields of purchase_order and po_acknowledgement v2.
DESCRIBED = {
    "item": (("description", "text"), ("mpn", "mpn"), ("gtin", "gtin")),
    "supplier": (("supplier_name", "text"),),
}

LAYOUTS = {
    "forecast": Layout(
        lines=(_ITEM, Field("location", LOCATION, "plant"), _UNIT),
        targets={"erp": (ITEM, LOCATION, UNIT)},
    ),
    "purchase_order": Layout(
        header=(
            Field("supplier", SUPPLIER),
            Field("supplier_site", SITE),
            Field("ship_to", LOCATION, "ship_to"),
        ),
        lines=(_ITEM, _UNIT),
        revision="revision",
        receiving="ship_to",
        line_dates=("need_by",),
        targets={"supplier_network": (SUPPLIER, SITE, LOCATION, UNIT)},
        supplier_quantity=True,
        hints=DESCRIBED,
    ),
    "po_acknowledgement": Layout(
        header=(Field("supplier", SUPPLIER),),
        lines=(Field("status", CODE_VALUE), _ITEM, _UNIT),
        quantity="committed_quantity",
        targets={"erp": (SUPPLIER, ITEM, UNIT, CODE_VALUE)},
        hints=DESCRIBED,
    ),
    "ship_notice": Layout(
        header=(Field("supplier", SUPPLIER), Field("ship_to", LOCATION, "ship_to")),
        lines=(_ITEM, _UNIT),
        receiving="ship_to",
        header_dates=("expected_delivery",),
        targets={"erp": (SUPPLIER, LOCATION, ITEM, UNIT)},
    ),
    "receipt": Layout(
        header=(Field("location", LOCATION, "ship_to"),),
        lines=(_ITEM, _UNIT),
        receiving="location",
        targets={"planning": (ITEM, UNIT)},
    ),
    "inventory_balance": Layout(
        header=(Field("location", LOCATION),),
        lines=(_ITEM, _UNIT),
        zero_allowed=True,
        receiving="location",
        targets={"planning": (ITEM, UNIT)},
    ),
    "forecast_acceptance": Layout(),
}
