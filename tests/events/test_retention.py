"""Retention: published events older than HUB_EVENTS_RETENTION_DAYS are purged by the beat's
task; the feed then refuses a cursor or a time before the retention as Gone."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from events import outbox, retention, tasks
from events.models import Delivery, Event, Subscription
from tests.problems import problem_of

FEED = "/api/v1/events/"


def _age(event, days):
    Event.objects.filter(pk=event.pk).update(time=timezone.now() - dt.timedelta(days=days))


def test_it_purges_published_events_older_than_the_retention(settings, emit):
    settings.HUB_EVENTS_RETENTION_DAYS = 30
    old = [emit("hub.item.changed", f"ITM-00000{n}") for n in range(3)]
    recent = emit("hub.item.changed", "ITM-000009")
    for event in old:
        _age(event, 31)
    with transaction.atomic():  # old, but never published: its subscribers have not had it
        waiting = outbox.emit("hub.item.changed", "ITM-000010", {})
    _age(waiting, 40)
    assert tasks.purge_events.delay().get() == 3
    assert set(Event.objects.values_list("subject", flat=True)) == {
        recent.subject,
        waiting.subject,
    }
    assert retention.purge() == 0


def test_it_keeps_an_old_event_published_after_a_kept_one(settings, emit):
    """Purged positions are a run from the oldest, so the feed can tell a purged cursor."""
    settings.HUB_EVENTS_RETENTION_DAYS = 30
    first, second, third = (emit("hub.item.changed", f"ITM-00000{n}") for n in range(3))
    _age(first, 31)
    _age(third, 31)  # written long ago, committed late
    assert retention.purge() == 1
    assert list(Event.objects.values_list("position", flat=True)) == [
        second.position,
        third.position,
    ]


def test_it_purges_in_batches(settings, emit, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)
    events = [emit("hub.item.changed", f"ITM-00000{n}") for n in range(5)]
    for event in events:
        _age(event, settings.HUB_EVENTS_RETENTION_DAYS + 1)
    assert retention.purge() == 5
    assert not Event.objects.exists()


def test_the_feed_says_a_cursor_before_the_retention_is_gone(planning_api, planning_feed, emit):
    events = [emit("hub.supply_exception.raised", f"SE-{n}") for n in range(4)]
    for event in events[:2]:
        _age(event, 31)
    retention.purge()
    planning_feed.cursor = events[0].position
    planning_feed.save()
    response = planning_api.get(FEED, {"subscription": planning_feed.name})
    problem = problem_of(response, 410)
    assert f"up to {events[1].position} were purged" in problem["detail"]
    assert problem["oldest"] == events[2].position
    # From the last purged position, or from 0 (the start of the retention), it reads on.
    for after in (events[1].position, 0):
        page = planning_api.get(FEED, {"subscription": planning_feed.name, "after": after})
        assert [document["subject"] for document in page.json()["events"]] == ["SE-2", "SE-3"]


def test_the_feed_says_a_time_before_the_retention_is_gone(planning_api, planning_feed, emit):
    old = emit("hub.supply_exception.raised", "SE-OLD")
    emit("hub.supply_exception.raised", "SE-NEW")
    _age(old, 31)
    retention.purge()
    since = (timezone.now() - dt.timedelta(days=40)).isoformat()
    response = planning_api.get(FEED, {"subscription": planning_feed.name, "since": since})
    assert "were purged" in problem_of(response, 410)["detail"]


def test_the_beat_runs_the_purge(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["purge-events"]
    assert entry["task"] == "events.tasks.purge_events"
    assert entry["options"]["queue"] == settings.HUB_EVENTS_QUEUE


def test_it_keeps_an_event_whose_webhook_delivery_is_owed(settings, emit):
    """A dead letter waits for a steward's replay, however old: its event, and every event
    after it, stay."""
    settings.HUB_EVENTS_RETENTION_DAYS = 30
    first, owed, third = (emit("hub.item.changed", f"ITM-00000{n}") for n in range(3))
    for event in (first, owed, third):
        _age(event, 31)
    hook = Subscription.objects.create(
        name="hook", consumer="PLANNING", mode="push", url="https://93.184.215.14/hook"
    )
    for event, status in ((first, Delivery.Status.DELIVERED), (owed, Delivery.Status.DEAD)):
        Delivery.objects.create(
            subscription=hook,
            event=event,
            partition_key=event.partition_key,
            position=event.position,
            status=status,
            next_attempt_at=event.time,
            since=event.time,
        )

    assert retention.purge() == 1
    assert list(Event.objects.values_list("subject", flat=True)) == [owed.subject, third.subject]
    Delivery.objects.filter(event=owed).update(status=Delivery.Status.DISCARDED)
    assert retention.purge() == 2
