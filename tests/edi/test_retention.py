"""Interchanges are kept HUB_EDI_RETENTION_DAYS, then deleted by the beat with their
transaction sets and the acknowledgements that answered them; the messages they became stay."""

import datetime as dt

import pytest
from django.utils import timezone

from edi import retention
from edi.models import Interchange, TransactionSet
from tests.edi import partners
from validation.models import InboundMessage

pytestmark = pytest.mark.django_db


def test_interchanges_past_the_retention_go_with_their_acknowledgements(settings):
    settings.HUB_EDI_RETENTION_DAYS = 30
    partners.fort_wayne(partners.network())
    old = partners.received(partners.SAMPLE)
    recent = partners.received(partners.SAMPLE.replace(b"000000005", b"000000007"))
    Interchange.objects.filter(pk=old.pk).update(received_at=timezone.now() - dt.timedelta(days=31))
    assert Interchange.objects.count() == 4  # two inbound, two 997s

    assert retention.purge() == 2  # the old one and its 997

    assert list(Interchange.objects.filter(direction="in")) == [recent]
    assert recent.acknowledgements.count() == 1
    assert TransactionSet.objects.count() == 1
    assert InboundMessage.objects.count() == 2  # validation keeps its messages by its own rules
