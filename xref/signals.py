"""Signals xref sends for higher apps (quarantine replays messages blocked on a code)."""

from django.db import transaction
from django.dispatch import Signal

# Sent after the transaction that created or changed a cross-reference commits, with
# `reference` (the CrossReference) and `created` (True for a new one). Sent for every save,
# whichever door it came through: the registration service, the API, the admin, a history
# revert. Not sent for the demo's bulk insert, which no blocked message can be waiting for.
reference_changed = Signal()


def announce_reference_saved(sender, instance, created, raw=False, **kwargs):
    """post_save receiver (connected in XrefConfig.ready): sends reference_changed once the
    change is committed, so a receiver never sees a reference that is then rolled back."""
    if raw:  # loaddata
        return
    transaction.on_commit(
        lambda: reference_changed.send(sender=sender, reference=instance, created=created)
    )
