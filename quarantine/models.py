"""Quarantine cases: messages held back by validation, routed to the team that owns the fix.

A case is opened by quarantine.receivers when validation announces a quarantined message, in
the transaction that writes the outcome; it keeps a copy of the diagnostics as they were
then (a replay writes new ones on the message) and a log of every change of status.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from validation.models import InboundMessage, MessageType, Rule, Team


def error_rule_codes(diagnostics):
    return sorted({d.get("rule", "") for d in diagnostics if d.get("severity") == "error"})


class QuarantineCase(models.Model):
    """A quarantined message waiting for a person: the diagnostics that hold it, the team
    that owns the fix, who is on it, and how it ended."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_REVIEW = "in_review", "In review"
        RESOLVED_BY_REPLAY = "resolved_by_replay", "Resolved"
        RELEASED_BY_OVERRIDE = "released_by_override", "Released by override"
        REJECTED = "rejected", "Rejected"

    class Resolution(models.TextChoices):
        """How a closed case ended: the status says whether the message went out, this says
        what a person (or the hub) did to get there."""

        FIX = "fix", "Fixed by cross-reference"
        CONVERSION = "conversion", "Fixed by adding a unit conversion"
        EDIT = "edit", "Payload edited and revalidated"
        REPLAY = "replay", "Resolved by replay"
        AUTO_REPLAY = "auto_replay", "Resolved by auto-replay"
        OVERRIDE = "override", "Released by override"
        REJECT = "reject", "Rejected"

    OPEN_STATUSES = (Status.OPEN, Status.IN_REVIEW)

    # For a forecast sent in parts, the case hangs on part 1 and covers every part.
    message = models.OneToOneField(
        InboundMessage, on_delete=models.PROTECT, related_name="quarantine_case"
    )
    diagnostics = models.JSONField(
        default=list, help_text="The diagnostics that quarantined the message, as they were."
    )
    team = models.CharField(
        max_length=20,
        choices=Team.choices,
        help_text="Owns the fix: the team of the first error diagnostic.",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="quarantine_cases",
    )
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(
        max_length=20,
        choices=Resolution.choices,
        blank=True,
        help_text="How the case ended; empty while it is open.",
    )
    # Facets the review screens filter and the dashboard groups by. Plant, supplier and item
    # are the sender's codes, as the message gives them (an unresolved code has no other).
    rules = models.ManyToManyField(
        Rule,
        blank=True,
        related_name="quarantine_cases",
        help_text="The rules with error findings (what holds the message).",
    )
    plant = models.CharField(
        max_length=100, blank=True, help_text="The receiving or planning location."
    )
    supplier = models.CharField(max_length=100, blank=True)
    item = models.CharField(
        max_length=100, blank=True, help_text="The item of the first error diagnostic's line."
    )
    message_type = models.CharField(max_length=30, choices=MessageType.choices)
    system = models.ForeignKey(
        "mdm.SourceSystem", on_delete=models.PROTECT, related_name="quarantine_cases"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Text search (the queue's "q"): message id, document numbers, facets and diagnostic
    # sentences, lower-cased, written when the case opens or its diagnostics change.
    search_text = models.TextField(blank=True, editable=False)
    replay_pending = models.BooleanField(
        default=False,
        help_text="A replay was started and its outcome has not come back yet.",
    )
    replay_kind = models.CharField(
        max_length=20,
        choices=Resolution.choices,
        blank=True,
        help_text="What started the last replay (fix, edit, replay, auto-replay): the "
        "resolution if it releases the message.",
    )
    overdue_at = models.DateTimeField(
        null=True, blank=True, help_text="When the SLA task found the case past its team's SLA."
    )
    sla_notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the team was emailed about it (once per case)."
    )

    class Meta:
        ordering = ["opened_at", "id"]
        # Not given to stewards by default: the "override" group holds it (core.roles).
        permissions = [("release_by_override", "Can release a message by override")]
        indexes = [
            # A team's queue: its open cases, oldest first (and the aging dashboard).
            models.Index(fields=["team", "status", "opened_at"], name="case_team_queue"),
            # All open cases by age, across teams; on PostgreSQL it covers the columns the
            # queue's facet counts and the dashboard group by, so those read the index alone.
            models.Index(
                fields=["status", "opened_at"],
                include=["id", "team", "plant", "supplier", "system", "message_type"],
                name="case_status_opened",
            ),
            # The queue's pages (open cases, oldest first, often with a rule filter checked
            # case by case against the rule links): walked in order, stopped after a page.
            models.Index(
                fields=["opened_at", "id"],
                condition=models.Q(status__in=["open", "in_review"]),
                name="case_open_by_age",
            ),
        ]

    def __str__(self):
        return f"Case {self.pk} for {self.message.public_id} ({self.outcome})"

    @property
    def is_open(self):
        return self.status in self.OPEN_STATUSES

    @property
    def outcome(self):
        """The case's state in words: how it ended once closed, else its status."""
        if not self.is_open and self.resolution:
            return self.get_resolution_display()
        return self.get_status_display()

    @property
    def rule_codes(self):
        """Codes of the rules with error findings, sorted (from the diagnostics, so codes
        without a Rule row are there too)."""
        return error_rule_codes(self.diagnostics)


class CaseTransition(models.Model):
    """One change of a case's status: who, when, from, to and why."""

    case = models.ForeignKey(QuarantineCase, on_delete=models.CASCADE, related_name="transitions")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when the hub itself made the change (validation, auto-replay).",
    )
    at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(
        max_length=30,
        choices=QuarantineCase.Status.choices,
        blank=True,
        help_text="Empty for the opening of the case.",
    )
    to_status = models.CharField(max_length=30, choices=QuarantineCase.Status.choices)
    resolution = models.CharField(
        max_length=20,
        choices=QuarantineCase.Resolution.choices,
        blank=True,
        help_text="On the transition that closes the case: how it ended.",
    )
    reason = models.TextField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.from_status or 'new'} -> {self.to_status}"


class CaseKey(models.Model):
    """A code an open case is blocked on, as the sender wrote it: (system, kind, code).

    Written when the case opens (and again when a replay quarantines it with other
    diagnostics); auto-replay looks up the cases waiting for a changed cross-reference or
    master record here instead of reading every case's diagnostics."""

    case = models.ForeignKey(QuarantineCase, on_delete=models.CASCADE, related_name="keys")
    system = models.ForeignKey("mdm.SourceSystem", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16)
    code = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "system", "kind", "code"], name="casekey_unique"
            ),
        ]
        indexes = [
            # Auto-replay: the cases blocked on one (system, kind, code).
            models.Index(fields=["system", "kind", "code"], name="casekey_lookup"),
        ]

    def __str__(self):
        return f"{self.kind} {self.code}"


class TeamSettings(models.Model):
    """A team's quarantine service level: how long a case may stay open, and where the
    overdue notice goes."""

    team = models.CharField(max_length=20, choices=Team.choices, unique=True)
    sla_hours = models.PositiveIntegerField(
        default=24, help_text="Hours a case may stay open before it counts as overdue."
    )
    notify_email = models.EmailField(
        blank=True, help_text="Where overdue notices go; empty sends none."
    )

    class Meta:
        ordering = ["team"]
        verbose_name = "team settings"
        verbose_name_plural = "team settings"

    def __str__(self):
        return f"{self.get_team_display()}: {self.sla_hours} h"


class BulkRun(models.Model):
    """A bulk action on many cases (assign, replay, reject) run in the background, with
    its progress for the screen to poll and each case's outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    action = models.CharField(max_length=20)
    params = models.JSONField(default=dict, blank=True)
    case_ids = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0, help_text="Cases handled, failed included.")
    failed = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list, blank=True, help_text="Per case: {case, ok, detail}.")
    created_at = models.DateTimeField(default=timezone.now)
    # When its task was last sent. A run still pending long after (the broker was down, the
    # task lost) is sent again by the sweep (quarantine.services.enqueue_waiting_bulk_runs),
    # which claims it by this value.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.action} of {self.total} case(s) ({self.status})"


class SupplyExceptionNote(models.Model):
    """One step a planner or steward took on a supply exception (validation.SupplyException):
    acknowledged it (seen, being handled) or closed it, with a note; who and when. The
    exception's history, and where its "acknowledged" state comes from."""

    class Action(models.TextChoices):
        ACKNOWLEDGE = "acknowledge", "Acknowledged"
        CLOSE = "close", "Closed"

    exception = models.ForeignKey(
        "validation.SupplyException", on_delete=models.CASCADE, related_name="notes"
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    note = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            # The screen's state filter: whether an exception has been acknowledged.
            models.Index(fields=["exception", "action"], name="supply_note_by_exception"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} {self.at:%Y-%m-%d %H:%M}"
