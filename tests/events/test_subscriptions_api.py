"""Subscriptions through the API: stewards manage them, with the model's validation; an
integration client sees its own system's; everything needs credentials."""

import pytest

from events import webhooks
from events.models import Subscription
from tests.problems import problem_of

LIST = "/api/v1/events/subscriptions/"

PULL = {
    "name": "planning-supply-exceptions",
    "consumer": "PLANNING",
    "mode": "pull",
    "types": ["hub.supply_exception.*"],
    "facts": {"plant": ["LOC-000001"]},
}


def _detail(subscription):
    return f"{LIST}{subscription.pk}/"


def test_a_steward_creates_reads_changes_and_deletes_a_subscription(steward_api):
    response = steward_api.post(LIST, PULL, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert {key: created[key] for key in PULL} == PULL
    assert (created["cursor"], created["lag"], created["is_active"]) == (0, 0, True)
    subscription = Subscription.objects.get(pk=created["id"])
    response = steward_api.patch(_detail(subscription), {"is_active": False}, format="json")
    assert response.status_code == 200, response.content
    subscription.refresh_from_db()
    assert subscription.is_active is False
    assert steward_api.get(_detail(subscription)).json()["name"] == PULL["name"]
    assert steward_api.delete(_detail(subscription)).status_code == 204
    assert not Subscription.objects.exists()


def test_a_logged_in_steward_creates_one(client, steward):
    client.force_login(steward)
    response = client.post(LIST, PULL, content_type="application/json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"types": "hub.item.changed"}, "types", "list of event types"),
        ({"types": [""]}, "types", "list of event types"),
        ({"types": [3]}, "types", "list of event types"),
        ({"types": ["hub.*.changed"]}, "types", '"*" only at the end'),
        ({"facts": ["plant"]}, "facts", "object of fact names"),
        ({"facts": {"colour": ["red"]}}, "facts", "Unknown fact colour"),
        ({"facts": {"plant": "LOC-000001"}}, "facts", "non-empty list of values"),
        ({"facts": {"plant": []}}, "facts", "non-empty list of values"),
        ({"mode": "push"}, "url", "needs the webhook's URL"),
        ({"mode": "poll"}, "mode", "not a valid choice"),
        ({"consumer": ""}, "consumer", "may not be blank"),
    ],
)
def test_it_refuses_a_bad_subscription_and_says_why(steward_api, change, field, says):
    response = steward_api.post(LIST, {**PULL, **change}, format="json")
    problem = problem_of(response, 400)
    assert problem["errors"][0]["pointer"] == f"#/{field}"
    assert says in problem["detail"]
    assert not Subscription.objects.exists()


def test_it_refuses_a_name_taken(steward_api):
    Subscription.objects.create(name=PULL["name"], consumer="ERP_LEGACY", mode="pull")
    response = steward_api.post(LIST, PULL, format="json")
    assert "already exists" in problem_of(response, 400)["detail"]


def test_a_push_subscription_is_answered_its_signing_secret_once(steward_api):
    body = {**PULL, "name": "hook", "mode": "push", "url": "https://93.184.215.14/hook"}
    response = steward_api.post(LIST, body, format="json")
    assert response.status_code == 201, response.content
    made = response.json()
    assert made["lag"] is None  # a push subscription has no cursor
    assert made["secret"].startswith("whsec_")
    assert response["Cache-Control"] == "no-store"
    subscription = Subscription.objects.get(name="hook")
    assert webhooks.signing_secrets(subscription) == [made["secret"]]
    again = steward_api.get(_detail(subscription)).json()
    assert again["secret"] is None  # never shown again
    changed = steward_api.patch(_detail(subscription), {"is_active": False}, format="json")
    assert changed.json()["secret"] is None  # it has one: no new one


def test_a_push_subscription_into_the_hubs_own_network_is_refused(steward_api):
    body = {**PULL, "name": "hook", "mode": "push", "url": "https://10.0.0.7/hook"}
    response = steward_api.post(LIST, body, format="json")
    detail = str(problem_of(response, 400))
    assert "not a public address (private)" in detail
    assert not Subscription.objects.filter(name="hook").exists()


def test_the_cursor_is_not_written_through_the_record(steward_api):
    subscription = Subscription.objects.create(**PULL)
    steward_api.patch(_detail(subscription), {"cursor": 99}, format="json")
    subscription.refresh_from_db()
    assert subscription.cursor == 0


def test_a_viewer_reads_but_does_not_manage(viewer_api):
    subscription = Subscription.objects.create(**PULL)
    assert viewer_api.get(LIST).json()["results"][0]["name"] == PULL["name"]
    problem_of(viewer_api.post(LIST, {**PULL, "name": "other"}, format="json"), 403)
    problem_of(viewer_api.patch(_detail(subscription), {"is_active": False}), 403)
    problem_of(viewer_api.delete(_detail(subscription)), 403)


def test_an_integration_client_sees_only_its_systems_subscriptions(planning_api, erp_api):
    own = Subscription.objects.create(**PULL)
    other = Subscription.objects.create(name="erp-items", consumer="ERP_LEGACY", mode="pull")
    assert [row["name"] for row in planning_api.get(LIST).json()["results"]] == [own.name]
    assert planning_api.get(_detail(own)).status_code == 200
    problem_of(planning_api.get(_detail(other)), 404)
    problem_of(planning_api.post(LIST, {**PULL, "name": "mine"}, format="json"), 403)
    problem_of(erp_api.delete(_detail(own)), 403)


def test_anonymous_callers_get_nothing(anonymous_api, db):
    subscription = Subscription.objects.create(**PULL)
    problem_of(anonymous_api.get(LIST), 401)
    problem_of(anonymous_api.post(LIST, PULL, format="json"), 401)
    problem_of(anonymous_api.get(_detail(subscription)), 401)


def test_an_unknown_subscription_is_named(steward_api):
    response = steward_api.get(f"{LIST}999999/")
    assert problem_of(response, 404)["detail"] == "No subscription with id 999999."
