"""The EDI gateway's API representations: interchanges with their transaction sets and the
acknowledgements that answered them."""

from rest_framework import serializers

from edi.models import Interchange, TransactionSet
from validation.serializers import absolute_url


class TransactionSetSerializer(serializers.ModelSerializer):
    message = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    message_status = serializers.CharField(source="message.status", default=None)

    class Meta:
        model = TransactionSet
        fields = ["code", "group_control", "control", "document", "status", "message"]
        fields += ["message_status", "problems"]


class InterchangeSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")
    partner = serializers.CharField(source="partner.name", default=None)
    url = serializers.SerializerMethodField()
    raw_url = serializers.SerializerMethodField()
    answers = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    message = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    transaction_sets = TransactionSetSerializer(many=True, read_only=True)
    acknowledgements = serializers.SerializerMethodField()

    class Meta:
        model = Interchange
        fields = ["id", "url", "raw_url", "direction", "standard", "partner", "source"]
        fields += ["filename", "sender", "receiver", "control", "contents", "size", "sha256"]
        fields += ["status", "error", "error_code", "error_offset", "answers", "message"]
        fields += ["received_at", "read_at", "transaction_sets", "acknowledgements"]

    def get_url(self, interchange):
        request = self.context.get("request")
        return absolute_url(request, "edi-interchange-detail", public_id=interchange.public_id)

    def get_raw_url(self, interchange):
        request = self.context.get("request")
        return absolute_url(request, "edi-interchange-raw", public_id=interchange.public_id)

    def get_acknowledgements(self, interchange):
        return [
            {
                "id": answer.public_id,
                "contents": answer.contents,
                "control": answer.control,
                "text": answer.text,
            }
            for answer in interchange.acknowledgements.all()
        ]


class InterchangeSummarySerializer(InterchangeSerializer):
    class Meta(InterchangeSerializer.Meta):
        fields = [
            name
            for name in InterchangeSerializer.Meta.fields
            if name not in ("transaction_sets", "acknowledgements")
        ]
