from django.core.management.base import BaseCommand

from mdm.services import reset_demo_steward


class Command(BaseCommand):
    help = "Create or reset the demo steward login and print its new password."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="steward")
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/admin/", help="Admin address to print."
        )

    def handle(self, *args, username, url, **options):
        password = reset_demo_steward(username)
        self.stdout.write(f"Log in at {url} as {username} / {password}")
