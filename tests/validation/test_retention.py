"""Retention: the beat task deletes old rejected and finished messages, keeps recent ones,
and keeps every message a record still needs (a quarantine case, the ledger)."""

import datetime

import pytest
from django.utils import timezone

from mdm.models import SubmissionCount, allocate_public_ids
from quarantine.models import QuarantineCase
from validation import tasks
from validation.models import ForecastRelease, InboundMessage

from .world import example

pytestmark = pytest.mark.django_db

Status = InboundMessage.Status


@pytest.fixture(autouse=True)
def _retention(settings):
    settings.HUB_RETENTION_REJECTED_DAYS = 30
    settings.HUB_RETENTION_FINISHED_DAYS = 365


def message(system, key, status, days_ago, **fields):
    """A message of `system` received and finished `days_ago` days ago."""
    when = timezone.now() - datetime.timedelta(days=days_ago)
    return InboundMessage.objects.create(
        public_id=allocate_public_ids(InboundMessage.PUBLIC_ID_PREFIX)[0],
        message_type="purchase_order",
        schema_version=1,
        system=system,
        idempotency_key=key,
        payload_sha256="0" * 64,
        payload=example("purchase_order"),
        status=status,
        received_at=when,
        finished_at=None if status in (Status.RECEIVED, Status.QUARANTINED) else when,
        **fields,
    )


def case(msg, status=QuarantineCase.Status.OPEN):
    return QuarantineCase.objects.create(
        message=msg, team="procurement", message_type=msg.message_type, system=msg.system,
        status=status,
    )  # fmt: skip


def kept_keys():
    return set(InboundMessage.objects.values_list("idempotency_key", flat=True))


def test_it_deletes_old_rejected_and_finished_messages_and_keeps_recent_ones(erp_system):
    message(erp_system, "rejected-old", Status.REJECTED, 31)
    message(erp_system, "rejected-recent", Status.REJECTED, 29)
    message(erp_system, "released-old", Status.RELEASED, 366)
    message(erp_system, "released-recent", Status.RELEASED, 300)
    message(erp_system, "dead-old", Status.DEAD_LETTER, 366)
    message(erp_system, "received-old", Status.RECEIVED, 400)

    deleted = tasks.delete_old_messages()

    assert deleted["rejected"] == 1 and deleted["finished"] == 2
    assert kept_keys() == {"rejected-recent", "released-recent", "received-old"}


def test_it_keeps_old_messages_a_quarantine_case_holds(erp_system):
    case(message(erp_system, "quarantined-open", Status.QUARANTINED, 400))
    overridden = message(erp_system, "released-by-override", Status.RELEASED, 400)
    case(overridden, QuarantineCase.Status.RELEASED_BY_OVERRIDE)
    rejected = message(erp_system, "rejected-by-steward", Status.REJECTED, 400)
    case(rejected, QuarantineCase.Status.REJECTED)
    message(erp_system, "released-alone", Status.RELEASED, 400)

    assert tasks.delete_old_messages()["finished"] == 1
    assert kept_keys() == {"quarantined-open", "released-by-override", "rejected-by-steward"}


def test_it_keeps_old_messages_the_ledger_records(erp_system):
    released = message(erp_system, "forecast-released", Status.RELEASED, 400)
    ForecastRelease.objects.create(
        system=erp_system, plan_id="S&OP", version=3, message=released,
        horizon_start=datetime.date(2025, 1, 6),
    )  # fmt: skip
    message(erp_system, "released-alone", Status.RELEASED, 400)

    assert tasks.delete_old_messages()["finished"] == 1
    assert kept_keys() == {"forecast-released"}


def test_it_keeps_the_parts_of_a_forecast_release(erp_system):
    for number in (1, 2):
        message(
            erp_system, f"part-{number}", Status.RELEASED, 400,
            group_key="S&OP|3", part_number=number, part_count=2,
        )  # fmt: skip
    tasks.delete_old_messages()
    assert kept_keys() == {"part-1", "part-2"}


def test_it_keeps_everything_when_retention_is_off(erp_system, settings):
    settings.HUB_RETENTION_REJECTED_DAYS = 0
    settings.HUB_RETENTION_FINISHED_DAYS = 0
    message(erp_system, "rejected-old", Status.REJECTED, 4000)
    message(erp_system, "released-old", Status.RELEASED, 4000)
    tasks.delete_old_messages()
    assert kept_keys() == {"rejected-old", "released-old"}


def test_it_forgets_the_submission_counts_of_past_minutes(erp_system):
    now = timezone.now().replace(second=0, microsecond=0)
    SubmissionCount.objects.create(system=erp_system, minute=now, messages=1, bytes=10)
    SubmissionCount.objects.create(
        system=erp_system, minute=now - datetime.timedelta(hours=2), messages=1, bytes=10
    )
    assert tasks.delete_old_messages()["submission_counts"] == 1
    assert list(SubmissionCount.objects.values_list("minute", flat=True)) == [now]
