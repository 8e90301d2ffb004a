"""API v1 serializers for messages and contracts. Field lists are explicit and make the public
shape; messages are addressed by public id (MSG-000123), systems by code."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from validation.models import InboundMessage, MessageType, SupplyException
from validation.tracing import EXAMPLE, validate_traceparent


def absolute_url(request, name, **kwargs):
    url = reverse(name, kwargs=kwargs)
    return request.build_absolute_uri(url) if request is not None else url


class PayloadField(serializers.JSONField):
    """Any JSON value, taken as parsed: the contract judges it. (DRF's JSONField would
    serialize it once more only to see that it can, a second per 200,000 forecast lines.)"""

    def to_internal_value(self, data):
        return data


class SubmissionSerializer(serializers.Serializer):
    """What a system sends: the message type, the contract version and the payload. The
    payload's shape is the contract's to judge (GET /api/v1/contracts/{type}/{version}/)."""

    message_type = serializers.ChoiceField(choices=MessageType.choices)
    schema_version = serializers.IntegerField(min_value=1)
    payload = PayloadField(help_text="The message, as the contract describes it.")
    traceparent = serializers.CharField(
        required=False,
        allow_blank=True,  # as if not given
        validators=[validate_traceparent],
        help_text="The W3C trace context the message belongs to (Trace Context level 1), e.g. "
        f"{EXAMPLE}: the hub continues the trace and passes it on in the message's events. "
        "Taken before a `traceparent` header.",
    )


class PartSerializer(serializers.Serializer):
    number = serializers.IntegerField(source="part_number")
    of = serializers.IntegerField(source="part_count")


class MessageSummarySerializer(serializers.ModelSerializer):
    """A message in a list: no payloads and no diagnostics (GET its url for those)."""

    id = serializers.CharField(source="public_id", read_only=True)
    url = serializers.SerializerMethodField()
    system = serializers.CharField(source="system.code", read_only=True)
    part = serializers.SerializerMethodField()

    class Meta:
        model = InboundMessage
        fields = [
            "id",
            "url",
            "message_type",
            "schema_version",
            "system",
            "idempotency_key",
            "status",
            "business_date",
            "part",
            "received_at",
            "finished_at",
            "attempts",
        ]

    def get_url(self, message) -> str:
        return absolute_url(
            self.context.get("request"), "message-detail", public_id=message.public_id
        )

    @extend_schema_field(PartSerializer(allow_null=True))
    def get_part(self, message):
        if message.group_key is None:
            return None
        return PartSerializer(message).data


class MessageSerializer(MessageSummarySerializer):
    """A message with its outcome. `diagnostics`: contract errors (rejected) or the rules'
    findings; `released_payload`: the enriched payload once released; `last_error`: the
    technical error of a retry or a dead letter."""

    diagnostics = serializers.ListField(child=serializers.DictField(), read_only=True)
    released_payload = serializers.JSONField(read_only=True, allow_null=True)

    class Meta(MessageSummarySerializer.Meta):
        fields = [
            *MessageSummarySerializer.Meta.fields,
            "payload_sha256",
            "diagnostics",
            "released_payload",
            "claimed_at",
            "last_error",
            "traceparent",
        ]


class AcceptedSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    url = serializers.URLField()


class ContractErrorSerializer(serializers.Serializer):
    pointer = serializers.CharField(
        help_text='JSON pointer into the request body, e.g. "#/payload/lines/3/quantity".'
    )
    path = serializers.CharField(
        required=False,
        help_text="JSON path into the payload, as the message's diagnostics give it, e.g. "
        '"$.lines[3].quantity". Only for a contract error.',
    )
    detail = serializers.CharField()


class RejectedSerializer(serializers.Serializer):
    """A refused submission's problem members: the contract errors of a kept payload under
    `errors`, or (without id) a missing header, an unknown contract, or the submission's
    field errors."""

    errors = ContractErrorSerializer(many=True, required=False)
    id = serializers.CharField(required=False, help_text="The message kept as rejected.")
    url = serializers.URLField(required=False)


class ConflictSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The message already sent with this key or part.")
    url = serializers.URLField()


class OverBudgetSerializer(serializers.Serializer):
    """A submission refused because its system has used its budget for this minute (or,
    without `budget`, because too many wrong keys came from the caller's address)."""

    budget = serializers.ChoiceField(
        choices=["messages_per_minute", "bytes_per_minute"], required=False
    )
    limit = serializers.IntegerField(required=False, help_text="The system's budget per minute.")
    retry_after = serializers.IntegerField(
        required=False, help_text="Seconds until the request may be sent again."
    )


class DryRunResultSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="released, quarantined or rejected (contract).")
    diagnostics = serializers.ListField(child=serializers.DictField())
    released_payload = serializers.JSONField(allow_null=True)


class ContractSummarySerializer(serializers.Serializer):
    type = serializers.CharField()
    version = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    url = serializers.URLField(help_text="The JSON Schema.")


class SupplyExceptionSerializer(serializers.ModelSerializer):
    """Supply at risk an acknowledgement revealed: records by public id, quantities in the
    item's base unit."""

    supplier = serializers.CharField(source="supplier.public_id")
    supplier_name = serializers.CharField(source="supplier.name")
    item = serializers.CharField(source="item.public_id")
    item_number = serializers.CharField(source="item.number")
    item_description = serializers.CharField(source="item.description")
    plant = serializers.CharField(source="plant.public_id", allow_null=True, default=None)
    plant_code = serializers.CharField(source="plant.code", allow_null=True, default=None)
    po_number = serializers.CharField(source="order_line.order.po_number")
    po_line = serializers.IntegerField(source="order_line.line")
    unit = serializers.CharField(source="unit_id")
    acknowledgement = serializers.CharField(source="acknowledgement.message.public_id")
    ack_number = serializers.CharField(source="acknowledgement.ack_number")

    class Meta:
        model = SupplyException
        fields = [
            "id",
            "state",
            "raised_at",
            "supplier",
            "supplier_name",
            "item",
            "item_number",
            "item_description",
            "plant",
            "plant_code",
            "po_number",
            "po_line",
            "status",
            "ordered_quantity",
            "on_time_quantity",
            "quantity_at_risk",
            "unit",
            "need_by",
            "committed_date",
            "days_late",
            "acknowledgement",
            "ack_number",
        ]
