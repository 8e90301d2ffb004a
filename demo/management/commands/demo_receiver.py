from django.core.management.base import BaseCommand, CommandError

from demo import receiver


class Command(BaseCommand):
    help = (
        "Serve the demo's planning-system receiver: it takes the hub's signed webhooks for the "
        "demo subscription, verifies them, logs them and lists them at / (make run starts it)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Only wait (up to 10 s) until a receiver answers on the port, then exit.",
        )

    def handle(self, *args, host, port, wait, **options):
        if wait:
            if not receiver.wait_until_up(host, port):
                raise CommandError(f"No receiver answers on {host}:{port}.")
            return
        try:
            httpd = receiver.server(host, port)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}.") from None
        self.stdout.write(f"Demo planning receiver on http://{host}:{port}/ (events it got)")
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            httpd.server_close()
