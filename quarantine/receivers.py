"""Receivers of validation's signals.

`open_case` runs inside the transaction that writes a message's outcome (see
validation.signals): the case and the quarantined status commit together, so a quarantined
message always has exactly one case. It is idempotent (get_or_create on the message), so a
repeated announcement never opens a second one.
"""

import re

from quarantine.models import CaseTransition, QuarantineCase, error_rule_codes
from validation.models import InboundMessage, Rule, Team

_LINE_PATH = re.compile(r"^\$\.lines\[(\d+)\]")
# Where each message type names its plant (the receiving or planning location); a forecast
# names one per line.
PLANT_FIELD = {
    "purchase_order": "ship_to",
    "ship_notice": "ship_to",
    "receipt": "location",
    "inventory_balance": "location",
}
FACET_LENGTH = 100


def open_case(sender, message, status, diagnostics, parts, **kwargs):
    """Open the case of a quarantined message, routed to the team of its first error."""
    if status != InboundMessage.Status.QUARANTINED:
        return None
    errors = [d for d in diagnostics if d.get("severity") == "error"]
    first = errors[0] if errors else {}
    team = first.get("team") if first.get("team") in Team.values else Team.INTEGRATION
    line = _line_of(first, message, parts) or {}
    payload = message.payload if isinstance(message.payload, dict) else {}
    if message.message_type in PLANT_FIELD:
        plant = payload.get(PLANT_FIELD[message.message_type], "")
    else:
        plant = line.get("location", "")
    case, created = QuarantineCase.objects.get_or_create(
        message=message,
        defaults={
            "diagnostics": diagnostics,
            "team": team,
            "plant": _facet(plant),
            "supplier": _facet(payload.get("supplier", "")),
            "item": _facet(line.get("item", "")),
            "message_type": message.message_type,
            "system_id": message.system_id,
        },
    )
    if created:
        codes = error_rule_codes(diagnostics)
        case.rules.set(Rule.objects.filter(code__in=codes))
        CaseTransition.objects.create(
            case=case,
            to_status=QuarantineCase.Status.OPEN,
            reason=f"Quarantined by validation: {len(errors)} error(s) ({', '.join(codes)}).",
        )
    return case


def _line_of(diagnostic, message, parts):
    """The payload line a diagnostic points at, or None."""
    match = _LINE_PATH.match(diagnostic.get("path") or "")
    if match is None:
        return None
    holder = message
    if "part" in diagnostic:
        holder = next((p for p in parts if p.part_number == diagnostic["part"]), message)
    lines = holder.payload.get("lines") if isinstance(holder.payload, dict) else None
    index = int(match[1])
    if isinstance(lines, list) and index < len(lines) and isinstance(lines[index], dict):
        return lines[index]
    return None


def _facet(value):
    return str(value)[:FACET_LENGTH] if value is not None else ""
