"""The validation rules are rows a data migration seeds: a flushed database gets them back,
and a steward's deletion of one rule stands."""

import pytest
from django.core.management import call_command

from validation.models import Rule
from validation.registry import RULES


@pytest.mark.django_db(transaction=True)
def test_a_flushed_database_gets_its_rules_back():
    call_command("flush", interactive=False, verbosity=0)
    codes = set(Rule.objects.values_list("code", flat=True))
    assert {"XREF_UNRESOLVED", "STALE_FORECAST_VERSION", "OVER_SHIPMENT"} <= codes


@pytest.mark.django_db(transaction=True)
def test_a_rule_a_steward_deleted_stays_deleted_after_migrate():
    Rule.objects.filter(code="OVER_SHIPMENT").delete()
    call_command("migrate", verbosity=0)
    assert not Rule.objects.filter(code="OVER_SHIPMENT").exists()
    assert Rule.objects.filter(code="XREF_UNRESOLVED").exists()


@pytest.mark.django_db
def test_every_seeded_rule_is_checked_and_every_check_has_its_rule():
    """The rules a steward sees in the admin are the rules messages are validated against:
    one function per seeded row, from the modules validation.registry lists."""
    assert set(RULES) == set(Rule.objects.values_list("code", flat=True))
