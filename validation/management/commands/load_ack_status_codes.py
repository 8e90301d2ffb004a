from django.core.management.base import BaseCommand, CommandError

from core.history import change_source
from mdm.models import SourceSystem
from validation.status_codes import SCHEMES, load_status_codes


class Command(BaseCommand):
    help = (
        "Register a system's acknowledgement line status codes as cross-references to the "
        "canonical statuses of ACK_LINE_STATUS: the X12 855 ACK01 codes (x12_668) or a "
        "supplier portal's words (portal), from validation/data. Safe to re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument("system", help="Source system code, e.g. SUPPLIER_NET")
        parser.add_argument("--scheme", choices=SCHEMES, default="x12_668")

    def handle(self, *args, system, scheme, **options):
        found = SourceSystem.objects.filter(code=system).first()
        if found is None:
            raise CommandError(f"There is no source system {system!r}.")
        with change_source("command", reference="load_ack_status_codes"):
            counts = load_status_codes(found, scheme)
        self.stdout.write(
            f"{scheme} for {system}: {counts['registered']} registered, {counts['unchanged']} "
            f"already there, {counts['conflicts']} left alone (the code means something else)."
        )
