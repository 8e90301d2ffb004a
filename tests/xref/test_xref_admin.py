"""Cross-references in the admin as stewards use them: the "Known as" table on every master
record, overlapping claims refused on the form with the reference named, and the references'
own list with search, filters and history."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.mdm.test_admin import _inline_prefix, _submitted
from tests.xref.conftest import CUTOVER
from xref.admin import KnownAsInline
from xref.models import TARGETS, CrossReference

pytestmark = pytest.mark.django_db


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _known_as(response):
    prefix = _inline_prefix(response, CrossReference)
    assert prefix.startswith("xrefs"), prefix
    return prefix


def _add_row(data, prefix, **fields):
    row = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(row + 1)
    defaults = {"scope": "", "valid_from": "", "valid_to": "", "status": "active"}
    for name, value in {**defaults, **fields}.items():
        if value is True:
            value = "on"
        data[f"{prefix}-{row}-{name}"] = value
    return data


# The world's record of each kind.
RECORDS = {
    "item": "bolt",
    "item_revision": "pump_b",
    "supplier": "acme",
    "supplier_site": "acme_hq",
    "location": "plant",
    "unit": "h87",
    "code_value": "accepted",
}


def test_every_master_record_shows_the_codes_it_is_known_by(admin_client, world, add_reference):
    for kind, (_, model) in TARGETS.items():
        record = getattr(world, RECORDS[kind])
        add_reference(world.legacy, f"CODE-{kind}", record)
        model_admin = admin.site.get_model_admin(model)
        assert any(issubclass(inline, KnownAsInline) for inline in model_admin.inlines), model

        response = admin_client.get(_url(model, "change", record.pk))

        assert response.status_code == 200, model
        _known_as(response)
        assert f"CODE-{kind}".encode() in response.content, model


def test_a_steward_adds_a_reference_on_the_items_page(client, steward, world):
    client.force_login(steward)
    url = _url(type(world.bolt), "change", world.bolt.pk)
    response = client.get(url)
    prefix = _known_as(response)
    data = _add_row(
        _submitted(response),
        prefix,
        system=world.legacy.pk,
        scope="1000",
        code="100234",
        valid_to=str(CUTOVER),
        is_preferred=True,
    )

    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    reference = CrossReference.objects.get()
    assert (reference.kind, reference.target, reference.code, reference.scope) == (
        "item",
        world.bolt,
        "100234",
        "1000",
    )
    assert (reference.valid_to, reference.is_preferred) == (CUTOVER, True)
    assert (reference.origin, reference.created_by) == ("manual", steward)
    record = reference.history.get()
    assert (record.history_type, record.change_source, record.history_user) == (
        "+",
        "admin",
        steward,
    )


def test_the_form_names_the_reference_an_overlapping_claim_collides_with(
    client, steward, world, add_reference
):
    claimed = add_reference(world.legacy, "100234", world.nut, scope="1000")
    client.force_login(steward)
    url = _url(type(world.bolt), "change", world.bolt.pk)
    response = client.get(url)
    data = _add_row(
        _submitted(response),
        _known_as(response),
        system=world.legacy.pk,
        scope="1000",
        code="100234",
        valid_from="2026-01-01",
    )

    response = client.post(url, data)

    assert response.status_code == 200
    text = response.content.decode()
    assert "ERP_LEGACY item code &#x27;100234&#x27; in scope 1000 already means" in text
    assert f"reference #{claimed.pk}" in text
    assert not CrossReference.objects.filter(item=world.bolt).exists()


def test_two_rows_of_one_save_cannot_claim_one_code(client, steward, world):
    client.force_login(steward)
    url = _url(type(world.acme), "change", world.acme.pk)
    response = client.get(url)
    prefix = _known_as(response)
    data = _submitted(response)
    _add_row(data, prefix, system=world.network.pk, code="AN01", valid_to=str(CUTOVER))
    _add_row(data, prefix, system=world.network.pk, code="AN01", valid_from="2026-06-01")

    response = client.post(url, data)

    assert response.status_code == 200
    assert "Two rows claim SUPPLIER_NET code &#x27;AN01&#x27;" in response.content.decode()
    assert not CrossReference.objects.exists()


def test_a_viewer_sees_the_codes_but_cannot_add_one(client, viewer, world, add_reference):
    add_reference(world.legacy, "100234", world.bolt, scope="1000")
    client.force_login(viewer)

    response = client.get(_url(type(world.bolt), "change", world.bolt.pk))

    assert response.status_code == 200
    assert b"100234" in response.content
    formset = next(
        inline
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is CrossReference
    )
    assert not formset.has_add_permission


def test_a_new_record_gets_its_codes_once_it_exists(client, steward, world):
    client.force_login(steward)

    response = client.get(_url(type(world.bolt), "add"))

    assert response.status_code == 200
    formset = next(
        inline
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is CrossReference
    )
    assert not formset.has_add_permission


def test_the_reference_list_searches_and_filters(client, steward, world, add_reference):
    legacy = add_reference(world.legacy, "100234", world.bolt, scope="1000")
    network = add_reference(world.network, "IA", world.accepted, is_preferred=True)
    client.force_login(steward)
    url = _url(CrossReference, "changelist")

    response = client.get(url, {"q": "1000"})
    assert list(response.context["cl"].result_list) == [legacy]
    response = client.get(url, {"kind__exact": "code_value"})
    assert list(response.context["cl"].result_list) == [network]
    response = client.get(url, {"is_preferred__exact": "1"})
    assert list(response.context["cl"].result_list) == [network]
    assert f"{world.bolt.public_id} Hex bolt".encode() in client.get(url).content


def test_a_steward_adds_a_reference_on_its_own_page(client, steward, world):
    client.force_login(steward)
    url = _url(CrossReference, "add")
    response = client.get(url)
    assert response.status_code == 200

    response = client.post(
        url,
        {
            "system": world.planning.pk,
            "kind": "location",
            "scope": "",
            "code": "VAL-ING",
            "location": world.plant.pk,
            "valid_from": "",
            "valid_to": "",
            "status": "active",
            "is_preferred": "on",
        },
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    reference = CrossReference.objects.get()
    assert (reference.target, reference.created_by, reference.origin) == (
        world.plant,
        steward,
        "manual",
    )


def test_the_reference_form_refuses_a_record_of_another_kind(client, steward, world):
    client.force_login(steward)

    response = client.post(
        _url(CrossReference, "add"),
        {
            "system": world.planning.pk,
            "kind": "location",
            "code": "VAL-ING",
            "item": world.bolt.pk,
            "status": "active",
        },
    )

    assert response.status_code == 200
    assert "A location reference names its record." in str(response.context["errors"])


def test_a_references_history_speaks_in_labels(client, steward, world, add_reference):
    reference = add_reference(world.legacy, "100234", world.bolt, scope="1000")
    reference.status = CrossReference.Status.RETIRED
    reference.scope = ""
    reference.save()
    client.force_login(steward)

    page = client.get(_url(CrossReference, "history", reference.pk)).content.decode()
    table = page[page.index('id="change-history"') :]
    table = table[: table.index("</table>")]

    assert "<strong>Status:</strong> Active&nbsp;&rarr;&nbsp;Retired" in table
    assert "<strong>Scope:</strong> 1000&nbsp;&rarr;&nbsp;empty" in table
    assert "None" not in table and "change_source" not in table
