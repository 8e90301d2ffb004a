import time

from django.core.management.base import BaseCommand, CommandError

from events import delivery


class Command(BaseCommand):
    help = (
        "Send the webhook deliveries that are due (retries, breaker probes; dead letters by "
        "age), as the beat's deliver-webhooks does. With --every N, again every N seconds "
        "until stopped: `make run`, which has no beat, runs it so."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every", type=int, default=0, help="Seconds between runs (0: run once, the default)."
        )

    def handle(self, *args, every, **options):
        if every < 0:
            raise CommandError("--every is a number of seconds, 0 or more.")
        while True:
            sent = delivery.deliver_due()
            if options["verbosity"] > 1 or not every:
                self.stdout.write(f"Sent {sent} subscription(s) their due deliveries.")
            if not every:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:
                return
