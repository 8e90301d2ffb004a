"""Words before codes in the admin: countries and units by name with the code beside, decimals
without trailing zeros. Display only: what is stored (ISO 3166 and Rec 20 codes, exact
decimals) and what the API and CSV files carry are unchanged."""

from decimal import Decimal
from functools import cache

import pycountry
from django import forms
from django.contrib import admin
from django.db import models
from django.utils.text import capfirst

from mdm.serializers import decimal_text

# Model fields holding an ISO 3166-1 alpha-2 code.
COUNTRY_FIELDS = ("country", "holiday_country")


def _country_name(country):
    return getattr(country, "common_name", None) or country.name


@cache
def country_choices():
    """(code, "Germany (DE)") for every ISO 3166 country, by name."""
    return sorted(
        ((c.alpha_2, f"{_country_name(c)} ({c.alpha_2})") for c in pycountry.countries),
        key=lambda choice: choice[1],
    )


def country_label(code):
    """ "Germany (DE)"; an unknown or empty code as it is."""
    return dict(country_choices()).get(code, code or "")


def unit_label(unit):
    """ "piece (H87)"."""
    return f"{unit.name} ({unit.code})" if unit is not None else ""


class PlainDecimalField(forms.DecimalField):
    """Shows 100 for a stored 100.00000000; reads what it always read."""

    def prepare_value(self, value):
        return decimal_text(value) if isinstance(value, Decimal) else value


class WordsFormMixin:
    """For a ModelAdmin or an inline: countries picked by name, units listed by name, decimals
    shown without trailing zeros."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in COUNTRY_FIELDS and not db_field.choices:
            return forms.ChoiceField(
                choices=[("", "---------"), *country_choices()],
                required=not db_field.blank,
                label=capfirst(db_field.verbose_name),
                help_text=db_field.help_text,
            )
        if isinstance(db_field, models.DecimalField):
            kwargs.setdefault("form_class", PlainDecimalField)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        # Autocomplete fields keep the unit's own text, as their search results show it.
        is_unit = db_field.related_model._meta.label == "mdm.Unit"
        if field is not None and is_unit and db_field.name not in self.autocomplete_fields:
            field.label_from_instance = unit_label
        return field


class CountryFilter(admin.SimpleListFilter):
    """The countries in use, by name."""

    title = "country"
    parameter_name = "country"

    def lookups(self, request, model_admin):
        codes = model_admin.get_queryset(request).values_list("country", flat=True).distinct()
        return sorted(((code, country_label(code)) for code in codes if code), key=lambda c: c[1])

    def queryset(self, request, queryset):
        return queryset.filter(country=self.value()) if self.value() else queryset


def country_column(field="country", description="Country"):
    """A change-list column showing the country in `field` as "Germany (DE)"."""

    @admin.display(description=description, ordering=field)
    def column(record):
        return country_label(getattr(record, field))

    column.__name__ = field
    return column


def unit_column(field, description):
    """A change-list column showing the unit in `field` as "piece (H87)"."""

    @admin.display(description=description, ordering=f"{field}__name")
    def column(record):
        return unit_label(getattr(record, field))

    column.__name__ = field  # the cells' class: field-base_unit
    return column


@admin.display(description="Factor", ordering="factor")
def factor_column(conversion):
    return decimal_text(conversion.factor)
