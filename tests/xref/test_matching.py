"""Matching free text and identifiers to records: identifiers first, fuzzy names, the match
index following saves, renames and deletes, and the match API with its roles."""

import time

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mdm.models import Item, Location, Supplier
from mdm.services import create_api_client
from tests.conftest import _bearer
from tests.problems import errors_by_field
from xref import matching
from xref.matching import counts, retrieval
from xref.models import MatchKey

pytestmark = pytest.mark.django_db


def ids(candidates):
    return [candidate.id for candidate in candidates]


@pytest.fixture
def zeta(suppliers):
    """A supplier whose name looks nothing like "ACME Corp", with a DUNS, an LEI and a VAT
    number."""
    return Supplier.objects.create(
        number="V100003",
        name="Zeta Industries",
        legal_name="Zeta Industries AG",
        country="CH",
        duns="150483782",
        lei="529900T8BM49AURSDO55",
        vat="CHE-116.281.710 MWST",
    )


@pytest.fixture
def acme_corp(suppliers):
    return Supplier.objects.create(number="V100004", name="ACME Corp", country="US")


@pytest.fixture
def integration_api(erp_system):
    _, key = create_api_client("ERP_LEGACY", "erp-match")
    return _bearer(key)


# --- identifiers first -------------------------------------------------------------------


def test_it_ranks_a_duns_hit_above_a_closer_looking_name(zeta, acme_corp):
    found = matching.match("supplier", "ACME Corp", duns="150483782")

    assert ids(found)[:2] == [zeta.public_id, acme_corp.public_id]
    assert found[0].score >= matching.SURE
    assert found[0].evidence["duns"] == 100
    assert found[1].score < matching.WORTH_A_LOOK


def test_it_finds_a_duns_written_inside_the_text(zeta, acme_corp):
    found = matching.match("supplier", "ACME Corp 150-483-782")

    assert found[0].id == zeta.public_id
    assert found[0].evidence["duns"] == 100
    assert found[0].evidence["name"] < 50  # the evidence says the name does not agree


def test_it_finds_a_supplier_by_lei_and_by_vat_with_or_without_the_prefix(zeta):
    assert matching.match("supplier", lei="529900T8BM49AURSDO55")[0].id == zeta.public_id
    for vat in ("CHE-116.281.710 MWST", "che116281710mwst"):
        assert matching.match("supplier", vat=vat)[0].evidence == {"vat": 100}  # no q


def test_it_ranks_an_item_by_a_model_number_inside_the_text_above_a_closer_description(items):
    lookalike = Item.objects.create(
        number="100236",
        description="Hexagon socket screw set",
        base_unit=items.bolt.base_unit,
        item_type=Item.Type.COMPONENT,
    )

    found = matching.match("item", "hexagon screw replacement part kit BT 4017-M8.40")

    assert ids(found)[:2] == [items.bolt.public_id, lookalike.public_id]
    assert found[0].score > found[1].score
    assert found[0].evidence["mpn"] == 100


def test_it_finds_an_item_by_its_part_number_however_it_is_written(items):
    for mpn in ("BT-4017-M8-40", "bt 4017 m8 40", "BT4017M840"):
        found = matching.match("item", mpn=mpn)

        assert ids(found)[:1] == [items.bolt.public_id]
        assert found[0].evidence["mpn"] == 100


def test_it_ranks_a_gtin_hit_above_a_closer_looking_description(items):
    items.nut.gtin = "4006381333931"
    items.nut.save()

    found = matching.match("item", "Hex bolt ISO 4017 M8x40 zinc plated", gtin="4006381333931")

    assert ids(found)[:2] == [items.nut.public_id, items.bolt.public_id]
    assert found[0].score >= matching.SURE
    assert found[1].score < matching.WORTH_A_LOOK


def test_it_treats_a_gtin_12_and_its_gtin_13_as_one(items):
    items.nut.gtin = "036000291452"
    items.nut.save()

    found = matching.match("item", gtin="0036000291452")

    assert ids(found) == [items.nut.public_id]
    assert found[0].evidence == {"gtin": 100}


def test_it_ignores_a_gtin_with_a_wrong_check_digit(items):
    items.nut.gtin = "036000291452"
    items.nut.save()

    assert matching.match("item", gtin="036000291453") == []


def test_it_finds_a_location_by_gln_and_by_its_code(locations):
    locations.warehouse.gln = "4012345000009"
    locations.warehouse.save()

    assert matching.match("location", "GLN 4012345000009")[0].evidence["gln"] == 100
    assert matching.match("location", "de01-wh1")[0].id == locations.warehouse.public_id


# --- fuzzy text ----------------------------------------------------------------------------


def test_it_finds_a_misspelled_supplier_name(suppliers):
    found = matching.match("supplier", "Globx Compnents Inc")

    assert found[0].id == suppliers.globex.public_id
    assert matching.WORTH_A_LOOK <= found[0].score < matching.SURE  # misspelt: not sure
    assert set(found[0].evidence) == {"name"}


def test_it_matches_the_legal_name_too(suppliers):
    found = matching.match("supplier", "Acme Fastener GmbH")

    assert found[0].id == suppliers.acme.public_id
    assert found[0].evidence["legal_name"] > 80


@pytest.fixture
def common_words(monkeypatch, suppliers):
    """Suppliers sharing the words "Fabrik" and "Wire", common at a threshold of 3 records."""
    monkeypatch.setattr(counts, "COMMON_WORD", 3)
    monkeypatch.setattr(counts, "COMMON_WORD_RATIO", 2)
    names = (
        "Teim Fabrik",
        "Rapeium Fabrik",
        "Cretium Fabrik",
        "Gost Wire",
        "Gaukova Wire",
        "Grausto Wire",
        "Wier Tools",
    )
    for n, name in enumerate(names):
        Supplier.objects.create(number=f"V3000{n:02d}", name=name, country="DE")
    counts.cache.clear()
    yield matching.SPECS["supplier"]
    counts.cache.clear()


def test_it_reads_a_word_as_the_common_word_it_may_misspell(common_words):
    spec = common_words

    assert counts.common_spellings(spec, "wrie", 0) == {"w:wire": 3}
    # A known but rare word, next to one in many more records.
    assert counts.common_spellings(spec, "wier", 1) == {"w:wire": 3}
    # Two edits for a longer word, one for a short one; a common word stays as it is.
    assert counts.common_spellings(spec, "farki", 0) == {"w:fabrik": 3}
    assert counts.common_spellings(spec, "fark", 0) == {}
    assert counts.common_spellings(spec, "fabrik", 3) == {}
    assert counts.common_spellings(spec, "wire", 3) == {}


def test_it_finds_names_by_a_common_word_misspelled_twice(common_words):
    found = matching.match("supplier", "Retaneim Farki", limit=10)

    assert {"Teim Fabrik", "Rapeium Fabrik", "Cretium Fabrik"} <= {c.name for c in found}


def test_it_finds_an_item_by_a_loose_description(items):
    found = matching.match("item", "zinc plated hex bolt M8 x 40")

    assert found[0].id == items.bolt.public_id


def test_it_uses_the_manufacturer_as_evidence(items):
    found = matching.match("item", "hex bolt", manufacturer="Boltara")

    assert found[0].id == items.bolt.public_id
    assert found[0].evidence["manufacturer"] == 100


def test_it_keeps_to_the_country_asked_for(suppliers):
    german = Supplier.objects.create(number="V200001", name="Globex Components", country="DE")

    assert set(ids(matching.match("supplier", "Globex Components"))) >= {
        german.public_id,
        suppliers.globex.public_id,
    }
    assert ids(matching.match("supplier", "Globex Components", country="DE")) == [german.public_id]


def test_it_ranks_the_closest_name_first(suppliers):
    for number, name in (("V200002", "Globex Compounds"), ("V200003", "Globe Exports")):
        Supplier.objects.create(number=number, name=name, country="US")

    found = matching.match("supplier", "Globex Componets")

    assert [c.name for c in found[:2]] == ["Globex Components", "Globex Compounds"]
    assert found[0].score > found[1].score
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)


def test_it_returns_at_most_the_limit_the_best_first(suppliers):
    for n in range(6):
        Supplier.objects.create(number=f"V20000{n}", name=f"Globex Components {n}", country="US")
    everything = matching.match("supplier", "Globex Components", limit=50)

    found = matching.match("supplier", "Globex Components", limit=2)

    assert len(everything) == 7
    assert ids(found) == ids(everything)[:2]
    assert found[0].id == suppliers.globex.public_id
    assert len(matching.match("supplier", "Globex Components")) == 5  # the default


def test_it_keeps_locations_to_the_country_asked_for(locations):
    austrian = Location.objects.create(
        code="AT01", name="Ingolstadt plant", kind=Location.Kind.PLANT, country="AT"
    )

    assert ids(matching.match("location", "Ingolstadt plant", country="AT")) == [austrian.public_id]
    assert locations.plant.public_id in ids(matching.match("location", "Ingolstadt plant"))


def test_it_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="Unknown kind"):
        matching.match("unit", "kg")


# --- the index follows the master data ---------------------------------------------------


def test_it_finds_a_supplier_created_a_moment_ago(suppliers):
    assert matching.match("supplier", "Quixotic Gearworks") == [] or (
        matching.match("supplier", "Quixotic Gearworks")[0].score < matching.WORTH_A_LOOK
    )

    new = Supplier.objects.create(number="V300001", name="Quixotic Gearworks", country="FR")

    found = matching.match("supplier", "Quixotc Gearworks")
    assert found[0].id == new.public_id


def test_a_batch_answers_as_single_queries_do_and_reads_a_word_once(zeta, acme_corp):
    queries = ["Zeta Industries", "zeta industry", "ACME Corp", "Acme Zeta", "Zeta Industries"]
    alone = [matching.match("supplier", q) for q in queries]
    with CaptureQueriesContext(connection) as single:
        matching.match("supplier", "Zeta Industries")
    with matching.batch():
        together = [matching.match("supplier", q) for q in queries]
        with CaptureQueriesContext(connection) as repeated:
            matching.match("supplier", "Zeta Industries")
    assert together == alone
    assert ids(together[0])[0] == zeta.public_id
    # The names under the query's words were kept: the repeat reads no names.
    assert len(repeated) == len(single) - 1
    # Outside the batch, nothing is kept: a supplier created now is found at once.
    created = Supplier.objects.create(number="V100009", name="Zeta Industries Nord", country="DE")
    assert created.public_id in ids(matching.match("supplier", "Zeta Industries Nord"))


def test_a_batch_that_outgrows_its_memory_starts_afresh_and_answers_the_same(
    zeta, acme_corp, monkeypatch
):
    queries = ["Zeta Industries", "zeta industry", "ACME Corp", "Acme Zeta", "Zeta Industries"]
    alone = [matching.match("supplier", q) for q in queries]
    monkeypatch.setattr(retrieval, "BATCH_ROWS", 1)  # every query finds the batch's memory full
    with matching.batch():
        assert [matching.match("supplier", q) for q in queries] == alone


def garbled(word_length, length=matching.MAX_QUERY_LENGTH):
    """Text of `length` characters of random-looking words no name has (a pasted hash, a
    column of the wrong data)."""
    letters = "qwertzuiopasdfghjklyxcvbnm0123456789"
    text = "".join(letters[(n * 7 + n // 36) % 36] for n in range(length))
    words = [text[n : n + word_length] for n in range(0, length, word_length + 1)]
    return " ".join(words)[:length]


def test_a_query_of_one_word_at_the_limit_is_answered_at_once(suppliers):
    """Each of a word's pieces (one-word names inside it) and spellings is looked up: a
    3,000-letter word made 4.5 million pieces (82 s), a 500-letter one 125,000. Now a query
    at the limit costs about what a name does, alone or in a batch."""
    text = garbled(matching.MAX_QUERY_LENGTH)
    assert len(text) == matching.MAX_QUERY_LENGTH
    for kind in ("supplier", "location"):
        started = time.monotonic()
        matching.match(kind, text)
        with matching.batch():
            matching.match(kind, text)
        assert time.monotonic() - started < 1.0, kind


def test_it_follows_a_rename(suppliers):
    globex = suppliers.globex
    globex.name = "Initech Components"
    globex.save()

    assert matching.match("supplier", "Initech")[0].id == globex.public_id
    assert globex.public_id not in ids(matching.match("supplier", "Globex"))


def test_it_follows_a_changed_identifier(zeta):
    zeta.duns = "831234567"
    zeta.save()

    assert matching.match("supplier", duns="150483782") == []
    assert matching.match("supplier", duns="831234567")[0].id == zeta.public_id


def test_it_follows_an_item_whose_description_changes(items):
    items.pump.description = "Diaphragm metering pump DX 20"
    items.pump.save()

    assert matching.match("item", "diaphragm metering pump")[0].id == items.pump.public_id
    assert items.pump.public_id not in ids(matching.match("item", "centrifugal"))


def test_it_forgets_a_deleted_location(locations):
    record_id = locations.warehouse.pk
    locations.warehouse.delete()

    assert not MatchKey.objects.filter(kind=MatchKey.Kind.LOCATION, record_id=record_id).exists()
    assert ids(matching.match("location", "de01-wh1")) != [locations.warehouse.public_id]


def test_it_forgets_a_deleted_record(zeta):
    record_id = zeta.pk
    zeta.delete()

    assert not MatchKey.objects.filter(kind=MatchKey.Kind.SUPPLIER, record_id=record_id).exists()
    assert matching.match("supplier", duns="150483782") == []


def test_the_rebuild_command_indexes_bulk_inserted_records(locations):
    # bulk_create skips the signals that keep the index current.
    Location.objects.bulk_create(
        [Location(public_id="LOC-900001", code="US07", name="Austin plant", kind="plant")]
    )
    assert "LOC-900001" not in ids(matching.match("location", "Austin plant"))

    call_command("rebuild_match_index", "--kind", "location", stdout=None)

    assert matching.match("location", "Austin plant")[0].id == "LOC-900001"


# --- the API -------------------------------------------------------------------------------


def test_the_api_answers_ranked_candidates(integration_api, zeta, acme_corp):
    response = integration_api.get(
        "/api/v1/match/supplier/", {"q": "ACME Corp", "duns": "150483782", "limit": 2}
    )

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [zeta.public_id, acme_corp.public_id]
    assert results[0]["id"] == zeta.public_id
    assert results[0]["name"] == "Zeta Industries"
    assert results[0]["score"] >= matching.SURE
    assert results[0]["evidence"]["duns"] == 100.0
    assert set(results[0]["evidence"]) == {"name", "legal_name", "duns"}


def test_the_api_lets_stewards_match(steward_api, items):
    response = steward_api.get("/api/v1/match/item/", {"mpn": "bt4017m840"})

    assert response.status_code == 200
    assert response.json()["results"][0]["id"] == items.bolt.public_id


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/match/unit/", {"q": "kg"}, "kind"),
        ("/api/v1/match/supplier/", {"q": "Acme", "limit": "0"}, "limit"),
        ("/api/v1/match/supplier/", {"q": "Acme", "limit": "51"}, "limit"),
        ("/api/v1/match/supplier/", {"q": "Acme", "limit": "many"}, "limit"),
        ("/api/v1/match/supplier/", {"q": ""}, "q"),
        ("/api/v1/match/supplier/", {}, "q"),
        ("/api/v1/match/location/", {"q": "plant", "limit": "-1"}, "limit"),
        ("/api/v1/match/supplier/", {"q": "Acme", "country": "Germany"}, "country"),
        ("/api/v1/match/supplier/", {"q": "Acme", "gtin": "036000291452"}, "gtin"),
        ("/api/v1/match/item/", {"q": "bolt", "country": "DE"}, "country"),
    ],
)
def test_the_api_refuses_bad_parameters(integration_api, path, params, field):
    response = integration_api.get(path, params)

    assert response.status_code == 400
    assert field in errors_by_field(response)


def test_the_api_says_what_is_wrong(integration_api):
    unknown = integration_api.get("/api/v1/match/unit/", {"q": "kg"})
    empty = integration_api.get("/api/v1/match/supplier/")
    too_many = integration_api.get("/api/v1/match/supplier/", {"q": "Acme", "limit": "51"})

    assert errors_by_field(unknown) == {
        "kind": ["Unknown kind 'unit'; choose one of item, supplier, location."]
    }
    assert errors_by_field(empty) == {"q": ["Give the text to match, an identifier, or both."]}
    assert "50" in errors_by_field(too_many)["limit"][0]


def test_the_api_needs_credentials(anonymous_api, erp_system):
    assert anonymous_api.get("/api/v1/match/supplier/", {"q": "Acme"}).status_code == 401
    wrong_key = _bearer("not-a-key")
    assert wrong_key.get("/api/v1/match/supplier/", {"q": "Acme"}).status_code == 401


def test_viewers_may_not_match(viewer_api, erp_system):
    _, key = create_api_client("ERP_LEGACY", "erp-viewer", role="viewer")

    assert viewer_api.get("/api/v1/match/supplier/", {"q": "Acme"}).status_code == 403
    assert _bearer(key).get("/api/v1/match/supplier/", {"q": "Acme"}).status_code == 403
