"""The fuzzy-match index (xref.matching) of the records an import run wrote in bulk, which
sends no save signals: brought up to date by a task after the apply commits. At a million
items the index has some twenty million keys."""

from django.db import transaction
from simple_history.utils import get_history_manager_for_model

from core.history import Source
from imports.kinds import KINDS
from imports.models import ImportRun
from xref import matching
from xref.models import MatchKey

BATCH = 5000


def refresh_match_index(run_id):
    """Index the records the run wrote; returns how many."""
    run = ImportRun.objects.filter(pk=run_id).first()
    if run is None:
        return 0
    model = KINDS[run.kind].model
    spec = matching.SPEC_BY_MODEL.get(model)
    if spec is None:
        return 0
    history = get_history_manager_for_model(model).model
    ids = (
        history.objects.filter(change_source=Source.IMPORT, change_reference=str(run.pk))
        .order_by("id")
        .values_list("id", flat=True)
        .distinct()
    )
    done = 0
    batch = []
    for record_id in ids.iterator(chunk_size=BATCH):
        batch.append(record_id)
        if len(batch) == BATCH:
            done += _reindex(spec, batch)
            batch = []
    if batch:
        done += _reindex(spec, batch)
    return done


def _reindex(spec, ids):
    with transaction.atomic():
        MatchKey.objects.filter(kind=spec.kind, record_id__in=ids).delete()
        rows = list(spec.model.objects.filter(pk__in=ids).values(*spec.fields))
        matching.index_rows(spec, rows)
    return len(rows)
