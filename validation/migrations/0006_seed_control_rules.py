"""The business controls' rules (validation.controls), with their starting severity, team and
(OVER_SHIPMENT) tolerance. Stewards change them in the admin."""

from decimal import Decimal

from django.db import migrations

RULES = [
    (
        "STALE_FORECAST_VERSION",
        "error",
        "planning",
        "A forecast's version is not newer than the last version released for its plan.",
        None,
    ),
    (
        "FORECAST_PERIOD_OUTSIDE_HORIZON",
        "warning",
        "planning",
        "A forecast period lies outside the plan's horizon (its policy's weeks, else the "
        "forecast's own horizon).",
        None,
    ),
    (
        "FROZEN_FENCE_CHANGE",
        "error",
        "planning",
        "A forecast changes a period inside the plan's frozen fence against the last released "
        "version: held for a planner's approval.",
        None,
    ),
    (
        "CHANGE_NOT_ACTIONABLE",
        "warning",
        "planning",
        "Selective synchronization: a forecast line whose change against the last released "
        "version is below the plan's thresholds is left out of the released payload (listed in "
        "its hub.selective_sync). Disable it to release every line.",
        None,
    ),
    (
        "PO_CHANGE_OUT_OF_SEQUENCE",
        "error",
        "erp",
        "A purchase order change names no released order, or a change sequence not newer than "
        "the released one (an original names an order already released).",
        None,
    ),
    (
        "UNKNOWN_PO",
        "error",
        "procurement",
        "An acknowledgement, ship notice or receipt names a purchase order the hub has not "
        "released.",
        None,
    ),
    (
        "UNKNOWN_PO_LINE",
        "error",
        "procurement",
        "An acknowledgement, ship notice or receipt names a line its purchase order does not "
        "have.",
        None,
    ),
    (
        "ACK_QUANTITY_MISMATCH",
        "error",
        "procurement",
        "An acknowledgement commits more than the order line's quantity, or accepts a line "
        "as ordered with another quantity.",
        None,
    ),
    (
        "COMMITTED_DATE_NOT_WORKING_DAY",
        "error",
        "procurement",
        "An acknowledgement's committed date is not a working day of the order's supplier "
        "site calendar.",
        None,
    ),
    (
        "SUPPLY_AT_RISK",
        "warning",
        "planning",
        "An accepted-with-changes or backordered acknowledgement commits less or later than "
        "ordered: released, and raised as a supply exception for planners.",
        None,
    ),
    (
        "DUPLICATE_SHIPMENT",
        "error",
        "procurement",
        "A ship notice repeats a shipment id the supplier already announced.",
        None,
    ),
    (
        "OVER_SHIPMENT",
        "error",
        "procurement",
        "The shipments of an order line carry more than acknowledged (else ordered), beyond "
        "the tolerance in percent.",
        Decimal("5"),
    ),
    (
        "SSCC_INVALID",
        "error",
        "integration",
        "A ship notice pack's SSCC is not 18 digits with a valid GS1 check digit.",
        None,
    ),
]


def seed_rules(apps, schema_editor):
    Rule = apps.get_model("validation", "Rule")
    for code, severity, team, description, tolerance in RULES:
        # get_or_create: a steward's later changes are never overwritten.
        Rule.objects.get_or_create(
            code=code,
            defaults={
                "severity": severity,
                "team": team,
                "description": description,
                "tolerance_percent": tolerance,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("validation", "0005_business_controls")]

    operations = [migrations.RunPython(seed_rules, migrations.RunPython.noop)]
