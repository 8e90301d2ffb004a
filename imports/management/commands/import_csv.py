"""manage.py import_csv KIND FILE [--apply] [--skip-errors] [--user U --reason R]: plan a CSV
file (and apply it), printing progress and the plan's counts. An apply that an approval policy
covers is not done: the run awaits another person's approval (imports.approval)."""

import sys
import time

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from imports import runs
from imports.kinds import KINDS
from imports.models import ImportRun

SHOWN_ERRORS = 50


class Command(BaseCommand):
    help = "Plan a CSV file of master data (a dry run) and, with --apply, apply it."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("file", help="Path of the CSV file.")
        parser.add_argument("--apply", action="store_true", help="Apply the file when planned.")
        parser.add_argument(
            "--skip-errors",
            action="store_true",
            help="Apply the valid rows and write the others to a failed-rows file.",
        )
        parser.add_argument("--user", help="Username the history records the changes under.")
        parser.add_argument(
            "--reason",
            default="",
            help="Why the file is applied: needed (with --user, who asks) when a policy says "
            "its changes need approval.",
        )

    def handle(self, kind, file, apply, skip_errors, user=None, reason="", **options):
        account = None
        if user:
            account = get_user_model().objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"No user {user!r}.")
        started = time.monotonic()
        last = [-1]

        def progress(counts, percent):
            if percent // 5 != last[0] // 5 or percent == 100:
                last[0] = percent
                self.stderr.write(f"  {percent:3d}%  {counts['rows']:,} rows")

        try:
            with open(file, "rb") as handle:
                run = runs.import_file(
                    kind,
                    handle,
                    apply=apply,
                    skip_errors=skip_errors,
                    user=account,
                    reason=reason,
                    progress=progress,
                )
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        except ValidationError as exc:
            raise CommandError(
                "Not applied: " + " ".join(exc.messages) + " (--reason; --user names who asks.)"
            ) from None
        self._report(run, time.monotonic() - started)
        if run.status in (ImportRun.Status.FAILED, ImportRun.Status.REFUSED):
            raise CommandError(run.message or f"Import #{run.pk} {run.status}.")
        if run.plan_counts.get("error") and (apply and not skip_errors):
            raise CommandError("Not applied: the plan has row errors (see above).")

    def _report(self, run, seconds):
        out = self.stdout
        counts = run.plan_counts
        if counts:
            out.write(
                f"Plan of import #{run.pk} ({run.kind}, {run.file_name}): "
                f"{counts['rows']:,} rows: {counts['create']:,} to create, "
                f"{counts['update']:,} to update, {counts['unchanged']:,} unchanged, "
                f"{counts['error']:,} with errors."
            )
        for line in run.error_lines()[:SHOWN_ERRORS]:
            out.write(f"  {line}")
        total_errors = counts.get("error", 0) if counts else 0
        if len(run.errors) > SHOWN_ERRORS or run.errors_truncated:
            out.write(f"  ... see the failed-rows file for all {total_errors:,} rows with errors.")
        if run.failed_rows:
            out.write(f"Failed rows: {run.failed_rows.path}")
        if run.status == ImportRun.Status.APPLIED:
            c = run.counts
            out.write(
                self.style.SUCCESS(
                    f"Applied import #{run.pk}: {c['create']:,} created, {c['update']:,} "
                    f"updated, {c['unchanged']:,} unchanged, {c['error']:,} skipped "
                    f"({seconds:.1f} s). Revert with the import screen or the API."
                )
            )
        elif run.status == ImportRun.Status.AWAITING_APPROVAL:
            out.write(
                f"Import #{run.pk} awaits approval: {run.change_request.number}, at "
                f"{reverse('changes:request', args=[run.change_request_id])}. Nothing was "
                "written; it is applied when another person approves it."
            )
        elif run.status == ImportRun.Status.PLANNED:
            out.write(f"Planned in {seconds:.1f} s; nothing was written.")
        sys.stdout.flush()
