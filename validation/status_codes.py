"""The acknowledgement line status codes: the canonical statuses of code list
ACK_LINE_STATUS, and the schemes of codes senders use for them (X12 855 ACK01, a portal's
words), registered as a system's cross-references (manage.py load_ack_status_codes)."""

import csv
from pathlib import Path

from mdm.models import CodeList, CodeValue
from validation.layouts import ACK_LIST
from validation.ledger import ACCEPTED, BACKORDERED, CHANGED, REJECTED
from xref.models import CrossReference
from xref.services import ReferenceConflict, register_reference

DATA_DIR = Path(__file__).resolve().parent / "data"
# The canonical acknowledgement line statuses: code, meaning.
ACK_STATUSES = (
    (ACCEPTED, "Accepted as ordered"),
    (CHANGED, "Accepted with changes to quantity, date or price"),
    (BACKORDERED, "Backordered: accepted, delivery later"),
    (REJECTED, "Rejected"),
    ("on_hold", "On hold: supplier has not decided yet"),
)
SCHEMES = ("x12_668", "portal")


def status_code_map(scheme):
    """[(code, description, canonical status)] of a scheme of validation/data: the X12 855
    ACK01 codes (element 668) that have a status, or a portal's words."""
    with open(DATA_DIR / "ack_status_map.csv", encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["scheme"] == scheme]
    statuses = [(row["code"], row["status"]) for row in rows]
    descriptions = {}
    if scheme == "x12_668":
        with open(DATA_DIR / "x12_element_668.csv", encoding="utf-8", newline="") as handle:
            descriptions = {row["code"]: row["description"] for row in csv.DictReader(handle)}
    return [(code, descriptions.get(code, code), status) for code, status in statuses]


def load_status_codes(system, scheme):
    """Make sure ACK_LINE_STATUS has the canonical statuses, and register a scheme's codes as
    `system`'s cross-references to them (idempotent; a code a steward mapped elsewhere is
    left alone). Returns {"registered", "unchanged", "conflicts"}."""
    code_list, _ = CodeList.objects.get_or_create(
        code=ACK_LIST,
        defaults={
            "name": "Acknowledgement line status",
            "description": "How a supplier answered one purchase order line.",
        },
    )
    values = {}
    for order, (code, meaning) in enumerate(ACK_STATUSES):
        values[code], _ = CodeValue.objects.get_or_create(
            code_list=code_list, code=code, defaults={"meaning": meaning, "sort_order": order}
        )
    counts = {"registered": 0, "unchanged": 0, "conflicts": 0}
    for code, _, status in status_code_map(scheme):
        try:
            _, created = register_reference(
                kind="code_value",
                system=system,
                code=code,
                target=values[status],
                origin=CrossReference.Origin.IMPORT,
            )
        except ReferenceConflict:
            counts["conflicts"] += 1
            continue
        counts["registered" if created else "unchanged"] += 1
    return counts
