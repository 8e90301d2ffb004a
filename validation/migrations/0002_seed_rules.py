"""The rules the pipeline runs, with their starting severity and owning team. Stewards change
severity and enabled in the admin; a rule added later comes with its own migration."""

from django.db import migrations

RULES = [
    (
        "XREF_UNRESOLVED",
        "error",
        "integration",
        "A code in the message does not resolve through the cross-references of the sending "
        "system at the message's business date. Suggests fuzzy candidates.",
    ),
    (
        "ITEM_OBSOLETE",
        "error",
        "procurement",
        "The item the message names is obsolete.",
    ),
    (
        "ITEM_BLOCKED",
        "error",
        "procurement",
        "The item the message names is blocked.",
    ),
    (
        "REVISION_OBSOLETE",
        "error",
        "procurement",
        "The item revision the message names is obsolete or not effective at the business "
        "date.",
    ),
    (
        "SUPPLIER_INACTIVE",
        "error",
        "procurement",
        "The supplier the message names is not active.",
    ),
    (
        "SUPPLIER_SITE_INACTIVE",
        "error",
        "procurement",
        "The supplier site the message names is not active.",
    ),
    (
        "SHIP_TO_INVALID",
        "error",
        "erp",
        "The ship-to is not a location that can receive for that plant.",
    ),
    (
        "FORECAST_LOCATION_NOT_PLANT",
        "error",
        "planning",
        "A forecast line's location is not a plant.",
    ),
    (
        "UNIT_NOT_CONVERTIBLE",
        "error",
        "erp",
        "The unit is unknown, or cannot be converted to the item's base unit (no global "
        "conversion and no item conversion).",
    ),
    (
        "NOT_A_WORKING_DAY",
        "error",
        "planning",
        "A date falls on a day that is not a working day of the receiving location's "
        "calendar.",
    ),
    (
        "QUANTITY_INVALID",
        "error",
        "integration",
        "A quantity is not positive, or has more decimal places than the unit allows.",
    ),
    (
        "NO_TARGET_CODE",
        "warning",
        "integration",
        "A record has no preferred code in a target system, so the released payload cannot "
        "carry that system's code.",
    ),
]


def seed_rules(apps, schema_editor):
    Rule = apps.get_model("validation", "Rule")
    for code, severity, team, description in RULES:
        # get_or_create: a steward's later changes are never overwritten.
        Rule.objects.get_or_create(
            code=code,
            defaults={"severity": severity, "team": team, "description": description},
        )


class Migration(migrations.Migration):
    dependencies = [("validation", "0001_initial")]

    operations = [migrations.RunPython(seed_rules, migrations.RunPython.noop)]
