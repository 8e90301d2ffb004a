"""An event's trace context: the traceparent its emitter passes is kept with it and sent as the
CloudEvents distributed-tracing extension, in the document and the pull feed; an event
without one has no such attribute."""

import pytest
from django.db import transaction

from events import outbox
from events.documents import document
from events.models import Event, Subscription

pytestmark = pytest.mark.django_db

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def emit_traced(capture, subject, traceparent):
    with capture(execute=True), transaction.atomic():
        event = outbox.emit(
            "hub.message.released",
            subject,
            {"message": subject},
            facts={"system": "PLANNING"},
            traceparent=traceparent,
        )
    event.refresh_from_db()
    return event


def test_it_keeps_the_traceparent_and_sends_it_as_the_tracing_extension(
    django_capture_on_commit_callbacks,
):
    event = emit_traced(django_capture_on_commit_callbacks, "MSG-000001", TRACEPARENT)

    assert event.traceparent == TRACEPARENT
    found = document(event)
    assert found["traceparent"] == TRACEPARENT
    assert found["subject"] == "MSG-000001"
    assert found["sequence"] == str(event.position)


@pytest.mark.parametrize("traceparent", [None, ""])
def test_an_event_without_a_trace_has_no_traceparent_attribute(
    traceparent, django_capture_on_commit_callbacks
):
    event = emit_traced(django_capture_on_commit_callbacks, "MSG-000002", traceparent)

    assert event.traceparent is None
    assert "traceparent" not in document(event)


def test_the_pull_feed_carries_each_events_traceparent(
    planning_api, django_capture_on_commit_callbacks
):
    feed = Subscription.objects.create(
        name="planning-messages",
        consumer="PLANNING",
        mode=Subscription.Mode.PULL,
        types=["hub.message.*"],
    )
    emit_traced(django_capture_on_commit_callbacks, "MSG-000003", TRACEPARENT)
    emit_traced(django_capture_on_commit_callbacks, "MSG-000004", None)

    response = planning_api.get("/api/v1/events/", {"subscription": feed.name})

    assert response.status_code == 200, response.content
    documents = {found["subject"]: found for found in response.json()["events"]}
    assert documents["MSG-000003"]["traceparent"] == TRACEPARENT
    assert "traceparent" not in documents["MSG-000004"]
    assert Event.objects.count() == 2
