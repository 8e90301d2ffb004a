"""The fuzzy-match index (xref.matching) of the records an import run wrote in bulk, which
sends no save signals: brought up to date after the apply commits. At a million items the
index has some twenty million keys, so the work is spread: the run's task sends a task per
batch of its records on the import queue, and any worker indexes any batch, each in its own
transaction. A batch delivered twice writes the same keys again. Each batch, once indexed,
is checked for duplicates (xref.duplicates) by a task on the duplicates queue."""

from django.conf import settings
from django.db import transaction
from simple_history.utils import get_history_manager_for_model

from core.history import Source
from core.queue import send
from imports import enqueue
from imports.kinds import KINDS
from imports.models import ImportRun
from xref import matching
from xref.duplicates import KIND_BY_MODEL
from xref.models import MatchKey

# Records a batch task indexes: some 90,000 keys of items, a few seconds' work.
BATCH = 5000


def refresh_match_index(run_id):
    """Send a task for each batch of the records the run wrote (index_batch), by id; returns
    how many records."""
    spec, written = _written(run_id)
    if spec is None:
        return 0
    ids = written.order_by("id").values_list("id", flat=True).distinct()
    count = 0
    first = last = None
    for record_id in ids.iterator(chunk_size=BATCH):
        if first is None:
            first = record_id
        last = record_id
        count += 1
        if count % BATCH == 0:
            enqueue.send_task("index_match_batch", run_id, first, last)
            first = None
    if first is not None:
        enqueue.send_task("index_match_batch", run_id, first, last)
    return count


def index_batch(run_id, first_id, last_id):
    """Index the records the run wrote whose ids are from first_id to last_id, in one
    transaction; returns how many. The keys of the records it changed are deleted and written
    again. Those it created had no keys to delete (or only those a save since has written,
    the same again): they are only added, which spares a search of the index for each batch,
    as its only index leads with the key, not the record."""
    spec, written = _written(run_id)
    if spec is None:
        return 0
    created, changed = set(), set()
    for record_id, change in written.filter(id__gte=first_id, id__lte=last_id).values_list(
        "id", "history_type"
    ):
        (created if change == "+" else changed).add(record_id)
    changed -= created
    with transaction.atomic():
        if changed:
            MatchKey.objects.filter(kind=spec.kind, record_id__in_array=list(changed)).delete()
        rows = list(
            spec.model.objects.filter(pk__in_array=list(created | changed)).values(*spec.fields)
        )
        matching.index_rows(spec, rows)
    # Indexed, the batch's records can be checked for duplicates (on the duplicates queue).
    send(
        "xref.tasks.check_duplicates_batch",
        KIND_BY_MODEL[spec.model],
        sorted(row["public_id"] for row in rows),
        queue=settings.HUB_DUPLICATES_QUEUE,
        unsent="the next full duplicate run checks them",
    )
    return len(rows)


def _written(run_id):
    """(The match spec of the run's kind, the history rows of what the run wrote), or (None,
    None) when the run is gone or its kind is not matched."""
    run = ImportRun.objects.filter(pk=run_id).first()
    spec = matching.SPEC_BY_MODEL.get(KINDS[run.kind].model) if run is not None else None
    if spec is None:
        return None, None
    history = get_history_manager_for_model(spec.model).model
    return spec, history.objects.filter(change_source=Source.IMPORT, change_reference=str(run.pk))
