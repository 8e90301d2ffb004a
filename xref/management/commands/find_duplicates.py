from django.core.management.base import BaseCommand, CommandError

from xref import duplicates


class Command(BaseCommand):
    help = (
        "Start a full duplicate run over a kind of records (or all): a Celery task per chunk "
        "of records; the run's progress is kept on its DuplicateRun. Saves through the admin, "
        "the API and the services are checked as they happen; run this after bulk loads."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", nargs="?", choices=duplicates.KINDS)
        parser.add_argument("--all", action="store_true", help="Every kind.")

    def handle(self, *args, **options):
        if bool(options["kind"]) == options["all"]:
            raise CommandError(f"Give one kind ({', '.join(duplicates.KINDS)}) or --all.")
        for kind in duplicates.KINDS if options["all"] else [options["kind"]]:
            run = duplicates.full_run(kind)
            run.refresh_from_db()
            self.stdout.write(
                f"{kind}: run {run.pk}, {run.chunks_total} chunk(s), {run.status}"
                + (f", {run.pairs_found} pair(s) found" if run.finished_at else "")
            )
