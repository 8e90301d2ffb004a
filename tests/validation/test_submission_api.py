"""Submitting messages: stored before the answer, validated after commit, idempotent per
system and key, refused with every contract error, and seen only by those who may."""

import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from django.db import connection, connections
from django.test import override_settings
from rest_framework.test import APIClient

from core.parsers import JSONParser, RequestTooLarge
from mdm.models import IdSequence
from quarantine.models import QuarantineCase
from tests.problems import errors_by_field, problem_of
from tests.services import require
from validation import pipeline
from validation.models import InboundMessage
from validation.submission import submit_message

from .world import example, forecast_part, integration_client, submission

pytestmark = pytest.mark.django_db

URL = "/api/v1/messages/"


def post(api, body, key="key-1", **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(URL, body, format="json", **headers, **extra)


def test_it_stores_the_message_and_accepts_it(
    erp_api, erp_system, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(erp_api, submission("purchase_order"))

    assert response.status_code == 202
    body = response.json()
    message = InboundMessage.objects.get()
    assert body == {
        "id": message.public_id,
        "status": "received",
        "url": f"http://testserver/api/v1/messages/{message.public_id}/",
    }
    assert response["Location"] == body["url"]
    assert message.public_id == "MSG-000001"
    assert message.system == erp_system
    assert message.status == "received"
    assert message.payload == example("purchase_order")
    assert str(message.business_date) == "2026-03-02"
    assert len(callbacks) == 1, "validation is enqueued after commit"


def without_hub(payload):
    """A released payload without the hub's enrichment: the payload as sent."""
    payload = {key: value for key, value in payload.items() if key != "hub"}
    payload["lines"] = [
        {key: value for key, value in line.items() if key != "hub"} for line in payload["lines"]
    ]
    return payload


def test_a_validated_message_shows_its_outcome(erp_api, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        url = post(erp_api, submission("receipt")).json()["url"]

    detail = erp_api.get(url).json()
    assert detail["status"] == "released"
    assert without_hub(detail["released_payload"]) == example("receipt")
    assert detail["released_payload"]["lines"][0]["hub"]["item"]["id"] == world.bearing.public_id
    assert detail["diagnostics"] == []
    assert detail["attempts"] == 1
    assert detail["finished_at"] is not None
    assert detail["system"] == "ERP_LEGACY"
    assert detail["last_error"] == ""


def test_the_idempotency_key_is_required(erp_api):
    response = post(erp_api, submission(), key=None)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]
    assert not InboundMessage.objects.exists()


def test_the_same_key_and_message_again_returns_the_original(erp_api):
    first = post(erp_api, submission("purchase_order"), key="po-4500012345-0")
    # The same payload with its keys in another order is the same message.
    reordered = dict(reversed(list(example("purchase_order").items())))
    second = post(erp_api, submission("purchase_order", reordered), key="po-4500012345-0")

    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["status"] == "received"
    assert InboundMessage.objects.count() == 1


def test_the_same_key_with_another_message_is_a_conflict_naming_the_original(erp_api):
    first = post(erp_api, submission("purchase_order"), key="po-1").json()
    changed = example("purchase_order", change_sequence=1)
    response = post(erp_api, submission("purchase_order", changed), key="po-1")

    assert response.status_code == 409
    assert response.json()["id"] == first["id"]
    assert response.json()["url"] == first["url"]
    assert first["id"] in response.json()["detail"]
    assert InboundMessage.objects.count() == 1


def test_a_key_is_unique_per_system_only(erp_api, planning_api):
    assert post(erp_api, submission(), key="shared").status_code == 202
    assert post(planning_api, submission(), key="shared").status_code == 202
    assert InboundMessage.objects.count() == 2


def test_a_contract_violation_is_refused_with_every_error_and_kept_as_rejected(erp_api):
    payload = example("ship_notice", ship_date="16.03.2026")
    payload["lines"].append({"po_number": "4500012345", "po_line": 0, "quantity": "x"})

    response = post(erp_api, submission("ship_notice", payload))

    body = problem_of(response, 400)
    assert body["errors"] == [
        {
            "pointer": "#/payload/lines/1/item",
            "path": "$.lines[1].item",
            "detail": "Missing: this property is required.",
        },
        {
            "pointer": "#/payload/lines/1/po_line",
            "path": "$.lines[1].po_line",
            "detail": "0 is less than the minimum of 1",
        },
        {
            "pointer": "#/payload/lines/1/quantity",
            "path": "$.lines[1].quantity",
            "detail": '"x" is not a decimal number; write it like 12.5 or "12.5".',
        },
        {
            "pointer": "#/payload/lines/1/unit",
            "path": "$.lines[1].unit",
            "detail": "Missing: this property is required.",
        },
        {
            "pointer": "#/payload/ship_date",
            "path": "$.ship_date",
            "detail": '"16.03.2026" is not a valid date; write it as YYYY-MM-DD.',
        },
    ]
    assert "5 errors" in body["detail"]
    message = InboundMessage.objects.get()
    assert body["id"] == message.public_id
    assert message.status == "rejected"
    assert message.finished_at is not None
    assert [d["path"] for d in message.diagnostics] == [e["path"] for e in body["errors"]]
    assert {d["rule"] for d in message.diagnostics} == {"CONTRACT"}
    # Kept for the audit trail, and readable like any message.
    detail = erp_api.get(body["url"]).json()
    assert detail["status"] == "rejected"
    assert detail["diagnostics"][0]["path"] == "$.lines[1].item"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message_type": "invoice", "schema_version": 1, "payload": {}}, "message_type"),
        ({"message_type": "receipt", "schema_version": "one", "payload": {}}, "schema_version"),
        ({"message_type": "receipt", "schema_version": 1}, "payload"),
    ],
)
def test_a_malformed_submission_is_a_400_naming_the_field(erp_api, body, field):
    response = post(erp_api, body)
    assert field in errors_by_field(response)
    assert not InboundMessage.objects.exists()


def test_an_unknown_contract_version_is_a_400(erp_api):
    response = post(erp_api, submission("receipt", version=2))
    assert response.status_code == 400
    assert "receipt v2" in response.json()["detail"]
    assert not InboundMessage.objects.exists()


def test_a_viewer_cannot_submit(viewer_api):
    assert post(viewer_api, submission()).status_code == 403


def test_a_steward_api_client_may_submit_for_its_system(steward_api, erp_system):
    assert post(steward_api, submission()).status_code == 202
    assert InboundMessage.objects.get().system == erp_system


def test_a_login_session_speaks_for_no_system(steward):
    api = APIClient()
    api.force_login(steward)
    response = post(api, submission())
    assert response.status_code == 403
    assert "API key" in response.json()["detail"]


def test_a_client_cannot_submit_as_another_system(erp_api, planning_system, erp_system):
    # The system is the key's; a "system" in the body is not a field of a submission.
    body = {**submission(), "system": "PLANNING"}
    assert post(erp_api, body).status_code == 202
    assert InboundMessage.objects.get().system == erp_system


def test_anonymous_callers_get_a_401(anonymous_api):
    assert post(anonymous_api, submission()).status_code == 401


# --- request size --------------------------------------------------------------------------


@override_settings(HUB_MAX_REQUEST_BYTES=2048)
def test_a_body_over_the_limit_is_a_413_with_a_clear_message(erp_api):
    payload = example("forecast")
    payload["lines"] = payload["lines"] * 40
    body = json.dumps(submission("forecast", payload)).encode()

    response = erp_api.post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="big")

    assert problem_of(response, 413)["detail"] == (
        f"Request body is {len(body)} bytes; the limit is 2048 bytes. "
        "Submit large forecasts in parts (part n of m)."
    )
    assert not InboundMessage.objects.exists()


def test_the_parser_stops_reading_at_the_limit(settings):
    settings.HUB_MAX_REQUEST_BYTES = 1024
    stream = io.BytesIO(b'{"payload": "' + b"x" * 2000 + b'"}')
    with pytest.raises(RequestTooLarge, match="more than 1024 bytes; the limit is 1024"):
        JSONParser().parse(stream)


def test_nan_is_not_json(erp_api):
    body = '{"message_type": "receipt", "schema_version": 1, "payload": {"x": NaN}}'
    response = erp_api.post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="n")
    assert response.status_code == 400
    assert "NaN" in response.json()["detail"]


def nested(depth):
    """A purchase order whose first line carries a note nested `depth` arrays deep."""
    payload = example("purchase_order")
    text = json.dumps(submission("purchase_order", payload))
    marker = '"lines": ['
    return text.replace(marker, marker + '{"note": ' + "[" * depth + "]" * depth + "}, ", 1)


@pytest.mark.parametrize("url", [URL, "/api/v1/validate/"])
@pytest.mark.parametrize("depth", [256, 5000])
def test_a_payload_nested_too_deeply_is_a_400_naming_the_limit(erp_api, url, depth):
    """The review's reproduction: past 255 levels jsonschema-rs fails (a 500)."""
    response = erp_api.post(
        url, nested(depth), content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"deep-{depth}"
    )
    assert problem_of(response, 400)["detail"] == (
        "JSON parse error - The document is nested too deeply: at most 64 levels of "
        "objects and arrays are accepted."
    )
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize("url", [URL, "/api/v1/validate/"])
def test_a_payload_quantity_with_a_huge_exponent_is_refused_naming_the_limit(erp_api, url):
    text = json.dumps(submission("purchase_order", example("purchase_order")))
    body = text.replace('"quantity": ', '"quantity": 1e999999999, "was": ', 1)
    response = erp_api.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="e")
    assert problem_of(response, 400)["detail"] == (
        "JSON parse error - The number 1e999999999 is too large: numbers up to about "
        "1.8e308 (a double) are accepted."
    )
    assert not InboundMessage.objects.exists()


# --- reading messages ------------------------------------------------------------------------


@pytest.fixture
def two_systems_messages(erp_api, planning_api):
    erp = post(erp_api, submission("purchase_order"), key="e1").json()
    post(erp_api, submission("receipt"), key="e2")
    planning = post(planning_api, submission("forecast"), key="p1").json()
    return erp, planning


def test_an_integration_client_sees_only_its_own_systems_messages(
    erp_api, planning_api, two_systems_messages
):
    erp, planning = two_systems_messages
    listed = erp_api.get(URL).json()
    assert listed["count"] == 2
    assert {row["system"] for row in listed["results"]} == {"ERP_LEGACY"}
    assert erp_api.get(f"{URL}{planning['id']}/").status_code == 404
    assert planning_api.get(f"{URL}{erp['id']}/").status_code == 404
    assert planning_api.get(f"{URL}{planning['id']}/").status_code == 200


@pytest.mark.parametrize("client", ["viewer_api", "steward_api"])
def test_stewards_and_viewers_see_every_message(request, client, two_systems_messages):
    api = request.getfixturevalue(client)
    assert api.get(URL).json()["count"] == 3
    assert api.get(f"{URL}{two_systems_messages[1]['id']}/").status_code == 200


def test_the_list_filters_by_type_system_status_and_time(viewer_api, two_systems_messages):
    def ids(**params):
        return [row["id"] for row in viewer_api.get(URL, params).json()["results"]]

    erp, planning = two_systems_messages
    assert ids(type="forecast") == [planning["id"]]
    assert len(ids(system="erp_legacy")) == 2
    assert len(ids(status="received")) == 3
    assert ids(status="released") == []
    received = InboundMessage.objects.get(public_id=erp["id"]).received_at
    assert erp["id"] in ids(received_after=received.isoformat())
    assert erp["id"] not in ids(received_before=received.isoformat())
    assert viewer_api.get(URL, {"status": "lost"}).status_code == 400


def test_the_list_is_newest_first_and_paginated(viewer_api, two_systems_messages):
    body = viewer_api.get(URL, {"page_size": 2}).json()
    assert body["count"] == 3
    assert [row["id"] for row in body["results"]] == ["MSG-000003", "MSG-000002"]
    assert "payload" not in body["results"][0]


def test_a_dead_letter_shows_its_error(erp_api, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(pipeline, "evaluate", side_effect=KeyError("lines")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        url = post(erp_api, submission("receipt")).json()["url"]
    detail = erp_api.get(url).json()
    assert detail["status"] == "dead_letter"
    assert detail["last_error"] == "KeyError: 'lines'"


# --- dry run -------------------------------------------------------------------------------


def counts():
    return (
        InboundMessage.objects.count(),
        QuarantineCase.objects.count(),
        IdSequence.objects.count(),
        sum(IdSequence.objects.values_list("last", flat=True)),
    )


def test_the_dry_run_returns_the_outcome_and_writes_nothing(world):
    network_api = integration_client("SUPPLIER_NET", "network-sync")
    before = counts()
    response = network_api.post(
        "/api/v1/validate/", submission("po_acknowledgement"), format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["diagnostics"]) == ("released", [])
    assert without_hub(body["released_payload"]) == example("po_acknowledgement")
    assert body["released_payload"]["lines"][0]["hub"]["status"]["id"] == (
        "ACK_LINE_STATUS:accepted"
    )
    assert counts() == before


def test_the_dry_run_reports_contract_errors_as_rejected(erp_api):
    payload = example("receipt", received_at="yesterday")
    before = counts()
    response = erp_api.post("/api/v1/validate/", submission("receipt", payload), format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert [d["path"] for d in response.json()["diagnostics"]] == ["$.received_at"]
    assert counts() == before


def test_the_dry_run_reports_a_quarantine_without_opening_a_case(erp_api):
    finding = {
        "rule": "XREF_UNRESOLVED",
        "severity": "error",
        "team": "integration",
        "path": "$.supplier",
        "value": "SUP-NET-0042",
        "message": "No supplier SUP-NET-0042 in ERP_LEGACY.",
        "suggestion": None,
    }
    quarantined = pipeline.Outcome(status="quarantined", diagnostics=[finding])
    before = counts()
    with mock.patch.object(pipeline, "evaluate", return_value=quarantined) as evaluate:
        response = erp_api.post("/api/v1/validate/", submission("ship_notice"), format="json")
    assert response.json()["status"] == "quarantined"
    assert response.json()["diagnostics"] == [finding]
    assert counts() == before
    assert evaluate.call_args.kwargs["as_of"].isoformat() == "2026-03-16"


def test_a_viewer_cannot_dry_run(viewer_api):
    response = viewer_api.post("/api/v1/validate/", submission(), format="json")
    assert response.status_code == 403


# --- a forecast in parts -------------------------------------------------------------------


def test_each_part_is_acknowledged_and_all_reach_one_outcome(
    planning_api, django_capture_on_commit_callbacks
):
    seen = []

    def evaluate(message_type, schema_version, payload, system, *, as_of=None):
        seen.append(payload)
        return pipeline.Outcome(status="released", released_payload=payload)

    ids = []
    with (
        mock.patch.object(pipeline, "evaluate", side_effect=evaluate),
        django_capture_on_commit_callbacks(execute=True),
    ):
        for number in (2, 3, 1):
            response = post(
                planning_api,
                submission("forecast", forecast_part(number, 3, lines=2)),
                key=f"part-{number}",
            )
            assert response.status_code == 202
            ids.append(response.json()["id"])
            if number != 1:
                assert planning_api.get(response.json()["url"]).json()["status"] == "received"

    assert len(seen) == 1, "one validation over the combined lines"
    assert [line["item"] for line in seen[0]["lines"]] == [
        f"PLN-{number}-{index}" for number in (1, 2, 3) for index in (0, 1)
    ]
    assert "part" not in seen[0]
    details = [planning_api.get(f"{URL}{id_}/").json() for id_ in ids]
    assert {detail["status"] for detail in details} == {"released"}
    assert [d["part"] for d in details] == [{"number": n, "of": 3} for n in (2, 3, 1)]
    assert [line["item"] for line in details[0]["released_payload"]["lines"]] == [
        "PLN-2-0",
        "PLN-2-1",
    ]


def test_a_part_that_disagrees_with_the_parts_before_is_a_conflict(planning_api):
    first = post(planning_api, submission("forecast", forecast_part(1, 3)), key="a").json()
    response = post(planning_api, submission("forecast", forecast_part(2, 4)), key="b")
    assert response.status_code == 409
    assert response.json()["id"] == first["id"]
    assert "3 parts" in response.json()["detail"]


def test_a_part_with_another_horizon_than_the_parts_before_is_a_conflict(planning_api):
    first = post(planning_api, submission("forecast", forecast_part(1, 2)), key="a").json()
    other = forecast_part(2, 2)
    other["horizon"] = {"start": "2026-03-02", "end": "2026-06-28"}
    response = post(planning_api, submission("forecast", other), key="b")
    assert response.status_code == 409
    assert response.json()["id"] == first["id"]
    assert "another bucket or horizon" in response.json()["detail"]
    # The same plan under another version is another release: no conflict.
    newer = forecast_part(2, 2, version=4)
    newer["horizon"] = other["horizon"]
    assert post(planning_api, submission("forecast", newer), key="c").status_code == 202


def test_a_part_sent_twice_under_new_keys_is_a_conflict(planning_api):
    first = post(planning_api, submission("forecast", forecast_part(1, 2)), key="a").json()
    response = post(planning_api, submission("forecast", forecast_part(1, 2, lines=3)), key="b")
    assert response.status_code == 409
    assert response.json()["id"] == first["id"]


def test_a_part_beyond_the_count_breaks_the_contract(planning_api):
    response = post(planning_api, submission("forecast", forecast_part(4, 3)))
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "$.part.number"


# --- races on PostgreSQL -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_submissions_with_one_key_make_one_message(erp_system, world):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    start = threading.Barrier(50)

    def submit(_):
        try:
            start.wait(timeout=30)
            return submit_message(
                system=erp_system,
                message_type="purchase_order",
                schema_version=1,
                payload=example("purchase_order"),
                idempotency_key="same-key",
            )
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(submit, range(50)))

    assert sum(result.created for result in results) == 1
    assert {result.message.pk for result in results} == {InboundMessage.objects.get().pk}
    message = InboundMessage.objects.get()
    assert message.status == "released"
    assert message.attempts == 1
