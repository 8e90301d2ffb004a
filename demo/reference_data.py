"""The demo's units, source systems and code lists."""

from demo.build import get_or_create
from mdm import units
from mdm.models import CodeList, CodeValue, SourceSystem, Unit

# Created only when missing once the units service has loaded Rec 20 and Rec 21 (or has no
# loader): what the demo items and packs need.
DEMO_UNITS = {
    "H87": {
        "name": "piece",
        "pint_expression": "piece",
        "mapping_class": Unit.MappingClass.CUSTOM,
    },
    "KGM": {
        "name": "kilogram",
        "symbol": "kg",
        "pint_expression": "kilogram",
        "mapping_class": Unit.MappingClass.DIRECT,
    },
    "MTR": {
        "name": "metre",
        "symbol": "m",
        "pint_expression": "meter",
        "mapping_class": Unit.MappingClass.DIRECT,
    },
    "LTR": {
        "name": "litre",
        "symbol": "l",
        "pint_expression": "liter",
        "mapping_class": Unit.MappingClass.DIRECT,
    },
    "XBX": {"name": "Box", "source": Unit.Source.REC21},
    "XPX": {"name": "Pallet", "source": Unit.Source.REC21},
    "XRO": {"name": "Roll", "source": Unit.Source.REC21},
    "XRL": {"name": "Reel", "source": Unit.Source.REC21},
    "XDR": {"name": "Drum", "source": Unit.Source.REC21},
    "XBG": {"name": "Bag", "source": Unit.Source.REC21},
}
for _fields in DEMO_UNITS.values():
    if _fields.get("source") == Unit.Source.REC21:
        _fields["mapping_class"] = Unit.MappingClass.ITEM_SPECIFIC

# --- systems and code lists ---------------------------------------------------------------

SOURCE_SYSTEMS = (
    {
        "code": "ERP_LEGACY",
        "name": "Legacy ERP (on premises)",
        "kind": SourceSystem.Kind.ERP,
        "authoritative_for": ["item", "supplier"],
        # Its values are the defaults when a steward merges two duplicates (xref.survivorship).
        "trust_rank": 1,
        "description": "System of record for items and suppliers until the cloud ERP takes over.",
    },
    {
        "code": "ERP_CLOUD",
        "name": "Cloud ERP",
        "kind": SourceSystem.Kind.ERP,
        "authoritative_for": [],
        # Next in trust once it becomes the source of record for a domain.
        "trust_rank": 2,
        "description": "Being rolled out plant by plant; uses its own item and supplier numbers.",
    },
    {
        "code": "PLANNING",
        "name": "Demand and supply planning",
        "kind": SourceSystem.Kind.PLANNING,
        "authoritative_for": [],
        "description": "Sends forecasts to the ERPs; keys items by its own planning codes.",
    },
    {
        "code": "SUPPLIER_NET",
        "name": "Supplier collaboration network",
        "kind": SourceSystem.Kind.SUPPLIER_NETWORK,
        "authoritative_for": [],
        "description": "Carries purchase orders, acknowledgements and ship notices to suppliers.",
    },
)

CODE_LISTS = {
    "ACK_LINE_STATUS": (
        "Acknowledgement line status",
        "How a supplier answered one purchase order line.",
        (
            ("accepted", "Accepted as ordered"),
            ("accepted_with_changes", "Accepted with changes to quantity, date or price"),
            ("backordered", "Backordered: accepted, delivery later"),
            ("rejected", "Rejected"),
            ("on_hold", "On hold: supplier has not decided yet"),
        ),
    ),
    "ITEM_STATUS": (
        "Item status",
        "Life-cycle status of an item.",
        (
            ("active", "Active: may be planned, bought and made"),
            ("blocked", "Blocked: no new orders"),
            ("obsolete", "Obsolete: phased out"),
        ),
    ),
    "SUPPLIER_STATUS": (
        "Supplier status",
        "Whether purchase orders may go to a supplier.",
        (
            ("active", "Active"),
            ("blocked", "Blocked: quality or compliance hold"),
            ("inactive", "Inactive: no longer used"),
        ),
    ),
    "REVISION_STATUS": (
        "Item revision status",
        "Engineering status of an item revision.",
        (("released", "Released for production"), ("obsolete", "Obsolete: superseded")),
    ),
    "PO_LINE_STATUS": (
        "Purchase order line status",
        "Where a purchase order line stands.",
        (
            ("open", "Open"),
            ("partially_received", "Partially received"),
            ("received", "Fully received"),
            ("cancelled", "Cancelled"),
            ("closed", "Closed"),
        ),
    ),
}


def seed_units():
    before = Unit.objects.count()
    load_units = getattr(units, "load_units", None)
    if before == 0 and load_units is not None:
        load_units()
    for code, fields in DEMO_UNITS.items():
        Unit.objects.get_or_create(code=code, defaults=fields)
    return Unit.objects.count() - before


def seed_systems(created):
    for fields in SOURCE_SYSTEMS:
        fields = dict(fields)
        get_or_create(created, SourceSystem, code=fields.pop("code"), defaults=fields)


def seed_code_lists(created):
    for code, (name, description, values) in CODE_LISTS.items():
        code_list = get_or_create(
            created, CodeList, code=code, defaults={"name": name, "description": description}
        )
        for order, (value, meaning) in enumerate(values, start=1):
            get_or_create(
                created,
                CodeValue,
                code_list=code_list,
                code=value,
                defaults={"meaning": meaning, "sort_order": order * 10},
            )
