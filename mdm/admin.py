"""The admin: where data stewards look up, correct and revert master data.

Every master model keeps its history (django-simple-history). A record's History page lists
each change with who made it and where it came from (admin, API, import, task) and reverts
to any earlier version. Forms validate through the models' `full_clean()`, as everywhere.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from simple_history.admin import SimpleHistoryAdmin

from changes.admin_doors import HeldChangeAdmin, HeldInlineMixin
from core.history import LabelledHistoryHelper, is_revert, revert_changes, revert_reason
from mdm.admin_display import (
    CountryFilter,
    WordsFormMixin,
    country_column,
    factor_column,
    unit_column,
)
from mdm.models import (
    ApiClient,
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

admin.site.site_header = "Master data hub"
admin.site.site_title = "Master data hub"
admin.site.index_title = "Master data and cross-references"
# No "View site": the header's navigation leads to every screen (templates/admin/base_site.html).
admin.site.site_url = None
# No model list down the side of every page either: it took a quarter of a laptop's width from
# the change lists; the header's "Admin home" and the breadcrumbs lead to every model.
admin.site.enable_nav_sidebar = False

PUBLIC_RECORD_FIELDS = ("public_id", "created_at", "updated_at")
RECORD_FIELDS = ("created_at", "updated_at")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class MasterDataAdmin(HeldChangeAdmin, WordsFormMixin, SimpleHistoryAdmin):
    """Admin for a master record: history with its source, in labels, reverts marked as such
    and shown before they are made; revert only for editors. A change a policy says needs
    approval (changes) becomes a change request instead of a write, whether made on the
    record's page, by a deletion or by a revert (HeldChangeAdmin, after this class's own
    save_model has marked a revert)."""

    # The history list's columns are its template's (source, reference, reason...): labels,
    # not the historical model's field names.
    object_history_list_template = "admin/history/object_history_list.html"
    object_history_form_template = "admin/history/object_history_form.html"
    readonly_fields = RECORD_FIELDS

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple_history saves a posted revert for anyone who may view the history; a revert
        # is a change, so it needs the change permission.
        if request.method == "POST" and not self.has_change_history_permission(request):
            raise PermissionDenied
        extra_context = {**(extra_context or {})}
        current = self.get_object(request, unquote(object_id))
        reverted = self.model.history.filter(
            **{self.opts.pk.attname: unquote(object_id)}, history_id=version_id
        ).first()
        if current is not None and reverted is not None:
            fields = self.get_form(request, current).base_fields
            extra_context["revert_changes"] = revert_changes(current, reverted.instance, fields)
            extra_context["reverted_record"] = reverted
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_historical_record_context_helper(self, request, historical_record):
        return LabelledHistoryHelper(self.model, historical_record)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        super().set_history_delta_changes(request, historical_records, foreign_keys_are_objs)
        for record in historical_records:
            record.is_revert = is_revert(record)

    def save_model(self, request, obj, form, change):
        # A revert from the history page says so on the row it writes.
        if self._is_history_form(request):
            version = request.resolver_match.args[1]
            reverted = self.model.history.filter(history_id=version).first()
            if reverted is not None:
                obj._change_reason = revert_reason(reverted)
        super().save_model(request, obj, form, change)

    def get_readonly_fields(self, request, obj=None):
        # An old version is shown as text, not as inputs, to those who may not revert it.
        if self._is_history_form(request) and not self.has_change_history_permission(request):
            if self.fieldsets:
                return flatten_fieldsets(self.get_fieldsets(request, obj))
            return [field.name for field in self.opts.concrete_fields]
        return super().get_readonly_fields(request, obj)

    # A record merged into another (xref.merging) is history: seen, never edited or deleted
    # here, so that its id goes on leading to the record it was merged into.
    def has_change_permission(self, request, obj=None):
        return not _merged(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not _merged(obj) and super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if _merged(obj) and request.method == "GET":
            messages.warning(
                request,
                f"{obj.public_id} was merged into {obj.merged_into}: its id and the codes other "
                f"systems have for it lead there. Edit {obj.merged_into} instead.",
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def _is_history_form(self, request):
        match = request.resolver_match
        name = f"{self.opts.app_label}_{self.opts.model_name}_simple_history"
        return match is not None and match.url_name == name


def _merged(obj):
    return bool(getattr(obj, "merged_into", ""))


# Source systems


class SourceSystemForm(forms.ModelForm):
    authoritative_for = forms.MultipleChoiceField(
        choices=SourceSystem.Domain.choices,
        widget=forms.CheckboxSelectMultiple,
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
            "budget_messages_per_minute",
            "budget_bytes_per_minute",
        )


@admin.register(SourceSystem)
class SourceSystemAdmin(MasterDataAdmin):
    form = SourceSystemForm
    list_display = ("code", "name", "kind", "source_of_record_for", "trust_rank", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name")
    fieldsets = (
        (
            None,
            {"fields": ("code", "name", "kind", "authoritative_for", "trust_rank", "is_active")},
        ),
        ("Notes", {"fields": ("description",)}),
        (
            "Submission budget",
            {"fields": ("budget_messages_per_minute", "budget_bytes_per_minute")},
        ),
        ("Record", {"fields": RECORD_FIELDS}),
    )

    @admin.display(description="Source of record for")
    def source_of_record_for(self, system):
        labels = dict(SourceSystem.Domain.choices)
        return ", ".join(labels.get(domain, domain) for domain in system.authoritative_for)


# Units


@admin.register(Unit)
class UnitAdmin(MasterDataAdmin):
    # Rec 20/21 units are loaded reference data: stewards decide whether a unit may be used
    # and how it maps to pint; what UN/ECE published stays as loaded.
    REFERENCE_FIELDS = ("name", "description", "symbol", "level_category", "conversion_factor")

    list_display = (
        "code",
        "name",
        "symbol",
        "status",
        "source",
        "mapping_class",
        "pint_expression",
        "level_category",
    )
    list_filter = ("status", "source", "mapping_class", "level_category")
    search_fields = ("code", "name", "symbol", "pint_expression")
    search_help_text = "Rec 20 code, name, symbol or pint expression."
    fieldsets = (
        (
            "UN/ECE Rec 20",
            {
                "fields": (
                    "code",
                    "name",
                    "description",
                    "symbol",
                    "level_category",
                    "conversion_factor",
                    "source",
                )
            },
        ),
        ("Use and conversion", {"fields": ("status", "mapping_class", "pint_expression")}),
        ("Record", {"fields": RECORD_FIELDS}),
    )

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if obj is None:
            return readonly
        fixed = ("code", "source")
        if obj.source != Unit.Source.LOCAL:
            fixed += self.REFERENCE_FIELDS
        return tuple(dict.fromkeys((*fixed, *readonly)))

    def has_delete_permission(self, request, obj=None):
        # A published code comes back with the next Rec 20 load; retire it with its status.
        if obj is not None and obj.source != Unit.Source.LOCAL:
            return False
        return super().has_delete_permission(request, obj)

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.resolver_match and request.resolver_match.url_name == "autocomplete":
            # Unit pickers offer only units a record may use.
            queryset = queryset.exclude(status=Unit.Status.DELETED)
        return queryset, may_have_duplicates


# Items


def kept_rows(formset):
    """The cleaned rows an inline formset's save keeps: filled in and not marked deleted."""
    return [
        form.cleaned_data
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


class NoOverlapFormSet(forms.BaseInlineFormSet):
    """Refuses rows of one save that overlap each other: each row's clean() can only compare
    itself with rows already saved. Ends are inclusive; an empty end is open."""

    start_field = end_field = None

    def counts(self, row):
        return True

    def clean(self):
        super().clean()
        rows = [row for row in kept_rows(self) if row.get(self.start_field) and self.counts(row)]
        rows.sort(key=lambda row: row[self.start_field])
        previous = None
        for row in rows:
            start, end = row[self.start_field], row.get(self.end_field)
            if previous is not None and (previous[1] is None or previous[1] >= start):
                raise forms.ValidationError(
                    f"The rows starting {previous[0]} and {start} overlap; "
                    "end the earlier one first."
                )
            previous = (start, end)


class ReleasedRevisionsFormSet(NoOverlapFormSet):
    start_field, end_field = "effective_from", "effective_to"

    def counts(self, row):
        return row.get("status") == ItemRevision.Status.RELEASED


class ExceptionsFormSet(NoOverlapFormSet):
    start_field, end_field = "start", "end"


class ItemRevisionInline(admin.TabularInline):
    model = ItemRevision
    formset = ReleasedRevisionsFormSet
    fields = ("revision", "status", "effective_from", "effective_to", "description")
    extra = 0


class ItemUnitConversionInline(HeldInlineMixin, WordsFormMixin, admin.TabularInline):
    model = ItemUnitConversion
    fields = ("from_unit", "factor", "to_unit", "supplier", "valid_from", "valid_to")
    autocomplete_fields = ("from_unit", "to_unit", "supplier")
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("from_unit", "to_unit", "supplier")


@admin.register(Item)
class ItemAdmin(MasterDataAdmin):
    list_display = (
        "public_id",
        "number",
        "description",
        "item_type",
        "status",
        unit_column("base_unit", "Base unit"),
        "manufacturer",
        "mpn",
        "commodity",
    )
    list_display_links = ("public_id", "number")
    list_filter = (
        "status",
        "item_type",
        ("base_unit", admin.RelatedOnlyFieldListFilter),
        "commodity",
    )
    list_select_related = ("base_unit",)
    search_fields = ("number", "description", "gtin", "mpn", "manufacturer", "=public_id")
    search_help_text = "Number, description, GTIN, MPN, manufacturer or exact public id."
    date_hierarchy = "updated_at"
    autocomplete_fields = ("base_unit", "weight_unit")
    readonly_fields = PUBLIC_RECORD_FIELDS
    fieldsets = (
        (None, {"fields": ("public_id", "number", "description", "item_type", "status")}),
        ("Units", {"fields": ("base_unit", "net_weight", "weight_unit")}),
        ("Identification", {"fields": ("gtin", "manufacturer", "mpn", "commodity")}),
        ("Record", {"fields": RECORD_FIELDS}),
    )
    inlines = (ItemRevisionInline, ItemUnitConversionInline)


@admin.register(ItemRevision)
class ItemRevisionAdmin(MasterDataAdmin):
    list_display = ("item", "revision", "status", "effective_from", "effective_to", "description")
    list_filter = ("status",)
    list_select_related = ("item",)
    search_fields = ("item__number", "item__description", "revision", "description")
    search_help_text = "Item number or description, revision, revision description."
    date_hierarchy = "effective_from"
    autocomplete_fields = ("item",)
    fieldsets = (
        (None, {"fields": ("item", "revision", "status", "description")}),
        ("Effective", {"fields": ("effective_from", "effective_to")}),
        ("Record", {"fields": RECORD_FIELDS}),
    )


@admin.register(ItemUnitConversion)
class ItemUnitConversionAdmin(MasterDataAdmin):
    list_display = (
        "item",
        unit_column("from_unit", "From unit"),
        factor_column,
        unit_column("to_unit", "To unit"),
        "supplier",
        "valid_from",
        "valid_to",
    )
    list_filter = (
        ("from_unit", admin.RelatedOnlyFieldListFilter),
        ("to_unit", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("item", "from_unit", "to_unit", "supplier")
    search_fields = ("item__number", "item__description", "supplier__number", "supplier__name")
    search_help_text = "Item number or description, supplier number or name."
    autocomplete_fields = ("item", "supplier", "from_unit", "to_unit")
    fieldsets = (
        (None, {"fields": ("item", "supplier")}),
        (
            "Conversion: 1 from-unit = factor to-units",
            {"fields": ("from_unit", "factor", "to_unit")},
        ),
        ("Validity", {"fields": ("valid_from", "valid_to")}),
        ("Record", {"fields": RECORD_FIELDS}),
    )


# Suppliers


class SupplierSiteInline(WordsFormMixin, admin.TabularInline):
    # What tells the sites apart; the address and calendar are on the site's own page.
    model = SupplierSite
    fields = ("code", "name", "city", "country", "status")
    show_change_link = True
    extra = 0

    def get_queryset(self, request):
        # A site merged into another (xref.merging) is history, shown read-only on its own
        # page only: here it could be edited with the live ones.
        return super().get_queryset(request).filter(merged_into="")


@admin.register(Supplier)
class SupplierAdmin(MasterDataAdmin):
    list_display = (
        "public_id",
        "number",
        "name",
        "status",
        country_column(),
        "duns",
        "lei",
        "vat",
    )
    list_display_links = ("public_id", "number")
    list_filter = ("status", CountryFilter)
    search_fields = ("number", "name", "legal_name", "duns", "lei", "vat", "=public_id")
    search_help_text = "Number, name, legal name, DUNS, LEI, VAT number or exact public id."
    date_hierarchy = "updated_at"
    readonly_fields = PUBLIC_RECORD_FIELDS
    fieldsets = (
        (None, {"fields": ("public_id", "number", "name", "legal_name", "status", "country")}),
        ("Identifiers", {"fields": ("duns", "lei", "vat")}),
        ("Record", {"fields": RECORD_FIELDS}),
    )
    inlines = (SupplierSiteInline,)


@admin.register(SupplierSite)
class SupplierSiteAdmin(MasterDataAdmin):
    list_display = (
        "public_id",
        "supplier",
        "code",
        "name",
        "city",
        country_column(),
        "calendar",
        "status",
    )
    list_display_links = ("public_id", "code")
    list_filter = ("status", CountryFilter)
    list_select_related = ("supplier", "calendar")
    search_fields = (
        "code",
        "name",
        "city",
        "supplier__number",
        "supplier__name",
        "=public_id",
    )
    search_help_text = "Site code, name or city, supplier number or name, or exact public id."
    autocomplete_fields = ("supplier", "calendar")
    readonly_fields = PUBLIC_RECORD_FIELDS
    fieldsets = (
        (None, {"fields": ("public_id", "supplier", "code", "name", "status")}),
        ("Address", {"fields": ("address", "postal_code", "city", "country")}),
        ("Operations", {"fields": ("calendar",)}),
        ("Record", {"fields": RECORD_FIELDS}),
    )


# Locations


@admin.register(Location)
class LocationAdmin(MasterDataAdmin):
    list_display = (
        "public_id",
        "code",
        "name",
        "kind",
        "status",
        "gln",
        country_column(),
        "calendar",
        "parent",
        "can_receive",
    )
    list_display_links = ("public_id", "code")
    list_filter = ("kind", "status", CountryFilter, "can_receive")
    list_select_related = ("calendar", "parent", "supplier_site__supplier")
    search_fields = ("code", "name", "gln", "city", "=public_id")
    search_help_text = "Code, name, GLN, city or exact public id."
    date_hierarchy = "updated_at"
    autocomplete_fields = ("calendar", "parent", "supplier_site")
    readonly_fields = PUBLIC_RECORD_FIELDS
    fieldsets = (
        (None, {"fields": ("public_id", "code", "name", "kind", "status", "gln")}),
        ("Address", {"fields": ("address", "postal_code", "city", "country", "timezone")}),
        ("Operations", {"fields": ("calendar", "parent", "supplier_site", "can_receive")}),
        ("Record", {"fields": RECORD_FIELDS}),
    )


# Calendars


class WeekdayMaskField(forms.MultipleChoiceField):
    """Working weekdays as seven checkboxes, stored as the model's mask ('1111100' =
    Mon-Fri). The mask's rules stay on the model."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", [(str(day), name) for day, name in enumerate(WEEKDAYS)])
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, str):
            return [str(day) for day, flag in enumerate(value) if flag == "1"]
        return value

    def clean(self, value):
        days = set(super().clean(value))
        return "".join("1" if str(day) in days else "0" for day in range(len(WEEKDAYS)))

    def has_changed(self, initial, data):
        return super().has_changed(self.prepare_value(initial), data)


class CalendarForm(forms.ModelForm):
    working_weekdays = WeekdayMaskField(label="Working weekdays")

    class Meta:
        model = Calendar
        fields = (
            "code",
            "name",
            "timezone",
            "working_weekdays",
            "holiday_country",
            "holiday_subdivision",
            "is_active",
        )


class CalendarExceptionInline(HeldInlineMixin, admin.TabularInline):
    model = CalendarException
    formset = ExceptionsFormSet
    fields = ("start", "end", "is_working", "reason")
    extra = 0


@admin.register(Calendar)
class CalendarAdmin(MasterDataAdmin):
    form = CalendarForm
    list_display = (
        "public_id",
        "code",
        "name",
        "timezone",
        "working_days",
        country_column("holiday_country", "Holiday country"),
        "holiday_subdivision",
        "is_active",
    )
    list_display_links = ("public_id", "code")
    list_filter = ("is_active", "holiday_country", "timezone")
    search_fields = ("code", "name", "=public_id")
    search_help_text = "Code, name or exact public id."
    readonly_fields = PUBLIC_RECORD_FIELDS
    fieldsets = (
        (None, {"fields": ("public_id", "code", "name", "timezone", "is_active")}),
        ("Working days", {"fields": ("working_weekdays",)}),
        (
            "Public holidays",
            {
                "fields": ("holiday_country", "holiday_subdivision"),
                "description": "Public holidays of this country (and region) are days off.",
            },
        ),
        ("Record", {"fields": RECORD_FIELDS}),
    )
    inlines = (CalendarExceptionInline,)

    @admin.display(description="Working days")
    def working_days(self, calendar):
        return " ".join(
            name
            for name, flag in zip(WEEKDAYS, calendar.working_weekdays, strict=False)
            if flag == "1"
        )


@admin.register(CalendarException)
class CalendarExceptionAdmin(MasterDataAdmin):
    list_display = ("calendar", "start", "end", "is_working", "reason")
    list_filter = ("is_working", ("calendar", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("calendar",)
    search_fields = ("calendar__code", "calendar__name", "reason")
    search_help_text = "Calendar code or name, reason."
    date_hierarchy = "start"
    autocomplete_fields = ("calendar",)
    fieldsets = (
        (None, {"fields": ("calendar", "start", "end", "is_working", "reason")}),
        ("Record", {"fields": RECORD_FIELDS}),
    )


# Code lists


class CodeValueInline(admin.TabularInline):
    model = CodeValue
    fields = ("code", "meaning", "status", "sort_order")
    extra = 0


@admin.register(CodeList)
class CodeListAdmin(MasterDataAdmin):
    list_display = ("code", "name", "value_count")
    search_fields = ("code", "name")
    fieldsets = (
        (None, {"fields": ("code", "name", "description")}),
        ("Record", {"fields": RECORD_FIELDS}),
    )
    inlines = (CodeValueInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(value_count=Count("values"))

    @admin.display(description="Values", ordering="value_count")
    def value_count(self, code_list):
        return code_list.value_count


@admin.register(CodeValue)
class CodeValueAdmin(MasterDataAdmin):
    list_display = ("code_list", "code", "meaning", "status", "sort_order")
    list_filter = ("status", ("code_list", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("code_list",)
    search_fields = ("code", "meaning", "code_list__code")
    search_help_text = "Code, meaning or code list."
    autocomplete_fields = ("code_list",)
    fieldsets = (
        (None, {"fields": ("code_list", "code", "meaning", "status", "sort_order")}),
        ("Notes", {"fields": ("description",)}),
        ("Record", {"fields": RECORD_FIELDS}),
    )


# API clients


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """Lists API clients and revokes them. Keys are created by `manage.py create_api_client`,
    which shows each key once; only its hash is stored, and never shown."""

    list_display = ("name", "system", "key_prefix", "is_active", "last_used_at", "created_at")
    list_filter = ("is_active", "system")
    list_select_related = ("system",)
    search_fields = ("name", "key_prefix", "system__code")
    fields = (
        "name",
        "system",
        "user",
        "key_prefix",
        "is_active",
        "last_used_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        "name",
        "system",
        "user",
        "key_prefix",
        "last_used_at",
        "created_at",
        "updated_at",
    )
    actions = ("revoke",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        # Stewards revoke keys; a revoked key may have leaked, so only an administrator turns
        # it back on.
        if obj is not None and not obj.is_active and not request.user.is_superuser:
            return (*self.readonly_fields, "is_active")
        return self.readonly_fields

    @admin.action(description="Revoke the selected API clients", permissions=("change",))
    def revoke(self, request, queryset):
        count = queryset.filter(is_active=True).update(is_active=False)
        self.message_user(request, f"Revoked {count} API client(s).", messages.SUCCESS)
