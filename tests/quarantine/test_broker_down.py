"""A broker that refuses a task (core.queue.send by name) never fails the request that sent
it: a submitted message stays received and the sweep validates it later; a cross-reference
is saved and the cases blocked on its code stay open for a person to replay. Both are
logged."""

import datetime
import logging
from unittest import mock

import kombu.exceptions
import pytest
from django.test import TestCase
from django.utils import timezone

from core.queue import send
from quarantine import tasks as quarantine_tasks
from tests.validation.world import example
from validation import tasks as validation_tasks
from validation.models import InboundMessage
from validation.submission import submit_message
from xref.services import register_reference

pytestmark = pytest.mark.django_db

REFUSED = kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379.")


def _on_commit():
    return TestCase.captureOnCommitCallbacks(execute=True)


def _submit(world, payload, key):
    with _on_commit():
        return submit_message(
            system=world.systems["SUPPLIER_NET"],
            message_type="ship_notice",
            schema_version=1,
            payload=payload,
            idempotency_key=key,
        ).message


def test_a_message_sent_while_the_broker_refuses_is_kept_and_validated_by_the_sweep(
    world, caplog, settings
):
    refused = mock.patch.object(
        validation_tasks.validate_message, "apply_async", side_effect=REFUSED
    )
    with refused, caplog.at_level(logging.ERROR, logger="core.queue"):
        message = _submit(world, example("ship_notice"), "asn-broker-down")

    message.refresh_from_db()
    assert message.status == InboundMessage.Status.RECEIVED
    assert f"validation.tasks.validate_message({message.pk},)" in caplog.text
    assert "the sweep will send it" in caplog.text

    lost = timezone.now() - datetime.timedelta(seconds=settings.VALIDATION_RECEIVED_TIMEOUT + 5)
    InboundMessage.objects.filter(pk=message.pk).update(enqueued_at=lost)
    validation_tasks.sweep_stuck_messages.delay()  # the beat's sweep; the broker is back
    message.refresh_from_db()
    assert message.status == InboundMessage.Status.RELEASED


def test_a_reference_added_while_the_broker_refuses_leaves_the_case_open(world, caplog):
    payload = example("ship_notice")
    payload["lines"][0]["item"] = "6204-2RS-XX"
    message = _submit(world, payload, "asn-unknown-item")
    message.refresh_from_db()
    assert message.status == InboundMessage.Status.QUARANTINED

    refused = mock.patch.object(quarantine_tasks.auto_replay, "apply_async", side_effect=REFUSED)
    with refused, caplog.at_level(logging.ERROR, logger="core.queue"), _on_commit():
        reference, created = register_reference(
            kind="item", system="SUPPLIER_NET", code="6204-2RS-XX", target=world.bearing
        )

    assert created and reference.pk
    case = message.quarantine_case
    case.refresh_from_db()
    assert case.status == "open"
    assert "quarantine.tasks.auto_replay" in caplog.text
    assert "the cases stay open for a person to replay" in caplog.text


def test_a_sent_task_runs_eagerly_and_a_name_no_task_has_is_a_bug(world):
    message = _submit(world, example("ship_notice"), "asn-eager")
    message.refresh_from_db()
    assert message.status == InboundMessage.Status.RELEASED  # sent by name, run in eager mode
    with pytest.raises(KeyError):
        send("validation.tasks.no_such_task", message.pk)
