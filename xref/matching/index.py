"""Keeping the match index current: a record's keys swapped on save and removed on delete (signal
receivers connected in `XrefConfig.ready`, in the same transaction as the change), and the
index rebuilt, or completed after bulk inserts that send no signals."""

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save, pre_save

from xref.matching.counts import cache
from xref.matching.keys import KEY_LENGTH, KINDS, SPEC_BY_MODEL, SPECS, anchor_text, stored_text
from xref.models import MatchKey

# From this many keys on, PostgreSQL gets them by COPY (a batch of an import or a rebuild, some
# 18 keys an item); fewer (a save's record) go through the ORM, whose one INSERT costs less
# than a temporary table.
COPY_MIN_KEYS = 1000
COLUMNS = ("kind", "key", "record_id", "text")


def index_rows(spec, rows):
    """Add the keys of these records (dicts of spec.fields) to the match index; returns how
    many. Keys already there are left as they are: a concurrent save may have written them.
    A record merged into another has no keys: it is never a candidate."""
    keys = []
    for row in rows:
        if row.get("merged_into"):
            continue
        text = anchor_text(spec, row) if spec.anchors else ""
        record_id = row["id"]
        for key in spec.record_keys(row):
            keys.append((spec.kind, key[:KEY_LENGTH], record_id, stored_text(key, text)))
    if connection.vendor == "postgresql" and len(keys) >= COPY_MIN_KEYS:
        _copy_keys(keys)
    else:
        MatchKey.objects.bulk_create(
            [MatchKey(**dict(zip(COLUMNS, values, strict=True))) for values in keys],
            batch_size=2000,
            ignore_conflicts=True,
        )
    return len(keys)


def _copy_keys(keys):
    """COPY the key rows into a temporary table, then add them to the index skipping those it
    has (ON CONFLICT DO NOTHING, as bulk_create's ignore_conflicts): building a bulk INSERT's
    SQL and parameters cost more than running it, and COPY has no ON CONFLICT of its own. The
    table lives in a savepoint and is dropped at its end, so that a rebuild's batches, all in
    one transaction, each make their own."""
    quote = connection.ops.quote_name
    table = quote(MatchKey._meta.db_table)
    columns = ", ".join(quote(MatchKey._meta.get_field(name).column) for name in COLUMNS)
    staging = quote("match_keys_in")
    # The driver's own COPY: its errors become Django's (IntegrityError) as the ORM's do.
    with (
        transaction.atomic(),
        connection.wrap_database_errors,
        connection.cursor() as cursor,
    ):
        cursor.execute(f"CREATE TEMPORARY TABLE {staging} (LIKE {table})")
        with cursor.cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
            for values in keys:
                copy.write_row(values)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "
            "ON CONFLICT DO NOTHING"
        )
        cursor.execute(f"DROP TABLE {staging}")


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
        missing = spec.model.objects.exclude(pk__in=indexed).filter(merged_into="").order_by("pk")
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
