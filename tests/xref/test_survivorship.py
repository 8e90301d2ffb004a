"""The trusted-source rule of a merge's defaults (issue 19): where two duplicates are known to
source systems of different trust, the longer and the changed-last fields default to the
record of the more trusted system, and the rule says so; a system counts only while active,
ranked and the source of record for the kind, through a cross-reference in force; otherwise
the fields keep their own rules, and a value still beats none."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from demo.reference_data import DEMO_UNITS
from demo.seed import seed_demo
from demo.suppliers import TWINS, supplier_number, twin_number
from mdm.models import SourceSystem, Supplier, Unit
from tests.problems import errors_by_field
from xref.merging import merge, survivorship
from xref.models import CrossReference

pytestmark = pytest.mark.django_db

VAT_DE = "DE136695976"
VAT_AT = "ATU13585627"


def system(code, name, rank, domains=("supplier",), active=True):
    return SourceSystem.objects.create(
        code=code,
        name=name,
        kind="erp",
        authoritative_for=list(domains),
        trust_rank=rank,
        is_active=active,
    )


def known_to(system, record, code, status=CrossReference.Status.ACTIVE, valid_to=None):
    return CrossReference.objects.create(
        kind="supplier",
        system=system,
        code=code,
        supplier=record,
        status=status,
        valid_to=valid_to,
    )


@pytest.fixture
def acme_twice(db):
    """Acme onboarded twice: V1 "Acme" (no legal name) and V2 "ACME Fasteners GmbH" with a
    legal name, whose VAT number was changed last; neither known to any system yet."""
    acme = Supplier.objects.create(number="V1", name="Acme", country="DE", vat=VAT_DE)
    again = Supplier.objects.create(
        number="V2", name="ACME Fasteners GmbH", legal_name="ACME Fasteners GmbH", country="AT"
    )
    again.vat = VAT_AT
    again.save()  # changed last
    return acme, again


@pytest.fixture
def core(db):
    return system("ERP_CORE", "Core ERP", 1)


@pytest.fixture
def cloud(db):
    return system("ERP_CLOUD", "Cloud ERP", 2)


def test_the_record_of_the_more_trusted_system_gives_the_defaults(acme_twice, core, cloud):
    acme, again = acme_twice
    known_to(core, acme, "L-100")
    known_to(cloud, again, "C-900")

    fields = survivorship("supplier", acme.public_id, again.public_id)

    why = f"{acme.public_id}'s: known to Core ERP, trusted before Cloud ERP for suppliers"
    assert fields["name"] == {
        "survivor": "Acme",
        "loser": "ACME Fasteners GmbH",
        "default": "Acme",  # not the longer
        "rule": why,
    }
    assert fields["vat"]["default"] == VAT_DE  # not the one changed last
    assert fields["vat"]["rule"] == why
    assert fields["country"] == {
        "survivor": "DE",
        "loser": "AT",
        "default": "DE",
        "rule": f"{why} (goes with the VAT number)",
    }
    # The trusted record has no legal name: the other's still fills the gap.
    assert fields["legal_name"]["default"] == "ACME Fasteners GmbH"
    assert fields["legal_name"]["rule"] == f"{again.public_id}'s: the other has none"
    assert fields["status"]["rule"] == "the same on both"
    assert fields["duns"]["rule"] == "neither has one"


def test_a_record_known_only_to_a_trusted_system_wins_and_the_merge_keeps_its_values(
    acme_twice, core, steward
):
    acme, again = acme_twice
    planning = SourceSystem.objects.create(code="PLANNING", name="Planning", kind="planning")
    known_to(planning, acme, "P-100")
    known_to(core, again, "L-200")

    fields = survivorship("supplier", acme.public_id, again.public_id)

    assert fields["name"]["default"] == "ACME Fasteners GmbH"
    assert fields["name"]["rule"] == (
        f"{again.public_id}'s: known to Core ERP, trusted first for suppliers"
    )
    merge("supplier", acme.public_id, again.public_id, user=steward)
    acme.refresh_from_db()
    assert (acme.name, acme.vat, acme.country) == ("ACME Fasteners GmbH", VAT_AT, "AT")


def test_a_long_system_name_is_shown_by_its_code(acme_twice):
    acme, again = acme_twice
    long_name = system("ERP_CORE", "Enterprise resource planning, group headquarters", 1)
    known_to(long_name, again, "L-200")

    fields = survivorship("supplier", acme.public_id, again.public_id)

    assert fields["name"]["rule"] == (
        f"{again.public_id}'s: known to ERP_CORE, trusted first for suppliers"
    )


@pytest.mark.parametrize(
    "untrusted",
    [
        pytest.param({"domains": ("item", "location")}, id="not-the-source-of-record-for-them"),
        pytest.param({"active": False}, id="inactive-system"),
        pytest.param({"rank": None}, id="unranked-system"),
        pytest.param({"status": CrossReference.Status.RETIRED}, id="retired-reference"),
        pytest.param({"valid_to": date(2020, 1, 1)}, id="ended-reference"),
        pytest.param({"rank": 2, "also_on_acme": True}, id="ranked-alike"),
        pytest.param({"rank": 2, "same_on_both": True}, id="the-same-system-on-both"),
    ],
)
def test_a_system_that_does_not_count_leaves_the_fields_to_their_own_rules(
    acme_twice, cloud, untrusted
):
    acme, again = acme_twice
    settings = {
        "rank": untrusted.get("rank", 1),
        "domains": untrusted.get("domains", ("supplier",)),
        "active": untrusted.get("active", True),
    }
    other = system("ERP_OTHER", "Other ERP", **settings)
    known_to(
        other,
        again,
        "O-200",
        status=untrusted.get("status", CrossReference.Status.ACTIVE),
        valid_to=untrusted.get("valid_to"),
    )
    if untrusted.get("also_on_acme"):
        known_to(cloud, acme, "C-100")  # ranked 2 as well
    if untrusted.get("same_on_both"):
        known_to(other, acme, "O-100")

    fields = survivorship("supplier", acme.public_id, again.public_id)

    assert fields["name"]["default"] == "ACME Fasteners GmbH"
    assert fields["name"]["rule"] == f"{again.public_id}'s: the longer"
    assert fields["vat"]["default"] == VAT_AT
    assert fields["vat"]["rule"].startswith(f"{again.public_id}'s: changed last")


def test_without_trusted_systems_the_fields_keep_their_own_rules(acme_twice):
    acme, again = acme_twice

    fields = survivorship("supplier", acme.public_id, again.public_id)

    assert fields["name"]["rule"] == f"{again.public_id}'s: the longer"
    assert fields["vat"]["rule"].startswith(f"{again.public_id}'s: changed last")


def test_the_best_ranked_of_a_records_systems_speaks_for_it(acme_twice, core, cloud):
    acme, again = acme_twice
    known_to(cloud, acme, "C-100")
    known_to(cloud, again, "C-200")
    known_to(core, again, "L-200")  # again is known to the core ERP as well

    fields = survivorship("supplier", acme.public_id, again.public_id)

    assert fields["name"]["rule"] == (
        f"{again.public_id}'s: known to Core ERP, trusted before Cloud ERP for suppliers"
    )


def test_a_steward_ranks_a_system_through_the_api_and_the_proposal_follows(acme_twice, steward_api):
    acme, again = acme_twice
    known_to(system("ERP_CORE", "Core ERP", None), acme, "L-100")
    url = f"/api/v1/suppliers/{acme.public_id}/merge/"

    refused = steward_api.patch("/api/v1/systems/ERP_CORE/", {"trust_rank": 0}, format="json")
    assert errors_by_field(refused) == {
        "trust_rank": ["Ensure this value is greater than or equal to 1."]
    }
    before = steward_api.get(url, {"loser": again.public_id}).json()
    ranked = steward_api.patch("/api/v1/systems/ERP_CORE/", {"trust_rank": 1}, format="json")
    after = steward_api.get(url, {"loser": again.public_id}).json()

    assert ranked.status_code == 200 and ranked.json()["trust_rank"] == 1
    assert _rule(before, "name") == f"{again.public_id}'s: the longer"
    assert _rule(after, "name") == (
        f"{acme.public_id}'s: known to Core ERP, trusted first for suppliers"
    )


def test_a_steward_ranks_a_system_in_the_admin(client, steward):
    core = system("ERP_CORE", "Core ERP", None)
    client.force_login(steward)
    url = reverse("admin:mdm_sourcesystem_change", args=[core.pk])
    assert 'name="trust_rank"' in client.get(url).content.decode()

    response = client.post(
        url,
        {
            "code": "ERP_CORE",
            "name": "Core ERP",
            "kind": "erp",
            "authoritative_for": ["supplier"],
            "trust_rank": "1",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    core.refresh_from_db()
    assert core.trust_rank == 1
    listed = client.get(reverse("admin:mdm_sourcesystem_changelist")).content.decode()
    assert "Trust rank" in listed


def _rule(proposal, name):
    """The rule of field `name` in the merge proposal the API answers."""
    return {field["field"]: field for field in proposal["fields"]}[name]["rule"]


def test_a_system_whose_references_ended_no_longer_speaks_for_the_demos_twins(
    eager_celery, django_capture_on_commit_callbacks
):
    for code, fields in DEMO_UNITS.items():  # just the units the demo uses
        Unit.objects.create(code=code, **fields)
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(items=5, suppliers=TWINS[0], today=date(2026, 3, 2), messages=False)
    original = Supplier.objects.get(number=supplier_number(TWINS[0]))
    twin = Supplier.objects.get(number=twin_number(TWINS[0]))

    fields = survivorship("supplier", twin.public_id, original.public_id)

    # The legacy ERP, ranked first, knew the original, but its codes ended at the cut-over
    # to the cloud ERP, which knows both: no system decides, the longer name does.
    legacy = CrossReference.objects.filter(supplier=original, system__code="ERP_LEGACY")
    assert legacy.exists()
    assert not any(reference.is_valid_on(timezone.localdate()) for reference in legacy)
    assert fields["name"]["default"] == twin.name
    assert fields["name"]["rule"] == f"{twin.public_id}'s: the longer"
