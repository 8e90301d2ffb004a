"""Labelled match pairs as stewards and clients keep them: decisions recorded with their query
normalised, a later decision replacing an earlier one, bad input refused with a sentence, the
pairs out and in as CSV (all rows or none), the API and who may call it, the admin and the
command."""

import hashlib
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from xref import labels
from xref.models import MatchLabel, MatchWeights

pytestmark = pytest.mark.django_db

URL = "/api/v1/match/labels/"
IMPORT_URL = "/api/v1/match/labels/import/"


@pytest.fixture
def decided(world, steward):
    """Four decisions: the bolt for "hex bolt m8" (and not the nut), Acme for its DUNS, and
    a location whose query starts like a spreadsheet formula."""
    labels.record_choice(
        "item",
        {"q": "hex bolt m8", "mpn": "BT-4017-M8-40"},
        world.bolt.public_id,
        [world.bolt.public_id, world.nut.public_id],
        "quarantine",
        user=steward,
    )
    labels.record(
        "supplier",
        {"q": "Acme Fasteners", "duns": "123456789"},
        world.acme.public_id,
        True,
        "reconciliation",
    )
    labels.record(
        "location",
        {"q": "=Ingolstadt Werk", "postal_code": "85045"},
        world.plant.public_id,
        True,
        "api",
        user=steward,
    )
    return world


# --- recording ------------------------------------------------------------------------------


def test_it_keeps_a_decision_with_its_query_normalised(world, steward):
    label, created = labels.record(
        "item",
        {"q": "  Hex bolt M8 ", "mpn": " BT-4017 ", "gtin": "", "duns": "123456789"},
        world.bolt.public_id.lower(),
        True,
        "api",
        user=steward,
    )

    assert created
    assert label.query == {"q": "Hex bolt M8", "mpn": "BT-4017"}  # stripped, empty and
    assert label.record == world.bolt.public_id  # a supplier's field dropped
    assert (label.is_match, label.source, label.decided_by) == (True, "api", steward)
    canonical = json.dumps({"mpn": "BT-4017", "q": "Hex bolt M8"}, separators=(",", ":"))
    assert label.query_key == hashlib.sha256(canonical.encode()).hexdigest()


def test_a_later_decision_on_the_same_query_and_record_replaces_the_earlier(world, steward):
    labels.record("item", {"q": "hex bolt"}, world.bolt.public_id, True, "api")

    label, created = labels.record(
        "item", {"q": " hex bolt  "}, world.bolt.public_id, False, "quarantine", user=steward
    )

    assert not created
    assert MatchLabel.objects.count() == 1
    assert (label.is_match, label.source, label.decided_by) == (False, "quarantine", steward)
    assert labels.pairs("item") == [({"q": "hex bolt"}, world.bolt.public_id, False)]


@pytest.mark.parametrize(
    "kind, query, record, source, message",
    [
        (
            "part",
            {"q": "bolt"},
            "bolt",
            "api",
            "Unknown kind 'part'; choose one of item, supplier, location.",
        ),
        (
            "item",
            {"q": "  ", "duns": "123456789"},
            "bolt",
            "api",
            "The query is empty: give the text (q) or an identifier (mpn, gtin, manufacturer).",
        ),
        (
            "item",
            "hex bolt",
            "bolt",
            "api",
            'The query must be an object of fields, e.g. {"q": "Acme Fasteners"}.',
        ),
        ("item", {"q": "bolt"}, "ITM-999999", "api", "No item with public id ITM-999999."),
        ("item", {"q": "bolt"}, "acme", "api", "No item with public id SUP-"),
        (
            "item",
            {"q": "bolt"},
            "bolt",
            "guess",
            "Unknown source 'guess'; choose one of "
            "quarantine, reconciliation, duplicates, api, import.",
        ),
    ],
)
def test_it_refuses_a_decision_it_cannot_keep(world, kind, query, record, source, message):
    record = getattr(world, record).public_id if hasattr(world, record) else record

    with pytest.raises(ValueError) as refused:
        labels.record(kind, query, record, True, source)

    assert str(refused.value).startswith(message)
    assert not MatchLabel.objects.exists()


def test_a_pick_among_candidates_is_one_match_and_the_rest_not(world):
    kept = labels.record_choice(
        "supplier",
        {"q": "Acme"},
        world.acme.public_id,
        [world.globex.public_id, world.acme.public_id, "SUP-999999"],  # one deleted since
        "quarantine",
    )

    assert [(label.record, label.is_match) for label in kept] == [
        (world.acme.public_id, True),
        (world.globex.public_id, False),
    ]


# --- CSV ------------------------------------------------------------------------------------


def test_an_export_imported_into_an_empty_table_gives_the_same_pairs(decided, steward):
    before = {kind: labels.pairs(kind) for kind in labels.KINDS}
    times = dict(MatchLabel.objects.values_list("record", "decided_at"))
    text = labels.export_csv()
    assert text.splitlines()[0] == ",".join(labels.COLUMNS)
    assert "'=Ingolstadt Werk" in text  # a spreadsheet does not run it as a formula
    MatchLabel.objects.all().delete()

    report = labels.import_csv(text, steward)

    assert (report.added, report.replaced, report.unchanged, report.errors) == (4, 0, 0, [])
    assert {kind: labels.pairs(kind) for kind in labels.KINDS} == before
    assert dict(MatchLabel.objects.values_list("record", "decided_at")) == times
    assert labels.pairs("location")[0][0]["q"] == "=Ingolstadt Werk"

    again = labels.import_csv("\ufeff" + text, steward)

    assert (again.added, again.replaced, again.unchanged) == (0, 0, 4)
    assert dict(MatchLabel.objects.values_list("record", "decided_at")) == times


def test_a_row_with_another_verdict_replaces_the_stored_decision(decided, steward):
    text = labels.export_csv("supplier").replace(",yes,", ",no,")

    report = labels.import_csv(text, steward)

    assert (report.added, report.replaced, report.unchanged) == (0, 1, 0)
    label = MatchLabel.objects.get(kind="supplier")
    assert (label.is_match, label.decided_by) == (False, steward)


def test_a_bad_row_refuses_the_whole_file_and_names_its_line(world, steward):
    text = (
        "kind,record,is_match,q,duns,mpn\n"
        f"item,{world.bolt.public_id},yes,hex bolt,,\n"
        f"item,{world.nut.public_id},maybe,hex nut,,\n"
        f"supplier,{world.acme.public_id},yes,Acme,,BT-1\n"
        "\n"
        "item,ITM-999999,no,pump,,\n"
        f"item,{world.bolt.public_id},no,hex bolt,,\n"
    )

    report = labels.import_csv(text, steward)

    assert not report.ok
    assert report.errors == [
        (3, "The is_match cell must be yes or no (or true/false, 1/0), not 'maybe'."),
        (4, "Supplier queries take q, duns, lei, vat, not mpn."),
        (6, "No item with public id ITM-999999."),
        (7, "It decides the same query and record as line 2."),
    ]
    assert not MatchLabel.objects.exists()


def test_a_file_with_an_unknown_column_is_refused_at_its_header(world, steward):
    report = labels.import_csv(f"kind,record,is_match,name\nitem,{world.bolt.public_id},1,x\n")

    assert report.errors == [
        (
            1,
            "Unknown column(s) 'name'; the columns are kind, record, is_match, source, "
            "decided_at, decided_by, q, mpn, gtin, manufacturer, duns, lei, vat, gln, "
            "address, postal_code.",
        )
    ]


def test_a_spreadsheets_semicolons_are_read_too(world, steward):
    report = labels.import_csv(f"kind;record;is_match;q\nitem;{world.bolt.public_id};TRUE;bolt\n")

    assert report.added == 1
    label = MatchLabel.objects.get()
    assert (label.query, label.is_match, label.source) == ({"q": "bolt"}, True, "import")


# --- API ------------------------------------------------------------------------------------


def _decision(world, **changes):
    return {
        "kind": "item",
        "query": {"q": "hex bolt"},
        "record": world.bolt.public_id,
        "is_match": True,
        **changes,
    }


def test_stewards_and_integration_clients_post_decisions(world, steward_api, erp_api):
    created = steward_api.post(URL, _decision(world), format="json")
    replaced = erp_api.post(
        URL, _decision(world, is_match=False, source="reconciliation"), format="json"
    )

    assert created.status_code == 201, created.json()
    assert replaced.status_code == 200, replaced.json()
    body = replaced.json()
    assert {key: body[key] for key in ("kind", "query", "record", "is_match", "source")} == {
        "kind": "item",
        "query": {"q": "hex bolt"},
        "record": world.bolt.public_id,
        "is_match": False,
        "source": "reconciliation",
    }
    assert body["decided_by"] == MatchLabel.objects.get().decided_by.username  # the client's


def test_viewers_and_strangers_may_not_touch_labels(world, viewer_api, anonymous_api, erp_api):
    assert viewer_api.get(URL).status_code == 403
    assert viewer_api.post(URL, _decision(world), format="json").status_code == 403
    assert anonymous_api.get(URL).status_code == 401
    assert anonymous_api.post(URL, _decision(world), format="json").status_code == 401
    # Integration clients report decisions; reading and importing the pairs is stewards'.
    assert erp_api.get(URL).status_code == 403
    assert (
        erp_api.post(IMPORT_URL, "kind,record,is_match\n", content_type="text/csv").status_code
        == 403
    )
    assert not MatchLabel.objects.exists()


def test_a_list_of_decisions_is_kept_all_or_none(world, steward_api):
    response = steward_api.post(
        URL,
        [
            _decision(world),
            _decision(world, record="ITM-999999"),
            _decision(world, query={"q": "bolt", "duns": "123456789"}),
        ],
        format="json",
    )

    assert response.status_code == 400
    errors = {error["pointer"]: error["detail"] for error in response.json()["errors"]}
    assert errors == {"#/2/query/duns": "item queries take q, mpn, gtin, manufacturer, not duns."}
    response = steward_api.post(
        URL, [_decision(world), _decision(world, record="ITM-999999")], format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"pointer": "#/1/record", "detail": "No item with public id ITM-999999."}
    ]
    assert not MatchLabel.objects.exists()


def test_stewards_read_the_pairs_as_json_or_csv(decided, steward_api):
    listed = steward_api.get(URL, {"kind": "item"})

    assert listed.status_code == 200
    assert listed.json()["count"] == 2
    assert {row["record"]: row["is_match"] for row in listed.json()["results"]} == {
        decided.bolt.public_id: True,
        decided.nut.public_id: False,
    }
    as_csv = steward_api.get(URL, {"kind": "item", "format": "csv"})
    by_accept = steward_api.get(URL, HTTP_ACCEPT="text/csv")

    assert as_csv["Content-Type"].startswith("text/csv")
    rows = as_csv.content.decode("utf-8-sig").splitlines()
    assert rows[0] == ",".join(labels.COLUMNS) and len(rows) == 3
    assert by_accept["Content-Type"].startswith("text/csv")
    assert by_accept.content.decode("utf-8-sig") == labels.export_csv()
    assert steward_api.get(URL, {"kind": "part"}).status_code == 400
    assert steward_api.get(URL, {"format": "xml"}).json()["errors"] == [
        {"parameter": "format", "detail": "Unknown format 'xml'; choose json or csv."}
    ]


def test_stewards_import_a_csv_body(decided, steward_api):
    text = labels.export_csv()
    MatchLabel.objects.filter(kind="item").delete()

    response = steward_api.post(IMPORT_URL, text.encode("utf-8-sig"), content_type="text/csv")

    assert response.status_code == 200, response.json()
    assert response.json() == {"added": 2, "replaced": 0, "unchanged": 2}
    bad = steward_api.post(
        IMPORT_URL, text + "item,ITM-999999,yes,,,,bolt\n", content_type="text/csv"
    )
    assert bad.status_code == 400
    assert bad.json()["rows"] == [{"line": 6, "detail": "No item with public id ITM-999999."}]
    as_json = steward_api.post(IMPORT_URL, {"kind": "item"}, format="json")
    assert as_json.status_code == 400
    assert as_json.json()["detail"].startswith("Send the pairs as a CSV body")
    assert MatchLabel.objects.count() == 4


# --- admin and command ----------------------------------------------------------------------


def test_stewards_find_and_export_labels_in_the_admin(client, steward, decided):
    client.force_login(steward)
    url = reverse("admin:xref_matchlabel_changelist")

    found = client.get(url, {"q": "hex bolt"})

    assert found.status_code == 200
    assert {label.record for label in found.context["cl"].result_list} == {
        decided.bolt.public_id,
        decided.nut.public_id,
    }
    assert f"{decided.bolt.public_id} {decided.bolt.description}" in found.content.decode()
    assert client.get(url, {"q": decided.acme.public_id}).context["cl"].result_count == 1
    chosen = MatchLabel.objects.filter(kind="item").values_list("pk", flat=True)

    exported = client.post(
        url, {"action": "export_selected", "_selected_action": [str(pk) for pk in chosen]}
    )

    assert exported["Content-Type"].startswith("text/csv")
    assert len(exported.content.decode("utf-8-sig").splitlines()) == 3
    label = MatchLabel.objects.get(kind="supplier")
    page = client.get(reverse("admin:xref_matchlabel_change", args=[label.pk])).content.decode()
    assert reverse("admin:mdm_supplier_change", args=[decided.acme.pk]) in page


def test_nobody_adds_changes_or_deletes_weights(admin_client):
    weights = MatchWeights.objects.create(kind="item", weights={}, summary="From 10 pairs.")
    listed = admin_client.get(reverse("admin:xref_matchweights_changelist"))
    assert listed.status_code == 200 and "From 10 pairs." in listed.content.decode()

    assert admin_client.get(reverse("admin:xref_matchweights_add")).status_code == 403
    page = admin_client.post(
        reverse("admin:xref_matchweights_change", args=[weights.pk]), {"summary": "changed"}
    )
    assert page.status_code == 403
    deleted = admin_client.post(
        reverse("admin:xref_matchweights_delete", args=[weights.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 403
    assert MatchWeights.objects.get().summary == "From 10 pairs."


def test_the_command_exports_and_imports(decided, tmp_path, capsys):
    target = tmp_path / "labels.csv"
    call_command("match_labels", "export", "--kind", "item", "--output", str(target))
    MatchLabel.objects.all().delete()

    call_command("match_labels", "import", str(target))

    assert sorted(record for _, record, _ in labels.pairs("item")) == sorted(
        [decided.bolt.public_id, decided.nut.public_id]
    )
    target.write_text("kind,record,is_match\nitem,ITM-999999,yes\n")
    with pytest.raises(CommandError, match="line 2: The query is empty"):
        call_command("match_labels", "import", str(target))
