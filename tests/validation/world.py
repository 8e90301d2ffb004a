"""Messages of each type, shaped as the contracts want them, for the validation and
quarantine tests (and the worker integration test)."""

import copy

FORECAST = {
    "plan_id": "S&OP-2026-03",
    "version": 3,
    "horizon": {"start": "2026-03-02", "end": "2026-05-31"},
    "bucket": "week",
    "lines": [
        {
            "item": "PLN-BRG-6204",
            "location": "PLANT-HH",
            "period_start": "2026-03-02",
            "quantity": 1200,
            "unit": "EA",
        },
        {
            "item": "PLN-BRG-6204",
            "location": "PLANT-HH",
            "period_start": "2026-03-09",
            "quantity": "1350.5",
            "unit": "EA",
        },
    ],
}

PURCHASE_ORDER = {
    "po_number": "4500012345",
    "change_sequence": 0,
    "supplier": "100234",
    "supplier_site": "HAMBURG",
    "ship_to": "1000",
    "order_date": "2026-03-02",
    "currency": "EUR",
    "lines": [
        {
            "line": 10,
            "item": "BRG-6204-2RS",
            "revision": "B",
            "quantity": "500",
            "unit": "ST",
            "need_by": "2026-03-20",
            "price": "1.85",
        }
    ],
}

PO_ACKNOWLEDGEMENT = {
    "po_number": "4500012345",
    "ack_number": "ACK-77",
    "supplier": "SUP-NET-0042",
    "ack_date": "2026-03-03",
    "lines": [
        {
            "line": 10,
            "status": "IA",
            "committed_quantity": 500,
            "unit": "PCE",
            "committed_date": "2026-03-19",
            "item": "6204-2RS-C3",
        }
    ],
}

SHIP_NOTICE = {
    "shipment_id": "ASN-2026-0001",
    "supplier": "SUP-NET-0042",
    "ship_date": "2026-03-16",
    "expected_delivery": "2026-03-19",
    "ship_to": "DE-HH-01",
    "lines": [
        {
            "po_number": "4500012345",
            "po_line": 10,
            "item": "6204-2RS-C3",
            "quantity": 500,
            "unit": "PCE",
        }
    ],
}

RECEIPT = {
    "receipt_id": "GR-5000001",
    "location": "1000",
    "received_at": "2026-03-19",
    "lines": [
        {
            "po_number": "4500012345",
            "po_line": 10,
            "shipment_id": "ASN-2026-0001",
            "item": "BRG-6204-2RS",
            "quantity": "500",
            "unit": "ST",
        }
    ],
}

INVENTORY_BALANCE = {
    "location": "1000",
    "as_of": "2026-03-31",
    "lines": [
        {"item": "BRG-6204-2RS", "quantity": "1234.5", "unit": "ST", "stock_type": "UNR"},
        {"item": "BRG-6205-2RS", "quantity": 0, "unit": "ST"},
    ],
}

EXAMPLES = {
    "forecast": FORECAST,
    "purchase_order": PURCHASE_ORDER,
    "po_acknowledgement": PO_ACKNOWLEDGEMENT,
    "ship_notice": SHIP_NOTICE,
    "receipt": RECEIPT,
    "inventory_balance": INVENTORY_BALANCE,
}

BUSINESS_DATES = {
    "forecast": "2026-03-02",
    "purchase_order": "2026-03-02",
    "po_acknowledgement": "2026-03-03",
    "ship_notice": "2026-03-16",
    "receipt": "2026-03-19",
    "inventory_balance": "2026-03-31",
}


def example(message_type, **changes):
    """A fresh copy of the example payload, with top-level fields changed."""
    payload = copy.deepcopy(EXAMPLES[message_type])
    payload.update(changes)
    return payload


def submission(message_type="purchase_order", payload=None, version=1):
    return {
        "message_type": message_type,
        "schema_version": version,
        "payload": payload if payload is not None else example(message_type),
    }


def forecast_part(number, of, lines=2, plan_id="S&OP-2026-03", version=3):
    """Part `number` of `of` of one forecast release, with `lines` lines of its own."""
    payload = example("forecast", plan_id=plan_id, version=version)
    payload["part"] = {"number": number, "of": of}
    payload["lines"] = [
        {
            "item": f"PLN-{number}-{index}",
            "location": "PLANT-HH",
            "period_start": "2026-03-02",
            "quantity": index + 1,
            "unit": "EA",
        }
        for index in range(lines)
    ]
    return payload
