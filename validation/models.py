"""Inbound transactions and the rules they are validated against.

A message moves received -> validating -> released | quarantined, or ends rejected (it broke
its contract) or dead_letter (it failed technically after its retries). Only
validation.services changes a message's status, always with a conditional UPDATE, so two
workers never both act on one message.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from mdm.models import PublicIdModel, SourceSystem, TimestampedModel, history

RULE_CODE_VALIDATOR = RegexValidator(
    r"^[A-Z][A-Z0-9_]*$", "Use upper-case letters, digits and underscores, starting with a letter."
)


class Team(models.TextChoices):
    """The teams that own the fix for a diagnostic, and so the quarantine queues."""

    PLANNING = "planning", "Planning"
    PROCUREMENT = "procurement", "Procurement"
    ERP = "erp", "ERP"
    INTEGRATION = "integration", "Integration"


class MessageType(models.TextChoices):
    FORECAST = "forecast", "Forecast"
    PURCHASE_ORDER = "purchase_order", "Purchase order"
    PO_ACKNOWLEDGEMENT = "po_acknowledgement", "Purchase order acknowledgement"
    SHIP_NOTICE = "ship_notice", "Ship notice"
    RECEIPT = "receipt", "Goods receipt"
    INVENTORY_BALANCE = "inventory_balance", "Inventory balance"


class InboundMessage(PublicIdModel):
    """A transaction a source system sent to the hub (a forecast, a purchase order, an
    acknowledgement...), with its validation status and outcome."""

    PUBLIC_ID_PREFIX = "MSG"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        VALIDATING = "validating", "Validating"
        RELEASED = "released", "Released"
        QUARANTINED = "quarantined", "Quarantined"
        REJECTED = "rejected", "Rejected (contract)"
        DEAD_LETTER = "dead_letter", "Dead letter"

    FINAL_STATUSES = (
        Status.RELEASED,
        Status.QUARANTINED,
        Status.REJECTED,
        Status.DEAD_LETTER,
    )

    message_type = models.CharField(max_length=30, choices=MessageType.choices)
    schema_version = models.PositiveSmallIntegerField()
    system = models.ForeignKey(
        SourceSystem, on_delete=models.PROTECT, related_name="inbound_messages"
    )
    idempotency_key = models.CharField(
        max_length=200, help_text="The sender's Idempotency-Key; unique per system."
    )
    payload_sha256 = models.CharField(
        max_length=64, help_text="SHA-256 of the payload's canonical JSON (keys sorted)."
    )
    payload = models.JSONField()
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    diagnostics = models.JSONField(
        default=list,
        blank=True,
        help_text="Contract errors (rejected) or rule diagnostics (released with warnings, "
        "quarantined): rule, severity, team, path, value, message, suggestion.",
    )
    released_payload = models.JSONField(null=True, blank=True)
    business_date = models.DateField(
        null=True, blank=True, help_text="The contract's business date; null when rejected."
    )
    received_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time validation was queued (the sweep's clock)."
    )
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the current validation attempt claimed it."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(
        default=0, help_text="Validation attempts: each claim counts one."
    )
    last_error = models.TextField(
        blank=True, help_text="The last technical error; the reason for a dead letter."
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A forecast too large for one request comes in parts: same plan and version, part n of
    # m. The parts share a group key and are validated together once all m are in.
    group_key = models.CharField(
        max_length=150, null=True, blank=True, help_text="Parts of one release share it."
    )
    part_number = models.PositiveIntegerField(null=True, blank=True)
    part_count = models.PositiveIntegerField(null=True, blank=True)
    line_count = models.PositiveIntegerField(
        null=True, blank=True, help_text="Lines in the payload, counted when it was stored."
    )
    # A message (or release) larger than one chunk is validated as chunks by several workers:
    # the leader counts how many there are and how many are done, so that the chunk that
    # finishes last (and only it) writes the outcome.
    chunks_total = models.PositiveIntegerField(null=True, blank=True)
    chunks_done = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # Decides idempotency: of two racing submissions with one key, one insert fails.
            models.UniqueConstraint(
                fields=["system", "idempotency_key"], name="message_unique_idempotency_key"
            ),
            # One message per part of a release; also finds a part's siblings.
            models.UniqueConstraint(
                fields=["system", "group_key", "part_number"], name="message_unique_part"
            ),
            models.CheckConstraint(
                condition=(
                    Q(group_key__isnull=True, part_number__isnull=True, part_count__isnull=True)
                    | Q(
                        group_key__isnull=False,
                        part_number__gte=1,
                        part_count__gte=models.F("part_number"),
                    )
                ),
                name="message_part_within_count",
            ),
        ]
        indexes = [
            # The sweep: received messages whose last enqueue is older than the timeout.
            models.Index(fields=["status", "enqueued_at"], name="message_status_enqueued"),
            # The sweep: validating messages whose claim is older than the claim timeout.
            models.Index(fields=["status", "claimed_at"], name="message_status_claimed"),
            # An integration client listing its own system's messages, newest first.
            models.Index(fields=["system", "-received_at"], name="message_system_received"),
            # Stewards listing every message, newest first, or received between two times.
            models.Index(fields=["-received_at"], name="message_received"),
        ]

    def __str__(self):
        return f"{self.public_id} ({self.message_type})"

    @property
    def is_final(self):
        return self.status in self.FINAL_STATUSES


class Rule(TimestampedModel):
    """A business rule the validation pipeline runs over messages: its stable code, whether a
    finding quarantines (error) or only warns, and the team that owns the fix. Stewards may
    disable a rule or change its severity; the history says who did."""

    class Severity(models.TextChoices):
        ERROR = "error", "Error (quarantine)"
        WARNING = "warning", "Warning (release with the warning)"

    code = models.CharField(max_length=40, unique=True, validators=[RULE_CODE_VALIDATOR])
    severity = models.CharField(max_length=10, choices=Severity.choices)
    team = models.CharField(max_length=20, choices=Team.choices, help_text="Owns the fix.")
    enabled = models.BooleanField(default=True)
    description = models.TextField(help_text="What the rule checks, in one or two sentences.")

    history = history()

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code


class MessageChunk(models.Model):
    """A slice of the lines of a large message (or of a forecast sent in parts), validated on
    its own by any worker, with what it found; the last one to finish combines them all into
    the message's outcome and the chunks are deleted with it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"

    # The message that holds the claim (part 1 of a release); `attempt` is its claimed_at, so
    # a chunk of an attempt the sweep took back can never count towards a later one.
    message = models.ForeignKey(InboundMessage, on_delete=models.CASCADE, related_name="chunks")
    attempt = models.DateTimeField()
    index = models.PositiveIntegerField(help_text="Position among the release's chunks.")
    part = models.ForeignKey(
        InboundMessage,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The message whose lines the chunk holds.",
    )
    start = models.PositiveIntegerField(help_text="First line, within the part.")
    stop = models.PositiveIntegerField(help_text="Line after the last, within the part.")
    offset = models.PositiveIntegerField(help_text="Index of the first line in the release.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    enqueued_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    diagnostics = models.JSONField(default=list, blank=True)
    # The enriched lines as JSON text (an array), never parsed again: a part's released
    # payload is written by joining its chunks' texts.
    released_lines = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Kept on the first chunk of each part: how many chunks the part has and how many are done;
    # once all are, the part's released payload is staged here, and the outcome copies it to
    # the part within the database.
    part_chunks = models.PositiveIntegerField(null=True, blank=True)
    part_done = models.PositiveIntegerField(default=0)
    part_staged = models.BooleanField(default=False)
    part_released = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["message", "attempt", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "attempt", "index"], name="chunk_unique_index"
            ),
        ]
        indexes = [
            # The sweep: pending chunks whose task was lost or whose worker died.
            models.Index(fields=["status", "enqueued_at"], name="chunk_status_enqueued"),
        ]

    def __str__(self):
        return f"{self.message_id} chunk {self.index} ({self.status})"


class PayloadRevision(models.Model):
    """A version of a message's payload: number 1 is what the sender sent, every later one
    an edit by a person (the message's payload is the latest)."""

    message = models.ForeignKey(
        InboundMessage, on_delete=models.CASCADE, related_name="payload_revisions"
    )
    number = models.PositiveIntegerField()
    payload = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for the original (the sending system).",
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["message", "number"]
        constraints = [
            models.UniqueConstraint(fields=["message", "number"], name="revision_unique_number"),
        ]

    def __str__(self):
        return f"{self.message_id} revision {self.number}"
