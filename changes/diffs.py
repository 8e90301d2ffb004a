"""A record's values as a change request keeps them: JSON per field (a related record by its
primary key, a date, decimal or time as text), read back with the field's own conversion, and
the difference between a record as edited and as stored."""

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ValidationError

from core.history import display_value

# The values JSON holds as they are; anything else (Decimal, date, datetime, UUID) as text.
_NATIVE = (str, int, float, bool, type(None), list, dict)


def writable_fields(model):
    """The fields a change may touch: concrete, editable, neither the primary key nor one the
    database stamps (auto_now, auto_now_add)."""
    return [
        field
        for field in model._meta.concrete_fields
        if field.editable
        and not field.primary_key
        and not getattr(field, "auto_now", False)
        and not getattr(field, "auto_now_add", False)
    ]


def value_of(instance, field):
    """The field's value on the instance, as JSON."""
    value = field.value_from_object(instance)
    return value if isinstance(value, _NATIVE) else str(value)


def restored(field, value):
    """The JSON value back as the field's Python value."""
    if value is None:
        return None
    try:
        return field.to_python(value)
    except ValidationError:
        return value


def same(field, left, right):
    return restored(field, left) == restored(field, right)


def snapshot(instance, names=None):
    """{field name: JSON value} of the instance's writable fields (or of `names`)."""
    fields = writable_fields(type(instance))
    return {f.name: value_of(instance, f) for f in fields if names is None or f.name in names}


def difference(instance, stored):
    """(before, after) of the fields where `instance` differs from `stored` (the same record
    as in the database)."""
    before, after = {}, {}
    for field in writable_fields(type(instance)):
        old, new = value_of(stored, field), value_of(instance, field)
        if not same(field, old, new):
            before[field.name], after[field.name] = old, new
    return before, after


def assign(instance, values):
    """Set the instance's fields to the JSON `values`."""
    model = type(instance)
    for name, value in values.items():
        field = model._meta.get_field(name)
        setattr(instance, field.attname, restored(field, value))


def departures(instance, expected):
    """[(field, expected JSON value, current JSON value)] where the stored record no longer has
    the values a request saw."""
    model = type(instance)
    found = []
    for name, value in expected.items():
        field = model._meta.get_field(name)
        current = value_of(instance, field)
        if not same(field, value, current):
            found.append((field, value, current))
    return found


def worded(item):
    """[(field words, before in words, after in words)] of a ChangeItem: a choice by its label,
    a related record by its name, nothing as "empty"."""
    model = apps.get_model(item.model)
    names = list(item.before if item.action == "delete" else item.after)
    rows = []
    for name in names:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            rows.append((name, str(item.before.get(name, "")), str(item.after.get(name, ""))))
            continue
        rows.append(
            (
                str(field.verbose_name),
                value_words(field, item.before.get(name)) if item.action != "create" else "",
                value_words(field, item.after.get(name)) if item.action != "delete" else "",
            )
        )
    return rows


def value_words(field, value):
    """A field's JSON value in words: a choice by its label, a related record by its name."""
    if field.is_relation and value is not None:
        related = field.related_model._base_manager.filter(pk=value).first()
        return str(related) if related is not None else f"#{value} (deleted)"
    return display_value(field, restored(field, value))
