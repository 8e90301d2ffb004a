"""Cross-references: which code each source system uses for each canonical record."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from mdm.models import (
    CodeValue,
    Item,
    ItemRevision,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
    Unit,
    history,
)

# Other systems' codes are theirs to choose: anything printable without surrounding spaces.
EXTERNAL_CODE_VALIDATOR = RegexValidator(
    r"^\S(.*\S)?$", "A code has no leading or trailing spaces and no line breaks."
)


class Kind(models.TextChoices):
    ITEM = "item", "Item"
    ITEM_REVISION = "item_revision", "Item revision"
    SUPPLIER = "supplier", "Supplier"
    SUPPLIER_SITE = "supplier_site", "Supplier site"
    LOCATION = "location", "Location"
    UNIT = "unit", "Unit"
    CODE_VALUE = "code_value", "Code value"


# The canonical model of each kind and the foreign key field that points at it.
TARGETS = {
    Kind.ITEM: ("item", Item),
    Kind.ITEM_REVISION: ("item_revision", ItemRevision),
    Kind.SUPPLIER: ("supplier", Supplier),
    Kind.SUPPLIER_SITE: ("supplier_site", SupplierSite),
    Kind.LOCATION: ("location", Location),
    Kind.UNIT: ("unit", Unit),
    Kind.CODE_VALUE: ("code_value", CodeValue),
}
TARGET_FIELDS = [field for field, _ in TARGETS.values()]
# select_related() paths that read every kind of target with what its name needs.
TARGET_PATHS = (
    "item",
    "item_revision__item",
    "supplier",
    "supplier_site__supplier",
    "location",
    "unit",
    "code_value__code_list",
)


def _exactly_one_target():
    """Check constraint: the foreign key of the reference's kind is set, every other is null."""
    condition = Q()
    for kind, (field, _) in TARGETS.items():
        others = {f"{other}__isnull": True for other in TARGET_FIELDS if other != field}
        condition |= Q(kind=kind, **{f"{field}__isnull": False}, **others)
    return condition


class CrossReference(models.Model):
    """A code a source system uses for a canonical record: in system S, within scope C,
    external code X of kind K means record R, from F until T."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    class Origin(models.TextChoices):
        MANUAL = "manual", "Manual"
        IMPORT = "import", "Import"
        API = "api", "API"
        MATCH_CONFIRMED = "match_confirmed", "Confirmed match"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    system = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="xrefs")
    scope = models.CharField(
        max_length=40,
        blank=True,
        help_text="Optional: the plant or company code the code is unique within.",
    )
    code = models.CharField(max_length=100, validators=[EXTERNAL_CODE_VALIDATOR])
    # One foreign key per kind (not a generic relation), so the database itself guarantees a
    # reference never points at a record that does not exist.
    item = models.ForeignKey(
        Item, on_delete=models.PROTECT, null=True, blank=True, related_name="xrefs"
    )
    item_revision = models.ForeignKey(
        ItemRevision, on_delete=models.PROTECT, null=True, blank=True, related_name="xrefs"
    )
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, null=True, blank=True, related_name="xrefs"
    )
    supplier_site = models.ForeignKey(
        SupplierSite, on_delete=models.PROTECT, null=True, blank=True, related_name="xrefs"
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="xrefs"
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="xrefs"
    )
    code_value = models.ForeignKey(
        CodeValue, on_delete=models.PROTECT, null=True, blank=True, related_name="xrefs"
    )
    valid_from = models.DateField(
        null=True, blank=True, help_text="First day the code means this record (blank: always)."
    )
    valid_to = models.DateField(
        null=True,
        blank=True,
        help_text="First day the code no longer means this record (blank: open-ended).",
    )
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    is_preferred = models.BooleanField(
        "preferred",
        default=False,
        help_text="The code to use when translating to this system.",
    )
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.MANUAL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    history = history()

    class Meta:
        ordering = ["system", "kind", "scope", "code", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=_exactly_one_target(),
                name="xref_target_matches_kind",
                violation_error_message="A reference points at exactly one record of its kind.",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gt=models.F("valid_from")),
                name="xref_dates_ordered",
                violation_error_message="A reference must end after it starts.",
            ),
        ]
        indexes = [
            # The hot path: resolve (system, kind, code[, scope]).
            models.Index(fields=["system", "kind", "code", "scope"], name="xref_resolve_idx"),
        ]

    def __str__(self):
        scope = f"[{self.scope}]" if self.scope else ""
        return f"{self.system_id and self.system.code}{scope} {self.kind} {self.code}"

    @property
    def target(self):
        field, _ = TARGETS[Kind(self.kind)]
        return getattr(self, field)

    @property
    def target_id(self):
        field, _ = TARGETS[Kind(self.kind)]
        return getattr(self, f"{field}_id")

    def is_valid_on(self, day):
        return (
            self.status == self.Status.ACTIVE
            and (self.valid_from is None or self.valid_from <= day)
            and (self.valid_to is None or day < self.valid_to)
        )

    def clean(self):
        errors = {}
        if self.kind in TARGETS:
            field, _ = TARGETS[Kind(self.kind)]
            if getattr(self, f"{field}_id") is None:
                errors[field] = f"A {Kind(self.kind).label.lower()} reference names its record."
            for other in TARGET_FIELDS:
                if other != field and getattr(self, f"{other}_id") is not None:
                    errors[other] = (
                        f"A {Kind(self.kind).label.lower()} reference cannot name a {other}."
                    )
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            errors["valid_to"] = "A reference must end after it starts."
        if errors:
            raise ValidationError(errors)
        if self.status == self.Status.ACTIVE and self.system_id and self.code:
            clash = overlapping_claim(self)
            if clash:
                raise ValidationError(
                    f"{clash.system.code} {clash.kind} code {clash.code!r}"
                    + (f" in scope {clash.scope}" if clash.scope else "")
                    + f" already means {describe_target(clash)} "
                    f"({_period(clash.valid_from, clash.valid_to)}, reference #{clash.pk}); "
                    "end that reference first or choose other dates."
                )
            if self.is_preferred:
                clash = overlapping_preference(self)
                if clash:
                    raise ValidationError(
                        {
                            "is_preferred": f"Reference #{clash.pk} ({clash.code!r}) is already "
                            f"the preferred {clash.system.code} code for this record over "
                            "overlapping dates."
                        }
                    )


def valid_on(day):
    """The condition of a cross-reference in force on `day`: active, begun and not ended (the
    query form of CrossReference.is_valid_on)."""
    return (
        Q(status=CrossReference.Status.ACTIVE)
        & (Q(valid_from__isnull=True) | Q(valid_from__lte=day))
        & (Q(valid_to__isnull=True) | Q(valid_to__gt=day))
    )


def _period(start, end):
    return f"{start or 'always'} to {end or 'open'}"


def _overlap(queryset, reference):
    condition = Q()
    if reference.valid_to is not None:
        condition &= Q(valid_from__isnull=True) | Q(valid_from__lt=reference.valid_to)
    if reference.valid_from is not None:
        condition &= Q(valid_to__isnull=True) | Q(valid_to__gt=reference.valid_from)
    return queryset.filter(condition).exclude(pk=reference.pk).select_related("system").first()


def overlapping_claim(reference):
    """An active reference that claims the same (system, kind, scope, code) on a shared day."""
    same_key = CrossReference.objects.filter(
        system_id=reference.system_id,
        kind=reference.kind,
        scope=reference.scope,
        code=reference.code,
        status=CrossReference.Status.ACTIVE,
    )
    return _overlap(same_key, reference)


def overlapping_preference(reference):
    """Another active preferred reference of the same record, system and scope on a shared day."""
    field, _ = TARGETS[Kind(reference.kind)]
    same_target = CrossReference.objects.filter(
        system_id=reference.system_id,
        kind=reference.kind,
        scope=reference.scope,
        is_preferred=True,
        status=CrossReference.Status.ACTIVE,
        **{f"{field}_id": reference.target_id},
    )
    return _overlap(same_target, reference)


def describe_target(reference):
    target = reference.target
    public_id = getattr(target, "public_id", None) or target.pk
    return f"{public_id} ({target})"


class MatchKey(models.Model):
    """One search key of a master record in the match index: a word or trigram of its name,
    a model number or a prefix of one, or a normalised identifier (GTIN, DUNS, LEI, VAT,
    GLN). Derived from the master tables by xref.matching; rebuilt by `manage.py
    rebuild_match_index`."""

    class Kind(models.IntegerChoices):
        ITEM = 1, "Item"
        SUPPLIER = 2, "Supplier"
        LOCATION = 3, "Location"

    # The primary key's index is the only one: it serves counting a key's records, summing
    # weighted keys per record and reading every record of a word, all by (kind, key).
    pk = models.CompositePrimaryKey("kind", "key", "record_id")
    kind = models.PositiveSmallIntegerField(choices=Kind.choices)
    key = models.CharField(max_length=80)
    record_id = models.BigIntegerField(help_text="Primary key of the item, supplier or location.")
    text = models.CharField(
        max_length=250,
        blank=True,
        help_text="On word keys of suppliers and locations: the record's normalised name.",
    )

    class Meta:
        verbose_name = "match index key"

    def __str__(self):
        return f"{self.get_kind_display()} {self.record_id}: {self.key}"


class MatchLabel(models.Model):
    """A person's decision on a match candidate: the record is (or is not) what the query
    meant. Kept as a labelled pair the matcher's weights are estimated from
    (`xref.matching.calibration`); a later decision on the same query and record replaces
    the earlier one."""

    class Source(models.TextChoices):
        QUARANTINE = "quarantine", "Quarantine fix"
        RECONCILIATION = "reconciliation", "Reconciliation"
        DUPLICATES = "duplicates", "Duplicate review"
        API = "api", "API"
        IMPORT = "import", "CSV import"

    kind = models.CharField(
        max_length=10, choices=[(k, k.title()) for k in ("item", "supplier", "location")]
    )
    query = models.JSONField(
        help_text='What was asked: {"q": free text, and identifiers such as "mpn", "duns"}.'
    )
    query_key = models.CharField(max_length=64, editable=False, help_text="Digest of the query.")
    record = models.CharField(max_length=40, help_text="Public id of the candidate record.")
    is_match = models.BooleanField(help_text="Whether the record is what the query meant.")
    source = models.CharField(max_length=20, choices=Source.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "query_key", "record"], name="one_label_per_query_and_record"
            )
        ]
        ordering = ["-decided_at", "-id"]
        verbose_name = "labelled match pair"

    def __str__(self):
        verdict = "is" if self.is_match else "is not"
        return f"{self.record} {verdict} {self.query.get('q') or self.query}"


class MatchWeights(models.Model):
    """The matcher's weights for one kind, as estimated (the latest row of a kind is used):
    per comparison and level, how often true matches and non-matches show it."""

    kind = models.CharField(max_length=10)
    weights = models.JSONField()
    estimated_at = models.DateTimeField(auto_now_add=True)
    labelled_pairs = models.PositiveIntegerField(default=0)
    unlabelled_pairs = models.PositiveIntegerField(default=0)
    summary = models.TextField(blank=True, help_text="How the estimate went, in words.")

    class Meta:
        indexes = [models.Index(fields=["kind", "-estimated_at"], name="xref_weights_latest")]
        ordering = ["-estimated_at", "-id"]
        verbose_name_plural = "match weights"

    def __str__(self):
        return f"{self.kind} weights of {self.estimated_at:%Y-%m-%d %H:%M}"


# The kinds of record duplicates are looked for among (xref.duplicates) and merged
# (xref.merging).
DUPLICATE_KINDS = [
    ("item", "Item"),
    ("supplier", "Supplier"),
    ("location", "Location"),
    ("supplier_site", "Supplier site"),
]


class DuplicatePair(models.Model):
    """Two master records of one kind that may be one record twice: found by the duplicate
    check (`xref.duplicates`), scored, and decided on by a steward."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SAME = "same", "The same"
        NOT_SAME = "not_same", "Not the same"
        LATER = "later", "Later"

    kind = models.CharField(max_length=16, choices=DUPLICATE_KINDS)
    # Public ids, stored in order (record_a < record_b), so a pair has one row however it
    # was found.
    record_a = models.CharField(max_length=20)
    record_b = models.CharField(max_length=20)
    score = models.FloatField(help_text="Probability (0-100) that the two are one record.")
    levels = models.JSONField(default=dict, help_text="Comparison levels, by comparison.")
    evidence = models.JSONField(default=dict, help_text="What agreed, by field (0-100).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    identity = models.CharField(
        max_length=64,
        blank=True,
        help_text="Digest of both records' identifiers when the pair was decided.",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    found_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The last check that found the pair (set without a history row): a full run counts the
    # pairs it found by it.
    checked_at = models.DateTimeField(null=True, blank=True)

    history = history()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "record_a", "record_b"], name="one_duplicate_pair_per_records"
            )
        ]
        indexes = [
            # The review queue: a kind's open pairs, best first.
            models.Index(fields=["kind", "status", "-score"], name="xref_duplicate_queue"),
            # A record's pairs by its second place (its first is the unique constraint's).
            models.Index(fields=["kind", "record_b"], name="xref_duplicate_second"),
        ]
        ordering = ["kind", "-score", "record_a", "record_b"]

    def __str__(self):
        return f"{self.record_a} ~ {self.record_b} ({self.score:.0f}%, {self.status})"

    def other(self, public_id):
        """The pair's other record."""
        return self.record_b if public_id == self.record_a else self.record_a


class DuplicateRun(models.Model):
    """A full duplicate run over one kind: its records checked in chunks, one Celery task
    each, settled by a final task."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=16)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    # The chunks not done yet (their indexes): a chunk task delivered twice counts once.
    pending = models.JSONField(default=list)
    pairs_found = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"{self.kind} duplicate run of {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class Merge(models.Model):
    """One master record merged into another by a steward (`xref.merging`): the survivor kept
    its public id, the loser's resolves to it. Keeps both records as they were and every row
    that moved, so the merge can be undone exactly."""

    kind = models.CharField(max_length=16, choices=DUPLICATE_KINDS)
    survivor = models.CharField(max_length=20, help_text="Public id of the record that stayed.")
    loser = models.CharField(
        max_length=20, help_text="Public id of the record merged into the survivor."
    )
    before = models.JSONField(
        encoder=DjangoJSONEncoder,
        help_text="Both records' field values before the merge ({survivor, loser}), and the "
        "codes of rows renamed to fit beside the survivor's.",
    )
    moved = models.JSONField(
        default=dict,
        help_text="What moved from the loser to the survivor: {label: [row ids]}; labels "
        'starting "kept." name rows left with the loser.',
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    merged_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    undo_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            # Two merges of one loser at once: the database lets one stand.
            models.UniqueConstraint(
                fields=["kind", "loser"],
                condition=Q(undone_at__isnull=True),
                name="one_merge_per_loser",
                violation_error_message="This record is already merged into another.",
            )
        ]
        indexes = [
            # A record's merges: what was merged into it (and, by the constraint's index,
            # what it was merged into).
            models.Index(fields=["kind", "survivor"], name="xref_merge_survivor"),
        ]
        ordering = ["-merged_at", "-id"]

    def __str__(self):
        undone = " (undone)" if self.undone_at else ""
        return f"{self.loser} merged into {self.survivor}{undone}"
