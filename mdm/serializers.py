"""API v1 serializers for master data.

Field lists are explicit and make the public shape of each record. Related records are given
by natural key (a unit by its Rec 20 code, a calendar by its public id), never by database id.
Validation is the model's: every serializer builds the instance and calls `full_clean()`, so
the API refuses exactly what the admin and the import refuse, with the same messages.
"""

import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Q
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from core.numbers import NumberError, bounded_decimal
from core.rest import validation_error_detail
from mdm.models import (
    Calendar,
    CalendarException,
    CodeList,
    CodeValue,
    Item,
    ItemRevision,
    ItemUnitConversion,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
    Unit,
)

TIMESTAMPS = ("created_at", "updated_at")


class NaturalKeyField(serializers.SlugRelatedField):
    """A related record given by its natural key: a unit by code, a supplier by public id or
    number. With several keys, a value matching two different records is refused rather than
    guessed. Written out with the first key."""

    default_error_messages = {
        "not_found": "No {label} with {keys} {value!r}.",
        "multiple": "{value!r} matches more than one {label} ({matches}); give the public id.",
        "invalid": "Give the {label}'s {keys} as text.",
    }

    def __init__(self, keys, label, uppercase=False, **kwargs):
        self.keys = tuple(keys)
        self.label_text = label
        self.uppercase = uppercase
        super().__init__(slug_field=self.keys[0], **kwargs)

    def to_internal_value(self, data):
        keys = " or ".join(key.replace("_", " ") for key in self.keys)
        if not isinstance(data, str) or not data.strip():
            self.fail("invalid", label=self.label_text, keys=keys)
        data = data.strip().upper() if self.uppercase else data.strip()
        condition = Q()
        for key in self.keys:
            condition |= Q(**{key: data})
        matches = list(self.get_queryset().filter(condition)[:3])
        if not matches:
            self.fail("not_found", label=self.label_text, keys=keys, value=data)
        if len(matches) > 1:
            names = ", ".join(str(getattr(match, self.keys[0])) for match in matches)
            self.fail("multiple", label=self.label_text, value=data, matches=names)
        return matches[0]


def unit_field(**kwargs):
    # Rec 20 and Rec 21 codes are upper case; "kgm" can only mean KGM.
    kwargs.setdefault("help_text", "UN/ECE Rec 20 common code, e.g. H87 (piece) or KGM (kg).")
    return NaturalKeyField(("code",), "unit", uppercase=True, queryset=Unit.objects.all(), **kwargs)


def calendar_field(**kwargs):
    return NaturalKeyField(
        ("public_id",),
        "calendar",
        queryset=Calendar.objects.all(),
        required=False,
        allow_null=True,
        help_text="Public id of the working calendar, e.g. CAL-000002.",
        **kwargs,
    )


class MergedIntoField(serializers.CharField):
    """The public id of the record this one was merged into (xref.merging); null for a live
    record."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text", "Public id of the record this one was merged into; null while it is live."
        )
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value):
        return value or None


class BoundedDecimalField(serializers.DecimalField):
    """DRF's decimal field, its value then held to core.numbers' bound (named when refused):
    without max_digits, DRF takes 1e999999999 as it comes."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return bounded_decimal(value)
        except NumberError as exc:
            raise serializers.ValidationError(str(exc)) from None


class ValidatedModelSerializer(serializers.ModelSerializer):
    """A model serializer whose validation is the model's `full_clean()`.

    DRF's own uniqueness validators are switched off: the model's constraints say the same
    thing with the model's messages, so a duplicate gives one clear 400. Nested views pass
    the parent record (an item for its revisions) in the context as `parent`, keyed by the
    model field name, so the model sees it while validating.
    """

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DecimalField: BoundedDecimalField,
    }

    def get_validators(self):
        return []

    def get_uniqueness_extra_kwargs(self, field_names, declared_fields, extra_kwargs):
        return extra_kwargs, {}

    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        if "validators" in field_kwargs:
            field_kwargs["validators"] = [
                v for v in field_kwargs["validators"] if not isinstance(v, UniqueValidator)
            ]
        return field_class, field_kwargs

    def validate(self, attrs):
        attrs = {**attrs, **self.context.get("parent", {})}
        instance = self.unsaved_instance(attrs)
        try:
            instance.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(validation_error_detail(exc)) from None
        return attrs

    def unsaved_instance(self, attrs):
        """The record as saving `attrs` would leave it, not saved: a new one, or a copy of
        the one being updated (the stored one stays as it is if validation refuses)."""
        if self.instance is None:
            return self.Meta.model(**attrs)
        instance = copy.copy(self.instance)
        for name, value in attrs.items():
            setattr(instance, name, value)
        return instance


class SourceSystemSerializer(ValidatedModelSerializer):
    authoritative_for = serializers.ListField(
        child=serializers.ChoiceField(choices=SourceSystem.Domain.choices),
        required=False,
        help_text="Domains this system is the source of record for.",
    )

    class Meta:
        model = SourceSystem
        fields = (
            "code",
            "name",
            "kind",
            "authoritative_for",
            "trust_rank",
            "description",
            "is_active",
            *TIMESTAMPS,
        )
        read_only_fields = TIMESTAMPS


class UnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = (
            "code",
            "name",
            "description",
            "symbol",
            "level_category",
            "status",
            "source",
            "conversion_factor",
            "pint_expression",
            "mapping_class",
            *TIMESTAMPS,
        )
        read_only_fields = fields


class ItemSerializer(ValidatedModelSerializer):
    base_unit = unit_field()
    weight_unit = unit_field(required=False, allow_null=True)
    merged_into = MergedIntoField()

    class Meta:
        model = Item
        fields = (
            "public_id",
            "number",
            "description",
            "base_unit",
            "item_type",
            "status",
            "gtin",
            "manufacturer",
            "mpn",
            "commodity",
            "net_weight",
            "weight_unit",
            "merged_into",
            *TIMESTAMPS,
        )
        read_only_fields = ("public_id", *TIMESTAMPS)


class ItemRevisionSerializer(ValidatedModelSerializer):
    item = serializers.CharField(source="item.public_id", read_only=True)

    class Meta:
        model = ItemRevision
        fields = (
            "item",
            "revision",
            "status",
            "effective_from",
            "effective_to",
            "description",
            *TIMESTAMPS,
        )
        read_only_fields = TIMESTAMPS


class ItemUnitConversionSerializer(ValidatedModelSerializer):
    item = serializers.CharField(source="item.public_id", read_only=True)
    supplier = NaturalKeyField(
        ("public_id", "number"),
        "supplier",
        queryset=Supplier.objects.all(),
        required=False,
        allow_null=True,
        help_text="Supplier by public id or number; null: applies for every supplier.",
    )
    from_unit = unit_field()
    to_unit = unit_field()

    class Meta:
        model = ItemUnitConversion
        fields = (
            "id",
            "item",
            "supplier",
            "from_unit",
            "to_unit",
            "factor",
            "valid_from",
            "valid_to",
            *TIMESTAMPS,
        )
        read_only_fields = ("id", *TIMESTAMPS)


class SupplierSerializer(ValidatedModelSerializer):
    merged_into = MergedIntoField()

    class Meta:
        model = Supplier
        fields = (
            "public_id",
            "number",
            "name",
            "legal_name",
            "status",
            "country",
            "duns",
            "lei",
            "vat",
            "merged_into",
            *TIMESTAMPS,
        )
        read_only_fields = ("public_id", *TIMESTAMPS)


class SupplierSiteSerializer(ValidatedModelSerializer):
    supplier = serializers.CharField(source="supplier.public_id", read_only=True)
    calendar = calendar_field()
    merged_into = MergedIntoField()

    class Meta:
        model = SupplierSite
        fields = (
            "public_id",
            "supplier",
            "code",
            "name",
            "address",
            "city",
            "postal_code",
            "country",
            "calendar",
            "status",
            "merged_into",
            *TIMESTAMPS,
        )
        read_only_fields = ("public_id", *TIMESTAMPS)


class LocationSerializer(ValidatedModelSerializer):
    calendar = calendar_field()
    parent = NaturalKeyField(
        ("public_id",),
        "location",
        queryset=Location.objects.all(),
        required=False,
        allow_null=True,
        help_text="Public id of the enclosing location, e.g. the plant of a warehouse.",
    )
    supplier_site = NaturalKeyField(
        ("public_id",),
        "supplier site",
        queryset=SupplierSite.objects.all(),
        required=False,
        allow_null=True,
        help_text="For supplier-site locations: public id of the supplier site (SST-...).",
    )
    merged_into = MergedIntoField()

    class Meta:
        model = Location
        fields = (
            "public_id",
            "code",
            "name",
            "kind",
            "status",
            "gln",
            "address",
            "city",
            "postal_code",
            "country",
            "timezone",
            "calendar",
            "parent",
            "supplier_site",
            "can_receive",
            "merged_into",
            *TIMESTAMPS,
        )
        read_only_fields = ("public_id", *TIMESTAMPS)


class CalendarExceptionSerializer(ValidatedModelSerializer):
    class Meta:
        model = CalendarException
        fields = ("id", "start", "end", "is_working", "reason", *TIMESTAMPS)
        read_only_fields = ("id", *TIMESTAMPS)


class CalendarSerializer(ValidatedModelSerializer):
    exceptions = CalendarExceptionSerializer(many=True, read_only=True)

    class Meta:
        model = Calendar
        fields = (
            "public_id",
            "code",
            "name",
            "timezone",
            "working_weekdays",
            "holiday_country",
            "holiday_subdivision",
            "is_active",
            "exceptions",
            *TIMESTAMPS,
        )
        read_only_fields = ("public_id", *TIMESTAMPS)


class CodeValueSerializer(ValidatedModelSerializer):
    class Meta:
        model = CodeValue
        fields = ("code", "meaning", "description", "status", "sort_order", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS


class CodeListSerializer(ValidatedModelSerializer):
    values = CodeValueSerializer(many=True, read_only=True)

    class Meta:
        model = CodeList
        fields = ("code", "name", "description", "values", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS


# Query parameters and results of the helper endpoints. Built with get_fields() because
# "from" is a Python keyword and cannot be a class attribute.


def decimal_text(value):
    """A Decimal as plain text without exponent or trailing zeros: 24.00000000 -> "24",
    1E+3 -> "1000"."""
    return format(value.normalize(), "f")


class ConvertQuerySerializer(serializers.Serializer):
    def get_fields(self):
        return {
            "quantity": BoundedDecimalField(max_digits=None, decimal_places=None),
            "from": unit_field(),
            "to": unit_field(),
            "item": NaturalKeyField(
                ("public_id", "number"), "item", queryset=Item.objects.all(), required=False
            ),
            "supplier": NaturalKeyField(
                ("public_id", "number"),
                "supplier",
                queryset=Supplier.objects.all(),
                required=False,
            ),
            "date": serializers.DateField(required=False),
        }


class ConversionResultSerializer(serializers.Serializer):
    def get_fields(self):
        return {
            "quantity": serializers.CharField(help_text="The quantity converted, as given."),
            "from": serializers.CharField(help_text="Unit code converted from."),
            "to": serializers.CharField(help_text="Unit code converted to."),
            "result": serializers.CharField(
                help_text="The converted quantity as a decimal string (full precision)."
            ),
            "warnings": serializers.ListField(
                child=serializers.CharField(),
                help_text="E.g. a deprecated unit code was used.",
            ),
        }


class AddWorkingDaysQuerySerializer(serializers.Serializer):
    date = serializers.DateField()
    days = serializers.IntegerField(min_value=-10000, max_value=10000)


class AddWorkingDaysResultSerializer(serializers.Serializer):
    calendar = serializers.CharField()
    date = serializers.DateField()
    days = serializers.IntegerField()
    result = serializers.DateField()


class WorkingDaysQuerySerializer(serializers.Serializer):
    # Counting walks day by day; a century is far beyond any planning horizon.
    MAX_SPAN_DAYS = 36600

    def get_fields(self):
        return {"from": serializers.DateField(), "to": serializers.DateField()}

    def validate(self, attrs):
        if abs((attrs["to"] - attrs["from"]).days) > self.MAX_SPAN_DAYS:
            raise serializers.ValidationError({"to": "The range may span at most 100 years."})
        return attrs


class WorkingDaysResultSerializer(serializers.Serializer):
    def get_fields(self):
        return {
            "calendar": serializers.CharField(),
            "from": serializers.DateField(),
            "to": serializers.DateField(),
            "working_days": serializers.IntegerField(
                help_text="Working days in [from, to): from counts, to does not."
            ),
        }
