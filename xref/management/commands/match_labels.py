"""manage.py match_labels export|import: the matcher's labelled pairs as CSV (xref.labels)."""

from django.core.management.base import BaseCommand, CommandError

from xref import labels
from xref.models import MatchLabel


class Command(BaseCommand):
    help = (
        "Export the labelled match pairs (the decisions the matcher's weights are estimated "
        "from) as CSV, or import them from CSV: all rows or none."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="export|import")
        export = actions.add_parser("export", help="Write the pairs as CSV.")
        export.add_argument("--kind", choices=labels.KINDS, help="Only this kind (default: all).")
        export.add_argument("--output", help="Where to write (default: standard output).")
        imported = actions.add_parser(
            "import", help="Add or replace pairs from a CSV file; a bad row refuses the file."
        )
        imported.add_argument("file", help=f"CSV with the columns {','.join(labels.COLUMNS)}.")

    def handle(self, *args, action, **options):
        if action == "export":
            self._export(options["kind"], options["output"])
        else:
            self._import(options["file"])

    def _export(self, kind, output):
        text = labels.export_csv(kind)
        count = MatchLabel.objects.filter(**({"kind": kind} if kind else {})).count()
        if output is None:
            self.stdout.write(text, ending="")
            return
        # A byte order mark, so spreadsheets open the file as UTF-8.
        with open(output, "w", encoding="utf-8-sig", newline="") as handle:
            handle.write(text)
        self.stderr.write(f"Exported {count:,} labelled pair(s) to {output}.")

    def _import(self, path):
        try:
            with open(path, encoding="utf-8-sig", newline="") as handle:
                text = handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        except UnicodeDecodeError as exc:
            raise CommandError(
                f"{path} is not UTF-8 text (byte {exc.start + 1}); save it from the spreadsheet "
                "as 'CSV UTF-8 (comma delimited)'."
            ) from None
        report = labels.import_csv(text, user=None)
        if not report.ok:
            lines = "\n".join(f"  line {line}: {reason}" for line, reason in report.errors)
            raise CommandError(f"{path}: {report}\n{lines}")
        self.stdout.write(f"{path}: {report}")
