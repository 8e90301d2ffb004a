"""Filters of /api/v1/xrefs/: by system, kind, code, scope, canonical record, status, the
day a reference is valid on, changed since, and a text search over code and scope."""

import django_filters

from mdm.filters import MasterDataFilterSet
from xref import services
from xref.models import CrossReference, Kind, valid_on


class CrossReferenceFilterSet(MasterDataFilterSet):
    search_fields = ("code", "scope")

    system = django_filters.CharFilter(
        field_name="system__code", lookup_expr="iexact", label="Source system code"
    )
    kind = django_filters.ChoiceFilter(choices=Kind.choices)
    code = django_filters.CharFilter(label="External code, exactly")
    scope = django_filters.CharFilter(label="Scope (plant, company code), exactly")
    target = django_filters.CharFilter(
        method="filter_target",
        label="Canonical record by natural key: ITM-000123, SUP-000045, SST-000067, "
        "LOC-000007, ITM-000123/B, H87, ACK_LINE_STATUS:accepted",
    )
    status = django_filters.ChoiceFilter(choices=CrossReference.Status.choices)
    valid_at = django_filters.DateFilter(
        method="filter_valid_at", label="Only references valid on this date (YYYY-MM-DD)"
    )
    is_preferred = django_filters.BooleanFilter()
    origin = django_filters.ChoiceFilter(choices=CrossReference.Origin.choices)

    class Meta:
        model = CrossReference
        fields = ()

    def filter_target(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(services.target_condition(value))

    def filter_valid_at(self, queryset, name, value):
        return queryset.filter(valid_on(value))
