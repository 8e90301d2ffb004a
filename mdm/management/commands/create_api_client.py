"""Create an API client for a source system and print its key, which is shown only once."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.roles import INTEGRATION, ROLES
from mdm.services import create_api_client


class Command(BaseCommand):
    help = "Create a named API client for a source system and print its key (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("--system", required=True, help="Source system code, e.g. ERP_LEGACY")
        parser.add_argument("--name", required=True, help="Client name, e.g. erp-sync")
        parser.add_argument(
            "--role", default=INTEGRATION, help=f"One of {', '.join(ROLES)} (default {INTEGRATION})"
        )

    def handle(self, *args, system, name, role, **options):
        try:
            client, key = create_api_client(system, name, role=role)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(
            f"API key for {client.name} ({client.system.code}, {role}): {key} "
            "— store it now, it is not shown again."
        )
