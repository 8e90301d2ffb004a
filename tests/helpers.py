"""Small helpers the tests of several apps share: a browser's client logged in as a person,
and a message submitted as a system would send it and validated at once."""

from unittest import mock

from django.test import Client

from validation import enqueue, validate
from validation.models import InboundMessage
from validation.submission import submit_message


def logged_in(user):
    """A test client with `user` logged in."""
    client = Client()
    client.force_login(user)
    return client


def validated(system, message_type, payload, version=1, key=None):
    """Submit `payload` as `system` (no task sent) and validate it now; the message,
    refreshed. The idempotency key is made up unless given."""
    with mock.patch.object(enqueue, "enqueue_validation"):
        message = submit_message(
            system=system,
            message_type=message_type,
            schema_version=version,
            payload=payload,
            idempotency_key=key or f"k{InboundMessage.objects.count()}",
        ).message
    validate.validate_message(message.pk)
    message.refresh_from_db()
    return message
