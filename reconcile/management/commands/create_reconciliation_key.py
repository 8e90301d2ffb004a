"""Create a reconciliation key and print the service URL to paste into OpenRefine (shown once)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from reconcile.services import create_key


class Command(BaseCommand):
    help = "Create a reconciliation key and print its service URL (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Who uses it, e.g. procurement-refine")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="The hub's address as users reach it (default http://127.0.0.1:8000)",
        )

    def handle(self, *args, name, base_url, **options):
        try:
            key, secret = create_key(name)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        url = base_url.rstrip("/") + reverse("reconcile:service", args=[secret])
        self.stdout.write(
            f"Service URL for {key.name}: {url}\n"
            "Paste it into OpenRefine (Reconcile > Add standard service). It is not shown again."
        )
