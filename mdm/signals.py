"""Signals mdm sends so that higher apps can act without mdm importing them."""

from django.db import transaction
from django.db.models.signals import post_init, post_save
from django.dispatch import Signal

# Sent after the transaction that changed a master record's status commits (an item made
# obsolete, a supplier blocked, a location reactivated...), with `record`, `old_status` and
# `new_status`; sender is the record's model. Sent for every save() whichever door it came
# through (admin, API, import, services); not for queryset.update() or bulk writes.
record_status_changed = Signal()

# The master records whose status is announced.
STATUS_MODELS = (
    "Item",
    "ItemRevision",
    "Supplier",
    "SupplierSite",
    "Location",
    "Unit",
    "CodeValue",
)


def _remember_status(sender, instance, **kwargs):
    # post_init: the status as loaded (absent when the field was deferred).
    instance._loaded_status = instance.__dict__.get("status")


def _announce_status_change(sender, instance, created, raw=False, **kwargs):
    old, new = getattr(instance, "_loaded_status", None), instance.__dict__.get("status")
    instance._loaded_status = new
    if raw or created or old is None or new is None or old == new:
        return
    transaction.on_commit(
        lambda: record_status_changed.send(
            sender=sender, record=instance, old_status=old, new_status=new
        )
    )


def connect_status_signals():
    """Connect the receivers that announce status changes (from MdmConfig.ready)."""
    from django.apps import apps

    for name in STATUS_MODELS:
        model = apps.get_model("mdm", name)
        post_init.connect(_remember_status, sender=model, dispatch_uid=f"mdm.status.{name}")
        post_save.connect(
            _announce_status_change, sender=model, dispatch_uid=f"mdm.status_changed.{name}"
        )
