"""The rule registry: which rule functions a message is validated against, and where they
come from.

A rule function is marked with `@rule(code, ...)` in its module; the modules are listed once,
in RULE_MODULES, and `load_rules()` (called from ValidationConfig.ready()) fills RULES from
them, in that order and in each module's order of definition: the order the pipeline runs
them in. Importing a rule module registers nothing by itself.

Two kinds of rule function:

- a field rule (`per="field"`) judges one code field: it gets the facts of its batch
  (validation.enrich.Facts), the Field, the value, its resolve answer and the plant of the
  object, and returns a Finding or None. The pipeline runs it once per distinct (field, value,
  plant) and reuses the answer for every line that repeats the code. A rule marked with
  `hints=True` (XREF_UNRESOLVED) also gets what else the object says of the record an unknown
  code means (validation.layouts.Layout.hints);
- a line rule (`per="object"`) gets the facts and one payload object (the header, or a line)
  and yields its Findings.

A rule knows nothing of severity or team: those are the Rule rows' (stewards change them in
the admin); the pipeline skips disabled rules and turns findings into diagnostics with their
JSON paths.
"""

import dataclasses
import importlib

# The modules that define rules, in the order their rules run.
RULE_MODULES = (
    "validation.rules",  # the codes of a message mean something (reference checks)
    "validation.controls.forecast",  # the business controls, against the document ledger
    "validation.controls.orders",
    "validation.controls.acknowledgements",
    "validation.controls.shipments",
)

# Rule code -> Registered, in RULE_MODULES order; filled by load_rules().
RULES = {}


class Finding:
    """One problem a rule found in one field."""

    __slots__ = ("field", "value", "message", "suggestion", "extra")

    def __init__(self, field, value, message, suggestion=None, extra=None):
        self.field = field
        self.value = value
        self.message = message
        self.suggestion = suggestion
        self.extra = extra  # more keys for the diagnostic, e.g. {"candidates": [...]}


@dataclasses.dataclass(frozen=True)
class Registered:
    """A rule function and how it is run."""

    code: str
    function: object
    per: str  # "field" or "object"
    applies: object  # Layout -> bool: whether the rule has anything to check in the type
    hints: bool = False  # a field rule given the object's hints for the field (Layout.hints)


def rule(code, per="object", applies=lambda layout: True, hints=False):
    """Mark a rule function as the rule `code`; load_rules() registers it. `applies(layout)`
    says whether the rule has anything to check in a message type."""

    def mark(function):
        function.registered = Registered(code, function, per, applies, hints)
        return function

    return mark


def load_rules():
    """Fill RULES from RULE_MODULES (again, if it was filled before)."""
    RULES.clear()
    for name in RULE_MODULES:
        for value in vars(importlib.import_module(name)).values():
            registered = getattr(value, "registered", None)
            if isinstance(registered, Registered) and registered.function is value:
                RULES.setdefault(registered.code, registered)
    return RULES
