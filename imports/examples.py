"""An example file per kind: the header line and one row a steward can read as a model of
what each column holds. The row is valid against the demo world (`manage.py seed_demo`): it
creates a record whose references name demo records that every size of the demo has (item
100000, supplier V100001, plant DE01 and its calendar, the code list ACK_LINE_STATUS, the
system ERP_LEGACY). tests/imports/test_examples.py plans each against the demo."""

import io

from imports import reading
from imports.kinds import KINDS

EXAMPLES = {
    "items": {
        "number": "EX-100001",
        "description": "Hex bolt M8x30 stainless A2-70 (example)",
        "base_unit": "H87",
        "item_type": "component",
        "status": "active",
        "gtin": "",
        "manufacturer": "Example Fasteners",
        "mpn": "EXF-M8-30-A2",
        "commodity": "Fasteners",
        "net_weight": "0.018",
        "weight_unit": "KGM",
    },
    "item_revisions": {
        "item.number": "100000",
        "revision": "EX1",
        "status": "obsolete",
        "effective_from": "2010-01-01",
        "effective_to": "2010-12-31",
        "description": "Example: a revision from before the hub",
    },
    "item_unit_conversions": {
        "item.number": "100000",
        "supplier.number": "V100001",
        "from_unit": "XBX",
        "to_unit": "H87",
        "valid_from": "2040-01-01",
        "factor": "250",
        "valid_to": "2040-12-31",
    },
    "suppliers": {
        "number": "EX-900001",
        "name": "Example Precision Castings",
        "legal_name": "Example Precision Castings GmbH",
        "status": "active",
        "country": "DE",
        "duns": "",
        "lei": "",
        "vat": "",
    },
    "supplier_sites": {
        "supplier.number": "V100001",
        "code": "EXAMPLE",
        "name": "Frontier Bearing Supply example site",
        "address": "1 Example Street",
        "city": "Rockford",
        "postal_code": "61101",
        "country": "US",
        "calendar.code": "",
        "status": "active",
    },
    "locations": {
        "code": "EX-DE01-WH9",
        "name": "Valdor Ingolstadt example warehouse",
        "kind": "warehouse",
        "status": "active",
        "gln": "",
        "address": "Industriestraße 40",
        "city": "Ingolstadt",
        "postal_code": "85055",
        "country": "DE",
        "timezone": "Europe/Berlin",
        "calendar.code": "DE01-PLANT",
        "parent.code": "DE01",
        "supplier_site.supplier.number": "",
        "supplier_site.code": "",
        "can_receive": "true",
    },
    "calendars": {
        "code": "EX-TWO-SHIFT",
        "name": "Example two-shift calendar, Saturdays working",
        "timezone": "Europe/Berlin",
        "working_weekdays": "1111110",
        "holiday_country": "DE",
        "holiday_subdivision": "BY",
        "is_active": "true",
    },
    "calendar_exceptions": {
        "calendar.code": "DE01-PLANT",
        "start": "2040-12-24",
        "end": "2040-12-31",
        "is_working": "false",
        "reason": "Example: year-end shutdown",
    },
    "code_lists": {
        "code": "EX_REASON",
        "name": "Example reason codes",
        "description": "Why a line was changed (example list).",
    },
    "code_values": {
        "code_list.code": "ACK_LINE_STATUS",
        "code": "example",
        "meaning": "Example status (safe to delete)",
        "description": "",
        "status": "active",
        "sort_order": "900",
    },
    "xrefs": {
        "system": "ERP_LEGACY",
        "kind": "item",
        "scope": "",
        "code": "EX-LEGACY-100000",
        "valid_from": "",
        "target": "100000",
        "valid_to": "",
        "status": "active",
        "is_preferred": "false",
    },
}


def example_csv(kind_name):
    """The kind's header line and its example row, as CSV text."""
    kind = KINDS[kind_name]
    out = io.StringIO()
    writer = reading.CsvWriter(out, kind.headers)
    writer.write({header: EXAMPLES[kind_name].get(header, "") for header in kind.headers})
    return out.getvalue()
