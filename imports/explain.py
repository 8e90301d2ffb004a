"""Row errors that say what is valid: a choice names the accepted codes with their labels, a
reference names what it was looked up by and, for units and short lists, the records that
would do. The screen shows labels (the admin's "Purchased component", "H87 (piece)") while a
file holds codes; these messages join the two."""

import difflib

from django.db.models import Q

from mdm.models import Unit

# A referenced table this small is listed whole when a cell names none of its records.
LIST_UP_TO = 20
SUGGESTIONS = 3


def choice_message(model_field, value):
    """'purchased' is not a valid choice; did you mean component (Purchased component)?
    Accepted: ..."""
    choices = [(str(code), str(label)) for code, label in model_field.flatchoices if code != ""]
    accepted = "; ".join(f"{code} ({label})" for code, label in choices)
    message = f"{value!r} is not a valid choice."
    guess = _closest_choice(str(value), choices)
    if guess:
        message = f"{value!r} is not a valid choice; did you mean {guess[0]} ({guess[1]})?"
    return f"{message} Accepted codes: {accepted}."


def _closest_choice(value, choices):
    lowered = value.strip().lower()
    for code, label in choices:
        if lowered in (code.lower(), label.lower()):
            return code, label
    for code, label in choices:
        words = label.lower().replace(",", " ").split()
        if lowered in words or (len(lowered) > 3 and lowered in label.lower()):
            return code, label
    # No guess by spelling alone: 'inactive' is a near miss of 'active'.
    return None


def read_only_message(column, stored, new=False):
    """A read-only cell (merged_into, the only one) that differs from what is stored: what
    sets the field, and what the cell may hold instead."""
    message = f"{column} is set by merging and unmerging records in the hub, not by a file"
    if stored:
        return f"{message}; leave it as exported ({stored}) or blank."
    record = "a new record" if new else "this record"
    return f"{message}; leave it blank ({record} is not merged into another)."


def merged_record_message(record, key):
    """SUP-000011 (V900011) was merged into SUP-000003: change that record instead."""
    return (
        f"{record.public_id} ({key}) was merged into {record.merged_into}: "
        "change that record instead."
    )


def merged_target_message(ref, parts, target):
    """The supplier with number 'V900011' (column supplier.number) was merged into
    SUP-000003: name that supplier instead."""
    name = ref.model._meta.verbose_name
    given = ", ".join(repr(part) for part in parts)
    return (
        f"The {name} with {lookup_words(ref)} {given} (column {', '.join(ref.columns)}) was "
        f"merged into {target.merged_into}: name that {name} instead."
    )


def lookup_words(ref):
    """What a reference's columns look up, in words: "number", "supplier number and code"."""
    words = []
    model = ref.model
    for lookup in ref.lookups:
        target, names = model, []
        for part in lookup.split("__"):
            model_field = target._meta.get_field(part)
            names.append(str(model_field.verbose_name))
            if model_field.is_relation:
                target = model_field.related_model
        words.append(" ".join(names))
    return " and ".join(words)


def no_record_message(ref, parts):
    """No supplier with number 'V999' (supplier.number). Units get the nearest codes by code
    and name; a short table is listed whole."""
    name = ref.model._meta.verbose_name
    given = ", ".join(repr(part) for part in parts)
    message = f"No {name} with {lookup_words(ref)} {given} (column {', '.join(ref.columns)})"
    if ref.model is Unit:
        near = unit_suggestions(parts[0])
        if near:
            return f"{message}; did you mean {_or(near)}?"
        return f"{message}; give a UN/ECE Rec 20 unit code such as H87 (piece) or KGM (kilogram)."
    accepted = _small_table(ref)
    if accepted:
        return f"{message}. Accepted: {'; '.join(accepted)}."
    return f"{message}."


def _or(words):
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def unit_suggestions(text):
    """Units a mistyped or spelled-out unit may mean, as "H87 (piece)": by name or symbol,
    then by code and name spelled nearly alike."""
    text = text.strip()
    if not text:
        return []
    usable = Unit.objects.exclude(status=Unit.Status.DELETED)
    exact = list(
        usable.filter(Q(name__iexact=text) | Q(symbol__iexact=text) | Q(code__iexact=text))[
            :SUGGESTIONS
        ]
    )
    if len(exact) < SUGGESTIONS and len(text) > 2:
        exact += [
            unit
            for unit in usable.filter(name__istartswith=text).order_by("name")[:SUGGESTIONS]
            if unit not in exact
        ]
    if not exact:
        named = dict(usable.values_list("name", "code"))
        lowered = {name.lower(): code for name, code in named.items()}
        for guess in difflib.get_close_matches(text.lower(), list(lowered), n=SUGGESTIONS):
            exact.append(Unit(code=lowered[guess], name=guess))
        codes = list(usable.values_list("code", "name"))
        by_code = dict(codes)
        for guess in difflib.get_close_matches(text.upper(), list(by_code), n=1, cutoff=0.7):
            if guess not in {unit.code for unit in exact}:
                exact.append(Unit(code=guess, name=by_code[guess]))
    return [f"{unit.code} ({unit.name})" for unit in exact[:SUGGESTIONS]]


def _small_table(ref):
    """The records a reference can name, when there are few of them: calendars, code lists,
    source systems."""
    records = list(ref.model.objects.all()[: LIST_UP_TO + 1])
    if not records or len(records) > LIST_UP_TO:
        return []
    listed = []
    for record in records:
        key = "/".join(ref.key_of(record))
        label = str(record)
        listed.append(label if label.startswith(key) else f"{key} ({label})")
    return listed
