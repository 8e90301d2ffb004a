"""The EDI gateway's records: trading partners, the interchanges exchanged with them (raw,
as sent, before anything else is done with them) and the transaction sets they carried."""

from django.core.exceptions import ValidationError
from django.db import models

from mdm.models import PublicIdModel, SourceSystem, Supplier
from validation.models import InboundMessage


class Standard(models.TextChoices):
    X12 = "x12", "ANSI X12"
    EDIFACT = "edifact", "UN/EDIFACT"


class Partner(models.Model):
    """A trading partner that exchanges EDI with the hub: how it is named on the envelope, the
    source system its messages come in as (whose cross-references resolve its codes), what
    it may send and what it gets back."""

    class AckKind(models.TextChoices):
        X12_997 = "997", "997 functional acknowledgement"
        X12_999 = "999", "999 implementation acknowledgement"

    name = models.CharField(max_length=200, unique=True)
    standard = models.CharField(max_length=10, choices=Standard.choices, default=Standard.X12)
    qualifier = models.CharField(
        max_length=4,
        blank=True,
        help_text="The partner's id qualifier on the envelope (X12 ISA05, such as ZZ or 01; "
        "EDIFACT UNB sender qualifier, such as 14).",
    )
    interchange_id = models.CharField(
        max_length=35,
        help_text="The partner's id on the envelope (X12 ISA06, EDIFACT UNB sender id).",
    )
    hub_qualifier = models.CharField(max_length=4, blank=True, default="ZZ")
    hub_id = models.CharField(
        max_length=35,
        default="MDMHUB",
        help_text="The hub's id as this partner addresses it (X12 ISA08, EDIFACT UNB "
        "recipient); an interchange addressed to anyone else is refused.",
    )
    system = models.ForeignKey(
        SourceSystem,
        on_delete=models.PROTECT,
        related_name="edi_partners",
        help_text="The source system the partner's messages come in as: its codes are "
        "resolved through this system's cross-references.",
    )
    supplier_code = models.CharField(
        max_length=100,
        help_text="The partner's supplier code in that system: the supplier its "
        "acknowledgements and ship notices are from.",
    )
    supplier = models.ForeignKey(
        Supplier,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="edi_partners",
        help_text="With 'send orders': the supplier whose released purchase orders go to "
        "this partner as EDI.",
    )
    versions = models.JSONField(
        default=list,
        blank=True,
        help_text='The versions the partner may send, such as ["004010"] (X12 GS08) or '
        '["D:96A"] (EDIFACT); empty: any the gateway reads.',
    )
    ack_kind = models.CharField(
        max_length=3,
        choices=AckKind.choices,
        default=AckKind.X12_997,
        help_text="X12 only: the functional acknowledgement the partner gets (EDIFACT "
        "partners get a CONTRL).",
    )
    allow_non_ascii = models.BooleanField(
        default=False,
        help_text="Accept characters outside ASCII (most X12 partners' guides forbid them).",
    )
    units = models.JSONField(
        default=dict,
        blank=True,
        help_text="The partner's own unit codes and the hub's unit each means, such as {\"CT\": "
        '"CT"}: consulted before the standard X12 355 crosswalk.',
    )
    send_orders = models.BooleanField(
        default=False,
        help_text="Render the supplier's released purchase orders as X12 850 (or EDIFACT "
        "ORDERS) for this partner.",
    )
    outbound_directory = models.CharField(
        max_length=500,
        blank=True,
        help_text="A directory the interchanges for this partner are also written to (an "
        "AS2 or SFTP gateway picks them up); they always go out as events too.",
    )
    next_interchange_control = models.PositiveIntegerField(default=1)
    next_group_control = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["standard", "qualifier", "interchange_id"], name="edi_partner_envelope_id"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def envelope_id(self):
        return f"{self.qualifier}:{self.interchange_id}" if self.qualifier else self.interchange_id

    def clean(self):
        super().clean()
        if not isinstance(self.versions, list) or not all(
            isinstance(version, str) for version in self.versions
        ):
            raise ValidationError({"versions": 'A list of versions, such as ["004010"].'})
        if not isinstance(self.units, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in self.units.items()
        ):
            raise ValidationError({"units": 'An object of unit codes, such as {"CT": "CT"}.'})
        if self.send_orders and self.supplier_id is None:
            raise ValidationError({"supplier": "Say which supplier's orders go to this partner."})


class Interchange(PublicIdModel):
    """One interchange, inbound (stored raw before it is read) or outbound (an order, or the
    functional acknowledgement of an inbound one)."""

    PUBLIC_ID_PREFIX = "EDI"

    class Direction(models.TextChoices):
        INBOUND = "in", "Inbound"
        OUTBOUND = "out", "Outbound"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received, not read yet"
        ACCEPTED = "accepted", "Accepted"
        PARTLY_ACCEPTED = "partly_accepted", "Accepted with errors"
        REJECTED = "rejected", "Rejected"
        DUPLICATE = "duplicate", "Duplicate"
        SENT = "sent", "Sent"

    class Source(models.TextChoices):
        API = "api", "API"
        DIRECTORY = "directory", "Watched directory"
        HUB = "hub", "Made by the hub"

    direction = models.CharField(max_length=3, choices=Direction.choices)
    standard = models.CharField(max_length=10, choices=Standard.choices, blank=True)
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, null=True, blank=True, related_name="interchanges"
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    filename = models.CharField(max_length=500, blank=True)
    sender = models.CharField(max_length=40, blank=True)
    receiver = models.CharField(max_length=40, blank=True)
    control = models.CharField(max_length=14, blank=True, db_index=True)
    # The transaction sets or messages it holds, such as "855" or "855, 856" or "997".
    contents = models.CharField(max_length=100, blank=True)
    raw = models.BinaryField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    # Why it was refused, in a sentence, with the code the standard gives it and where.
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=10, blank=True)
    error_offset = models.PositiveIntegerField(null=True, blank=True)
    # An outbound functional acknowledgement: the inbound interchange it answers.
    answers = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="acknowledgements"
    )
    # An outbound order: the purchase order message it renders.
    message = models.ForeignKey(
        InboundMessage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="edi_interchanges",
    )
    received_at = models.DateTimeField(db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    received_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["partner", "direction", "control"], name="edi_partner_control"),
            models.Index(fields=["direction", "status", "received_at"], name="edi_status"),
        ]

    def __str__(self):
        return self.public_id

    @property
    def text(self):
        """The raw interchange as text (bytes that are not UTF-8 read as Latin-1)."""
        data = bytes(self.raw)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return data.decode("latin-1")


class TransactionSet(models.Model):
    """A transaction set (X12) or message (EDIFACT) of an inbound interchange: what it was
    mapped to, the message it became, or the problems that stopped it."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    interchange = models.ForeignKey(
        Interchange, on_delete=models.CASCADE, related_name="transaction_sets"
    )
    group_control = models.CharField(max_length=14, blank=True)
    control = models.CharField(max_length=14)
    code = models.CharField(max_length=10, help_text="855, 856, 850; ORDRSP, DESADV...")
    document = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    # [{"code", "message", "segment_position", "segment_tag", "element_position", "offset"}]
    problems = models.JSONField(default=list, blank=True)
    message = models.ForeignKey(
        InboundMessage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="edi_transaction_sets",
    )

    class Meta:
        ordering = ["interchange", "pk"]

    def __str__(self):
        return f"{self.code} {self.control}"
