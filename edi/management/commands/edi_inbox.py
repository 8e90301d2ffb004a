import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from edi import inbox


class Command(BaseCommand):
    help = (
        "Read the interchanges dropped in the EDI inbox directory (HUB_EDI_INBOX, or "
        "--directory): each is received as if posted to /api/v1/edi/, then moved to done/ "
        "or refused/. With --every N, again every N seconds until stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--directory", default="", help="The inbox (default HUB_EDI_INBOX).")
        parser.add_argument("--every", type=int, default=0, help="Seconds between reads.")

    def handle(self, *args, directory, every, **options):
        directory = directory or settings.HUB_EDI_INBOX
        if not directory:
            raise CommandError("Name the inbox: --directory or HUB_EDI_INBOX.")
        while True:
            for name, outcome in inbox.read_inbox(directory):
                if outcome is None:
                    self.stdout.write(f"{name}: refused unread (too large)")
                elif hasattr(outcome, "detail"):
                    self.stdout.write(f"{name}: refused: {outcome.detail}")
                else:
                    self.stdout.write(f"{name}: {outcome.public_id} {outcome.get_status_display()}")
            if not every:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:
                return
