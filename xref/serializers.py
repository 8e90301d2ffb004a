"""API v1 serializer of cross-references.

Validation is the model's, through mdm's ValidatedModelSerializer (`full_clean()`), with one
difference: a clash with another reference's claim is left to the registration service, which
answers it as an idempotent repeat (200) or a conflict (409) rather than as a bad request.
"""

import copy

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_choice_field
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.rest import validation_error_detail
from mdm.models import SourceSystem
from mdm.serializers import NaturalKeyField, ValidatedModelSerializer
from xref import services
from xref.models import TARGET_FIELDS, TARGETS, CrossReference, Kind, overlapping_claim

TARGET_HELP = (
    "The canonical record, by natural key: an item, supplier, supplier site or location by "
    "public id (ITM-000123, SUP-000045, SST-000067, LOC-000007); a unit by its UN/ECE Rec 20 "
    "or Rec 21 code (H87, XBX); an item revision as item public id, '/', revision code "
    "(ITM-000123/B); a code value as code list code, ':', value code "
    "(ACK_LINE_STATUS:accepted)."
)
API_ORIGINS = (
    (CrossReference.Origin.API, CrossReference.Origin.API.label),
    (CrossReference.Origin.MATCH_CONFIRMED, CrossReference.Origin.MATCH_CONFIRMED.label),
)


class OriginField(serializers.ChoiceField):
    """How a reference came to be: a client may claim only API_ORIGINS, but a reference
    shows its stored origin, whichever it is (manual, import, ...)."""


class OriginFieldSchema(OpenApiSerializerFieldExtension):
    """The schema of OriginField: the claimable origins in requests, every origin in
    responses."""

    target_class = OriginField

    def map_serializer_field(self, auto_schema, direction):
        choices = API_ORIGINS if direction == "request" else CrossReference.Origin.choices
        return build_choice_field(serializers.ChoiceField(choices=choices))


def target_summary(reference):
    """A few words on the canonical record, so a list of references reads without lookups."""
    target = reference.target
    return {
        "id": services.target_key(reference.kind, target),
        "name": services.target_name(reference.kind, target),
        "status": getattr(target, "status", ""),
    }


class TargetSummarySerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Natural key of the record, as in `target`.")
    name = serializers.CharField(help_text="Description, name or meaning of the record.")
    status = serializers.CharField(help_text="The record's own status, e.g. active, obsolete.")


@extend_schema_field(OpenApiTypes.STR)
class TargetField(serializers.Field):
    """The canonical record by natural key; read from the reference, written as text that
    validate() looks up for the reference's kind."""

    def __init__(self, **kwargs):
        super().__init__(source="*", **kwargs)

    def to_representation(self, reference):
        return services.target_key(reference.kind, reference.target)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not data.strip():
            raise serializers.ValidationError("Give the record's natural key as text.")
        return {"target": data.strip()}


class CrossReferenceSerializer(ValidatedModelSerializer):
    system = NaturalKeyField(
        ("code",),
        "source system",
        uppercase=True,
        queryset=SourceSystem.objects.all(),
        help_text="Code of the source system, e.g. ERP_LEGACY.",
    )
    target = TargetField(help_text=TARGET_HELP)
    target_summary = serializers.SerializerMethodField()
    origin = OriginField(
        choices=API_ORIGINS,
        default=CrossReference.Origin.API,
        help_text="How the reference came to be. Set on creation only: api (the default) or "
        "match_confirmed (a steward confirmed a suggested match).",
    )
    created_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Who registered the reference (none for a migration or a task).",
    )

    class Meta:
        model = CrossReference
        fields = (
            "id",
            "kind",
            "system",
            "scope",
            "code",
            "target",
            "target_summary",
            "valid_from",
            "valid_to",
            "status",
            "is_preferred",
            "origin",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["origin"].read_only = True
        return fields

    def get_target_summary(self, reference) -> TargetSummarySerializer:
        return target_summary(reference)

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        key = attrs.pop("target", None)
        if key is None and self.instance is not None and kind != self.instance.kind:
            raise serializers.ValidationError(
                {"target": "Give the record of the new kind when changing the kind."}
            )
        if key is not None:
            try:
                target = services.target_by_key(kind, key)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(validation_error_detail(exc)) from None
            field, _ = TARGETS[Kind(kind)]
            attrs.update(dict.fromkeys(TARGET_FIELDS))
            attrs[field] = target
        if self.instance is None and attrs.get("status", CrossReference.Status.ACTIVE) != (
            CrossReference.Status.ACTIVE
        ):
            raise serializers.ValidationError(
                {"status": "A reference is registered active; retire it afterwards."}
            )
        self._validate_model(attrs)
        return attrs

    def _validate_model(self, attrs):
        """full_clean(), except that an overlapping claim alone is not refused here: the
        registration service decides whether it is the same mapping again or a conflict."""
        if self.instance is None:
            instance = self.Meta.model(**attrs)
        else:
            instance = copy.copy(self.instance)
            for name, value in attrs.items():
                setattr(instance, name, value)
        try:
            instance.full_clean()
        except DjangoValidationError as exc:
            if set(exc.message_dict) == {NON_FIELD_ERRORS} and overlapping_claim(instance):
                return
            raise serializers.ValidationError(validation_error_detail(exc)) from None

    def registration(self):
        """The validated data as keyword arguments of services.register_reference()."""
        data = dict(self.validated_data)
        kind = Kind(data["kind"])
        field, _ = TARGETS[kind]
        return {
            "kind": kind,
            "system": data["system"],
            "code": data["code"],
            "target": data[field],
            "scope": data.get("scope", ""),
            "valid_from": data.get("valid_from"),
            "valid_to": data.get("valid_to"),
            "is_preferred": data.get("is_preferred", False),
            "origin": data.get("origin", CrossReference.Origin.API),
        }

    def changes(self):
        """The validated data as keyword arguments of services.update_reference()."""
        data = dict(self.validated_data)
        data.pop("origin", None)
        kind = Kind(data.get("kind", self.instance.kind))
        field, _ = TARGETS[kind]
        target = data.get(field)
        for name in TARGET_FIELDS:
            data.pop(name, None)
        if target is not None:
            data["target"] = target
        return data


class ReferenceConflictSerializer(serializers.Serializer):
    """The reference a refused registration or change collides with."""

    id = serializers.IntegerField()
    system = serializers.CharField()
    kind = serializers.CharField()
    scope = serializers.CharField()
    code = serializers.CharField()
    target = serializers.CharField(help_text=TARGET_HELP)
    valid_from = serializers.DateField(allow_null=True)
    valid_to = serializers.DateField(allow_null=True)


class ReferenceConflictResponseSerializer(serializers.Serializer):
    """The 409's extension member; its `detail` is a sentence naming the reference collided
    with."""

    conflict = ReferenceConflictSerializer()


def conflict_body(exc):
    """The 409's members besides problem details' own (core.problems)."""
    clash = exc.conflict
    return {
        "conflict": {
            "id": clash.pk,
            "system": clash.system.code,
            "kind": clash.kind,
            "scope": clash.scope,
            "code": clash.code,
            "target": services.target_key(clash.kind, clash.target),
            "valid_from": clash.valid_from,
            "valid_to": clash.valid_to,
        },
    }
