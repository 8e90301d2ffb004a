"""The events screens through the Django test client: the subscriptions with their health in
words, a subscription's deliveries and their answers, an event's document, and the dead
letters a steward replays or discards (a viewer looks, an outsider is refused).

The world is written directly (events, deliveries, attempts, a breaker): how they come about
is tests/events/test_delivery.py's business; these tests are about what the screens show and
do."""

import datetime as dt
import html
import json
import re
import uuid

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from events import health
from events.models import Breaker, Delivery, DeliveryAttempt, Event, PublishedPosition, Subscription
from mdm.models import SourceSystem

pytestmark = pytest.mark.django_db

LIST = "/quarantine/events/"
MINUTE = dt.timedelta(minutes=1)


def _text(response):
    page = response.content.decode()
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _push(name, consumer="PLANNING", **fields):
    return Subscription.objects.create(
        name=name,
        consumer=consumer,
        mode=Subscription.Mode.PUSH,
        types=["hub.supply_exception.*"],
        url=f"https://{name}.example.com/hooks/hub",
        **fields,
    )


_positions = iter(range(1, 10_000))


def _event(
    subject="SUP-000003", key="PO:SUP-000003:4500000001", type="hub.supply_exception.raised"
):
    position = next(_positions)
    PublishedPosition.objects.update_or_create(pk=1, defaults={"last": position})
    return Event.objects.create(
        position=position,
        type=type,
        source="urn:hub:mdm",
        subject=subject,
        time=timezone.now() - 10 * MINUTE,
        partition_key=key,
        data={"id": subject, "quantity_at_risk": 3},
    )


def _delivery(subscription, event, status=Delivery.Status.DEAD, attempts=0):
    now = timezone.now()
    return Delivery.objects.create(
        subscription=subscription,
        event=event,
        partition_key=event.partition_key,
        position=event.position,
        status=status,
        attempts=attempts,
        next_attempt_at=now,
        since=now - 25 * 60 * MINUTE,
        dead_at=now if status == Delivery.Status.DEAD else None,
        delivered_at=now if status == Delivery.Status.DELIVERED else None,
    )


def _attempt(delivery, status_code=None, error="", body="", at=None, duration_ms=120):
    return DeliveryAttempt.objects.create(
        delivery=delivery,
        at=at or timezone.now() - MINUTE,
        status_code=status_code,
        error=error,
        body=body,
        duration_ms=duration_ms,
    )


@pytest.fixture
def events_world(db):
    """Three push subscriptions of the planning system (one healthy, one whose breaker is
    open, one with two dead letters) and the ERP's pull subscription, behind by two events."""
    now = timezone.now()
    healthy = _push("planning-healthy")
    delivered = _delivery(healthy, _event(), Delivery.Status.DELIVERED, attempts=1)
    _attempt(delivered, 204)
    Breaker.objects.create(subscription=healthy, last_success_at=now - 5 * MINUTE)

    failing = _push("planning-failing")
    retrying = _delivery(failing, _event("SUP-000004"), Delivery.Status.RETRYING, attempts=5)
    for _ in range(5):
        _attempt(retrying, error="No answer within the timeouts (5 s to connect, 10 s to answer).")
    opened = timezone.localtime(now).replace(hour=14, minute=2, second=0, microsecond=0)
    Breaker.objects.create(
        subscription=failing,
        state=Breaker.State.OPEN,
        failures=5,
        opened_at=opened,
        probe_at=opened + MINUTE,
    )

    dead_ones = _push("planning-dead")
    first = _event("SUP-000005", key="PO:SUP-000005:1")
    second = _event("SUP-000005", key="PO:SUP-000005:1", type="hub.supply_exception.changed")
    dead = [_delivery(dead_ones, first, attempts=40), _delivery(dead_ones, second, attempts=0)]
    _attempt(dead[0], 503, "The endpoint answered 503.", body="Service Unavailable " * 100)

    pull = Subscription.objects.create(
        name="erp-items", consumer="ERP_LEGACY", mode=Subscription.Mode.PULL, types=["hub.*"]
    )
    pull.cursor = PublishedPosition.objects.get(pk=1).last - 2
    pull.save()
    return {
        "healthy": healthy,
        "failing": failing,
        "dead_ones": dead_ones,
        "dead": dead,
        "pull": pull,
        "delivered": delivered,
    }


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


def test_the_list_says_each_subscriptions_health_in_words(events_world, viewer_client):
    response = viewer_client.get(LIST)

    assert response.status_code == 200
    text = _text(response)
    assert "breaker open since 14:02 — 5 failures in a row" in text
    assert "retrying 1 delivery" in text
    assert "2 dead letters" in text
    assert "healthy" in text
    assert "2 events to read" in text  # the pull subscription's lag
    assert "100% of 5 attempts" in text  # the failing endpoint's failure rate
    page = response.content.decode()
    dead_ones = events_world["dead_ones"]
    link = f'href="/quarantine/events/subscriptions/{dead_ones.pk}/?status=dead">2 dead letters'
    assert link in page
    assert 'aria-current="page">Events</a>' in page  # the screens' navigation


def test_health_puts_the_worst_first_and_counts_failures_of_the_last_day(events_world):
    failing = events_world["failing"]
    old = _delivery(failing, _event("SUP-000009"), Delivery.Status.DELIVERED, attempts=1)
    _attempt(old, 200, at=timezone.now() - dt.timedelta(hours=30))  # outside the window
    _attempt(old, 200)

    shown = {row.subscription.name: row for row in health.health(Subscription.objects.all())}

    assert shown["planning-failing"].words[0].startswith("breaker open since")
    assert shown["planning-failing"].level == health.BAD
    assert (shown["planning-failing"].attempts, shown["planning-failing"].failure_rate) == (6, 83)
    assert shown["planning-dead"].words == ["2 dead letters"]
    assert shown["planning-healthy"].words == ["healthy"]
    assert shown["planning-healthy"].level == health.GOOD
    assert shown["erp-items"].lag == 3  # the two it had not read, and SUP-000009's


def test_a_paused_subscription_and_one_never_used_say_so():
    paused = _push("paused-one", is_active=False)
    unused = _push("unused-one")

    shown = health.health([paused, unused])

    assert shown[0].words[0].startswith("paused")
    assert shown[0].level == health.IDLE
    assert shown[1].words == ["healthy: nothing delivered yet"]


def test_a_subscription_page_lists_its_deliveries_newest_first_with_their_answers(
    events_world, viewer_client
):
    dead_ones = events_world["dead_ones"]
    url = f"/quarantine/events/subscriptions/{dead_ones.pk}/"

    response = viewer_client.get(url)

    assert response.status_code == 200
    rows = [found.pk for found in response.context["page"]]
    first, second = events_world["dead"]
    assert rows == [second.pk, first.pk]  # newest event first
    text = _text(response)
    assert "hub.supply_exception.raised SUP-000005" in text
    assert "PO:SUP-000005:1" in text
    assert "HTTP 503" in text
    assert "The endpoint answered 503." in text
    assert "120 ms" in text
    assert "not tried yet" in text
    # The answer's body is shown in a bounded excerpt, the rest behind "details".
    page = response.content.decode()
    summary = re.search(r"<summary>.*?<code>(.*?)</code></summary>", page).group(1)
    assert len(summary) <= 200
    assert 'id="replay-button"' not in page  # a viewer has no buttons
    delivered = viewer_client.get(url, {"status": "delivered"})
    assert delivered.context["page"].paginator.count == 0
    assert "Nothing delivered yet." in _text(delivered)


def test_an_events_page_shows_its_document_and_its_deliveries_answers(events_world, viewer_client):
    event = events_world["dead"][0].event

    response = viewer_client.get(f"/quarantine/events/{event.event_id}/")

    assert response.status_code == 200
    text = _text(response)
    assert "planning-dead" in text
    assert "Dead letter" in text
    assert "HTTP 503" in text
    document = json.loads(response.context["document"])
    assert (document["id"], document["subject"]) == (str(event.event_id), "SUP-000005")
    assert '"partitionkey": "PO:SUP-000005:1"' in text  # pretty, as the document has it
    assert "erp-items" in text  # the pull subscription that wants it
    by_position = viewer_client.get(f"/quarantine/events/{event.position}/")
    assert by_position.context["event"] == event


def test_a_steward_replays_the_selected_dead_letters_and_follows_their_delivery(
    events_world, steward_client
):
    dead_ones = events_world["dead_ones"]
    first, second = events_world["dead"]
    url = f"/quarantine/events/subscriptions/{dead_ones.pk}/"
    assert 'id="replay-button"' in steward_client.get(url, {"status": "dead"}).content.decode()

    response = steward_client.post(f"{url}replay/", {"status": "dead", "delivery": [str(first.pk)]})

    assert response.status_code == 302
    assert response["Location"].startswith(f"{url}?replay=")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.attempts) == ("pending", 0)
    assert second.status == "dead"
    page = steward_client.get(response["Location"])
    text = _text(page)
    assert "1 delivery sent again" in text
    assert "0 of 1 delivered, 1 on their way" in text
    stamp = response["Location"].rsplit("replay=", 1)[1]
    Delivery.objects.filter(pk=first.pk).update(status="delivered")
    progress = steward_client.get(f"{url}replays/{stamp}/progress.json").json()
    assert (progress["delivered"], progress["percent"], progress["finished"]) == (1, 100, True)


def test_a_steward_replays_every_dead_letter_of_a_subscription_at_once(
    events_world, steward_client
):
    dead_ones = events_world["dead_ones"]
    url = f"/quarantine/events/subscriptions/{dead_ones.pk}/"

    response = steward_client.post(f"{url}replay/", {"status": "dead", "all": "1"})

    assert response.status_code == 302
    assert set(dead_ones.deliveries.values_list("status", flat=True)) == {"pending"}
    stamp = response["Location"].rsplit("replay=", 1)[1]
    progress = steward_client.get(f"{url}replays/{stamp}/progress.json").json()
    assert (progress["total"], progress["waiting"], progress["percent"]) == (2, 2, 0)
    assert "2 deliveries sent again" in _text(steward_client.get(response["Location"]))


def test_a_steward_discards_dead_letters_and_can_replay_them_from_discarded(
    events_world, steward_client
):
    dead_ones = events_world["dead_ones"]
    first, second = events_world["dead"]
    url = f"/quarantine/events/subscriptions/{dead_ones.pk}/"

    response = steward_client.post(
        f"{url}discard/", {"status": "dead", "delivery": [str(first.pk), str(second.pk)]}
    )

    assert response["Location"] == f"{url}?status=dead"
    assert set(dead_ones.deliveries.values_list("status", flat=True)) == {"discarded"}
    after = steward_client.get(response["Location"])
    assert "2 dead letters discarded" in _text(after)
    assert after.context["page"].paginator.count == 0
    discarded = steward_client.get(url, {"status": "discarded"}).content.decode()
    assert 'id="replay-button"' in discarded and 'id="discard-button"' not in discarded
    steward_client.post(f"{url}replay/", {"status": "discarded", "delivery": [str(first.pk)]})
    first.refresh_from_db()
    assert first.status == "pending"


def test_a_selection_someone_else_replayed_first_is_left_alone_and_said(
    events_world, steward_client
):
    dead_ones = events_world["dead_ones"]
    first, second = events_world["dead"]
    Delivery.objects.filter(pk=first.pk).update(status="pending")
    url = f"/quarantine/events/subscriptions/{dead_ones.pk}/"

    response = steward_client.post(
        f"{url}discard/",
        {"status": "dead", "delivery": [str(first.pk), str(second.pk)]},
        follow=True,
    )

    text = _text(response)
    assert "1 dead letter discarded" in text
    assert "1 of the 2 selected was no longer dead letters" in text
    first.refresh_from_db()
    assert first.status == "pending"


def test_a_replay_with_nothing_selected_says_what_to_do(events_world, steward_client):
    dead_ones = events_world["dead_ones"]
    url = f"/quarantine/events/subscriptions/{dead_ones.pk}/"

    response = steward_client.post(f"{url}replay/", {"status": "dead"}, follow=True)

    assert "Select at least one of the dead letters, or all." in _text(response)
    assert set(dead_ones.deliveries.values_list("status", flat=True)) == {"dead"}


def test_a_viewer_cannot_replay_or_discard(events_world, viewer_client):
    dead_ones = events_world["dead_ones"]
    url = f"/quarantine/events/subscriptions/{dead_ones.pk}/"

    for action in ("replay", "discard"):
        response = viewer_client.post(f"{url}{action}/", {"status": "dead", "all": "1"})
        assert response.status_code == 403
    assert set(dead_ones.deliveries.values_list("status", flat=True)) == {"dead"}


def test_someone_without_a_role_is_refused_and_a_stranger_is_sent_to_log_in(events_world, client):
    outsider = User.objects.create_user(username="olga.outsider", is_staff=True)
    assert client.get(LIST)["Location"].startswith("/admin/login/")
    client.force_login(outsider)

    assert client.get(LIST).status_code == 403
    event = events_world["dead"][0].event
    assert client.get(f"/quarantine/events/{event.event_id}/").status_code == 403


def test_a_bad_id_answers_404_with_words(events_world, viewer_client):
    response = viewer_client.get("/quarantine/events/subscriptions/999999/")
    assert response.status_code == 404
    assert "No subscription with id 999999" in _text(response)

    response = viewer_client.get(f"/quarantine/events/{uuid.uuid4()}/")
    assert response.status_code == 404
    assert "give an event's id" in _text(response)
    response = viewer_client.get("/quarantine/events/not-an-id/")
    assert response.status_code == 404
    assert "No event not-an-id" in _text(response)

    progress = viewer_client.get("/quarantine/events/subscriptions/999999/replays/1/progress.json")
    assert progress.status_code == 404
    assert progress.json()["detail"].startswith("No subscription with id 999999")


def test_a_pull_subscriptions_page_shows_its_cursor_and_next_events(events_world, viewer_client):
    pull = events_world["pull"]

    response = viewer_client.get(f"/quarantine/events/subscriptions/{pull.pk}/")

    assert response.status_code == 200
    text = _text(response)
    assert f"position {pull.cursor}" in text
    assert "2 events published past the cursor" in text
    assert [event.subject for event in response.context["upcoming"]] == ["SUP-000005"] * 2


def test_the_consuming_system_is_named_in_words_before_its_code(events_world, viewer_client):
    SourceSystem.objects.create(code="PLANNING", name="Demand planning", kind="planning")
    text = _text(viewer_client.get(LIST))
    assert "for Demand planning PLANNING" in text  # a system the hub knows: its name first
    assert "for ERP_LEGACY" in text  # no such system here: the code alone
