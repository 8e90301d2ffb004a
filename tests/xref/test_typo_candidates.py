"""Mistyped codes on the demo world: the resolve API's not_found answer puts the existing code
the sender meant first, with the reason it was suggested, singly and in batches."""

from datetime import date

import pytest
from rest_framework.test import APIClient

from demo.reference_data import DEMO_UNITS
from demo.seed import seed_demo
from demo.suppliers import supplier_number
from mdm.models import Item, Supplier, Unit
from mdm.services import create_api_client
from tests.problems import problem_of

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)
AS_OF = "2026-03-16"  # before the demo's cut-over: the ERP_LEGACY codes are valid


@pytest.fixture
def erp(db):
    """The demo world (200 items, 20 suppliers) and an ERP_LEGACY integration client."""
    for code, fields in DEMO_UNITS.items():
        Unit.objects.create(code=code, **fields)
    seed_demo(items=200, suppliers=20, today=TODAY)
    _, key = create_api_client("ERP_LEGACY", "erp-sync")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api


MEANT = {
    ("item", "10022"): ("100022", "one character missing: a second 0"),
    ("item", "100O22"): ("100022", "one character differs: O for 0"),
    (
        "item",
        "PL-10022",
    ): ("100022", "same code without the prefix 'PL-'; one character missing: a second 0"),
    ("supplier", "700O01"): ("700001", "one character differs: O for 0"),
}


def _record(kind, code):
    if kind == "item":
        return Item.objects.get(number=code).public_id
    return Supplier.objects.get(number=supplier_number(int(code[1:]))).public_id


@pytest.mark.parametrize(("kind", "asked"), list(MEANT))
def test_a_mistyped_code_answers_the_code_meant_first_with_its_reason(erp, kind, asked):
    response = erp.get(
        f"/api/v1/resolve/{kind}/", {"system": "ERP_LEGACY", "code": asked, "as_of": AS_OF}
    )

    body = problem_of(response, 404)
    assert body["outcome"] == "not_found"
    code, reason = MEANT[(kind, asked)]
    best = body["candidates"][0]
    assert (best["code"], best["reason"], best["source"]) == (code, reason, "near_miss")
    assert best["id"] == _record(kind, code)
    assert best["system"] == "ERP_LEGACY"


def test_a_batch_gives_the_same_near_misses_for_the_keys_not_found(erp):
    keys = [{"kind": kind, "system": "ERP_LEGACY", "code": code} for kind, code in MEANT]
    keys.append({"kind": "item", "system": "ERP_LEGACY", "code": "100022"})  # resolves

    response = erp.post("/api/v1/resolve/batch/", {"as_of": AS_OF, "keys": keys}, format="json")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [result["status"] for result in results] == ["not_found"] * 4 + ["resolved"]
    for (kind, asked), result in zip(MEANT, results, strict=False):
        code, reason = MEANT[(kind, asked)]
        assert (result["candidates"][0]["code"], result["candidates"][0]["reason"]) == (
            code,
            reason,
        )
    assert "candidates" not in results[4]
