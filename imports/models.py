"""Import runs: one CSV file planned, applied, perhaps reverted."""

from django.conf import settings
from django.db import models

from imports.kinds import KINDS

KIND_CHOICES = [(kind.name, kind.label) for kind in KINDS.values()]


class ImportRun(models.Model):
    """One CSV file a steward imported: its plan (counts and every row error), whether and
    how it was applied, and whether it was reverted. History rows written by the run carry
    its id as their change reference."""

    class Mode(models.TextChoices):
        PLAN = "plan", "Plan only (dry run)"
        APPLY = "apply", "Apply"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PLANNED = "planned", "Planned"
        APPLIED = "applied", "Applied"
        FAILED = "failed", "Failed (nothing written)"
        REFUSED = "refused", "Refused: data changed since the plan"
        REVERTED = "reverted", "Reverted"
        # Its apply changes records a policy governs: one change request holds the whole
        # run until another person approves it (imports.approval).
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"

    kind = models.CharField(max_length=32, choices=KIND_CHOICES)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.PLAN)
    skip_errors = models.BooleanField(
        default=False, help_text="Apply the valid rows and return the others as an error file."
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    file_name = models.CharField(max_length=255)
    file_size = models.PositiveBigIntegerField(default=0)
    # {"rows", "create", "update", "unchanged", "error"}: planned, then what was applied.
    counts = models.JSONField(default=dict, blank=True)
    plan_counts = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True, help_text="Why the file as a whole was refused.")
    errors = models.JSONField(default=list, blank=True, help_text="The first row errors.")
    errors_truncated = models.BooleanField(default=False)
    failed_rows = models.FileField(upload_to="imports/failed/%Y/%m/", blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent of the file read.")
    plan_fingerprint = models.CharField(max_length=64, blank=True)
    # What the plan creates or changes, for the approval policies (imports.approval):
    # [[system code, field name], ...], field "" for new records, system "" for kinds that
    # belong to no system.
    plan_scope = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Last sign of life of the worker running it (each chunk); the sweep ends a run whose
    # worker stopped (imports.runs.sweep_interrupted_runs).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When the run's plan or apply was last handed to the broker. A run still queued long
    # after it was (the broker was down, the message was lost) is enqueued again by the sweep
    # (imports.runs.enqueue_waiting_runs), which claims it by this value.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    # Who asked for the apply: its history rows name them, also when the sweep enqueues it.
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    apply_reason = models.TextField(
        blank=True,
        help_text="Why the apply was asked for: the reason of its change request when a policy "
        "says it needs approval.",
    )
    # The request holding its apply while it awaits approval; kept once decided, so the run
    # says how it ended (approved, rejected, withdrawn).
    change_request = models.ForeignKey(
        "changes.ChangeRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reverted_at = models.DateTimeField(null=True, blank=True)
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Import #{self.pk} {self.kind} {self.file_name} ({self.status})"

    @property
    def is_busy(self):
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def can_apply(self):
        if self.status != self.Status.PLANNED or not self.file:
            return False
        return not self.plan_counts.get("error") or self.skip_errors

    @property
    def is_applying(self):
        """Queued for its apply, or applying: a planned run whose apply was asked for."""
        return self.is_busy and bool(self.plan_fingerprint)

    @property
    def awaits_approval(self):
        return self.status == self.Status.AWAITING_APPROVAL

    @property
    def can_revert(self):
        return self.status == self.Status.APPLIED

    def error_lines(self):
        return [format_error(error) for error in self.errors]


class ImportChunk(models.Model):
    """A slice of the rows of a run's file, judged for the run's plan by any worker; once
    every chunk is judged, one task settles them in file order (imports.planning). The plan
    keeps them: their verdicts hold each valid row's values, which the apply writes without
    judging the rows again (imports.applying). They go with the apply, or a new plan."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        SETTLING = "settling", "Settling"
        KEPT = "kept", "Kept for the apply"

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField(help_text="Position among the run's chunks.")
    offset = models.PositiveBigIntegerField(help_text="Byte of the file where its rows start.")
    number = models.PositiveIntegerField(help_text="Line of the file of its first row.")
    rows = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # What the chunk's task found of each row, and the values of a row to write, as JSON
    # (imports.planning).
    verdicts = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="import_chunk_unique_index")
        ]

    def __str__(self):
        return f"Import #{self.run_id} chunk {self.index} ({self.status})"


def format_error(error):
    """{"row": 17, "column": "gtin", "message": "..."} as "Row 17, gtin: ..."."""
    place = f"Row {error['row']}" if error.get("row") else "File"
    if error.get("column"):
        place += f", {error['column']}"
    return f"{place}: {error['message']}"


class ImportRow(models.Model):
    """What a run's plan found of one row of its file: create, update, unchanged or error,
    the fields it changes (column, value now, value in the file) and every error of the row.
    Written once the plan is done, a row of this table per row of the file; an unchanged row
    keeps only its key, so a 100,000-row file costs a few megabytes."""

    class Action(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        UNCHANGED = "unchanged", "Unchanged"
        ERROR = "error", "Error"

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField(help_text="Line of the file (the header is line 1).")
    action = models.CharField(max_length=10, choices=Action.choices)
    key = models.CharField(max_length=255, blank=True, help_text="The row's natural key.")
    record_id = models.BigIntegerField(
        null=True, blank=True, help_text="The stored record the row updates (or leaves as is)."
    )
    # [[column, value now or null for a new record, value in the file], ...]
    changes = models.JSONField(default=list, blank=True)
    # [[column or "", message], ...]
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="import_row_unique_number")
        ]
        indexes = [models.Index(fields=["run", "action", "number"], name="import_row_action")]

    def __str__(self):
        return f"Import #{self.run_id} row {self.number} ({self.action})"
