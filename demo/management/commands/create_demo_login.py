from django.core.management.base import BaseCommand

from demo.login import reset_demo_steward


class Command(BaseCommand):
    help = (
        "Create or reset the demo steward and approver logins and print their new passwords, "
        "after how to make an administrator."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="steward")
        parser.add_argument("--approver", default="approver", help="The second person's login.")
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/admin/", help="Admin address to print."
        )

    def handle(self, *args, username, approver, url, **options):
        second = reset_demo_steward(approver, approver=True)
        password = reset_demo_steward(username)
        # The login last: `make run` prints it just before the server starts.
        self.stdout.write(
            "Users and their roles (groups) are managed by an administrator; make one with\n"
            "  HUB_DEBUG=1 .venv/bin/python manage.py createsuperuser"
        )
        self.stdout.write(
            f"A second person, who approves the steward's change requests: {approver} / {second}"
        )
        self.stdout.write(f"Log in at {url} as {username} / {password}")
