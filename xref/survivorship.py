"""Survivorship: the value of each field a merge of two records keeps by default, and why
(issue 19). Merging itself is `xref.merging`, whose `survivorship()` checks the two records
and answers with `defaults`.

    defaults(kind, survivor, loser)   {field: {"survivor", "loser", "default", "rule"}}
    trusted_systems(kind, records)    {record pk: the most trusted source system holding it}

Each group of fields has a rule (FIELDS): the longer value, the value changed last, a block
or the active status, the survivor's, yes if either says yes, a parent that is neither
record. For the longer and the changed-last rules the source systems come first: when the
two records' most trusted systems differ, the default is the record of the more trusted one.
A record's most trusted system is the best-ranked (SourceSystem.trust_rank, 1 first) of the
active systems that are the source of record for the kind (`authoritative_for`) and hold a
cross-reference to it in force today. A value is never preferred to none: an empty value on the
trusted side still loses to the other record's.
"""

from decimal import Decimal

from django.utils import timezone

from mdm.models import SourceSystem
from mdm.models import Unit as UnitModel
from xref.models import TARGETS, CrossReference, Kind, valid_on

# How a default is chosen (see _pick).
RECENT, LONGEST, STATUS, SURVIVOR, EITHER, PARENT = (
    "recent",
    "longest",
    "status",
    "survivor",
    "either",
    "parent",
)
# The rules a more trusted source system overrides: the others say something about the
# records themselves (a block stands, the survivor's base unit) that no system's rank changes.
TRUSTED_FIRST = (RECENT, LONGEST)
# The fields a steward picks, per kind, in groups whose fields come from one record (a net
# weight with its unit, a VAT number with the country it is checked for, an address with its
# city and postal code); a group is judged by its first field.
FIELDS = {
    "item": (
        (("description",), LONGEST),
        (("item_type",), RECENT),
        (("status",), STATUS),
        (("base_unit",), SURVIVOR),
        (("gtin",), RECENT),
        (("manufacturer",), RECENT),
        (("mpn",), RECENT),
        (("commodity",), RECENT),
        (("net_weight", "weight_unit"), RECENT),
    ),
    "supplier": (
        (("name",), LONGEST),
        (("legal_name",), LONGEST),
        (("status",), STATUS),
        (("vat", "country"), RECENT),
        (("duns",), RECENT),
        (("lei",), RECENT),
    ),
    "location": (
        (("name",), LONGEST),
        (("kind", "supplier_site"), SURVIVOR),
        (("status",), STATUS),
        (("gln",), RECENT),
        (("address", "city", "postal_code"), RECENT),
        (("country",), RECENT),
        (("timezone",), RECENT),
        (("calendar",), RECENT),
        (("parent",), PARENT),
        (("can_receive",), EITHER),
    ),
    "supplier_site": (
        (("name",), LONGEST),
        (("status",), STATUS),
        (("address", "city", "postal_code"), RECENT),
        (("country",), RECENT),
        (("calendar",), RECENT),
    ),
}
# Why the survivor's value is the default where it always is.
SURVIVOR_WORDS = {
    "base_unit": "the quantities on record are in its base unit",
    "kind": "what kind of place it is stays as it was",
}
# A system is named by its name in the rule's words, by its code when the name is longer
# (the words are shown beside every field of the merge screen).
NAME_LENGTH = 40


def defaults(kind, survivor, loser):
    """Each field a steward picks for the merge of `loser` into `survivor` (two records of
    `kind`), with both values, the default and why: {field: {"survivor", "loser",
    "default", "rule"}}. The rule's words name the record picked ("SUP-000002's: the
    longer"); a field that goes with another says so."""
    trusted = trusted_systems(kind, (survivor, loser))
    trust = _trust(kind, trusted.get(survivor.pk), trusted.get(loser.pk))
    found = {}
    for fields, rule in FIELDS[kind]:
        ours = {name: _shown(survivor, name) for name in fields}
        theirs = {name: _shown(loser, name) for name in fields}
        values, words = _pick(rule, fields, ours, theirs, survivor, loser, trust)
        lead = survivor._meta.get_field(fields[0]).verbose_name
        for name in fields:
            found[name] = {
                "survivor": ours[name],
                "loser": theirs[name],
                "default": values[name],
                "rule": words if name == fields[0] else f"{words} (goes with the {lead})",
            }
    return found


def trusted_systems(kind, records):
    """{record pk: SourceSystem}: the most trusted system of each of `records` (of `kind`)
    that has one: the active, ranked system with the best (lowest) trust_rank among those
    that are the source of record for the kind and hold a cross-reference to the record in
    force today; by code between systems of one rank. Two queries, one when no system is
    ranked for the kind."""
    if kind not in SourceSystem.Domain.values or kind not in Kind.values:
        return {}
    ranked = {
        system.pk: system
        for system in SourceSystem.objects.filter(is_active=True, trust_rank__isnull=False)
        if kind in system.authoritative_for
    }
    if not ranked:
        return {}
    field, _ = TARGETS[Kind(kind)]
    held = (
        CrossReference.objects.filter(
            valid_on(timezone.localdate()),
            system_id__in=list(ranked),
            **{f"{field}_id__in": [record.pk for record in records]},
        )
        .values_list(f"{field}_id", "system_id")
        .distinct()
    )
    best = {}
    for record_id, system_id in held:
        system = ranked[system_id]
        now = best.get(record_id)
        if now is None or (system.trust_rank, system.code) < (now.trust_rank, now.code):
            best[record_id] = system
    return best


def _trust(kind, ours, theirs):
    """("survivor" or "loser", why) when one record's most trusted system (`ours` the
    survivor's, `theirs` the loser's, None for none) is ranked before the other's, or only
    one record has one; None when neither has one or both are ranked alike."""
    if ours is None and theirs is None:
        return None
    if ours is not None and theirs is not None and ours.trust_rank == theirs.trust_rank:
        return None
    if theirs is None or (ours is not None and ours.trust_rank < theirs.trust_rank):
        side, first, other = "survivor", ours, theirs
    else:
        side, first, other = "loser", theirs, ours
    domain = SourceSystem.Domain(kind).label.lower()
    order = f"before {_named(other)}" if other is not None else "first"
    return side, f"known to {_named(first)}, trusted {order} for {domain}"


def _named(system):
    return system.name if system.name and len(system.name) <= NAME_LENGTH else system.code


def _pick(rule, fields, ours, theirs, survivor, loser, trust=None):
    """The default values of one group of fields and why, in words. `trust`: ("survivor" or
    "loser", why) when one record's source system is trusted before the other's (_trust)."""
    lead = fields[0]
    same = all(ours[name] == theirs[name] for name in fields)
    newer_is_loser = loser.updated_at > survivor.updated_at
    ids = {"survivor": survivor.public_id, "loser": loser.public_id}
    sides = {"survivor": ours, "loser": theirs}

    def chosen(side, why):
        return dict(sides[side]), f"{ids[side]}'s: {why}" if not same else "the same on both"

    if rule == SURVIVOR:
        return chosen("survivor", SURVIVOR_WORDS.get(lead, "the survivor's"))
    if rule == EITHER:
        value = bool(ours[lead] or theirs[lead])
        return {lead: value}, "yes if either says yes" if not same else "the same on both"
    if rule == PARENT:  # never one of the two records themselves
        own = {survivor.public_id, loser.public_id}
        if not _empty(ours[lead]) and ours[lead] not in own:
            return chosen("survivor", "the survivor's place among the locations")
        if not _empty(theirs[lead]) and theirs[lead] not in own:
            why = "the survivor has none" if _empty(ours[lead]) else "the survivor's is the loser"
            return chosen("loser", why)
        return {lead: None}, "none: neither has a parent other than the two records"
    if rule == STATUS:
        order = ("blocked", "active")
        rank = {side: order.index(v[lead]) if v[lead] in order else 2 for side, v in sides.items()}
        if rank["loser"] < rank["survivor"]:
            return chosen("loser", "a block stands" if rank["loser"] == 0 else "the active one")
        why = {0: "a block stands", 1: "the active one"}.get(rank["survivor"], "the survivor's")
        return chosen("survivor", why)
    has = {side: not _empty(v[lead]) for side, v in sides.items()}
    if not any(has.values()):  # judged by the whole group when neither has its first field
        has = {side: any(not _empty(v[name]) for name in fields) for side, v in sides.items()}
    if not any(has.values()):
        return dict(ours), "neither has one"
    if has["survivor"] != has["loser"]:
        return chosen("survivor" if has["survivor"] else "loser", "the other has none")
    if trust is not None and rule in TRUSTED_FIRST:
        return chosen(*trust)
    if rule == LONGEST:
        ours_long, theirs_long = len(str(ours[lead])), len(str(theirs[lead]))
        if ours_long == theirs_long:
            return chosen("survivor", "as long as the other")
        return chosen("loser" if theirs_long > ours_long else "survivor", "the longer")
    newer = "loser" if newer_is_loser else "survivor"
    record = loser if newer_is_loser else survivor
    return chosen(newer, f"changed last ({timezone.localtime(record.updated_at):%Y-%m-%d})")


def _shown(record, name):
    """A field's value as survivorship shows it: a related record by natural key, a
    decimal as text."""
    field = record._meta.get_field(name)
    if field.is_relation:
        related = getattr(record, name)
        if related is None:
            return None
        return related.code if isinstance(related, UnitModel) else related.public_id
    value = getattr(record, name)
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return value


def _empty(value):
    return value is None or value == ""
