"""Celery tasks of xref. Thin: xref.matching.training does the work."""

import logging

from celery import shared_task

from xref.matching import KINDS
from xref.matching.training import reestimate

logger = logging.getLogger(__name__)


@shared_task
def reestimate_match_weights():
    """Re-estimate each kind's match weights from the pairs people decided on (beat)."""
    said = []
    for kind in KINDS:
        _, message = reestimate(kind)
        logger.info("%s", message)
        said.append(message)
    return said
