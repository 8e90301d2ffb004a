"""The validation pipeline: every enabled rule over one message, and the enriched payload it
would release. Writes nothing.

`evaluate()` validates a whole payload in this process, HUB_VALIDATION_CHUNK_LINES lines at a
time, and returns an Outcome; the Celery task calls it for messages of up to that many lines,
and the dry-run API for any. Larger messages are validated as chunks by several workers
(validation.chunks): a chunk task gets the message's `Check` (a worker keeps it for the
message's next chunks) and calls `check_lines()` on its own lines; the last chunk combines
every chunk's findings with `combine_diagnostics()`.

A `Check` looks the header up once (one resolve batch and a few queries, validation.enrich),
then each chunk of lines with one resolve batch and a fixed number of queries, whatever the
number of lines (and fewer as the chunks go: codes an earlier chunk resolved are known). The
field rules (validation.rules) run once per distinct (field, value, plant), and their findings
and the field's enrichment are reused for every line that repeats them; a code that is not
found, once per distinct thing the lines say of its record besides (its hints: an item's
description, MPN and GTIN, a supplier's name, validation.rules.Layout.hints).

A diagnostic is a dict:

    {"rule": "XREF_UNRESOLVED", "severity": "error", "team": "integration",
     "path": "$.lines[3].item", "value": "4711", "message": "...", "suggestion": "..."}

with "candidates" added where a matcher proposed records. Severity and team are the Rule
row's; a disabled rule does not run. Diagnostics are sorted by path (line 10 after line 9),
then rule. An outcome lists at most MAX_DIAGNOSTICS of them; beyond that one summary per rule
(path "$", "omitted": the count) says how many more there were, so that a forecast of a
million bad lines stays a readable, storable outcome.

The business controls (validation.controls) are rules too; they read the document ledger
through the Check's `Ledger`. A forecast line that CHANGE_NOT_ACTIONABLE finds is not a
diagnostic: it is left out of the released lines, and the released header says so.

Status: quarantined when any diagnostic is an error, else released (warnings travel with the
released message). The released payload is the payload as sent with the "hub" enrichment on
the header and on every line (see validation.enrich).
"""

import dataclasses
import re
from collections import Counter

from django.conf import settings
from django.utils import timezone

from validation import contracts
from validation.controls.common import NOT_ACTIONABLE, Ledger
from validation.enrich import Facts, Systems, as_decimal_text
from validation.layouts import LAYOUTS
from validation.models import Rule
from validation.registry import RULES
from validation.rules import quantity_problem, revision_id
from xref.resolve import RESOLVED

MAX_DIAGNOSTICS = 10_000
ITEM, UNIT = "item", "unit"
ERROR = Rule.Severity.ERROR.value
QUARANTINED, RELEASED = "quarantined", "released"

_PATH_TOKEN = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


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
    check = Check(message_type, schema_version, header_of(payload), system, as_of=as_of)
    lines = payload.get("lines") or []
    size = settings.VALIDATION_CHUNK_LINES
    found = [check.header_diagnostics]
    released, filtered = [], []
    for start in range(0, len(lines), size):
        enrich = not any(d["severity"] == ERROR for chunk in found for d in chunk)
        diagnostics, enriched = check.check_lines(
            lines[start : start + size], start, enrich, filtered=filtered
        )
        found.append(diagnostics)
        if enriched is not None:
            released.extend(enriched)
    diagnostics = combine_diagnostics(found)
    if any(d["severity"] == ERROR for d in diagnostics):
        return Outcome(QUARANTINED, diagnostics)
    return Outcome(
        RELEASED, diagnostics, check.released(payload, released, len(filtered), filtered)
    )


def header_of(payload):
    """The payload without its lines (and without the part of a release)."""
    return {key: value for key, value in payload.items() if key not in ("lines", "part")}


class Check:
    """Validation of one message: its header on construction, its lines by chunks."""

    def __init__(self, message_type, schema_version, header, system, *, as_of=None):
        self.message_type = message_type
        self.schema_version = schema_version
        self.layout = LAYOUTS[message_type]
        self.as_of = as_of or header_date(message_type, schema_version, header)
        self.rules = {
            code: (severity, team)
            for code, severity, team in Rule.objects.filter(enabled=True).values_list(
                "code", "severity", "team"
            )
            if code in RULES
        }
        enabled = [
            registered
            for code, registered in RULES.items()
            if code in self.rules and registered.applies(self.layout)
        ]
        self.by_field = [registered for registered in enabled if registered.per == "field"]
        self.by_object = [registered for registered in enabled if registered.per == "object"]
        self.systems = Systems(system)
        self.header = header
        # What the ledger knows of the documents the message refers to (validation.controls).
        self.ledger = Ledger(message_type, system, header, self.as_of)
        self.facts = Facts(systems=self.systems, as_of=self.as_of, layout=self.layout)
        self.facts.ledger = self.ledger
        self.facts.load([header])
        self.header_diagnostics, self.header_hub = self._check_object(
            self.facts, header, "$", {}, self.facts.plant
        )
        self.header_diagnostics.sort(key=diagnostic_key)
        # Shared by the chunks of the message: what is known of its line codes, and each
        # (field, value, plant)'s findings and hub entry.
        self.line_facts = None
        self.field_cache = {}

    def check_lines(self, lines, offset=0, enrich=True, filtered=None):
        """(diagnostics, enriched lines) of `lines`, the first being line `offset` of the
        message. The enriched lines are None when not asked for, or once an error is found
        (the message will not be released). At most MAX_DIAGNOSTICS diagnostics are listed,
        followed by a summary per rule of the rest. Forecast lines that are not actionable
        (validation.controls) are left out of the enriched lines and appended to `filtered`
        (a list, when given) as {"line", "item", "location", "period_start", "quantity",
        "released_quantity", "reason"}."""
        if self.line_facts is None:
            self.line_facts = Facts(
                systems=self.systems, as_of=self.as_of, layout=self.layout, header=self.facts
            )
            self.line_facts.ledger = self.ledger
        self.ledger.see_lines(lines)
        facts = self.line_facts.load(lines)
        cache = self.field_cache
        diagnostics = []
        omitted = Counter()
        enriched = [] if enrich else None
        for index, line in enumerate(lines, offset):
            found, hub = self._check_object(facts, line, None, cache, None)
            if found:
                at = f"$.lines[{index}]"
                for code, finding in found:
                    if code == NOT_ACTIONABLE:
                        hub = None
                        if filtered is not None:
                            filtered.append(_filtered(index, line, finding))
                        continue
                    if self.rules[code][0] == ERROR:
                        enriched = None
                    if len(diagnostics) < MAX_DIAGNOSTICS:
                        diagnostics.append(self._diagnostic(code, at, finding))
                    else:
                        omitted[code] += 1
            if enriched is not None and hub is not None:
                enriched.append({**line, "hub": hub})
        diagnostics.sort(key=diagnostic_key)
        diagnostics.extend(self._summaries(omitted))
        return diagnostics, enriched

    def released(self, payload, lines, filtered_count=0, filtered=()):
        """The released payload: the payload as sent, the header's and every line's "hub";
        for a forecast compared with its last release, what was left out (selective_sync).
        A message type without lines (forecast_acceptance) is released without them."""
        released = {key: value for key, value in payload.items() if key != "lines"}
        released["hub"] = self.released_hub(filtered_count, filtered)
        if "lines" in payload:
            released["lines"] = lines
        return released

    def released_hub(self, filtered_count=0, filtered=()):
        """The header's "hub" of the released payload."""
        plan = self.ledger.forecast
        summary = plan.summary(filtered_count, list(filtered)) if plan is not None else None
        if summary is None:
            return self.header_hub
        return {**self.header_hub, "selective_sync": summary}

    # --- one object -------------------------------------------------------------------------

    def _check_object(self, facts, obj, at, cache, plant):
        """The findings of every rule over a payload object and its "hub": (diagnostics, hub)
        for the header (`at` given), ([(rule, Finding)], hub) for a line."""
        if plant is None:
            plant = facts.plant_of(obj)
        hub = {}
        found = []
        item = unit = None
        for field in facts.fields:
            value = obj.get(field.name)
            if value.__class__ is not str:
                continue
            # An unknown code's findings depend on what else the object says of its record.
            hints = facts.hints(field, obj) if facts.layout.hints else ()
            key = (field.name, value, plant, hints)
            entry = cache.get(key)
            if entry is None:
                entry = cache[key] = self._field(facts, field, value, plant, hints)
            findings, field_hub, answer = entry
            if findings:
                found.extend(findings)
            if field_hub is not None:
                hub[field.name] = field_hub
                if field.kind == ITEM:
                    item = answer
                elif field.kind == UNIT:
                    unit = answer
        for registered in self.by_object:
            for finding in registered.function(facts, obj):
                found.append((registered.code, finding))
        if item is not None:
            self._quantities(facts, obj, hub, item, unit, plant)
        if at is None:
            return found, hub
        return [self._diagnostic(code, at, finding) for code, finding in found], hub

    def _field(self, facts, field, value, plant, hints=()):
        """(findings of the field rules, the field's hub entry, the resolve answer) of a code;
        `hints` go to the rules that take them (validation.rules.Layout.hints)."""
        answer = facts.answer(field.kind, value)
        findings = []
        for registered in self.by_field:
            if registered.hints:
                finding = registered.function(facts, field, value, answer, plant, hints)
            else:
                finding = registered.function(facts, field, value, answer, plant)
            if finding is not None:
                findings.append((registered.code, finding))
        if answer is None or answer["status"] != RESOLVED:
            return findings, None, answer
        target = facts.target(field.kind, value)
        entry = {"id": answer["id"], "codes": self._codes(facts, field.kind, target, plant)}
        return findings, entry, answer

    def _codes(self, facts, kind, target, plant):
        """{system: code} of every other system that has a code for the record."""
        key = ("codes", kind, target, plant)
        codes = facts.memo.get(key)
        if codes is None:
            codes = facts.memo[key] = {
                self.systems.code[system]: code
                for system in self.systems.others
                if (code := facts.code_in(system, kind, target, plant)) is not None
            }
        return codes

    def _quantities(self, facts, obj, hub, item, unit, plant):
        """The line's quantity in the item's base unit (and in the supplier's pack), and the
        revision's canonical id, into its hub."""
        revision = self.layout.revision
        if revision and isinstance(obj.get(revision), str):
            hub["revision"] = {"id": revision_id(item["id"], obj[revision])}
        value = obj.get(self.layout.quantity)
        if unit is None or value is None:
            return
        key = ("quantity", item["id"], unit["id"], plant)
        conversion = facts.memo.get(key)
        if conversion is None:
            conversion = facts.memo[key] = self._conversion(facts, item, unit, plant)
        base, factor, codes, pack = conversion
        if factor is None or quantity_problem(value, True):
            return
        hub["quantity"] = {"value": as_decimal_text(value, factor), "unit": base, "codes": codes}
        if pack is not None:
            pack_unit, per_pack, pack_codes = pack
            hub["supplier_quantity"] = {
                "value": as_decimal_text(value, factor / per_pack),
                "unit": pack_unit,
                "codes": pack_codes,
            }

    def _conversion(self, facts, item, unit, plant):
        """(base unit, factor to it, its codes, the supplier's pack) for an item and unit."""
        base = item["record"]["base_unit"]
        item_pk = facts.items.get(item["id"])
        factor, _ = facts.factor(item_pk, base, unit["id"], facts.supplier_pk)
        pack = None
        if factor is not None and self.layout.supplier_quantity and facts.supplier_pk:
            found = self._supplier_pack(facts, item_pk, base)
            if found is not None:
                pack = (*found, self._codes(facts, "unit", found[0], plant))
        return base, factor, self._codes(facts, "unit", base, plant), pack

    def _supplier_pack(self, facts, item_pk, base):
        """(pack unit, base units per pack) of the supplier's own conversion for the item."""
        key = ("pack", item_pk)
        if key not in facts.memo:
            facts.memo[key] = None
            for source, target, _, supplier in facts.packs.get(item_pk, ()):
                if supplier != facts.supplier_pk:
                    continue
                pack = target if source == base else source
                factor, _ = facts.factor(item_pk, base, pack, supplier)
                if factor:
                    facts.memo[key] = (pack, factor)
                    break
        return facts.memo[key]

    # --- diagnostics ------------------------------------------------------------------------

    def _diagnostic(self, code, at, finding):
        severity, team = self.rules[code]
        diagnostic = {
            "rule": code,
            "severity": severity,
            "team": team,
            "path": f"{at}.{finding.field}",
            "value": finding.value,
            "message": finding.message,
            "suggestion": finding.suggestion,
        }
        if finding.extra:
            diagnostic.update(finding.extra)
        return diagnostic

    def _summaries(self, omitted):
        return [summary(code, *self.rules[code], count) for code, count in sorted(omitted.items())]


def _filtered(index, line, finding):
    """A forecast line left out of the release, as the released payload lists it."""
    return {
        "line": index,
        "item": line.get("item"),
        "location": line.get("location"),
        "period_start": line.get("period_start"),
        "quantity": finding.value,
        "released_quantity": (finding.extra or {}).get("released_quantity"),
        "reason": finding.message,
    }


def header_date(message_type, schema_version, header):
    """The business date of a header (the contract's x-business-date), else today."""
    return contracts.business_date(message_type, schema_version, header) or timezone.localdate()


def summary(code, severity, team, count):
    """The diagnostic standing for `count` findings of a rule left out of the list."""
    return {
        "rule": code,
        "severity": severity,
        "team": team,
        "path": "$",
        "value": None,
        "message": f"{count:,} more {code} finding(s) are not listed (an outcome lists at most "
        f"{MAX_DIAGNOSTICS:,}).",
        "suggestion": None,
        "omitted": count,
    }


def combine_diagnostics(lists):
    """Diagnostics of several chunks (each sorted, each with its summaries) as one outcome's:
    sorted, at most MAX_DIAGNOSTICS listed, one summary per rule for the rest."""
    listed, omitted, rules = [], Counter(), {}
    for found in lists:
        for diagnostic in found:
            if "omitted" in diagnostic:
                omitted[diagnostic["rule"]] += diagnostic["omitted"]
                rules[diagnostic["rule"]] = (diagnostic["severity"], diagnostic["team"])
            elif len(listed) < MAX_DIAGNOSTICS:
                listed.append(diagnostic)
            else:
                omitted[diagnostic["rule"]] += 1
                rules[diagnostic["rule"]] = (diagnostic["severity"], diagnostic["team"])
    listed.sort(key=diagnostic_key)
    listed.extend(summary(code, *rules[code], count) for code, count in sorted(omitted.items()))
    return listed


def diagnostic_key(diagnostic):
    return (path_key(diagnostic.get("path") or ""), diagnostic.get("rule") or "")


def path_key(path):
    """Sort key of a JSON path: "$.lines[10]" after "$.lines[9]"."""
    return tuple(
        (0, int(index), "") if index else (1, 0, name) for name, index in _PATH_TOKEN.findall(path)
    )
