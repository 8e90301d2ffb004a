"""Cross-references in the admin: their own list, and a "Known as" table on every master
record's page listing the codes other systems use for it. Then the matcher's labelled pairs
(read, export, delete) and its estimated weights (read only).

mdm must not import xref, so the "Known as" tables are added here to mdm's registered admins.
Forms validate through CrossReference.full_clean(), so an overlapping claim is refused on the
form with the sentence naming the reference it collides with.
"""

from django import forms
from django.contrib import admin
from django.db.models import Case, OuterRef, Q, Subquery, When
from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from changes.admin_doors import HeldInlineMixin
from core.admin import ReadOnlyAdmin
from mdm.admin import RECORD_FIELDS, MasterDataAdmin, kept_rows
from xref import labels, services
from xref.models import (
    TARGET_FIELDS,
    TARGET_PATHS,
    TARGETS,
    CrossReference,
    Kind,
    MatchLabel,
    MatchWeights,
)

# The registry's search box also finds the references of the records whose public id (exact)
# or name (a part of it) is typed: `ITM-000023` or `Frontier`. Per kind, the record's fields
# searched; each kind is one indexed `target IN (records matching)` subquery.
CANONICAL_SEARCH = {
    Kind.ITEM: ("public_id", "number", "description"),
    Kind.ITEM_REVISION: ("item__public_id", "item__description"),
    Kind.SUPPLIER: ("public_id", "number", "name"),
    Kind.SUPPLIER_SITE: ("public_id", "name", "supplier__public_id", "supplier__name"),
    Kind.LOCATION: ("public_id", "code", "name"),
    Kind.UNIT: ("code", "name"),
    Kind.CODE_VALUE: ("code", "meaning"),
}


def canonical_match(term):
    """References whose canonical record has public id `term` or `term` in its name."""
    condition = Q()
    for kind, (field, model) in TARGETS.items():
        record = Q()
        for name in CANONICAL_SEARCH[kind]:
            exact = name.endswith("public_id") or (kind == Kind.UNIT and name == "code")
            record |= Q(**{f"{name}__{'iexact' if exact else 'icontains'}": term})
        condition |= Q(kind=kind, **{f"{field}__in": model.objects.filter(record).values("pk")})
    return condition


@admin.register(CrossReference)
class CrossReferenceAdmin(MasterDataAdmin):
    list_display = (
        "code",
        "system",
        "scope",
        "kind",
        "canonical_record",
        "valid_from",
        "valid_to",
        "status",
        "is_preferred",
        "origin",
        "updated_at",
    )
    list_display_links = ("code",)
    list_filter = ("system", "kind", "status", "origin", "is_preferred")
    list_select_related = ("system", *TARGET_PATHS)
    search_fields = ("code", "scope")
    search_help_text = (
        "External code or scope, or the canonical record's public id or name "
        "(ITM-000023, Frontier)."
    )
    date_hierarchy = "updated_at"
    autocomplete_fields = TARGET_FIELDS
    readonly_fields = ("origin", "created_by", *RECORD_FIELDS)
    fieldsets = (
        (None, {"fields": ("system", "kind", "scope", "code")}),
        (
            "Canonical record",
            {
                "fields": TARGET_FIELDS,
                "description": "Fill in the one field of the reference's kind.",
            },
        ),
        ("Validity", {"fields": ("valid_from", "valid_to", "status", "is_preferred")}),
        ("Record", {"fields": ("origin", "created_by", *RECORD_FIELDS)}),
    )

    @admin.display(description="Canonical record")
    def canonical_record(self, reference):
        """The record's public id and name, a link to its page."""
        target = reference.target
        text = f"{services.target_key(reference.kind, target)} "
        text += services.target_name(reference.kind, target)
        opts = target._meta
        try:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[target.pk])
        except NoReverseMatch:
            return text
        return format_html('<a href="{}">{}</a>', url, text)

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            found = found | queryset.filter(canonical_match(term))
        return found, may_have_duplicates

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            obj.origin = CrossReference.Origin.MANUAL
        super().save_model(request, obj, form, change)


# "Known as": the references of one master record, on that record's page.


class KnownAsForm(forms.ModelForm):
    """A reference of the inline's kind. The kind is not asked for: it is the record's. New
    rows are recorded as entered by hand by the steward at the keyboard."""

    kind = None  # set per inline
    user = None  # set per request

    class Meta:
        model = CrossReference
        fields = ("system", "scope", "code", "valid_from", "valid_to", "status", "is_preferred")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.kind = self.kind
        if self.instance._state.adding:
            self.instance.created_by = self.user
            self.instance.origin = CrossReference.Origin.MANUAL


def _overlap(a, b):
    """Whether two [from, to) periods share a day; an empty end is open."""
    return (a[1] is None or b[0] is None or b[0] < a[1]) and (
        b[1] is None or a[0] is None or a[0] < b[1]
    )


class KnownAsFormSet(forms.BaseInlineFormSet):
    """Refuses rows of one save that claim one code, or are preferred for one system, on a
    shared day: each row's clean() can only compare itself with references already saved."""

    def clean(self):
        super().clean()
        rows = [
            row
            for row in kept_rows(self)
            if row.get("status") == CrossReference.Status.ACTIVE and row.get("system")
        ]
        for n, row in enumerate(rows):
            period = (row.get("valid_from"), row.get("valid_to"))
            for other in rows[n + 1 :]:
                if not _overlap(period, (other.get("valid_from"), other.get("valid_to"))):
                    continue
                same_place = (row["system"], row.get("scope", "")) == (
                    other["system"],
                    other.get("scope", ""),
                )
                if same_place and row.get("code") == other.get("code"):
                    raise forms.ValidationError(
                        f"Two rows claim {row['system'].code} code {row.get('code')!r} on "
                        "shared days; end one before the other starts."
                    )
                if same_place and row.get("is_preferred") and other.get("is_preferred"):
                    raise forms.ValidationError(
                        f"Two rows are the preferred {row['system'].code} code on shared "
                        "days; mark only one preferred."
                    )


class KnownAsInline(HeldInlineMixin, admin.TabularInline):
    """The codes other systems use for the record. Read-only while a policy says changes of
    cross-references need approval (HeldInlineMixin): they change on their own pages then."""

    model = CrossReference
    form = KnownAsForm
    formset = KnownAsFormSet
    fields = ("system", "scope", "code", "valid_from", "valid_to", "status", "is_preferred")
    verbose_name = "known as"
    verbose_name_plural = "known as (codes other systems use for this record)"
    extra = 0
    kind = None

    def get_formset(self, request, obj=None, **kwargs):
        form = type("KnownAsForm", (self.form,), {"kind": self.kind, "user": request.user})
        return super().get_formset(request, obj, form=form, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("system")

    def has_add_permission(self, request, obj=None):
        # A record gets its codes once it exists: before, the reference has nothing to name.
        return obj is not None and super().has_add_permission(request, obj)


def known_as_inline(kind):
    """The "Known as" inline of one kind of record, pointing at it by that kind's key."""
    field, model = TARGETS[kind]
    name = f"{model.__name__}KnownAsInline"
    return type(name, (KnownAsInline,), {"fk_name": field, "kind": kind.value})


for _kind, (_field, _model) in TARGETS.items():
    _model_admin = admin.site.get_model_admin(_model)
    _model_admin.inlines = (*_model_admin.inlines, known_as_inline(_kind))


# The matcher's labelled pairs and weights. What a record of each kind is called:
RECORD_NAMES = {"item": "description", "supplier": "name", "location": "name"}


def _of_record(fields):
    """A field of the label's record, whichever kind it is (`fields` names it per kind): one
    subquery per kind, so a page of labels is one query."""
    return Case(
        *(
            When(
                kind=kind,
                then=Subquery(
                    model.objects.filter(public_id=OuterRef("record")).values(fields[kind])[:1]
                ),
            )
            for kind, model in labels.MODELS.items()
        )
    )


@admin.register(MatchLabel)
class MatchLabelAdmin(admin.ModelAdmin):
    """Decisions are kept by the quarantine fixes, the API and CSV imports; here they are
    read, exported and, when wrong, deleted (or replaced by a new decision)."""

    list_display = (
        "kind",
        "record_link",
        "is_match",
        "query_text",
        "source",
        "decided_by",
        "decided_at",
    )
    list_display_links = ("kind",)
    list_filter = ("kind", "source", "is_match")
    list_select_related = ("decided_by",)
    search_fields = ("record", "query__q")
    search_help_text = "The record's public id (ITM-000023), or words of the query's text."
    date_hierarchy = "decided_at"
    fields = (
        "kind",
        "query",
        "query_key",
        "record_link",
        "is_match",
        "source",
        "decided_by",
        "decided_at",
    )
    readonly_fields = fields
    actions = ("export_selected",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                record_pk=_of_record(dict.fromkeys(labels.KINDS, "pk")),
                record_name=_of_record(RECORD_NAMES),
            )
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Record", ordering="record")
    def record_link(self, label):
        """The record's public id and name, a link to its page."""
        text = f"{label.record} {label.record_name or ''}".strip()
        if label.record_pk is None:
            return text
        opts = labels.MODELS[label.kind]._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[label.record_pk])
        return format_html('<a href="{}">{}</a>', url, text)

    @admin.display(description="Query")
    def query_text(self, label):
        return labels.query_text(label.query)

    @admin.action(description="Export selected as CSV", permissions=("view",))
    def export_selected(self, request, queryset):
        response = HttpResponse(
            "\ufeff" + labels.export_csv(labels=queryset), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="match-labels.csv"'
        return response


@admin.register(MatchWeights)
class MatchWeightsAdmin(ReadOnlyAdmin):
    """The weights as estimated: written by the estimation alone, read-only for everyone."""

    list_display = ("kind", "estimated_at", "labelled_pairs", "unlabelled_pairs", "summary")
    list_filter = ("kind",)
    date_hierarchy = "estimated_at"
    fields = ("kind", "estimated_at", "labelled_pairs", "unlabelled_pairs", "summary", "weights")
    readonly_fields = fields
