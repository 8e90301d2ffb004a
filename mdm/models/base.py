"""The foundations of the master records: public ids, history, timestamps, secret keys, and
the validators the records share."""

import hashlib
from zoneinfo import available_timezones

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.history import HistoricalChangeSource
from mdm import identifiers

CODE_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._\-]*$",
    "Use letters, digits and . _ - only, starting with a letter or digit.",
)
SYSTEM_CODE_VALIDATOR = RegexValidator(
    r"^[A-Z][A-Z0-9_]*$", "Use upper-case letters, digits and underscores, starting with a letter."
)
WEEKDAY_MASK_VALIDATOR = RegexValidator(
    r"^[01]{7}$", "Seven characters of 1 (working) or 0 (not working), Monday first."
)


class History(HistoricalRecords):
    """Historical records whose copied fields are not indexed, but for the record's id.

    simple_history copies every index of the master table onto its history table (and a
    unique field becomes an index there). History is read by record (its id), by date and by
    change reference (an import run's rows); nobody looks up history by number or status, and
    each copied index would cost every write (a million-row import writes a million history
    rows) one more index update."""

    def copy_fields(self, model):
        fields = super().copy_fields(model)
        for name, copied in fields.items():
            if name != model._meta.pk.name:
                copied.db_index = False
        return fields


def history():
    """History for a master record: who, when, from where, before and after; revertable."""
    return History(bases=[HistoricalChangeSource], cascade_delete_history=False)


class IdSequence(models.Model):
    """The last number handed out for one public id prefix. Only ever grows, so ids are never
    reused, even after a record is deleted."""

    prefix = models.CharField(max_length=8, primary_key=True)
    last = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.prefix}: {self.last}"


def allocate_public_ids(prefix, count=1):
    """Reserve `count` consecutive public ids for `prefix` and return them."""
    with transaction.atomic():
        IdSequence.objects.get_or_create(prefix=prefix)
        # The UPDATE takes the row lock, so concurrent callers get disjoint ranges.
        IdSequence.objects.filter(prefix=prefix).update(last=F("last") + count)
        last = IdSequence.objects.values_list("last", flat=True).get(prefix=prefix)
    return [f"{prefix}-{number:06d}" for number in range(last - count + 1, last + 1)]


class PublicIdModel(models.Model):
    """A record known to the outside world by an immutable, URL-safe public id."""

    PUBLIC_ID_PREFIX = None

    public_id = models.CharField(
        max_length=20, unique=True, editable=False, help_text="Immutable id, never reused."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self._state.adding:
            if not self.public_id:
                self.public_id = allocate_public_ids(self.PUBLIC_ID_PREFIX)[0]
        else:
            stored = getattr(self, "_stored_public_id", None)
            if stored and stored != self.public_id:
                raise ValueError(f"Public id {stored} cannot be changed.")
        super().save(*args, **kwargs)
        self._stored_public_id = self.public_id

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_public_id = instance.__dict__.get("public_id")
        return instance


def merged_into_field():
    """The public id of the record a record was merged into (xref.merging): empty while it is
    a live record. A merged record is kept so its public id resolves forever."""
    return models.CharField(
        max_length=20,
        blank=True,
        editable=False,
        help_text="Public id of the record this one was merged into; empty for a live record.",
    )


def merged_index(name):
    """Partial index on merged_into: the few merged records, for "what was merged into X"
    and for following a merged id. Live records (nearly all) stay out of it, so it costs
    their writes nothing."""
    return models.Index(fields=["merged_into"], condition=~Q(merged_into=""), name=name)


# A chain of merges longer than this is taken for a cycle (A into B into A cannot be made by
# xref.merging, which refuses to merge into a merged record, but rows can be edited by hand).
MERGE_CHAIN_LIMIT = 100


def live_record(model, public_id):
    """The record `public_id` stands for now: the record itself while it is live, else the
    live record at the end of its merged_into chain (A into B, B into C: A stands for C).
    None when no record has the id; ValueError on a cycle or a chain that ends nowhere."""
    record = model.objects.filter(public_id=public_id).first()
    seen = set()
    while record is not None and record.merged_into:
        seen.add(record.public_id)
        if record.merged_into in seen or len(seen) > MERGE_CHAIN_LIMIT:
            raise ValueError(f"The merges of {public_id} make a cycle ({', '.join(sorted(seen))}).")
        following = model.objects.filter(public_id=record.merged_into).first()
        if following is None:
            raise ValueError(
                f"{record.public_id} was merged into {record.merged_into}, which does not exist."
            )
        record = following
    return record


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True


def related_or_none(obj, field):
    """The related object, or None when the key is unset or points at no row (clean() still
    runs after clean_fields() has reported the bad key)."""
    try:
        return getattr(obj, field)
    except ObjectDoesNotExist:
        return None


def validate_country(value):
    if not identifiers.is_country(value):
        raise ValidationError(f"{value!r} is not an ISO 3166-1 alpha-2 country code.")


def validate_timezone(value):
    if value not in _timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone (e.g. Europe/Berlin).")


def _timezones():
    global _TIMEZONES
    if _TIMEZONES is None:
        _TIMEZONES = frozenset(available_timezones())
    return _TIMEZONES


_TIMEZONES = None


class SecretKeyHolder(models.Model):
    """A holder of a random secret key (API clients, reconciliation keys): only the key's
    hash is stored, and when it was last used."""

    # How often last_used_at is written at most: a burst of calls costs one UPDATE a minute.
    TOUCH_SECONDS = 60

    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    @staticmethod
    def hash_key(key):
        # Keys are 256-bit random strings, so a fast hash is enough: nothing to brute-force.
        return hashlib.sha256(key.encode()).hexdigest()

    def touch(self):
        """Note a use of the key (at most every TOUCH_SECONDS)."""
        now = timezone.now()
        if self.last_used_at is None or (now - self.last_used_at).total_seconds() > (
            self.TOUCH_SECONDS
        ):
            type(self).objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now
