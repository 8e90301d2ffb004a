"""The events master data publishes (events.outbox): for every save of an item, supplier or
location, whichever door it came through (admin, API, a row-by-row import, a merge, a history
revert), one of

    hub.<kind>.created          a new record
    hub.<kind>.changed          a record whose fields changed (a save that changes nothing
                                publishes nothing)

and, beside a change of its status, hub.<kind>.status_changed. <kind> is item, supplier or
location. The subject and the partition key are the record's public id. The data:

    {"id": "ITM-000123", "fields": ["description", "status"],
     "record": {"number": "100122", "description": "...", "status": "obsolete", ...}}

"fields" names what changed (every field of `MAIN_FIELDS` for a new record), "record" holds
the new values of the main fields (a unit by its Rec 20 code, a parent location by its public
id); status_changed's data is {"id", "old_status", "new_status"}. Facts: "item" or
"supplier" is the record itself; a plant location is its own "plant".

The event is written in the save's transaction (the admin's, the API's and an import's saves
run in one). A save made outside any transaction (a shell, a script) has committed when its
post_save runs: its event is written in a transaction of its own right after it, so nothing
is published of a save that failed.

Bulk writes (the bulk kinds of imports.applying, the demo's bulk insert) send no save
signals and publish no events: a bulk import of ten thousand items is not announced record
by record; its run is the record of what changed.
"""

from django.db import transaction
from django.db.models.signals import post_save, pre_save

from events.outbox import emit
from mdm.models import Item, Location, Supplier

KINDS = {Item: "item", Supplier: "supplier", Location: "location"}
# The fields whose new values an event carries, by model.
MAIN_FIELDS = {
    Item: (
        "number",
        "description",
        "base_unit",
        "item_type",
        "status",
        "gtin",
        "manufacturer",
        "mpn",
        "commodity",
        "merged_into",
    ),
    Supplier: (
        "number",
        "name",
        "legal_name",
        "status",
        "country",
        "duns",
        "lei",
        "vat",
        "merged_into",
    ),
    Location: (
        "code",
        "name",
        "kind",
        "status",
        "gln",
        "country",
        "timezone",
        "parent",
        "can_receive",
        "merged_into",
    ),
}
# Fields whose change is no change of the record.
UNTRACKED = ("id", "public_id", "created_at", "updated_at")


def _tracked(model):
    return [
        field
        for field in model._meta.concrete_fields
        if field.name not in UNTRACKED and not field.primary_key
    ]


def remember_before(sender, instance, raw=False, **kwargs):
    """pre_save: the record's stored values (one query), to tell what the save changes."""
    instance._event_before = None
    if raw or instance._state.adding or instance.pk is None:
        return
    names = [field.attname for field in _tracked(sender)]
    instance._event_before = sender.objects.filter(pk=instance.pk).values(*names).first()


def record_saved(sender, instance, created, raw=False, update_fields=None, **kwargs):
    """post_save: the record's events, in the save's transaction."""
    if raw:  # loaddata
        return
    before = getattr(instance, "_event_before", None)
    instance._event_before = None
    if created or before is None:
        changed = list(MAIN_FIELDS[sender])
    else:
        changed = [
            field.name
            for field in _tracked(sender)
            if field.attname in instance.__dict__
            and field.attname in before
            and (update_fields is None or field.name in update_fields)
            and getattr(instance, field.attname) != before[field.attname]
        ]
        if not changed:
            return
    old_status = before.get("status") if before else None
    if transaction.get_connection().in_atomic_block:
        _emit(sender, instance, created or before is None, changed, old_status)
    else:
        with transaction.atomic():
            _emit(sender, instance, created or before is None, changed, old_status)


def _emit(model, record, created, changed, old_status):
    kind = KINDS[model]
    facts = _facts(model, record)
    data = {"id": record.public_id, "fields": changed, "record": record_values(model, record)}
    what = "created" if created else "changed"
    emit(f"hub.{kind}.{what}", record.public_id, data, record.public_id, facts=facts)
    if not created and old_status is not None and old_status != record.status:
        emit(
            f"hub.{kind}.status_changed",
            record.public_id,
            {"id": record.public_id, "old_status": old_status, "new_status": record.status},
            record.public_id,
            facts=facts,
        )


def record_values(model, record):
    """The main fields' values: units by code, a parent location by public id."""
    values = {}
    for name in MAIN_FIELDS[model]:
        field = model._meta.get_field(name)
        if field.attname not in record.__dict__:
            continue  # deferred, and not saved
        if name == "parent":
            values[name] = record.parent.public_id if record.parent_id else None
        else:
            values[name] = getattr(record, field.attname)
    return values


def _facts(model, record):
    if model is Location:
        return {"plant": record.public_id} if record.kind == Location.Kind.PLANT else {}
    return {KINDS[model]: record.public_id}


def connect_signals():
    """Connect the receivers that publish master data events (from MdmConfig.ready)."""
    for model, kind in KINDS.items():
        pre_save.connect(remember_before, sender=model, dispatch_uid=f"mdm.events.before.{kind}")
        post_save.connect(record_saved, sender=model, dispatch_uid=f"mdm.events.saved.{kind}")
