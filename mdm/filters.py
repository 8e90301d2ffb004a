"""Filters for the API v1 lists: status, kind, country, changed since, and a text search `q`.

Sync jobs poll with `updated_since` (served by the `updated_at` index every record has) and
search with `q` when they only know a part number or a name.
"""

import datetime as dt

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q
from django_filters.fields import IsoDateTimeField

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

# The longest value a text filter takes (a 400 beyond): no code or name is longer, and
# SQLite refuses a LIKE pattern (icontains, iexact) over 50 kB as an OperationalError.
TEXT_FILTER_MAX = 1000


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, turned to UTC: Python takes UTC offsets up to 23:59, PostgreSQL
    only up to 15:59, so an exotic offset would otherwise fail in the database."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before the year 1 in UTC
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class BoundedTextFilterSet(django_filters.FilterSet):
    """A filter set whose text filters refuse values longer than TEXT_FILTER_MAX."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.filters:
            if isinstance(self.filters[name], django_filters.CharFilter):
                self.filters[name].extra.setdefault("max_length", TEXT_FILTER_MAX)


class MasterDataFilterSet(BoundedTextFilterSet):
    """`q` searches `search_fields` (case-insensitive, contains); `updated_since` keeps
    records changed at or after an ISO 8601 date-time."""

    search_fields = ()

    q = django_filters.CharFilter(method="search", label="Text search")
    updated_since = UtcDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        label="Changed at or after this ISO 8601 date-time, e.g. 2025-01-31T00:00:00Z",
        error_messages={
            "invalid": "Give an ISO 8601 date-time, e.g. 2025-01-31T08:00:00Z or 2025-01-31."
        },
    )

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value})
        return queryset.filter(condition)


def country_filter():
    return django_filters.CharFilter(
        field_name="country", lookup_expr="iexact", label="ISO 3166-1 alpha-2 country code"
    )


class SourceSystemFilterSet(MasterDataFilterSet):
    search_fields = ("code", "name")

    class Meta:
        model = SourceSystem
        fields = ("kind", "is_active")


class UnitFilterSet(MasterDataFilterSet):
    search_fields = ("code", "name", "symbol")

    class Meta:
        model = Unit
        fields = ("status", "source", "mapping_class")


class ItemFilterSet(MasterDataFilterSet):
    search_fields = ("number", "description", "mpn", "gtin", "manufacturer")

    class Meta:
        model = Item
        fields = ("status", "item_type")


class ItemRevisionFilterSet(MasterDataFilterSet):
    search_fields = ("revision", "description")

    class Meta:
        model = ItemRevision
        fields = ("status",)


class ItemUnitConversionFilterSet(django_filters.FilterSet):
    supplier = django_filters.CharFilter(
        field_name="supplier__public_id", label="Supplier public id"
    )

    class Meta:
        model = ItemUnitConversion
        fields = ("from_unit", "to_unit")


class SupplierFilterSet(MasterDataFilterSet):
    search_fields = ("number", "name", "legal_name", "duns", "lei")
    country = country_filter()

    class Meta:
        model = Supplier
        fields = ("status", "country")


class SupplierSiteFilterSet(MasterDataFilterSet):
    search_fields = ("code", "name", "city")
    country = country_filter()

    class Meta:
        model = SupplierSite
        fields = ("status", "country")


class LocationFilterSet(MasterDataFilterSet):
    search_fields = ("code", "name", "gln")
    country = country_filter()

    class Meta:
        model = Location
        fields = ("status", "kind", "country", "can_receive")


class CalendarFilterSet(MasterDataFilterSet):
    search_fields = ("code", "name")

    class Meta:
        model = Calendar
        fields = ("is_active",)


class CalendarExceptionFilterSet(django_filters.FilterSet):
    class Meta:
        model = CalendarException
        fields = ("is_working",)


class CodeListFilterSet(MasterDataFilterSet):
    search_fields = ("code", "name")

    class Meta:
        model = CodeList
        fields = ()


class CodeValueFilterSet(MasterDataFilterSet):
    search_fields = ("code", "meaning")

    class Meta:
        model = CodeValue
        fields = ("status",)
