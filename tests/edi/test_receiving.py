"""Posting interchanges to POST /api/v1/edi/ as a trading partner's EDI team does: stored raw
before anything else, read, each transaction set a message of the pipeline, answered with a
997; and every kind of bad input a clear 4xx, kept with its reason, with nothing of it used."""

import hashlib

import pytest
from rest_framework.test import APIClient

from edi import inbox, x12
from edi.models import Interchange, TransactionSet
from mdm.services import create_api_client
from tests.edi import partners
from tests.edi.partners import ORDRSP, SAMPLE
from tests.edi.partners import with_ as _with
from tests.problems import problem_of
from validation.models import InboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def network(db):
    return partners.network()


@pytest.fixture
def partner(network):
    return partners.fort_wayne(network, versions=["004010"])


@pytest.fixture
def partner_api(partner):
    _, key = create_api_client("SUPPLIER_NET", "fort-wayne-edi")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api


def _post(api, body, content_type="application/edi-x12"):
    return api.post("/api/v1/edi/", data=body, content_type=content_type)


def test_an_855_becomes_a_message_and_is_answered_with_a_997(partner_api, partner):
    response = _post(partner_api, SAMPLE)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "accepted"
    assert body["partner"] == "Fort Wayne Books"
    assert (body["sender"], body["receiver"], body["control"]) == (
        "ZZ:1556150",
        "ZZ:123MILL",
        "000000005",
    )
    assert body["sha256"] == hashlib.sha256(SAMPLE).hexdigest()
    [found] = body["transaction_sets"]
    assert (found["code"], found["control"], found["status"]) == ("855", "0005", "accepted")
    message = InboundMessage.objects.get(public_id=found["message"])
    assert message.message_type == "po_acknowledgement"
    assert message.system.code == "SUPPLIER_NET"
    assert message.payload["po_number"] == "POTEST1112"
    assert message.payload["supplier"] == "SUP-FW-01"
    assert [line["status"] for line in message.payload["lines"]][:2] == ["IA", "IR"]
    assert message.idempotency_key == f"edi:{partner.pk}:000000005:5:0005"

    [ack] = body["acknowledgements"]
    assert ack["contents"] == "997"
    answer = x12.parse(ack["text"])
    # From the hub back to the partner, acknowledging group 5 and its one set as accepted.
    assert (answer.sender_id, answer.receiver_id) == ("123MILL", "1556150")
    segments = [(s.tag, s.elements) for s in answer.segments]
    assert ("AK1", ["PR", "5"]) in segments
    assert ("AK2", ["855", "0005"]) in segments
    assert ("AK5", ["A"]) in segments
    assert ("AK9", ["A", "1", "1", "1"]) in segments
    stored = Interchange.objects.get(public_id=ack["id"])
    assert stored.direction == "out" and stored.answers.public_id == body["id"]


def test_the_raw_interchange_is_kept_as_sent(partner_api):
    body = _post(partner_api, SAMPLE).json()
    raw = partner_api.get(f"/api/v1/edi/interchanges/{body['id']}/raw/")
    assert raw.content == SAMPLE


def test_the_same_interchange_again_is_a_duplicate_and_nothing_is_submitted_twice(partner_api):
    first = _post(partner_api, SAMPLE).json()
    again = _post(partner_api, SAMPLE)

    problem = problem_of(again, 409)
    assert f"taken in already, as {first['id']}" in problem["detail"]
    assert "(the same interchange)" in problem["detail"]
    assert problem["code"] == "025"
    assert InboundMessage.objects.count() == 1
    kept = Interchange.objects.get(public_id=problem["id"])
    assert kept.status == "duplicate" and bytes(kept.raw) == SAMPLE
    # The partner is told with a TA1: interchange 5 rejected, note code 025.
    ta1 = x12.parse(problem["acknowledgement"]["text"])
    assert [s.elements[3:5] for s in ta1.segments if s.tag == "TA1"] == [["R", "025"]]


def test_an_unknown_sender_is_refused_and_kept(partner_api):
    raw = _with(SAMPLE, b"*ZZ*1556150        *", b"*ZZ*9999999        *")
    problem = problem_of(_post(partner_api, raw), 422)
    assert "No trading partner is set up for the sender ZZ:9999999" in problem["detail"]
    kept = Interchange.objects.get(public_id=problem["id"])
    assert (kept.status, kept.partner, kept.sender) == ("rejected", None, "ZZ:9999999")
    assert "acknowledgement" not in problem  # nobody known to answer
    assert InboundMessage.objects.count() == 0


def test_another_systems_key_is_refused(partner, erp_api):
    problem = problem_of(_post(erp_api, SAMPLE), 403)
    assert "whose messages come in as system SUPPLIER_NET" in problem["detail"]
    assert "speaks for ERP_LEGACY" in problem["detail"]


def test_an_interchange_addressed_to_someone_else_is_refused(partner_api):
    raw = _with(SAMPLE, b"*ZZ*123MILL        *", b"*ZZ*OTHERHUB       *")
    problem = problem_of(_post(partner_api, raw), 422)
    assert "addressed to ZZ:OTHERHUB" in problem["detail"]


@pytest.mark.parametrize(
    "old, new, code, words",
    [
        (b"IEA*1*000000005", b"IEA*1*000000006", "001", "it must repeat ISA13"),
        (b"IEA*1*000000005~", b"", "023", "cut off"),
    ],
)
def test_an_unreadable_interchange_gets_a_ta1_and_a_422(partner_api, old, new, code, words):
    raw = _with(SAMPLE, old, new)
    problem = problem_of(_post(partner_api, raw), 422)
    assert problem["code"] == code
    assert words in problem["detail"]
    ta1 = x12.parse(problem["acknowledgement"]["text"])
    assert [s.elements[4] for s in ta1.segments if s.tag == "TA1"] == [code]
    assert Interchange.objects.get(public_id=problem["id"]).error_code == code
    assert InboundMessage.objects.count() == 0


def test_a_set_whose_trailer_does_not_match_is_rejected_in_the_997(partner_api):
    raw = _with(SAMPLE, b"SE*", b"SE*9")  # a wrong segment count in SE01
    response = _post(partner_api, raw)

    problem = problem_of(response, 422)
    [found] = problem["interchange"]["transaction_sets"]
    assert found["status"] == "rejected" and found["message"] is None
    assert found["problems"][0]["code"] == "4"
    ack = x12.parse(problem["interchange"]["acknowledgements"][0]["text"])
    assert ("AK5", ["R", "4"]) in [(s.tag, s.elements) for s in ack.segments]
    assert InboundMessage.objects.count() == 0


def test_a_version_the_partner_is_not_set_up_for_rejects_the_group(partner_api, partner):
    partner.versions = ["005010"]
    partner.save()
    problem = problem_of(_post(partner_api, SAMPLE), 422)
    ack = x12.parse(problem["interchange"]["acknowledgements"][0]["text"])
    segments = [(s.tag, s.elements) for s in ack.segments]
    assert ("AK9", ["R", "1", "1", "0", "2"]) in segments
    [found] = problem["interchange"]["transaction_sets"]
    assert "Version 004010 of group 5 is not one this partner" in found["problems"][0]["message"]
    assert InboundMessage.objects.count() == 0


def test_an_unsupported_transaction_set_is_rejected_with_code_1(partner_api):
    raw = _with(SAMPLE, b"ST*855*", b"ST*810*").replace(b"*PR*", b"*IN*", 1)
    problem = problem_of(_post(partner_api, raw), 422)
    [found] = problem["interchange"]["transaction_sets"]
    assert "810 is not one the hub reads" in found["problems"][0]["message"]
    ack = x12.parse(problem["interchange"]["acknowledgements"][0]["text"])
    assert ("AK5", ["R", "1"]) in [(s.tag, s.elements) for s in ack.segments]


def test_characters_outside_ascii_are_refused_when_the_profile_forbids_them(partner_api):
    raw = _with(SAMPLE, b"CLAPTON THE", "CLAPTÖN THE".encode())
    problem = problem_of(_post(partner_api, raw), 422)
    assert "Non-ASCII character 'Ö'" in problem["detail"]
    assert problem["code"] == "024"


def test_a_partner_may_be_allowed_characters_outside_ascii(partner_api, partner):
    partner.allow_non_ascii = True
    partner.save()
    raw = _with(SAMPLE, b"CLAPTON THE", "CLAPTÖN THE".encode())
    assert _post(partner_api, raw).status_code == 201


def test_a_body_over_the_limit_is_refused_unread(partner_api, settings):
    settings.HUB_EDI_MAX_BYTES = 1024
    problem = problem_of(_post(partner_api, SAMPLE + b" " * 1024), 413)
    assert "at most 1,024" in problem["detail"]
    assert Interchange.objects.count() == 0


def test_a_body_declared_at_100_mb_is_refused_before_it_is_read(partner_api):
    declared = str(100 * 1024 * 1024)
    response = partner_api.post(
        "/api/v1/edi/", data=SAMPLE, content_type="application/edi-x12", CONTENT_LENGTH=declared
    )
    problem = problem_of(response, 413)
    assert "The interchange is 104,857,600 bytes" in problem["detail"]
    assert Interchange.objects.count() == 0


def test_a_body_that_is_no_interchange_is_refused(partner_api):
    problem = problem_of(_post(partner_api, b'{"po_number": "1"}', "application/json"), 400)
    assert "neither an X12 interchange" in problem["detail"]
    assert Interchange.objects.get(public_id=problem["id"]).status == "rejected"


def test_a_login_session_speaks_for_no_partner(partner, steward):
    api = APIClient()
    api.force_login(steward)
    assert _post(api, SAMPLE).status_code == 403


def test_a_partner_reads_only_its_own_interchanges(partner_api, erp_api, steward):
    body = _post(partner_api, SAMPLE).json()
    mine = partner_api.get("/api/v1/edi/interchanges/").json()["results"]
    assert {row["id"] for row in mine} == {body["id"], body["acknowledgements"][0]["id"]}
    assert erp_api.get("/api/v1/edi/interchanges/").json()["results"] == []
    assert erp_api.get(f"/api/v1/edi/interchanges/{body['id']}/").status_code == 404


def test_nothing_of_a_read_that_fails_half_way_is_written(partner_api, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("edi.receiving._answer_group", broken)
    with pytest.raises(RuntimeError):
        _post(partner_api, SAMPLE)
    # The raw interchange is there, unread; no message, no set, no acknowledgement.
    [kept] = Interchange.objects.all()
    assert (kept.status, kept.read_at, bytes(kept.raw)) == ("received", None, SAMPLE)
    assert InboundMessage.objects.count() == TransactionSet.objects.count() == 0


# --- EDIFACT ------------------------------------------------------------------------------------


@pytest.fixture
def edifact_partner(network):
    return partners.acme(network, versions=["D:96A"])


def test_an_ordrsp_becomes_an_acknowledgement_answered_with_a_contrl(partner_api, edifact_partner):
    response = _post(partner_api, ORDRSP, "application/edifact")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["standard"], body["status"], body["control"]) == ("edifact", "accepted", "ORS0001")
    [found] = body["transaction_sets"]
    assert (found["code"], found["control"], found["status"]) == ("ORDRSP", "1", "accepted")
    message = InboundMessage.objects.get(public_id=found["message"])
    assert message.payload["po_number"] == "PO-450012"
    assert message.payload["supplier"] == "SUP-ACME"
    assert [line["committed_quantity"] for line in message.payload["lines"]] == ["500", "1200"]
    [contrl] = body["acknowledgements"]
    assert contrl["contents"] == "CONTRL"
    assert "UCI+ORS0001+4012345000009:14+5790000000005:14+7'" in contrl["text"]


def test_an_edifact_interchange_whose_trailer_does_not_match_is_refused(
    partner_api, edifact_partner
):
    raw = _with(ORDRSP, b"UNZ+1+ORS0001", b"UNZ+1+ORS0002")
    problem = problem_of(_post(partner_api, raw, "application/edifact"), 422)
    assert problem["code"] == "28"
    assert "UCI+ORS0001+4012345000009:14+5790000000005:14+4" in problem["acknowledgement"]["text"]
    assert InboundMessage.objects.count() == 0


# --- the watched directory -------------------------------------------------------------------


def test_files_dropped_in_the_inbox_are_read_and_moved(partner, tmp_path, settings):
    settings.HUB_EDI_INBOX = str(tmp_path)
    (tmp_path / "po-ack.edi").write_bytes(SAMPLE)
    (tmp_path / "broken.edi").write_bytes(SAMPLE[:300])
    (tmp_path / "still-coming.edi.partial").write_bytes(SAMPLE)

    read = dict(inbox.read_inbox())

    assert read["po-ack.edi"].status == "accepted"
    assert read["po-ack.edi"].filename == "po-ack.edi"
    assert read["broken.edi"].status_code == 422
    assert (tmp_path / "done" / "po-ack.edi").read_bytes() == SAMPLE
    why = (tmp_path / "refused" / "broken.edi.why.txt").read_text()
    assert "cut off" in why and read["broken.edi"].interchange.public_id in why
    assert (tmp_path / "still-coming.edi.partial").exists()  # not whole yet: left alone
    assert InboundMessage.objects.count() == 1


# --- every sample goes in ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, sender, receiver, expected",
    [
        # (file, its ISA05/06, its ISA07/08, the messages its sets become: the type and the
        # BAK03, BSN02 or BEG03 of each set, read off the file)
        ("nodex12_855_004010.edi", ("ZZ", "1556150"), ("ZZ", "123MILL"),
         [("po_acknowledgement", "POTEST1112")]),
        ("oopfactory_855_SSimmons_004010.txt", ("01", "121792154"), ("12", "1234567890"),
         [("po_acknowledgement", "7542"), ("po_acknowledgement", "99035")]),
        ("ediengine_856_Crossdock_004010.edi", ("ZZ", "SENDER"), ("ZZ", "RECEIVER"),
         [("ship_notice", "000009")]),
        ("oopfactory_856_Example1.txt", ("01", "201495124"), ("01", "207663412"),
         [("ship_notice", "123456")]),
        ("nodex12_850_004010VICS.edi", ("12", "4405197800"), ("01", "999999999"),
         [("purchase_order", "08292233294")]),
    ],
)  # fmt: skip
def test_every_sample_goes_in_as_its_canonical_messages(network, name, sender, receiver, expected):
    (qualifier, sender_id), (hub_qualifier, hub_id) = sender, receiver
    partners.fort_wayne(
        network,
        name=f"Partner of {name}",
        qualifier=qualifier,
        interchange_id=sender_id,
        hub_qualifier=hub_qualifier,
        hub_id=hub_id,
    )
    interchange = partners.received((partners.DATA / name).read_bytes())

    assert interchange.status == "accepted", interchange.transaction_sets.values("problems")
    messages = [found.message for found in interchange.transaction_sets.order_by("pk")]
    documents = [
        (m.message_type, m.payload.get("po_number") or m.payload.get("shipment_id"))
        for m in messages
    ]
    assert documents == expected
    assert [m.system.code for m in messages] == ["SUPPLIER_NET"] * len(expected)
