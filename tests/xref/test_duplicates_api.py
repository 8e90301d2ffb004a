"""The duplicates review queue through the API (issue 19, items 2 and 4): clusters of a kind,
a pair side by side, decisions with undo and history, full runs, and who may do what."""

import pytest
from rest_framework.test import APIClient

from mdm.models import Supplier
from tests.problems import problem_of
from xref import duplicates
from xref.models import CrossReference, DuplicatePair, DuplicateRun

pytestmark = pytest.mark.django_db

URL = "/api/v1/duplicates/supplier/"


@pytest.fixture(autouse=True)
def _eager(eager_celery):
    pass


@pytest.fixture
def acme_twice(systems):
    """Acme Fasteners onboarded twice from two ERPs (one VAT number, written apart once),
    and Globex; the first Acme is known to ERP_LEGACY and PLANNING, the second to ERP_CLOUD."""
    acme = Supplier.objects.create(
        number="V1", name="Acme Fasteners", country="DE", vat="DE136695976"
    )
    again = Supplier.objects.create(
        number="V2", name="ACME Fasteners GmbH", country="DE", vat="DE 136 695 976"
    )
    Supplier.objects.create(number="V3", name="Globex Components", country="DE")
    for system, code, record in (
        (systems.legacy, "L-100", acme),
        (systems.planning, "P-100", acme),
        (systems.cloud, "C-900", again),
    ):
        CrossReference.objects.create(kind="supplier", system=system, code=code, supplier=record)
    duplicates.check("supplier", acme.public_id)
    pair = DuplicatePair.objects.get(kind="supplier")
    return acme, again, pair


@pytest.fixture
def steward_session(steward):
    api = APIClient()
    api.force_login(steward)
    return api


def _decide(api, pair, decision, note=""):
    return api.post(
        f"{URL}pairs/{pair.pk}/decision/", {"decision": decision, "note": note}, format="json"
    )


def test_it_lists_the_cluster_with_names_numbers_and_the_systems_that_hold_each_record(
    acme_twice, viewer_api
):
    acme, again, pair = acme_twice

    response = viewer_api.get(URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 1
    (cluster,) = body["results"]
    assert cluster["best_score"] == pair.score >= 90
    first, second = cluster["records"]
    assert (first["id"], first["name"], first["number"]) == (acme.public_id, "Acme Fasteners", "V1")
    assert first["identifiers"] == {"duns": "", "lei": "", "vat": "DE136695976"}
    assert first["references"] == 2
    assert {s["system"] for s in first["systems"]} == {"ERP_LEGACY", "PLANNING"}
    assert first["url"].endswith(f"/api/v1/suppliers/{acme.public_id}/")
    assert (second["id"], second["systems"][0]["system"]) == (again.public_id, "ERP_CLOUD")
    assert cluster["impact"] == {
        "references": 3,
        "systems": ["ERP_CLOUD", "ERP_LEGACY", "PLANNING"],
    }
    assert cluster["pairs"][0]["url"].endswith(f"{URL}pairs/{pair.pk}/")


def test_it_filters_by_status_and_score(acme_twice, viewer_api):
    _, _, pair = acme_twice
    DuplicatePair.objects.filter(pk=pair.pk).update(score=50.0)

    assert viewer_api.get(URL).json()["count"] == 0  # below sure, the default
    assert viewer_api.get(URL, {"min_score": 20}).json()["count"] == 1
    assert viewer_api.get(URL, {"min_score": 20, "status": "later"}).json()["count"] == 0
    bad = viewer_api.get(URL, {"status": "merged", "min_score": "high"})
    problem = problem_of(bad, 400)
    assert {e["parameter"] for e in problem["errors"]} == {"status", "min_score"}


def test_it_shows_a_pair_side_by_side_with_the_evidence_in_words(acme_twice, viewer_api):
    acme, again, pair = acme_twice

    response = viewer_api.get(f"{URL}pairs/{pair.pk}/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["record_a"]["id"], body["record_b"]["id"]) == (acme.public_id, again.public_id)
    assert (body["status"], body["band"]) == ("open", "sure")
    fields = {f["field"]: f for f in body["fields"]}
    assert list(fields)[0] == "name"  # words before codes
    assert fields["name"] | {"evidence": None} == {
        "field": "name",
        "label": "Name",
        "a": "Acme Fasteners",
        "b": "ACME Fasteners GmbH",
        "differs": True,
        "written_apart": False,
        "evidence": None,
    }
    assert fields["vat"]["differs"] and fields["vat"]["written_apart"]
    assert fields["country"]["differs"] is False
    assert "VAT number: 100% alike" in [e["words"] for e in body["evidence"]]
    levels = {level["comparison"]: level for level in body["levels"]}
    assert levels["identifier"]["words"] == "DUNS, LEI or VAT number: the same"
    assert levels["identifier"]["level_name"] == "same"
    assert body["history"][0]["words"].startswith("Found:")


def test_a_steward_decides_not_the_same_sees_it_in_the_history_and_undoes_it(
    acme_twice, steward_session, steward
):
    _, _, pair = acme_twice

    response = _decide(steward_session, pair, "not_same", "Two legal entities.")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["note"], body["decided_by"]) == (
        "not_same",
        "Two legal entities.",
        steward.username,
    )
    latest = body["history"][0]
    assert (latest["words"], latest["by"], latest["note"], latest["source"]) == (
        "Decided: not the same",
        steward.username,
        "Two legal entities.",
        "API",
    )
    assert steward_session.get(URL).json()["count"] == 0
    assert steward_session.get(URL, {"status": "not_same"}).json()["count"] == 1

    undone = _decide(steward_session, pair, "open")

    assert undone.status_code == 200
    assert (undone.json()["status"], undone.json()["decided_by"]) == ("open", None)
    assert [h["words"] for h in undone.json()["history"]][:2] == [
        "Undone: back to the queue",
        "Decided: not the same",
    ]
    assert steward_session.get(URL).json()["count"] == 1


def test_a_decision_taken_on_a_stale_status_is_refused(acme_twice, steward_session):
    _, _, pair = acme_twice
    _decide(steward_session, pair, "later")

    response = steward_session.post(
        f"{URL}pairs/{pair.pk}/decision/",
        {"decision": "same", "if_status": "open"},
        format="json",
    )

    problem = problem_of(response, 409)
    assert "now 'later'" in problem["detail"]
    pair.refresh_from_db()
    assert pair.status == "later"


def test_a_bad_decision_is_a_400_naming_the_choices(acme_twice, steward_api):
    _, _, pair = acme_twice

    response = _decide(steward_api, pair, "merge")

    problem = problem_of(response, 400)
    assert problem["errors"][0]["pointer"] == "#/decision"
    assert "choose one of open, same, not_same, later" in problem["detail"]
    pair.refresh_from_db()
    assert pair.status == "open"


def test_a_decision_on_a_pair_whose_record_was_deleted_is_a_400(acme_twice, steward_api):
    _, again, pair = acme_twice
    CrossReference.objects.filter(supplier=again).delete()
    Supplier.objects.filter(pk=again.pk).delete()

    problem = problem_of(_decide(steward_api, pair, "same"), 400)

    assert f"{again.public_id} no longer exists" in problem["detail"]


def test_an_unknown_kind_or_pair_is_a_404(acme_twice, viewer_api, steward_api):
    _, _, pair = acme_twice

    assert (
        "the kinds are item, supplier, location"
        in problem_of(viewer_api.get("/api/v1/duplicates/vendor/"), 404)["detail"]
    )
    problem_of(viewer_api.get(f"/api/v1/duplicates/item/pairs/{pair.pk}/"), 404)
    problem_of(_decide(steward_api, DuplicatePair(pk=pair.pk + 99), "same"), 404)
    problem_of(steward_api.post("/api/v1/duplicates/vendor/runs/"), 404)


def test_credentials_are_required(acme_twice, anonymous_api):
    _, _, pair = acme_twice

    problem_of(anonymous_api.get(URL), 401)
    problem_of(anonymous_api.get(f"{URL}pairs/{pair.pk}/"), 401)
    problem_of(_decide(anonymous_api, pair, "same"), 401)
    problem_of(anonymous_api.post(f"{URL}runs/"), 401)


def test_a_viewer_reads_but_may_not_decide_or_start_a_run(acme_twice, viewer_api, erp_api):
    _, _, pair = acme_twice

    problem_of(_decide(viewer_api, pair, "same"), 403)
    problem_of(viewer_api.post(f"{URL}runs/"), 403)
    pair.refresh_from_db()
    assert pair.status == "open"
    # Integration clients resolve codes; the queue is for people.
    problem_of(erp_api.get(URL), 403)


def test_a_steward_starts_a_full_run_and_follows_its_progress(
    acme_twice, steward_api, viewer_api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = steward_api.post(f"{URL}runs/")

    assert response.status_code == 202, response.content
    run = DuplicateRun.objects.get()
    assert response["Location"].endswith(f"{URL}runs/{run.pk}/")
    progress = viewer_api.get(response["Location"])
    assert progress.status_code == 200
    body = progress.json()
    assert (body["status"], body["finished"], body["percent"]) == ("finished", True, 100)
    assert body["pairs_found"] == 1
    assert body["words"] == "Finished: 1 pair found."
    problem_of(viewer_api.get(f"/api/v1/duplicates/item/runs/{run.pk}/"), 404)
