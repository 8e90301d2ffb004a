"""API v1 serializers of cross-references: the short form (ReferenceSerializer) every answer
naming a reference uses, the registry's long form (CrossReferenceSerializer), and the shapes
of the resolution answers for the schema.

Validation is the model's, through mdm's ValidatedModelSerializer (`full_clean()`), with one
difference: a clash with another reference's claim is left to the registration service, which
answers it as an idempotent repeat (200) or a conflict (409) rather than as a bad request.
"""

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
from xref.resolve import MAX_KEYS

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


# A cross-reference in short: what a resolution answer names a reference by, and the first
# fields of every longer form.
REFERENCE_FIELDS = (
    "id",
    "kind",
    "system",
    "scope",
    "code",
    "valid_from",
    "valid_to",
    "status",
    "is_preferred",
)
REFERENCE_HELP = {
    "id": "The cross-reference's id (/api/v1/xrefs/{id}/).",
    "system": "Code of the source system, e.g. ERP_LEGACY.",
    "scope": "Plant or company code the code is unique within; empty when the code is valid "
    "in every scope.",
    "valid_from": "First day valid. Null: always.",
    "valid_to": "First day no longer valid (exclusive). Null: open-ended.",
    "status": "active or retired",
}


class ReferenceSerializer(serializers.ModelSerializer):
    """The short form of a cross-reference, read only: in resolution and translation answers
    (which xref.resolve builds as dicts of these fields from its rows, the hot path running no
    serializer) and in conflicts. The registry's CrossReferenceSerializer is the long form:
    these fields and the record, the origin and the audit."""

    system = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = CrossReference
        fields = REFERENCE_FIELDS
        read_only_fields = REFERENCE_FIELDS
        extra_kwargs = {name: {"help_text": text} for name, text in REFERENCE_HELP.items()}


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
            *REFERENCE_FIELDS[:5],
            "target",
            "target_summary",
            *REFERENCE_FIELDS[5:],
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
        instance = self.unsaved_instance(attrs)
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


class ConflictingReferenceSerializer(ReferenceSerializer):
    """The reference a refused registration or change collides with: the short form and its
    record."""

    target = TargetField(help_text=TARGET_HELP)

    class Meta(ReferenceSerializer.Meta):
        fields = (*REFERENCE_FIELDS[:5], "target", *REFERENCE_FIELDS[5:])


class ReferenceConflictResponseSerializer(serializers.Serializer):
    """The 409's extension member; its `detail` is a sentence naming the reference collided
    with."""

    conflict = ConflictingReferenceSerializer()


def conflict_body(exc):
    """The 409's members besides problem details' own (core.problems)."""
    return {"conflict": ConflictingReferenceSerializer(exc.conflict).data}


# --- resolution answers (xref.api.resolve), for the schema only ---------------------------
#
# xref.resolve builds its answers as plain dicts and the views render them as they are: this
# is the hot path, so no serializer runs per key. These describe the shapes in the OpenAPI
# schema; a reference in an answer is the ReferenceSerializer's short form.


RECORD_HELP = (
    "Summary of the record. item: id, number, description, status, base_unit; supplier: id, "
    "number, name, status, country; location: id, code, name, kind, status; unit: id, name; "
    "item_revision: id, item, revision, status; supplier_site: id, supplier, code, status; "
    "code_value: id, list, code, meaning."
)
CANONICAL_ID_HELP = (
    "Canonical id: the public id (ITM-000123), the Rec 20 code for units, "
    "ITM-000123/B for an item revision, LIST:code for a code value."
)


def _outcome(value):
    """The `outcome` member of an answer that is not a success: a problem document's extension
    holding what the batch answers call `status`."""

    # A pattern, not a one-value enum: the schema would name an enum component for each.
    @extend_schema_field({"type": "string", "pattern": f"^{value}$", "example": value})
    class Outcome(serializers.CharField):
        pass

    return Outcome(help_text=value)


class ResolvedAnswerSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="resolved")
    id = serializers.CharField(help_text=CANONICAL_ID_HELP)
    record = serializers.DictField(help_text=RECORD_HELP)
    reference = ReferenceSerializer()


class ResolveCandidateSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The record's public id.")
    name = serializers.CharField(help_text="Its description (items) or name.")
    score = serializers.FloatField(
        help_text="0-100. A near miss scores how alike the two codes are once case, "
        "separators, O/0, I/1, leading zeros and a prefix are set aside (at most 99)."
    )
    evidence = serializers.DictField(help_text="What agreed, by field, with its score.")
    source = serializers.ChoiceField(
        choices=["near_miss", "match"],
        help_text="near_miss: an existing code of the same system and kind a typing slip away; "
        "match: the match index's fuzzy candidate for the code as text.",
    )
    reason = serializers.CharField(
        help_text='Why it was suggested, e.g. "one character differs: O for 0", "same code '
        'without the prefix \'PL-\'", "description 92% alike, 76% likely".'
    )
    system = serializers.CharField(required=False, help_text="near_miss: the system.")
    code = serializers.CharField(required=False, help_text="near_miss: the existing code.")
    scope = serializers.CharField(
        required=False, help_text="near_miss: the existing code's scope (empty: unscoped)."
    )


class NotFoundAnswerSerializer(serializers.Serializer):
    outcome = _outcome("not_found")
    candidates = ResolveCandidateSerializer(
        many=True,
        help_text="Items, suppliers and locations: first the near misses among the system's "
        "codes of the kind, then the match index's candidates for the code, closest first, at "
        "most 5. Batch answers carry the near misses only.",
    )


class RetiredAnswerSerializer(serializers.Serializer):
    outcome = _outcome("retired")
    id = serializers.CharField(help_text="The record the code meant.")
    valid_to = serializers.DateField(allow_null=True)
    reference = ReferenceSerializer()
    successor = ReferenceSerializer(
        allow_null=True,
        help_text="The reference that took over, starting when this one ended: the record's "
        "new code in the same system and scope, else this code reused there, else the record's "
        "code in another system (a cut-over).",
    )


class NotYetValidAnswerSerializer(serializers.Serializer):
    outcome = _outcome("not_yet_valid")
    id = serializers.CharField()
    valid_from = serializers.DateField()
    reference = ReferenceSerializer()


class ResolveScopeMatchSerializer(serializers.Serializer):
    scope = serializers.CharField()
    id = serializers.CharField()
    reference = ReferenceSerializer()


class AmbiguousAnswerSerializer(serializers.Serializer):
    outcome = _outcome("ambiguous")
    matches = ResolveScopeMatchSerializer(many=True)


class ResolveKeySerializer(serializers.Serializer):
    kind = serializers.CharField(help_text=", ".join(Kind.values))
    system = serializers.CharField()
    code = serializers.CharField()
    scope = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class ResolveBatchSerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False, help_text="Default: today.")
    keys = ResolveKeySerializer(many=True, help_text=f"At most {MAX_KEYS:,}.")


class ResolveBatchResultSerializer(serializers.Serializer):
    key = ResolveKeySerializer()
    status = serializers.CharField(
        help_text="resolved, not_found, retired, not_yet_valid or ambiguous; the other fields "
        "are those of the single resolve answer with this status."
    )
    id = serializers.CharField(required=False)
    record = serializers.DictField(required=False)
    reference = ReferenceSerializer(required=False)
    candidates = ResolveCandidateSerializer(
        many=True, required=False, help_text="not_found: the near misses of the code."
    )
    valid_from = serializers.DateField(required=False)
    valid_to = serializers.DateField(required=False, allow_null=True)
    successor = ReferenceSerializer(required=False, allow_null=True)
    matches = ResolveScopeMatchSerializer(many=True, required=False)


class ResolveBatchResultsSerializer(serializers.Serializer):
    results = ResolveBatchResultSerializer(many=True, help_text="In request order.")


class TranslatedAnswerSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="translated")
    code = serializers.CharField(help_text="The target system's code.")
    id = serializers.CharField(help_text=CANONICAL_ID_HELP)
    reference = ReferenceSerializer(help_text="The target system's reference.")


class NoCodeInTargetAnswerSerializer(serializers.Serializer):
    outcome = _outcome("no_code_in_target")
    id = serializers.CharField()


class NoPreferredAnswerSerializer(serializers.Serializer):
    outcome = _outcome("no_preferred")
    id = serializers.CharField()
    references = ReferenceSerializer(many=True)


class TranslateScopeMatchSerializer(serializers.Serializer):
    scope = serializers.CharField()
    code = serializers.CharField()
    reference = ReferenceSerializer()


class TranslateAmbiguousAnswerSerializer(serializers.Serializer):
    outcome = _outcome("ambiguous")
    id = serializers.CharField(
        required=False, help_text="Set when the target has preferred codes in several scopes."
    )
    matches = serializers.ListField(
        child=serializers.DictField(),
        help_text="Source scopes ({scope, id, reference}) or target scopes ({scope, code, "
        "reference}): name the one meant with scope or to_scope.",
    )


class TranslateKeySerializer(serializers.Serializer):
    kind = serializers.CharField(help_text=", ".join(Kind.values))
    from_system = serializers.CharField()
    code = serializers.CharField()
    to_system = serializers.CharField()
    scope = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    to_scope = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class TranslateBatchSerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False, help_text="Default: today.")
    keys = TranslateKeySerializer(many=True, help_text=f"At most {MAX_KEYS:,}.")


class TranslateBatchResultSerializer(serializers.Serializer):
    key = TranslateKeySerializer()
    status = serializers.CharField(
        help_text="translated, no_preferred, no_code_in_target, ambiguous, or the source "
        "code's not_found, retired or not_yet_valid; the other fields are those of the single "
        "answer with this status."
    )
    code = serializers.CharField(required=False)
    id = serializers.CharField(required=False)
    reference = ReferenceSerializer(required=False)
    references = ReferenceSerializer(many=True, required=False)
    candidates = serializers.ListField(child=serializers.DictField(), required=False)
    valid_from = serializers.DateField(required=False)
    valid_to = serializers.DateField(required=False, allow_null=True)
    successor = ReferenceSerializer(required=False, allow_null=True)
    matches = serializers.ListField(child=serializers.DictField(), required=False)


class TranslateBatchResultsSerializer(serializers.Serializer):
    results = TranslateBatchResultSerializer(many=True, help_text="In request order.")


class MalformedKeySerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The key's place in `keys`, from 0.")
    field = serializers.CharField(allow_null=True, help_text="Null: the key is no key at all.")
    message = serializers.CharField()


class BadBatchSerializer(serializers.Serializer):
    keys = MalformedKeySerializer(
        many=True, required=False, help_text="The malformed keys, as `errors` lists them too."
    )
