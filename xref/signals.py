"""Signals xref sends for higher apps (quarantine replays messages blocked on a code; every
app moves its rows from a merged record to the one it was merged into)."""

from django.db import transaction
from django.dispatch import Signal

# Sent after the transaction that created or changed a cross-reference commits, with
# `reference` (the CrossReference) and `created` (True for a new one). Sent for every save,
# whichever door it came through: the registration service, the API, the admin, a history
# revert. Not sent for the demo's bulk insert, which no blocked message can be waiting for,
# nor for the references a merge moves: records_merged announces those.
reference_changed = Signal()

# Sent INSIDE the transaction of a merge (xref.merging.merge), sender Merge, with `kind`
# ("item", "supplier" or "location"), `survivor` and `loser` (the master records, both
# saved as they end) and `merge` (the Merge row; its `moved` already lists what xref and
# mdm moved, e.g. the loser's cross-references under "xref.crossreference"). A receiver
# points its app's rows from the loser to the survivor and RETURNS {label: [row ids]} of
# what it moved (labels of its own, "app.model.field"; "kept." before one names rows it left
# with the loser), which the merge keeps for the unmerge. A receiver that raises rolls the
# merge back. Work that may wait goes into transaction.on_commit.
records_merged = Signal()

# Sent INSIDE the transaction of an unmerge (xref.merging.unmerge), with the same arguments,
# after both records are restored: a receiver moves back exactly the rows of its labels in
# `merge.moved`, and raises xref.merging.MergeConflict when one no longer exists or no longer
# points at the survivor. Its return value is not used.
records_unmerged = Signal()


def announce_reference_saved(sender, instance, created, raw=False, **kwargs):
    """post_save receiver (connected in XrefConfig.ready): sends reference_changed once the
    change is committed, so a receiver never sees a reference that is then rolled back."""
    if raw:  # loaddata
        return
    if getattr(instance, "_moved_by_merge", False):
        return  # records_merged (or records_unmerged) says it
    transaction.on_commit(
        lambda: reference_changed.send(sender=sender, reference=instance, created=created)
    )
