"""The pull feed: a subscription's published events after its cursor, in position order, as
CloudEvents documents; the cursor it commits; replay by position and by time."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from events import outbox
from events.models import Event, Subscription
from tests.problems import problem_of

FEED = "/api/v1/events/"


def _cursor_url(subscription):
    return f"/api/v1/events/subscriptions/{subscription.pk}/cursor/"


def _read(api, subscription, **params):
    response = api.get(FEED, {"subscription": subscription.name, **params})
    assert response.status_code == 200, response.content
    return response.json()


def _subjects(page):
    return [document["subject"] for document in page["events"]]


def test_it_feeds_an_event_emitted_in_a_committed_transaction(planning_api, planning_feed, emit):
    event = emit(
        "hub.supply_exception.raised",
        "SE-1",
        {"quantity_at_risk": 3},
        "PO:SUP-000003:4500000001",
        supplier="SUP-000003",
    )
    page = _read(planning_api, planning_feed)
    [document] = page["events"]
    assert document["specversion"] == "1.0"
    assert document["id"] == str(event.event_id)
    assert document["type"] == "hub.supply_exception.raised"
    assert document["subject"] == "SE-1"
    assert document["partitionkey"] == "PO:SUP-000003:4500000001"
    assert document["sequence"] == str(event.position)
    assert document["data"] == {"quantity_at_risk": 3}
    assert page["next"] == event.position
    assert page["more"] is False


def test_it_never_feeds_an_event_of_a_rolled_back_transaction(
    planning_api, planning_feed, emit, django_capture_on_commit_callbacks
):
    class Refused(Exception):
        pass

    with (
        pytest.raises(Refused),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        outbox.emit("hub.supply_exception.raised", "SE-LOST", {})
        raise Refused
    emit("hub.supply_exception.raised", "SE-KEPT")
    assert _subjects(_read(planning_api, planning_feed)) == ["SE-KEPT"]
    assert not Event.objects.filter(subject="SE-LOST").exists()


def test_it_does_not_feed_an_event_before_it_is_published(planning_api, planning_feed, db):
    with transaction.atomic():  # committed for the test, but the publish task never ran
        outbox.emit("hub.supply_exception.raised", "SE-WAITING", {})
    assert _read(planning_api, planning_feed)["events"] == []


def test_it_feeds_in_position_order_whatever_the_write_order(planning_api, planning_feed, emit):
    for number in range(5):
        emit("hub.supply_exception.changed", f"SE-{number}")
    # The first-written event gets the last position, as one of a transaction that commits
    # late would (positions are given in the order events become visible).
    first, last = Event.objects.get(subject="SE-0"), Event.objects.get(subject="SE-4")
    positions = first.position, last.position
    Event.objects.filter(pk=first.pk).update(position=None)
    Event.objects.filter(pk=last.pk).update(position=positions[0])
    Event.objects.filter(pk=first.pk).update(position=positions[1])
    page = _read(planning_api, planning_feed, after=0)
    positions = [int(document["sequence"]) for document in page["events"]]
    assert positions == sorted(positions)
    assert _subjects(page) == ["SE-4", "SE-1", "SE-2", "SE-3", "SE-0"]


def test_it_filters_by_exact_type_and_by_prefix(steward_api, emit):
    exact = Subscription.objects.create(
        name="raised-only", consumer="PLANNING", mode="pull", types=["hub.supply_exception.raised"]
    )
    prefix = Subscription.objects.create(
        name="items", consumer="PLANNING", mode="pull", types=["hub.item.*"]
    )
    everything = Subscription.objects.create(name="all", consumer="PLANNING", mode="pull")
    emit("hub.supply_exception.raised", "SE-1")
    emit("hub.supply_exception.closed", "SE-1")
    emit("hub.item.changed", "ITM-000001")
    emit("hub.itemized.changed", "X-1")  # not under "hub.item."
    assert _subjects(_read(steward_api, exact)) == ["SE-1"]
    assert _subjects(_read(steward_api, prefix)) == ["ITM-000001"]
    assert len(_read(steward_api, everything)["events"]) == 4


def test_it_filters_by_facts(steward_api, emit):
    subscription = Subscription.objects.create(
        name="acme-at-de01",
        consumer="PLANNING",
        mode="pull",
        facts={"supplier": ["SUP-000003"], "plant": ["LOC-000001", "LOC-000002"]},
    )
    emit("hub.supply_exception.raised", "SE-1", supplier="SUP-000003", plant="LOC-000002")
    emit("hub.supply_exception.raised", "SE-2", supplier="SUP-000004", plant="LOC-000001")
    emit("hub.supply_exception.raised", "SE-3", supplier="SUP-000003")  # no plant
    emit("hub.supply_exception.raised", "SE-4", supplier="SUP-000003", plant="LOC-000001")
    page = _read(steward_api, subscription)
    assert _subjects(page) == ["SE-1", "SE-4"]
    assert all(subscription.matches(Event.objects.get(subject=s)) for s in _subjects(page))


def test_it_moves_the_cursor_past_events_it_does_not_want(planning_api, planning_feed, emit):
    emit("hub.supply_exception.raised", "SE-1")
    last = emit("hub.item.changed", "ITM-000001")
    page = _read(planning_api, planning_feed)
    assert _subjects(page) == ["SE-1"]
    assert page["next"] == last.position


def test_it_pages_with_limit_and_says_more_wait(planning_api, planning_feed, emit):
    events = [emit("hub.supply_exception.raised", f"SE-{n}") for n in range(5)]
    page = _read(planning_api, planning_feed, limit=2)
    assert _subjects(page) == ["SE-0", "SE-1"]
    assert (page["next"], page["more"]) == (events[1].position, True)
    page = _read(planning_api, planning_feed, after=page["next"], limit=2)
    assert _subjects(page) == ["SE-2", "SE-3"]
    page = _read(planning_api, planning_feed, after=page["next"], limit=2)
    assert (_subjects(page), page["more"]) == (["SE-4"], False)


def test_a_committed_cursor_is_where_the_next_read_starts(planning_api, planning_feed, emit):
    emit("hub.supply_exception.raised", "SE-1")
    emit("hub.supply_exception.raised", "SE-2")
    page = _read(planning_api, planning_feed)
    response = planning_api.post(
        _cursor_url(planning_feed), {"position": page["next"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["cursor"], response.json()["lag"]) == (page["next"], 0)
    assert _read(planning_api, planning_feed)["events"] == []
    emit("hub.supply_exception.closed", "SE-1")
    assert _subjects(_read(planning_api, planning_feed)) == ["SE-1"]


def test_moving_the_cursor_back_replays(planning_api, planning_feed, emit):
    first = emit("hub.supply_exception.raised", "SE-1")
    emit("hub.supply_exception.raised", "SE-2")
    planning_feed.cursor = Event.objects.order_by("position").last().position
    planning_feed.save()
    response = planning_api.post(_cursor_url(planning_feed), {"position": first.position})
    assert response.status_code == 200
    assert _subjects(_read(planning_api, planning_feed)) == ["SE-2"]
    assert _subjects(_read(planning_api, planning_feed, after=0)) == ["SE-1", "SE-2"]


def test_it_refuses_a_cursor_past_the_last_published_position(planning_api, planning_feed, emit):
    event = emit("hub.supply_exception.raised", "SE-1")
    response = planning_api.post(_cursor_url(planning_feed), {"position": event.position + 1})
    problem = problem_of(response, 400)
    assert "past the last published position" in problem["detail"]
    assert problem["errors"][0]["pointer"] == "#/position"
    planning_feed.refresh_from_db()
    assert planning_feed.cursor == 0
    response = planning_api.get(FEED, {"subscription": planning_feed.pk, "after": 99})
    assert "past the last published position" in problem_of(response, 400)["detail"]


def test_a_push_subscription_has_no_cursor_to_commit(steward_api, emit):
    push = Subscription.objects.create(
        name="hook", consumer="PLANNING", mode="push", url="https://planning.example/hook"
    )
    emit("hub.item.changed", "ITM-000001")
    response = steward_api.post(_cursor_url(push), {"position": 1}, format="json")
    assert "push subscription" in problem_of(response, 400)["detail"]


def test_it_replays_from_a_point_in_time(planning_api, planning_feed, emit):
    early = emit("hub.supply_exception.raised", "SE-EARLY")
    later = [emit("hub.supply_exception.raised", f"SE-{n}") for n in range(2)]
    Event.objects.filter(pk=early.pk).update(time=timezone.now() - dt.timedelta(hours=2))
    since = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    planning_feed.cursor = later[-1].position
    planning_feed.save()
    page = _read(planning_api, planning_feed, since=since)
    assert _subjects(page) == ["SE-0", "SE-1"]
    assert page["after"] == later[0].position - 1
    future = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    assert _read(planning_api, planning_feed, since=future)["events"] == []


@pytest.mark.parametrize(
    ("params", "parameter", "says"),
    [
        ({"after": "x"}, "after", "valid integer"),
        ({"after": -1}, "after", "greater than or equal to 0"),
        ({"limit": 0}, "limit", "greater than or equal to 1"),
        ({"limit": 1001}, "limit", "less than or equal to 1000"),
        ({"since": "yesterday"}, "since", "Datetime has wrong format"),
        ({"since": "2026-03-02T08:00:00Z", "after": 1}, "since", "not both"),
    ],
)
def test_it_names_a_bad_parameter(planning_api, planning_feed, params, parameter, says):
    response = planning_api.get(FEED, {"subscription": planning_feed.name, **params})
    problem = problem_of(response, 400)
    assert problem["errors"][0]["parameter"] == parameter
    assert says in problem["detail"]


def test_it_needs_a_subscription_it_knows(planning_api, planning_feed):
    assert "subscription" in problem_of(planning_api.get(FEED), 400)["detail"]
    response = planning_api.get(FEED, {"subscription": "no-such"})
    assert problem_of(response, 404)["detail"] == "No subscription with id or name no-such."
    by_id = planning_api.get(FEED, {"subscription": planning_feed.pk})
    assert by_id.json()["subscription"] == planning_feed.pk


def test_a_system_reads_only_its_own_subscriptions_feed(erp_api, planning_api, planning_feed):
    response = erp_api.get(FEED, {"subscription": planning_feed.name})
    problem_of(response, 404)
    response = erp_api.post(_cursor_url(planning_feed), {"position": 0})
    problem_of(response, 404)


def test_a_viewer_reads_the_feed_but_moves_no_cursor(viewer_api, planning_feed):
    assert viewer_api.get(FEED, {"subscription": planning_feed.name}).status_code == 200
    problem_of(viewer_api.post(_cursor_url(planning_feed), {"position": 0}), 403)


def test_anonymous_callers_read_nothing(anonymous_api, planning_feed):
    problem_of(anonymous_api.get(FEED, {"subscription": planning_feed.name}), 401)
    problem_of(anonymous_api.post(_cursor_url(planning_feed), {"position": 0}), 401)
