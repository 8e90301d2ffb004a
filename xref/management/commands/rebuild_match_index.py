import time

from django.core.management.base import BaseCommand

from xref import matching


class Command(BaseCommand):
    help = (
        "Rebuild the match index (the keys match/ looks records up by) from the items, "
        "suppliers and locations. Saves through the admin, the API and the services keep it "
        "current; run this after writes that skip model signals (bulk loads, QuerySet.update) "
        "or after an upgrade that changes how records are indexed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--kind",
            action="append",
            choices=matching.KINDS,
            help="Only this kind (repeatable; default: all).",
        )

    def handle(self, *args, **options):
        started = time.monotonic()
        kinds = options["kind"] or matching.KINDS
        for kind, (records, keys) in matching.rebuild(kinds).items():
            self.stdout.write(f"{kind}: {records} records, {keys} keys")
        self.stdout.write(f"Match index rebuilt in {time.monotonic() - started:.1f} s.")
