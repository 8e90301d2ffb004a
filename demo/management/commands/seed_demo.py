import time

from django.core.management.base import BaseCommand, CommandError

from demo import seed


class Command(BaseCommand):
    help = (
        "Create the demo world: source systems, plants, calendars, suppliers, items, code "
        "lists, cross-references, team service levels and the demo messages. Deterministic, "
        "and safe to run again: only missing records are created."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--items",
            type=int,
            default=seed.DEFAULT_ITEMS,
            help="How many items (default %(default)s).",
        )
        parser.add_argument(
            "--suppliers",
            type=int,
            default=seed.DEFAULT_SUPPLIERS,
            help="How many suppliers (default %(default)s).",
        )

    def handle(self, *args, items, suppliers, **options):
        started = time.monotonic()
        try:
            summary = seed.seed_demo(items=items, suppliers=suppliers)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        for label, created, total in summary:
            self.stdout.write(f"{label:<20} {created:>7} created {total:>8} in total")
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready in {time.monotonic() - started:.1f} s.")
        )
