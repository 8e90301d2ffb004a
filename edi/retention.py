"""Interchanges are kept settings.HUB_EDI_RETENTION_DAYS after they were received or sent,
then deleted by the beat with their transaction sets and acknowledgements (the messages they
became are the validation app's, kept by its own retention)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from edi.models import Interchange

BATCH = 1000


def purge(now=None):
    """Delete the interchanges past the retention, in batches. Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.HUB_EDI_RETENTION_DAYS)
    deleted = 0
    while True:
        # Acknowledgements go with what they answer; one sent on its own goes by its own age.
        ids = list(
            Interchange.objects.filter(received_at__lt=cutoff, answers__isnull=True).values_list(
                "pk", flat=True
            )[:BATCH]
        )
        if not ids:
            return deleted
        deleted += Interchange.objects.filter(pk__in=ids).delete()[1].get("edi.Interchange", 0)
