"""API shapes of quarantine cases (explicit field lists)."""

from rest_framework import serializers

from quarantine.models import CaseTransition, QuarantineCase, SupplyExceptionNote


class CaseTransitionSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = CaseTransition
        fields = ["at", "by", "from_status", "to_status", "resolution", "reason"]


class CaseSummarySerializer(serializers.ModelSerializer):
    message = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    system = serializers.SlugRelatedField(slug_field="code", read_only=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    rules = serializers.ListField(
        source="rule_codes", child=serializers.CharField(), read_only=True
    )
    overdue = serializers.SerializerMethodField()
    outcome = serializers.CharField(
        read_only=True,
        help_text="The case's state in words: how it ended once closed (e.g. \"Payload edited "
        'and revalidated"), else its status.',
    )

    class Meta:
        model = QuarantineCase
        fields = [
            "id",
            "message",
            "status",
            "resolution",
            "outcome",
            "team",
            "assignee",
            "rules",
            "message_type",
            "system",
            "plant",
            "supplier",
            "item",
            "opened_at",
            "resolved_at",
            "overdue",
            "replay_pending",
        ]

    def get_overdue(self, case) -> bool:
        return case.overdue_at is not None


class CaseSerializer(CaseSummarySerializer):
    message_status = serializers.CharField(source="message.status", read_only=True)
    diagnostics = serializers.ListField(child=serializers.DictField(), read_only=True)
    transitions = CaseTransitionSerializer(many=True, read_only=True)

    class Meta(CaseSummarySerializer.Meta):
        fields = [
            *CaseSummarySerializer.Meta.fields,
            "message_status",
            "diagnostics",
            "transitions",
        ]


class ReplaySerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why; recorded on the case.")


class CaseConflictSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What happened to the case meanwhile.")


class SupplyNoteSerializer(serializers.ModelSerializer):
    """One step on a supply exception: acknowledged or closed, by whom, when, with what
    note."""

    by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = SupplyExceptionNote
        fields = ["action", "note", "by", "at"]


class SupplyNoteRequestSerializer(serializers.Serializer):
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Optional to acknowledge; required to close (how it was settled).",
    )


class SupplyExceptionStateSerializer(serializers.Serializer):
    """A supply exception after a step: where it stands and its history."""

    id = serializers.IntegerField()
    state = serializers.ChoiceField(
        choices=["open", "acknowledged", "closed"],
        source="state_name",
        help_text="open, acknowledged (someone is on it) or closed.",
    )
    notes = SupplyNoteSerializer(many=True)
