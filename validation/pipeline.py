"""The validation pipeline: rules over one message, with no writes.

Placeholder with the final interface; the rules and enrichment replace the body.
"""

import dataclasses
import datetime


@dataclasses.dataclass
class Outcome:
    """What validating a message concluded. `status` is "released" or "quarantined";
    each diagnostic is a dict with rule, severity, team, message, path, value, suggestion."""

    status: str
    diagnostics: list = dataclasses.field(default_factory=list)
    released_payload: dict | None = None


def evaluate(message_type, schema_version, payload, system, *, as_of=None):
    """Run every enabled rule over `payload` sent by `system` (a SourceSystem), resolving its
    codes at `as_of` (default: the payload's business date, else today). Writes nothing."""
    as_of = as_of or datetime.date.today()
    return Outcome(status="released", released_payload=payload)
