"""manage.py estimate_match_weights [--kind item|supplier|location]: re-estimate the match
weights from the labelled pairs now (the beat task does it every HUB_MATCH_WEIGHTS_INTERVAL)."""

from django.core.management.base import BaseCommand

from xref.matching import KINDS
from xref.matching.training import reestimate


class Command(BaseCommand):
    help = "Re-estimate the matcher's weights from the pairs people decided on."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=KINDS, help="One kind only (default: every kind).")

    def handle(self, *args, kind=None, **options):
        for name in [kind] if kind else KINDS:
            _, message = reestimate(name)
            self.stdout.write(message)
