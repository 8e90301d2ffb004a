"""The change requests as the API shows them, and what asking for one takes."""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from changes import diffs, registry, requests
from changes.models import ChangeItem, ChangeRequest


def is_old(request):
    """An open request older than HUB_CHANGE_REQUEST_OLD_DAYS: flagged in the queue."""
    if request.status != ChangeRequest.Status.OPEN:
        return False
    age = timezone.now() - request.requested_at
    return age.days >= settings.CHANGE_REQUEST_OLD_DAYS


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.CharField(allow_blank=True)
    after = serializers.CharField(allow_blank=True)


class ChangeItemSerializer(serializers.ModelSerializer):
    changes = serializers.SerializerMethodField()

    class Meta:
        model = ChangeItem
        fields = ("position", "action", "model", "object_id", "label", "before", "after", "changes")

    @extend_schema_field(FieldChangeSerializer(many=True))
    def get_changes(self, item) -> list:
        return [
            {"field": field, "before": before, "after": after}
            for field, before, after in diffs.worded(item)
        ]


class ChangeRequestSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    requested_by = serializers.CharField(source="requested_by.get_username", read_only=True)
    decided_by = serializers.SerializerMethodField()
    emergency_by = serializers.SerializerMethodField()
    awaits_approval = serializers.BooleanField(read_only=True)
    old = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    items = ChangeItemSerializer(many=True, read_only=True)

    class Meta:
        model = ChangeRequest
        fields = (
            "id",
            "number",
            "status",
            "status_label",
            "kind",
            "title",
            "systems",
            "reason",
            "source",
            "batch",
            "batch_reference",
            "requested_by",
            "requested_at",
            "rebased_at",
            "decided_by",
            "decided_at",
            "comment",
            "emergency_by",
            "emergency_at",
            "emergency_reason",
            "awaits_approval",
            "old",
            "url",
            "items",
        )

    def get_decided_by(self, request) -> str | None:
        return request.decided_by.get_username() if request.decided_by_id else None

    def get_emergency_by(self, request) -> str | None:
        return request.emergency_by.get_username() if request.emergency_by_id else None

    def get_old(self, request) -> bool:
        return is_old(request)

    def get_url(self, request) -> str:
        """The request's page, for a person."""
        path = reverse("changes:request", args=[request.pk])
        http = self.context.get("request")
        return http.build_absolute_uri(path) if http is not None else path


class DepartureSerializer(serializers.Serializer):
    record = serializers.CharField()
    field = serializers.CharField()
    asked_over = serializers.CharField(allow_null=True)
    now = serializers.CharField(allow_null=True)


class ImpactSerializer(serializers.Serializer):
    text = serializers.CharField()
    url = serializers.CharField(allow_blank=True)
    count = serializers.IntegerField()


class ChangeRequestDetailSerializer(ChangeRequestSerializer):
    """One request with what has changed since it was asked (stale) and its impact."""

    stale = serializers.SerializerMethodField()
    impact = serializers.SerializerMethodField()

    class Meta(ChangeRequestSerializer.Meta):
        fields = (*ChangeRequestSerializer.Meta.fields, "stale", "impact")

    @extend_schema_field(DepartureSerializer(many=True))
    def get_stale(self, request) -> list:
        if request.status != ChangeRequest.Status.OPEN:
            return []
        return [
            {"record": item.label, "field": str(field), "asked_over": before, "now": now}
            for item, field, before, now in requests.departures(request)
        ]

    @extend_schema_field(ImpactSerializer(many=True))
    def get_impact(self, request) -> list:
        return [
            {"text": found.text, "url": found.url, "count": found.count}
            for provider in registry.IMPACTS
            for found in provider(request)
        ]


class AskSerializer(serializers.Serializer):
    """Ask for a change of one record: `changes` are the fields' new values as JSON (a related
    record by its primary key; a date as YYYY-MM-DD)."""

    kind = serializers.CharField(help_text="The kind of record, e.g. xref.crossreference.")
    action = serializers.ChoiceField(choices=ChangeItem.Action.choices)
    object = serializers.CharField(
        required=False, allow_blank=True, help_text="The record (its id); none to create one."
    )
    changes = serializers.DictField(required=False, default=dict)
    reason = serializers.CharField()


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class EmergencyReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()
