"""The events cross-references publish (events.outbox), and the consumers' own codes in every
event's data.

For every save of a cross-reference, whichever door it came through (the registry's
services, the API, the admin, a row-by-row import, a history revert), in its transaction:

    hub.xref.created     a new reference
    hub.xref.retired     a reference withdrawn (status retired) or given an end date
    hub.xref.changed     any other change (a save that changes nothing publishes nothing)

The subject and the partition key are the canonical record's natural key (ITM-000123,
SUP-000045, H87, ACK_LINE_STATUS:accepted; xref.services.target_key), so a record's codes
reach a subscriber in order. Data: {"reference": id, "kind", "system", "scope", "code",
"target", "valid_from", "valid_to", "status", "is_preferred", "fields" (what changed)}.
Facts: the system; the item, supplier or plant when the reference names one.

References a merge moves are not announced one by one: hub.<kind>.merged is (subject the
loser, data {"kind", "survivor", "loser", "merge", "references"}), in the merge's
transaction, partitioned by the loser (whose events it ends). Its kind is item, supplier,
location or supplier_site.

`consumer_codes(event, consumer)` (registered with events.documents.register_codes) gives a
subscriber's own codes for the canonical ids in an event's data.
"""

import datetime
import re

from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from events.documents import register_codes
from events.outbox import emit
from mdm.models import Item, Location, Supplier, SupplierSite
from xref.models import TARGET_FIELDS, CrossReference, Kind, valid_on
from xref.services import preferred_codes, target_key
from xref.signals import records_merged as merged_signal

CREATED, CHANGED, RETIRED = "hub.xref.created", "hub.xref.changed", "hub.xref.retired"
# The fields whose change is a change of the reference.
TRACKED = ("kind", "system", "scope", "code", *TARGET_FIELDS)
TRACKED += ("valid_from", "valid_to", "status", "is_preferred")
FACT_OF_KIND = {Kind.ITEM: "item", Kind.SUPPLIER: "supplier", Kind.LOCATION: "plant"}
# The canonical ids a consumer's codes are given for, by prefix: (kind, reference field).
PUBLIC_IDS = {
    Item.PUBLIC_ID_PREFIX: (Kind.ITEM, "item"),
    Supplier.PUBLIC_ID_PREFIX: (Kind.SUPPLIER, "supplier"),
    SupplierSite.PUBLIC_ID_PREFIX: (Kind.SUPPLIER_SITE, "supplier_site"),
    Location.PUBLIC_ID_PREFIX: (Kind.LOCATION, "location"),
}
PUBLIC_ID = re.compile(rf"^({'|'.join(PUBLIC_IDS)})-\d+$")
# Canonical ids looked up per event at most (an event names a few; a bound all the same).
MAX_IDS = 500


# --- cross-references -------------------------------------------------------------------------


def _attnames():
    return [CrossReference._meta.get_field(name).attname for name in TRACKED]


def remember_before(sender, instance, raw=False, **kwargs):
    """pre_save: the reference as stored (one query), to tell what the save changes."""
    instance._event_before = None
    if raw or instance._state.adding or instance.pk is None:
        return
    instance._event_before = (
        CrossReference.objects.filter(pk=instance.pk).values(*_attnames()).first()
    )


def reference_saved(sender, instance, created, raw=False, **kwargs):
    """post_save: the reference's event, in the save's transaction (a save outside any has
    committed already: its event follows in a transaction of its own)."""
    before = getattr(instance, "_event_before", None)
    instance._event_before = None
    if raw or getattr(instance, "_moved_by_merge", False):
        return  # loaddata; a merge's moves are told by hub.<kind>.merged
    if created or before is None:
        changed, event_type = list(TRACKED), CREATED
    else:
        changed = [
            name
            for name, attname in zip(TRACKED, _attnames(), strict=True)
            if getattr(instance, attname) != before[attname]
        ]
        if not changed:
            return
        event_type = RETIRED if _retired(before, instance) else CHANGED
    if transaction.get_connection().in_atomic_block:
        _emit_reference(event_type, instance, changed)
    else:
        with transaction.atomic():
            _emit_reference(event_type, instance, changed)


def _retired(before, reference):
    """Withdrawn (status retired now), or given an end date it had not."""
    if reference.status == CrossReference.Status.RETIRED:
        return before["status"] != CrossReference.Status.RETIRED
    return before["valid_to"] is None and reference.valid_to is not None


def _emit_reference(event_type, reference, changed):
    target = target_key(reference.kind, reference.target)
    system = reference.system.code
    data = {
        "reference": reference.pk,
        "kind": reference.kind,
        "system": system,
        "scope": reference.scope,
        "code": reference.code,
        "target": target,
        "valid_from": _day(reference.valid_from),
        "valid_to": _day(reference.valid_to),
        "status": reference.status,
        "is_preferred": reference.is_preferred,
        "fields": changed,
    }
    facts = {"system": system}
    if reference.kind in FACT_OF_KIND:
        facts[FACT_OF_KIND[reference.kind]] = target
    return emit(event_type, target, data, target, facts=facts)


def _day(value):
    return value.isoformat() if isinstance(value, datetime.date) else value


# --- merges -----------------------------------------------------------------------------------


def records_merged(sender, kind, survivor, loser, merge, **kwargs):
    """records_merged receiver: hub.<kind>.merged, inside the merge's transaction. Moves
    nothing, so it returns no rows."""
    facts = {FACT_OF_KIND[kind]: survivor.public_id} if kind in FACT_OF_KIND else {}
    if kind == Kind.LOCATION and survivor.kind != Location.Kind.PLANT:
        facts = {}
    emit(
        f"hub.{kind}.merged",
        loser.public_id,
        {
            "kind": str(kind),
            "survivor": survivor.public_id,
            "loser": loser.public_id,
            "merge": merge.pk,
            "references": len(merge.moved.get("xref.crossreference", [])),
        },
        loser.public_id,
        facts=facts,
    )
    return {}


# --- the consumers' own codes -----------------------------------------------------------------


def consumer_codes(event, consumer):
    """{canonical id: the consumer system's code} for the items, suppliers, supplier sites
    and locations named in the event's data: the system's preferred reference valid today,
    else its only one (an id it has several codes for, none preferred, or none, is left
    out). One query; an unknown id or system is simply not in the answer."""
    ids = set()
    _collect(event.data, ids)
    if not ids or not consumer:
        return {}
    condition = Q()
    for prefix, (kind, field) in PUBLIC_IDS.items():
        wanted = [public_id for public_id in ids if public_id.startswith(f"{prefix}-")]
        if wanted:
            condition |= Q(kind=kind, **{f"{field}__public_id__in": wanted})
    references = CrossReference.objects.filter(
        condition, valid_on(timezone.localdate()), system__code=consumer
    ).values_list(
        "code",
        "scope",
        "is_preferred",
        *(f"{field}__public_id" for _, field in PUBLIC_IDS.values()),
    )
    return preferred_codes(
        (next(target for target in targets if target), code, preferred, scope)
        for code, scope, preferred, *targets in references
    )


def _collect(value, ids):
    """The canonical ids (strings like ITM-000123) anywhere in `value`, up to MAX_IDS."""
    if len(ids) >= MAX_IDS:
        return
    if isinstance(value, str):
        if PUBLIC_ID.match(value):
            ids.add(value)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, ids)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, ids)


def connect_signals():
    """Connect the receivers that publish cross-reference and merge events, and register the
    consumers' codes for the documents (from XrefConfig.ready)."""
    pre_save.connect(remember_before, sender=CrossReference, dispatch_uid="xref.events.before")
    post_save.connect(reference_saved, sender=CrossReference, dispatch_uid="xref.events.saved")
    merged_signal.connect(records_merged, dispatch_uid="xref.events.merged")
    register_codes(consumer_codes)
