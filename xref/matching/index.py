"""Keeping the match index current: a record's keys swapped on save and removed on delete (signal
receivers connected in `XrefConfig.ready`, in the same transaction as the change), and the
index rebuilt, or completed after bulk inserts that send no signals."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save

from xref.matching.counts import cache
from xref.matching.keys import KEY_LENGTH, KINDS, SPEC_BY_MODEL, SPECS, anchor_text, stored_text
from xref.models import MatchKey


def index_rows(spec, rows):
    """(Re)write the keys of these records (dicts of spec.fields) in the match index."""
    keys = []
    for row in rows:
        text = anchor_text(spec, row) if spec.anchors else ""
        for key in spec.record_keys(row):
            keys.append(
                MatchKey(
                    kind=spec.kind,
                    key=key[:KEY_LENGTH],
                    record_id=row["id"],
                    text=stored_text(key, text),
                )
            )
    MatchKey.objects.bulk_create(keys, batch_size=2000, ignore_conflicts=True)
    return len(keys)


def unindex_rows(spec, rows):
    """Remove the keys these records had (computed from their stored values)."""
    for row in rows:
        keys = [key[:KEY_LENGTH] for key in spec.record_keys(row)]
        for start in range(0, len(keys), 500):
            MatchKey.objects.filter(
                kind=spec.kind, record_id=row["id"], key__in=keys[start : start + 500]
            ).delete()


def rebuild(kinds=KINDS, batch_size=5000, progress=None):
    """Empty and rebuild the index of these kinds from the master tables; returns {kind:
    (records, keys)}."""
    counts = {}
    for name in kinds:
        spec = SPECS[name]
        records = keys = 0
        with transaction.atomic():
            MatchKey.objects.filter(kind=spec.kind).delete()
            last = 0
            while True:
                rows = list(
                    spec.model.objects.filter(pk__gt=last)
                    .order_by("pk")
                    .values(*spec.fields)[:batch_size]
                )
                if not rows:
                    break
                keys += index_rows(spec, rows)
                records += len(rows)
                last = rows[-1]["id"]
                if progress:
                    progress(name, records, keys)
        counts[name] = (records, keys)
    cache.clear()
    return counts


def _stored_row(spec, instance):
    if instance.pk is None:
        return None
    return spec.model.objects.filter(pk=instance.pk).values(*spec.fields).first()


def _remember_stored(sender, instance, raw=False, **kwargs):
    """pre_save: note the stored values, whose keys the save replaces."""
    spec = SPEC_BY_MODEL[sender]
    instance._match_stored = None if raw else _stored_row(spec, instance)


def _reindex_saved(sender, instance, raw=False, **kwargs):
    """post_save: swap the record's old keys for its new ones, in the save's transaction."""
    if raw:
        return
    spec = SPEC_BY_MODEL[sender]
    stored = getattr(instance, "_match_stored", None)
    row = {name: getattr(instance, name) for name in spec.fields}
    if stored == row:
        return
    if stored:
        unindex_rows(spec, [stored])
    index_rows(spec, [row])


def _unindex_deleted(sender, instance, **kwargs):
    spec = SPEC_BY_MODEL[sender]
    unindex_rows(spec, [{name: getattr(instance, name) for name in spec.fields}])


def connect_signals():
    """Keep the index current on every save and delete (called from XrefConfig.ready)."""
    for model in SPEC_BY_MODEL:
        label = model._meta.label_lower
        pre_save.connect(_remember_stored, sender=model, dispatch_uid=f"match.pre.{label}")
        post_save.connect(_reindex_saved, sender=model, dispatch_uid=f"match.post.{label}")
        post_delete.connect(_unindex_deleted, sender=model, dispatch_uid=f"match.del.{label}")


def index_unindexed(kinds=KINDS, batch_size=5000):
    """Index the records of these kinds that have no keys yet (added by a bulk insert, which
    sends no signals); returns how many. Records already indexed are left alone: their saves
    kept them current."""
    added = 0
    for name in kinds:
        spec = SPECS[name]
        indexed = MatchKey.objects.filter(kind=spec.kind).values("record_id")
        missing = spec.model.objects.exclude(pk__in=indexed).order_by("pk")
        last = 0
        while True:
            rows = list(missing.filter(pk__gt=last).values(*spec.fields)[:batch_size])
            if not rows:
                break
            index_rows(spec, rows)
            added += len(rows)
            last = rows[-1]["id"]
    if added:
        cache.clear()
    return added
