"""manage.py export_csv KIND [FILE]: every record of a kind as CSV, in the import's format."""

import sys

from django.core.management.base import BaseCommand

from imports import exporting
from imports.kinds import KINDS


class Command(BaseCommand):
    help = "Export every record of a kind as CSV (to FILE, or standard output)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("file", nargs="?", help="Where to write (default: standard output).")

    def handle(self, kind, file=None, **options):
        if file is None:
            count = exporting.export_kind(kind, sys.stdout)
        else:
            # A byte order mark, so spreadsheets open the file as UTF-8.
            with open(file, "w", encoding="utf-8-sig", newline="") as handle:
                count = exporting.export_kind(kind, handle)
            self.stderr.write(f"Exported {count:,} {KINDS[kind].label.lower()} to {file}.")
