"""The demo's approval policies: the changes that steer planning and procurement need a second
person (the seed's governance): the ERPs' and the supplier network's cross-references, unit
conversions, supplier and item status, calendars and their exceptions, plan policies, and
rule severity. Created once, when the hub has no policy yet; an administrator edits them in
the admin (Change requests > Approval policies) afterwards."""

from changes.models import ApprovalPolicy

DEMO_POLICIES = (
    (
        "xref.crossreference",
        [],
        ["ERP_LEGACY", "ERP_CLOUD", "SUPPLIER_NET"],
        "The ERPs' and the supplier network's codes decide what orders and receipts mean.",
    ),
    ("mdm.itemunitconversion", [], [], "A wrong factor changes every quantity converted."),
    ("mdm.supplier", ["status"], [], "A blocked or inactive supplier stops its orders."),
    ("mdm.item", ["status"], [], "An obsolete item stops forecasts and orders."),
    ("mdm.calendar", [], [], "Working days decide need-by and committed dates."),
    ("mdm.calendarexception", [], [], "Holidays and shutdowns move committed dates."),
    ("validation.planpolicy", [], [], "Horizons, frozen fences and thresholds steer planning."),
    ("validation.rule", ["severity", "enabled"], [], "An error rule holds messages back."),
)


def seed_approval_policies():
    """The demo's policies, unless the hub has any already."""
    if ApprovalPolicy.objects.exists():
        return 0
    ApprovalPolicy.objects.bulk_create(
        ApprovalPolicy(kind=kind, fields=fields, systems=systems, note=note)
        for kind, fields, systems, note in DEMO_POLICIES
    )
    return len(DEMO_POLICIES)
