"""Inbound transactions and the rules they are validated against.

A message moves received -> validating -> released | quarantined, or ends rejected (it broke
its contract) or dead_letter (it failed technically after its retries). Only the services
(validation.submission, claims, outcomes, chunks, replay, sweep) change a message's status,
always with a conditional UPDATE, so two workers never both act on one message.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from mdm.models import PublicIdModel, SourceSystem, TimestampedModel, history
from validation.tracing import TRACEPARENT_LENGTH, validate_traceparent

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
    FORECAST_ACCEPTANCE = "forecast_acceptance", "Forecast acceptance"


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
    # The messages of one document (a purchase order's original, its changes and its
    # acknowledgements, whichever system sends them) share a key and are judged one at a time,
    # in the order received (validation.documents).
    document_key = models.CharField(
        max_length=150,
        null=True,
        blank=True,
        help_text="Messages of one document share it and are validated in the order received.",
    )
    # The sender's W3C trace context (validation.tracing): its validation continues that
    # trace, and the events about the message carry it on.
    traceparent = models.CharField(
        max_length=TRACEPARENT_LENGTH,
        blank=True,
        validators=[validate_traceparent],
        help_text="The W3C traceparent the message was sent with, e.g. "
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.",
    )

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
            # The claim and the wake-up: the messages of one document, in the order received.
            models.Index(
                fields=["document_key", "id"],
                name="message_document",
                condition=Q(document_key__isnull=False),
            ),
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
    tolerance_percent = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="For the rules that have one (OVER_SHIPMENT): how far, in percent, a "
        "quantity may exceed what it is checked against before the rule fires.",
    )

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
    # Forecast lines the chunk left out of the release as not actionable (selective
    # synchronization): how many, and the first few of them as the released payload lists them.
    filtered_count = models.PositiveIntegerField(default=0)
    filtered = models.JSONField(default=list, blank=True)
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


# --- business controls: plan policy and the document ledger ---------------------------------
#
# The ledger is what the hub has released: forecast versions, purchase orders (their latest
# change, line by line), acknowledgements, ship notices and receipts. It is written by
# validation.ledger in the transaction that writes a release outcome (validation.outcomes),
# so a redelivered task or a replay never records a document twice; the unique constraints
# below say so again at the database. The stateful rules read it when a message is validated.


class PlanPolicy(TimestampedModel):
    """A plan's forecast release policy, set by planners: how far its horizon reaches, how
    long its frozen fence is, and how small a change is not worth releasing to the ERP."""

    system = models.ForeignKey(
        SourceSystem,
        on_delete=models.PROTECT,
        related_name="plan_policies",
        help_text="The planning system that sends the plan.",
    )
    plan_id = models.CharField(
        max_length=100,
        blank=True,
        help_text="The plan id as the forecast sends it; empty: every plan of the system "
        "without a policy of its own.",
    )
    horizon_weeks = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Periods starting this many weeks or more after the horizon start are "
        "flagged (FORECAST_PERIOD_OUTSIDE_HORIZON). Empty: the forecast's own horizon.end.",
    )
    frozen_fence_days = models.PositiveSmallIntegerField(
        default=0,
        help_text="Periods starting within this many days of the horizon start are frozen: a "
        "change against the last released version is held for approval (FROZEN_FENCE_CHANGE).",
    )
    change_threshold_percent = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        default=0,
        help_text="A line whose change against the last released version is below this "
        "percentage AND below the absolute threshold is not actionable: it is left out of the "
        "released payload. 0 and 0: every line is released.",
    )
    change_threshold_quantity = models.DecimalField(
        max_digits=18,
        decimal_places=6,
        default=0,
        help_text="The absolute threshold, in the forecast's own unit.",
    )
    notes = models.TextField(blank=True)

    history = history()

    class Meta:
        ordering = ["system", "plan_id"]
        verbose_name = "plan policy"
        verbose_name_plural = "plan policies"
        constraints = [
            models.UniqueConstraint(fields=["system", "plan_id"], name="plan_policy_unique"),
        ]

    def __str__(self):
        return f"{self.system_id}:{self.plan_id or '(every plan)'}"


class ForecastRelease(models.Model):
    """A forecast version the hub released: the plan's latest one is what the next version
    must be newer than, and what its lines are compared with; and what the ERP decided about
    it (a forecast_acceptance message), empty while the ERP has not answered."""

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    system = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="+")
    plan_id = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    message = models.OneToOneField(
        InboundMessage,
        on_delete=models.PROTECT,
        related_name="forecast_release",
        help_text="The released message (part 1 of a release sent in parts).",
    )
    horizon_start = models.DateField()
    lines_filtered = models.PositiveIntegerField(
        default=0, help_text="Lines left out as not actionable."
    )
    released_at = models.DateTimeField(default=timezone.now)
    # The ERP's decision, from the released forecast_acceptance decided last (validation.ledger):
    # an acceptance decided earlier than the one recorded changes nothing.
    decision = models.CharField(
        max_length=10,
        choices=Decision.choices,
        blank=True,
        help_text="The ERP's decision; empty while it is pending.",
    )
    decided_at = models.DateTimeField(
        null=True, blank=True, help_text="When the ERP took or refused it, as the ERP says."
    )
    decided_by = models.ForeignKey(
        SourceSystem,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The ERP that decided.",
    )
    decision_message = models.ForeignKey(
        InboundMessage,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The forecast_acceptance message the decision was recorded from.",
    )
    decision_reason = models.TextField(blank=True, help_text="Why, as the ERP said.")

    class Meta:
        ordering = ["system", "plan_id", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "plan_id", "version"], name="forecast_release_unique"
            ),
        ]
        indexes = [
            # Releases pending the ERP's acceptance, newest (or oldest) first: the dashboard's
            # list, its aging counts and its oldest pending release. Only the undecided rows.
            models.Index(
                fields=["released_at"],
                name="forecast_release_undecided",
                condition=Q(decision=""),
            ),
            # An acceptance names the plan and version, not the planning system.
            models.Index(fields=["plan_id", "version"], name="forecast_release_plan"),
        ]

    def __str__(self):
        return f"{self.plan_id} v{self.version}"


class PurchaseOrder(models.Model):
    """A purchase order as released to its supplier, at its latest change."""

    po_number = models.CharField(max_length=100)
    supplier = models.ForeignKey("mdm.Supplier", on_delete=models.PROTECT, related_name="+")
    supplier_site = models.ForeignKey(
        "mdm.SupplierSite", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ship_to = models.ForeignKey("mdm.Location", on_delete=models.PROTECT, related_name="+")
    plant = models.ForeignKey(
        "mdm.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    system = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="+")
    change_sequence = models.PositiveIntegerField()
    order_date = models.DateField()
    message = models.ForeignKey(
        InboundMessage,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The latest change released through the hub; empty for an open order "
        "loaded when the hub went live.",
    )
    released_at = models.DateTimeField(help_text="When the first version was released.")
    changed_at = models.DateTimeField(help_text="When the latest change was released.")

    class Meta:
        ordering = ["-released_at"]
        constraints = [
            # The number an acknowledgement or ship notice correlates by, with its supplier.
            models.UniqueConstraint(fields=["supplier", "po_number"], name="po_unique_number"),
        ]
        indexes = [
            models.Index(fields=["po_number"], name="po_number"),  # receipts
            models.Index(fields=["released_at"], name="po_released_at"),  # the turnaround KPI
        ]

    def __str__(self):
        return f"PO {self.po_number} ({self.change_sequence})"


class PurchaseOrderChange(models.Model):
    """One released version of a purchase order (the original is sequence 0): exactly one per
    released message."""

    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="changes")
    change_sequence = models.PositiveIntegerField()
    message = models.OneToOneField(InboundMessage, on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["order", "change_sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "change_sequence"], name="po_change_unique_sequence"
            ),
        ]
        # The forecast-to-order latency reads the changes of a recent window.
        indexes = [models.Index(fields=["released_at"], name="po_change_released_at")]

    def __str__(self):
        return f"{self.order_id} change {self.change_sequence}"


class PurchaseOrderLine(models.Model):
    """A line of a released purchase order, with what the supplier acknowledged, shipped and
    what was received against it. Quantities are in the item's base unit."""

    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    line = models.PositiveIntegerField()
    item = models.ForeignKey("mdm.Item", on_delete=models.PROTECT, related_name="+")
    revision = models.CharField(max_length=100, blank=True)
    quantity = models.DecimalField(max_digits=24, decimal_places=6, help_text="As ordered.")
    unit = models.ForeignKey("mdm.Unit", on_delete=models.PROTECT, related_name="+")
    base_quantity = models.DecimalField(max_digits=24, decimal_places=6)
    base_unit = models.ForeignKey("mdm.Unit", on_delete=models.PROTECT, related_name="+")
    need_by = models.DateField()
    ack_status = models.CharField(max_length=60, blank=True, help_text="Canonical status.")
    committed_quantity = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    committed_date = models.DateField(null=True, blank=True, help_text="The latest committed.")
    shipped_quantity = models.DecimalField(max_digits=24, decimal_places=6, default=0)
    received_quantity = models.DecimalField(max_digits=24, decimal_places=6, default=0)

    class Meta:
        ordering = ["order", "line"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line"], name="po_line_unique"),
        ]

    def __str__(self):
        return f"{self.order.po_number}/{self.line}"

    @property
    def open_quantity(self):
        """What is still to be received, in the base unit."""
        return max(self.base_quantity - self.received_quantity, 0)


class Acknowledgement(models.Model):
    """A supplier's released acknowledgement of a purchase order."""

    order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    message = models.OneToOneField(InboundMessage, on_delete=models.PROTECT, related_name="+")
    ack_number = models.CharField(max_length=100, blank=True)
    ack_date = models.DateField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["order", "recorded_at"]

    def __str__(self):
        return self.ack_number or f"acknowledgement {self.pk}"


class ShipNotice(models.Model):
    """A supplier's released ship notice: one shipment."""

    supplier = models.ForeignKey("mdm.Supplier", on_delete=models.PROTECT, related_name="+")
    shipment_id = models.CharField(max_length=100)
    message = models.OneToOneField(InboundMessage, on_delete=models.PROTECT, related_name="+")
    ship_date = models.DateField()
    # None: the notice gave no date (ship_notice v3 makes it optional).
    expected_delivery = models.DateField(null=True, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "shipment_id"], name="ship_notice_unique_shipment"
            ),
        ]
        indexes = [models.Index(fields=["shipment_id"], name="ship_notice_shipment")]

    def __str__(self):
        return self.shipment_id


class ShipNoticeLine(models.Model):
    """What a shipment carries for one purchase order line, in the item's base unit."""

    notice = models.ForeignKey(ShipNotice, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        PurchaseOrderLine, on_delete=models.CASCADE, related_name="shipments"
    )
    quantity = models.DecimalField(max_digits=24, decimal_places=6)

    def __str__(self):
        return f"{self.notice_id}: {self.quantity}"


class Receipt(models.Model):
    """A released goods receipt."""

    receipt_id = models.CharField(max_length=100)
    message = models.OneToOneField(InboundMessage, on_delete=models.PROTECT, related_name="+")
    received_on = models.DateField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at"]
        # The ship notice coverage KPI reads the receipts of a recent window.
        indexes = [models.Index(fields=["recorded_at"], name="receipt_recorded_at")]

    def __str__(self):
        return self.receipt_id


class ReceiptLine(models.Model):
    """What was received against one purchase order line (base unit), and whether a ship
    notice announced it (the ship notice coverage figure)."""

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        PurchaseOrderLine, on_delete=models.CASCADE, related_name="receipts"
    )
    shipment_id = models.CharField(max_length=100, blank=True)
    notice = models.ForeignKey(
        ShipNotice,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The ship notice recorded before for this line and shipment.",
    )
    quantity = models.DecimalField(max_digits=24, decimal_places=6)

    def __str__(self):
        return f"{self.receipt_id}: {self.quantity}"


class SupplyException(models.Model):
    """Supply at risk that a supplier's acknowledgement revealed: less quantity, or a later
    date, than the purchase order line asked for. Planners see it and act (shift volume to an
    alternate supplier, re-plan)."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    acknowledgement = models.ForeignKey(
        Acknowledgement, on_delete=models.CASCADE, related_name="exceptions"
    )
    order_line = models.ForeignKey(
        PurchaseOrderLine, on_delete=models.CASCADE, related_name="exceptions"
    )
    supplier = models.ForeignKey("mdm.Supplier", on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey("mdm.Item", on_delete=models.PROTECT, related_name="+")
    plant = models.ForeignKey(
        "mdm.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=60, help_text="The acknowledgement's canonical status.")
    ordered_quantity = models.DecimalField(max_digits=24, decimal_places=6)
    on_time_quantity = models.DecimalField(max_digits=24, decimal_places=6)
    quantity_at_risk = models.DecimalField(max_digits=24, decimal_places=6)
    unit = models.ForeignKey("mdm.Unit", on_delete=models.PROTECT, related_name="+")
    need_by = models.DateField()
    committed_date = models.DateField(null=True, blank=True, help_text="The latest committed.")
    days_late = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    raised_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["acknowledgement", "order_line"], name="supply_exception_unique"
            ),
        ]
        indexes = [
            # The planners' screen and API: open exceptions, newest first.
            models.Index(fields=["state", "-raised_at"], name="supply_exception_open"),
        ]

    def __str__(self):
        return f"{self.order_line} at risk {self.quantity_at_risk}"
