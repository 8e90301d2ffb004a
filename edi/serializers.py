"""The EDI gateway's API representations: interchanges with their transaction sets and the
acknowledgements that answered them."""

from rest_framework import serializers

from edi.models import Interchange, TransactionSet
from validation.serializers import absolute_url


class TransactionSetSerializer(serializers.ModelSerializer):
    message = serializers.SlugRelatedField(slug_field="public_id", read_only=True, allow_null=True)
    message_status = serializers.CharField(source="message.status", default=None, allow_null=True)

    class Meta:
        model = TransactionSet
        fields = ["code", "group_control", "control", "document", "status", "message"]
        fields += ["message_status", "problems"]


class AcknowledgementSerializer(serializers.ModelSerializer):
    """An acknowledgement the hub sent back, with its text."""

    id = serializers.CharField(source="public_id")
    text = serializers.CharField()

    class Meta:
        model = Interchange
        fields = ["id", "contents", "control", "text"]


class InterchangeSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")
    partner = serializers.CharField(source="partner.name", default=None, allow_null=True)
    url = serializers.SerializerMethodField()
    raw_url = serializers.SerializerMethodField()
    answers = serializers.SlugRelatedField(slug_field="public_id", read_only=True, allow_null=True)
    message = serializers.SlugRelatedField(slug_field="public_id", read_only=True, allow_null=True)
    transaction_sets = TransactionSetSerializer(many=True, read_only=True)
    acknowledgements = AcknowledgementSerializer(many=True, read_only=True)

    class Meta:
        model = Interchange
        fields = ["id", "url", "raw_url", "direction", "standard", "partner", "source"]
        fields += ["filename", "sender", "receiver", "control", "contents", "size", "sha256"]
        fields += ["status", "error", "error_code", "error_offset", "answers", "message"]
        fields += ["received_at", "read_at", "transaction_sets", "acknowledgements"]

    def get_url(self, interchange) -> str:
        request = self.context.get("request")
        return absolute_url(request, "edi-interchange-detail", public_id=interchange.public_id)

    def get_raw_url(self, interchange) -> str:
        request = self.context.get("request")
        return absolute_url(request, "edi-interchange-raw", public_id=interchange.public_id)


class InterchangeSummarySerializer(InterchangeSerializer):
    class Meta(InterchangeSerializer.Meta):
        fields = [
            name
            for name in InterchangeSerializer.Meta.fields
            if name not in ("transaction_sets", "acknowledgements")
        ]
