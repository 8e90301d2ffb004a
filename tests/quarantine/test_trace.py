"""The thread: from a demand change to its supply consequence, across systems. The demo's
scenario (revised forecast, three order changes, two acknowledgements on time, one constrained)
is one thread with the right order, links and latencies; an order that names its demand is tied
to it explicitly; quarantine stops say who fixed them and how long they held the flow; the API
and the screen answer the same steps."""

import datetime
from unittest import mock

import pytest
from django.test import Client

from demo.reference_data import DEMO_UNITS
from demo.seed import seed_demo
from mdm.models import Unit
from quarantine import services, trace
from quarantine.models import QuarantineCase
from quarantine.trace_steps import duration_words
from tests.helpers import validated
from tests.validation.world import example
from validation import enqueue, pipeline, tasks
from validation.models import (
    Acknowledgement,
    ForecastRelease,
    InboundMessage,
    PurchaseOrderChange,
    SupplyException,
)
from validation.submission import submit_message

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 2)
THIRD = "4500020003"  # the scenario's order whose supplier confirms late


@pytest.fixture
def seeded(django_capture_on_commit_callbacks):
    """The demo world with its messages (tests/demo/test_messages.py), just its units."""
    for code, fields in DEMO_UNITS.items():
        Unit.objects.create(code=code, **fields)
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(items=200, suppliers=40, today=TODAY)
    return SupplyException.objects.get(order_line__order__po_number=THIRD)


def _kinds(steps):
    return [step.kind for step in steps]


def test_the_seed_scenario_is_one_thread_from_the_revised_forecast_to_the_exception(seeded):
    exception = seeded
    revised = ForecastRelease.objects.get(plan_id__startswith="VAL-CRIT-", version=2)
    original, change = PurchaseOrderChange.objects.filter(order__po_number=THIRD).order_by(
        "change_sequence"
    )
    ack = Acknowledgement.objects.get(order__po_number=THIRD)

    found = trace.thread(exception=exception.pk)

    assert _kinds(found.steps) == [
        "forecast_release",
        "order",
        "order_change",
        "acknowledgement",
        "supply_exception",
    ]
    forecast, order, changed, acknowledged, at_risk = found.steps
    assert [s.message for s in found.steps] == [
        revised.message.public_id,
        original.message.public_id,
        change.message.public_id,
        ack.message.public_id,
        ack.message.public_id,  # the exception was raised by the acknowledgement
    ]
    # The latencies are the differences of the records' own times.
    times = [revised.released_at, original.released_at, change.released_at]
    times += [ack.recorded_at, exception.raised_at]
    assert forecast.since_previous is None
    assert [step.at for step in found.steps] == times
    for step, before, after in zip(found.steps[1:], times[:-1], times[1:], strict=True):
        assert step.since_previous["seconds"] == (after - before).total_seconds()
    assert at_risk.since_previous == {"seconds": 0.0, "words": "at the same moment"}
    # The demo's orders name no demand reference: the forecast is tied in by inference.
    assert (forecast.link, order.link, changed.link) == ("inferred", "inferred", "inferred")
    assert "names no demand reference" in changed.why
    assert f"before PO {THIRD} (change 1)" in changed.why
    # Each step says what happened, in words.
    assert forecast.system["code"] == "PLANNING"
    assert f"forecast {revised.plan_id} version 2: weeks 3-4 and 7-12 up 60 %" in forecast.what
    assert "(from 1000 to 1600 piece (H87))" in forecast.what
    assert "4 lines left out as not actionable" in forecast.what
    assert changed.system["code"] == "ERP_LEGACY"
    assert f"changed PO {THIRD} (change 1)" in changed.what
    assert "1500 piece (H87) instead of 1000" in changed.what
    assert "1050 piece (H87) accepted" in acknowledged.what
    assert "450 piece (H87) backordered" in acknowledged.what
    assert "(14 days after the need-by date" in acknowledged.what
    assert at_risk.system == {"code": "HUB", "name": "The hub"}
    assert "450 of 1500 piece (H87) will not arrive" in at_risk.what
    assert "14 days late" in at_risk.what
    assert at_risk.url.endswith(f"#exception-{exception.pk}")


def test_the_api_and_the_screen_answer_the_scenarios_thread(seeded, viewer):
    exception = seeded
    client = Client()
    client.force_login(viewer)

    answer = client.get(f"/api/v1/trace/?exception={exception.pk}")

    assert answer.status_code == 200
    body = answer.json()
    expected = trace.thread(exception=exception.pk).steps
    assert [s["kind"] for s in body["steps"]] == _kinds(expected)
    assert [s["what"] for s in body["steps"]] == [s.what for s in expected]
    assert [s["link"] for s in body["steps"]] == ["inferred"] * 3 + ["explicit"] * 2
    first, second = body["steps"][:2]
    assert first["since_previous"] is None
    assert second["since_previous"]["seconds"] == expected[1].since_previous["seconds"]
    assert body["steps"][-1]["url"].startswith("http://testserver/quarantine/supply-exceptions/")

    # The planner opens the exception's thread from the supply exceptions screen.
    listing = client.get("/quarantine/supply-exceptions/").content.decode()
    assert f'href="/quarantine/trace/?exception={exception.pk}"' in listing
    page = client.get(f"/quarantine/trace/?exception={exception.pk}")

    assert page.status_code == 200
    text = page.content.decode()
    assert text.count('<li class="step step-') == 5
    order = [text.index(f'data-kind="{kind}"') for kind in _kinds(expected)]
    assert order == sorted(order)
    assert "weeks 3-4 and 7-12 up 60 %" in text
    assert "Demand and supply planning" in text  # the system's name, its code beside it
    assert 'class="inferred" tabindex="0" title="Inferred: no order names it' in text
    assert "less than a second later" in text

    # The case of the stale forecast (version 1 sent again) links its version's thread,
    # where the stop follows the release; the ERP's acceptance came two minutes after it.
    stale = QuarantineCase.objects.get(rules__code="STALE_FORECAST_VERSION")
    plan_id = stale.message.payload["plan_id"]
    case_page = client.get(f"/quarantine/{stale.pk}/").content.decode()
    assert f'href="/quarantine/trace/?forecast={plan_id}%3A1"' in case_page
    first = trace.thread(forecast=(plan_id, 1)).steps
    assert [(s.kind, s.link) for s in first] == [
        ("forecast_release", "explicit"),
        ("quarantine_stop", "explicit"),
        ("forecast_decision", "explicit"),
    ]
    assert first[1].message == stale.message.public_id
    assert "(rule STALE_FORECAST_VERSION). Still held" in first[1].what


# --- explicit and inferred links, in the validation test world ------------------------------


def _released(system, message_type, payload, version=1, key=None):
    message = validated(system, message_type, payload, version, key)
    assert message.status == "released", message.diagnostics
    return message


@pytest.fixture
def forecast(world):
    """S&OP-2026-03 version 3: the bearing at the Hamburg plant, two weeks."""
    return _released(world.systems["PLANNING"], "forecast", example("forecast"))


def test_an_order_naming_its_demand_is_tied_to_that_forecast_explicitly(world, forecast):
    payload = example("purchase_order", po_number="4500012345")
    payload["demand_reference"] = {"plan_id": "S&OP-2026-03", "version": 3}
    named = _released(world.systems["ERP_LEGACY"], "purchase_order", payload, version=3)
    unnamed = _released(
        world.systems["ERP_LEGACY"], "purchase_order", example("purchase_order", po_number="4501")
    )

    explicit = trace.thread(po="4500012345")
    inferred = trace.thread(po="4501")

    assert _kinds(explicit.steps) == ["forecast_release", "order"]
    release, order = explicit.steps
    assert (release.message, order.message) == (forecast.public_id, named.public_id)
    assert (release.link, order.link) == ("explicit", "explicit")
    assert order.why == "The order names its demand: forecast S&OP-2026-03 version 3."
    assert release.why == "PO 4500012345 (original) names it as its demand."
    assert "version 3: weeks 1-2 planned for Item 6204-2RS at HH01" in release.what
    assert [(s.link, s.message) for s in inferred.steps] == [
        ("inferred", forecast.public_id),
        ("inferred", unnamed.public_id),
    ]
    assert "with a line for Item 6204-2RS at HH01" in inferred.steps[1].why
    # The forecast's thread has both orders, each tied as it was.
    following = trace.thread(forecast=("S&OP-2026-03", 3))
    assert [(s.kind, s.link, s.message) for s in following.steps] == [
        ("forecast_release", "explicit", forecast.public_id),
        ("order", "explicit", named.public_id),
        ("order", "inferred", unnamed.public_id),
    ]


def test_a_demand_reference_the_hub_never_released_falls_back_to_inference(world, forecast):
    payload = example("purchase_order")
    payload["demand_reference"] = {"plan_id": "S&OP-2026-03", "version": 9}
    _released(world.systems["ERP_LEGACY"], "purchase_order", payload, version=3)

    order = trace.thread(po=payload["po_number"]).steps[-1]

    assert order.link == "inferred"
    assert order.why.startswith(
        "The order names forecast S&OP-2026-03 version 9, which the hub has not released. "
        "Inferred: it is the latest forecast release before PO 4500012345 (original)"
    )


def test_an_order_without_a_forecast_before_it_follows_none(world):
    order = _released(world.systems["ERP_LEGACY"], "purchase_order", example("purchase_order"))

    [step] = trace.thread(po="4500012345").steps

    assert (step.kind, step.message, step.link, step.why) == (
        "order",
        order.public_id,
        "explicit",
        "",
    )


def test_an_item_at_a_plant_has_its_forecasts_and_orders_of_a_window(world, forecast):
    order = _released(world.systems["ERP_LEGACY"], "purchase_order", example("purchase_order"))
    now = order.finished_at + datetime.timedelta(days=10)

    recent = trace.thread(item=world.bearing.number, plant=world.plant.code, now=now)
    short = trace.thread(item=world.bearing.public_id, plant=world.plant.public_id, days=5, now=now)

    assert [s.message for s in recent.steps] == [forecast.public_id, order.public_id]
    assert recent.steps[0].link == "explicit"  # its lines name the item at the plant
    assert recent.since == now - datetime.timedelta(days=90)
    assert short.steps == []


# --- quarantine stops -------------------------------------------------------------------------


def _quarantined(system, payload):
    """A purchase order held by an obsolete item (the finding forced), as tests/quarantine/
    test_cases.py holds its messages."""
    finding = {
        "rule": "ITEM_OBSOLETE",
        "severity": "error",
        "team": "procurement",
        "path": "$.lines[0].item",
        "value": "BRG-6204-2RS",
        "message": "Item 6204-2RS is obsolete.",
        "suggestion": None,
    }
    with mock.patch.object(enqueue, "enqueue_validation"):
        message = submit_message(
            system=system,
            message_type="purchase_order",
            schema_version=1,
            payload=payload,
            idempotency_key=f"k{InboundMessage.objects.count()}",
        ).message
    outcome = pipeline.Outcome(status="quarantined", diagnostics=[finding])
    with mock.patch.object(pipeline, "evaluate", return_value=outcome):
        tasks.validate_message.delay(message.pk)
    return QuarantineCase.objects.get(message=message)


def test_a_quarantine_stop_says_who_fixed_it_and_how_long_it_held_the_flow(
    world, steward, django_capture_on_commit_callbacks
):
    case = _quarantined(world.systems["ERP_LEGACY"], example("purchase_order"))
    with django_capture_on_commit_callbacks(execute=True):
        services.replay(case, by=steward, reason="the item was reactivated")
    case.refresh_from_db()
    assert case.status == "resolved_by_replay"
    change = PurchaseOrderChange.objects.get(order__po_number="4500012345")

    stop, order = trace.thread(po="4500012345").steps

    assert (stop.kind, order.kind) == ("quarantine_stop", "order")
    assert stop.at == case.opened_at
    assert stop.stop["fixed_by"] == "stella.steward"
    assert stop.stop["note"] == "Replayed by stella.steward: the item was reactivated"
    assert stop.stop["outcome"] == "Resolved by replay"
    held = (case.resolved_at - case.opened_at).total_seconds()
    assert stop.stop["held_seconds"] == held
    assert order.since_previous["seconds"] == (change.released_at - case.opened_at).total_seconds()
    assert "Item 6204-2RS is obsolete (rule ITEM_OBSOLETE)." in stop.what
    assert stop.url == f"/quarantine/{case.pk}/"


def test_a_stop_still_holding_its_message_is_shown_open_on_the_screen(world, viewer):
    case = _quarantined(world.systems["ERP_LEGACY"], example("purchase_order"))
    client = Client()
    client.force_login(viewer)

    answer = client.get("/api/v1/trace/?po=4500012345").json()
    [stop] = answer["steps"]
    assert stop["kind"] == "quarantine_stop"
    assert (stop["stop"]["open"], stop["stop"]["fixed_by"]) == (True, None)
    assert stop["stop"]["case"] == case.pk

    # The case page links the order's thread; the thread shows the stop still holding.
    assert (
        'href="/quarantine/trace/?po=4500012345"'
        in client.get(f"/quarantine/{case.pk}/").content.decode()
    )
    text = client.get("/quarantine/trace/?po=4500012345").content.decode()
    assert "Held in quarantine" in text and "Still held" in text
    assert f'href="/quarantine/{case.pk}/"' in text


# --- bad and unknown parameters ----------------------------------------------------------------


@pytest.mark.parametrize(
    "query, parameter, words",
    [
        ("", None, "Say what to trace"),
        ("?po=1&forecast=P:1", "forecast", "one thing at a time"),
        ("?item=ITM-000001", "plant", "Give the plant too"),
        ("?forecast=S%26OP-2026-03", "forecast", "plan id and version joined by a colon"),
        ("?exception=twelve", "exception", "the number of a supply exception"),
        ("?item=ITM-000001&plant=HH01&days=0", "days", "from 1 to 3650"),
        ("?po=1&days=5", "days", "for an item at a plant only"),
    ],
)
def test_a_bad_or_missing_parameter_is_a_400_saying_what_is_accepted(
    viewer_api, query, parameter, words
):
    answer = viewer_api.get(f"/api/v1/trace/{query}")

    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    assert words in answer.json()["detail"]
    if parameter:
        assert answer.json()["errors"][0]["parameter"] == parameter


@pytest.mark.parametrize(
    "query, words",
    [
        ("?po=4599999999", "No purchase order 4599999999"),
        ("?item=NO-SUCH&plant=HH01", "No item NO-SUCH"),
        ("?item=6204-2RS&plant=XX99", "No plant XX99"),
        ("?forecast=S%26OP-2026-03:7", "No forecast S&OP-2026-03 version 7"),
        ("?exception=999", "No supply exception 999"),
    ],
)
def test_an_unknown_record_is_a_404(viewer_api, world, query, words):
    answer = viewer_api.get(f"/api/v1/trace/{query}")

    assert answer.status_code == 404
    assert words in answer.json()["detail"]


def test_the_screen_offers_the_form_and_says_what_is_wrong(viewer):
    client = Client()
    client.force_login(viewer)

    empty = client.get("/quarantine/trace/")
    bad = client.get("/quarantine/trace/?forecast=PLAN")
    unknown = client.get("/quarantine/trace/?po=4599999999")

    assert empty.status_code == 200 and 'id="trace-form"' in empty.content.decode()
    assert bad.status_code == 400 and "joined by a colon" in bad.content.decode()
    assert unknown.status_code == 404 and "No purchase order 4599999999" in unknown.content.decode()


@pytest.mark.parametrize(
    "seconds, words",
    [
        (0.2, "less than a second"),
        (45, "45 s"),
        (12 * 60 + 3, "12 min 3 s"),
        (3 * 3600 + 5 * 60, "3 h 5 min"),
        (2 * 86400 + 4 * 3600 + 59, "2 days 4 h"),
        (86400, "1 day"),
    ],
)
def test_latencies_are_said_in_words(seconds, words):
    assert duration_words(seconds) == words
