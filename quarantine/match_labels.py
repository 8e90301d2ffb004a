"""What a steward's fix by cross-reference says about matching: the record chosen for an
unknown code is what the message meant, the other candidates the case offered are not. Kept
as labelled pairs (`xref.labels`, source "quarantine") the matcher's weights learn from.

The query is what the message said of the record where the code stands: the object's hint
fields the layout names for the code field (validation.layouts, `hints`: an item line's
description, MPN and GTIN, a supplier's name), as the matcher took them when it suggested
the candidates. When the message says nothing more, the unknown code itself is the text.
"""

import re

from validation.layouts import LAYOUTS
from xref import labels
from xref.models import MatchLabel

# A code field's place in a payload: "$.supplier" or "$.lines[3].item".
_FIELD = re.compile(r"^\$(?:\.lines\[(\d+)\])?\.([A-Za-z_][A-Za-z0-9_]*)$")


def record_fix(case, entry, chosen, by):
    """Keep the fix of suggestion `entry` (quarantine.services.suggestions) by the record
    `chosen` (its public id) as labelled pairs: chosen a match, the other candidates shown
    not. Items, suppliers and locations only; returns the labels ([] for other kinds)."""
    if entry["kind"] not in labels.KINDS:
        return []
    return labels.record_choice(
        entry["kind"],
        described_query(case, entry),
        chosen,
        [candidate["id"] for candidate in entry["candidates"]],
        MatchLabel.Source.QUARANTINE,
        user=by,
    )


def described_query(case, entry):
    """The query the message makes for the entry's code: {"q": description or name, and
    identifiers such as "mpn", "gtin"}; {"q": code} when it says nothing more."""
    taken = labels.QUERY_FIELDS.get(entry["kind"], ())
    query = {}
    match = _FIELD.match(entry.get("path") or "")
    layout = LAYOUTS.get(case.message_type)
    hints = layout.hints.get(match[2], ()) if match and layout else ()
    holder = _object_at(case.message.payload, match[1]) if hints else None
    if isinstance(holder, dict):
        texts = []
        for name, parameter in hints:
            value = holder.get(name)
            if not isinstance(value, str) or not value.strip():
                continue
            if parameter == "text":
                texts.append(value.strip())
            elif parameter in taken:
                query[parameter] = value.strip()[: labels.MAX_VALUE_LENGTH]
        if texts:
            query["q"] = " ".join(texts)[: labels.MAX_VALUE_LENGTH]
    return query or {"q": entry["code"]}


def _object_at(payload, line):
    """The header (line None) or the line with that index of a payload, or None."""
    if not isinstance(payload, dict):
        return None
    if line is None:
        return payload
    lines = payload.get("lines")
    index = int(line)
    if isinstance(lines, list) and index < len(lines):
        return lines[index]
    return None
