"""The queue's filters, shared by the review screens and the API.

`age` buckets are disjoint, so that counts per bucket add up to the queue: lt1h (opened in
the last hour), lt1d (1 hour to 1 day), lt3d (1 to 3 days), older. `q` searches the case's
search text (message id, document numbers, facets and diagnostic sentences; see
quarantine.receivers). `ordering`: "age" youngest first, "-age" oldest first (the default).
"""

from datetime import timedelta

import django_filters
from django.db.models import Exists, OuterRef
from django.utils import timezone

from mdm.filters import BoundedTextFilterSet
from quarantine import masters
from quarantine.models import QuarantineCase
from validation.models import MessageType, Rule, Team

AGE_BUCKETS = (
    ("lt1h", "< 1 hour"),
    ("lt1d", "< 1 day"),
    ("lt3d", "< 3 days"),
    ("older", "older"),
)
# Upper bound of each bucket's age (the last has none).
_AGE_LIMITS = {
    "lt1h": timedelta(hours=1),
    "lt1d": timedelta(days=1),
    "lt3d": timedelta(days=3),
}


def age_bounds(bucket, now=None):
    """(opened after, opened at or before) of a bucket; either may be None (open-ended)."""
    now = now or timezone.now()
    names = [name for name, _ in AGE_BUCKETS]
    index = names.index(bucket)
    younger = _AGE_LIMITS.get(names[index - 1]) if index else None
    older = _AGE_LIMITS.get(bucket)
    return (
        now - older if older is not None else None,
        now - younger if younger is not None else None,
    )


def age_bucket(opened_at, now=None):
    """The bucket name of a case opened at `opened_at`."""
    age = (now or timezone.now()) - opened_at
    for name, _ in AGE_BUCKETS:
        limit = _AGE_LIMITS.get(name)
        if limit is None or age < limit:
            return name
    return AGE_BUCKETS[-1][0]


class CaseFilter(BoundedTextFilterSet):
    """The queue's filters. Tuned for 100,000 open cases: status as one `IN`, without the
    DISTINCT that MultipleChoiceFilter adds by default (no filter here can repeat a case:
    status is a column and a case has a rule at most once), and rule by the rule's id,
    looked up first, so the many-to-many table is read through its rule index instead of
    being joined whole to the rules to compare codes."""

    status = django_filters.MultipleChoiceFilter(
        choices=QuarantineCase.Status.choices, method="filter_status"
    )
    team = django_filters.ChoiceFilter(choices=Team.choices)
    rule = django_filters.CharFilter(method="filter_rule", label="Rule code (e.g. XREF_UNRESOLVED)")
    plant = django_filters.CharFilter(
        method="filter_master", label="Plant: its public id (LOC-000003) or a sender's code"
    )
    supplier = django_filters.CharFilter(
        method="filter_master", label="Supplier: its public id (SUP-000001) or a sender's code"
    )
    item = django_filters.CharFilter(
        method="filter_master", label="Item: its public id (ITM-000023) or a sender's code"
    )
    system = django_filters.CharFilter(field_name="system__code", label="Source system code")
    message_type = django_filters.ChoiceFilter(choices=MessageType.choices)
    age = django_filters.ChoiceFilter(choices=AGE_BUCKETS, method="filter_age")
    assignee = django_filters.CharFilter(
        field_name="assignee__username", label="Assignee's user name"
    )
    overdue = django_filters.BooleanFilter(
        field_name="overdue_at", lookup_expr="isnull", exclude=True, label="Past the SLA"
    )
    q = django_filters.CharFilter(method="filter_q", label="Search")
    ordering = django_filters.ChoiceFilter(
        choices=(("-age", "Oldest first"), ("age", "Newest first")),
        method="filter_ordering",
        label="Sort",
    )

    class Meta:
        model = QuarantineCase
        fields = [
            "status",
            "team",
            "rule",
            "plant",
            "supplier",
            "item",
            "system",
            "message_type",
            "age",
            "assignee",
            "overdue",
            "q",
            "ordering",
        ]

    def filter_status(self, queryset, name, value):
        # One `IN` (not ORed equalities), which PostgreSQL answers from the covering index.
        return queryset.filter(status__in=value) if value else queryset

    def filter_rule(self, queryset, name, value):
        rules = list(Rule.objects.filter(code=value).values_list("pk", flat=True))
        links = QuarantineCase.rules.through.objects.filter(
            quarantinecase_id=OuterRef("pk"), rule_id__in=rules
        )
        return queryset.filter(Exists(links))

    def filter_master(self, queryset, name, value):
        """A master record's public id: the cases of every code that names it, in every
        system; anything else: that code as the sender wrote it."""
        if masters.is_record_id(name, value):
            return queryset.filter(masters.record_condition(name, value))
        return queryset.filter(**{name: value})

    def filter_age(self, queryset, name, value):
        after, until = age_bounds(value)
        if after is not None:
            queryset = queryset.filter(opened_at__gt=after)
        if until is not None:
            queryset = queryset.filter(opened_at__lte=until)
        return queryset

    def filter_q(self, queryset, name, value):
        words = value.lower().split()
        for word in words[:10]:
            queryset = queryset.filter(search_text__contains=word)
        return queryset

    def filter_ordering(self, queryset, name, value):
        if value == "age":
            return queryset.order_by("-opened_at", "-id")
        return queryset.order_by("opened_at", "id")
