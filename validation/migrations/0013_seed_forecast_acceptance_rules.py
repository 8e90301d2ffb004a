"""The rules of the ERP's forecast acceptance (validation.controls.forecast), with their
starting severity and team. Stewards change them in the admin."""

from django.db import migrations

RULES = [
    (
        "FORECAST_RELEASE_UNKNOWN",
        "error",
        "erp",
        "A forecast acceptance names a plan and version the hub never released.",
    ),
    (
        "FORECAST_ACCEPTANCE_NOT_ERP",
        "error",
        "integration",
        "A forecast acceptance comes from a system that is not an ERP: only the ERP a forecast "
        "is released to accepts or rejects it.",
    ),
]


def seed_rules(apps, schema_editor):
    Rule = apps.get_model("validation", "Rule")
    for code, severity, team, description in RULES:
        # get_or_create: a steward's later changes are never overwritten.
        Rule.objects.get_or_create(
            code=code, defaults={"severity": severity, "team": team, "description": description}
        )


class Migration(migrations.Migration):
    dependencies = [("validation", "0012_forecast_release_decision")]

    operations = [migrations.RunPython(seed_rules, migrations.RunPython.noop)]
