import time

from django.core.management.base import BaseCommand

from mdm.units import load_units


class Command(BaseCommand):
    help = (
        "Load the UN/ECE Rec 20 units and Rec 21 package codes (as X-prefixed units) from "
        "mdm/data into Unit. Safe to re-run: only changed units are updated."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        result = load_units()
        self.stdout.write(
            f"{result.rec20} Rec 20 codes and {result.rec21} Rec 21 package codes: "
            f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged "
            f"({time.monotonic() - started:.1f} s)."
        )
