"""The change requests' filters, shared by the queue screen and the API."""

import django_filters

from changes import requests
from changes.models import ChangeRequest

SCOPES = (
    ("mine", "Asked by me"),
    ("to_review", "For me to review"),
    ("emergency", "Emergency changes not yet approved"),
)


class ChangeRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ChangeRequest.Status.choices)
    scope = django_filters.ChoiceFilter(choices=SCOPES, method="filter_scope", label="Whose")
    kind = django_filters.CharFilter(help_text="The kind of record, e.g. xref.crossreference.")
    system = django_filters.CharFilter(method="filter_system", help_text="A system's code.")

    class Meta:
        model = ChangeRequest
        fields = ("status", "scope", "kind", "system")

    def filter_scope(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if value == "mine":
            return queryset.filter(requested_by=user)
        if value == "to_review":
            return requests.to_review(user, queryset)
        return queryset.filter(
            status=ChangeRequest.Status.APPLIED, emergency_at__isnull=False, decided_at__isnull=True
        )

    def filter_system(self, queryset, name, value):
        # The systems are a short JSON list; contains works on PostgreSQL and SQLite alike.
        return queryset.filter(systems__icontains=f'"{value.strip().upper()}"')
