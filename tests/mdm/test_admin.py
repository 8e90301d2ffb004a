"""The admin as data stewards use it: every page renders, search and filters find records,
changes are recorded with their source and can be reverted, and viewers only look."""

import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mdm.admin import CalendarForm
from mdm.models import (
    ApiClient,
    Calendar,
    CalendarException,
    CodeList,
    CodeValue,
    Item,
    ItemRevision,
    ItemUnitConversion,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
    Unit,
)
from mdm.services import create_api_client

GTIN = "4000000000013"
GLN = "4299000000004"


@pytest.fixture
def world(erp_system):
    """One of each master record, linked the way real data is."""
    kgm = Unit.objects.create(code="KGM", name="kilogram", symbol="kg", mapping_class="direct")
    h87 = Unit.objects.create(code="H87", name="piece", mapping_class="count")
    xbx = Unit.objects.create(
        code="XBX", name="box", source=Unit.Source.REC21, mapping_class="item_specific"
    )
    item = Item.objects.create(
        number="100-200",
        description="Hex bolt M8x40",
        base_unit=h87,
        item_type=Item.Type.COMPONENT,
        gtin=GTIN,
        manufacturer="Bossard",
        mpn="BN-8-40",
        commodity="fasteners",
    )
    revision = ItemRevision.objects.create(
        item=item, revision="A", effective_from=datetime.date(2024, 1, 1), description="First"
    )
    supplier = Supplier.objects.create(
        number="S-1000",
        name="Acme Fasteners",
        legal_name="Acme Fasteners GmbH",
        country="DE",
        duns="123456789",
        lei="5299000J2N45DDNE4Y28",
        vat="DE136695976",
    )
    conversion = ItemUnitConversion.objects.create(
        item=item, supplier=supplier, from_unit=xbx, to_unit=h87, factor=Decimal("12")
    )
    calendar = Calendar.objects.create(
        code="DE-BY",
        name="Bavarian plants",
        timezone="Europe/Berlin",
        holiday_country="DE",
        holiday_subdivision="BY",
    )
    exception = CalendarException.objects.create(
        calendar=calendar,
        start=datetime.date(2024, 12, 24),
        end=datetime.date(2024, 12, 31),
        reason="Winter shutdown",
    )
    site = SupplierSite.objects.create(
        supplier=supplier, code="HAM", name="Hamburg", country="DE", calendar=calendar
    )
    location = Location.objects.create(
        code="PLANT-1",
        name="Munich plant",
        kind=Location.Kind.PLANT,
        gln=GLN,
        country="DE",
        timezone="Europe/Berlin",
        calendar=calendar,
        can_receive=True,
    )
    code_list = CodeList.objects.create(code="ACK_LINE_STATUS", name="Acknowledgement status")
    code_value = CodeValue.objects.create(code_list=code_list, code="ACCEPTED", meaning="Accepted")
    api_client, _ = create_api_client("ERP_LEGACY", "erp-sync")
    return {
        "units": (kgm, h87, xbx),
        "item": item,
        "revision": revision,
        "conversion": conversion,
        "supplier": supplier,
        "site": site,
        "calendar": calendar,
        "exception": exception,
        "location": location,
        "code_list": code_list,
        "code_value": code_value,
        "api_client": api_client,
    }


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _submitted(response):
    """The form of a rendered admin page as a browser would submit it, unchanged: the main
    form, and every inline formset with its management form."""
    forms = [response.context["adminform"].form]
    for inline in response.context.get("inline_admin_formsets", []):
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data = {}
    for form in forms:
        for field in form:
            value = field.value()
            data[field.html_name] = "" if value is None else value
    return data


def _inline_prefix(response, model):
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.model is model:
            return inline.formset.prefix
    raise AssertionError(f"No inline for {model.__name__}")


def test_it_registers_every_master_model():
    unregistered = [
        model.__name__
        for model in apps.get_app_config("mdm").get_models()
        if not model._meta.model_name.startswith("historical")
        # Counters, not master data: public id sequences, submissions per minute.
        and model._meta.model_name not in ("idsequence", "submissioncount")
        and model not in admin.site._registry
    ]
    assert unregistered == []


def test_it_passes_the_admin_checks():
    errors = [
        error for model_admin in admin.site._registry.values() for error in model_admin.check()
    ]
    assert errors == []


def test_it_renders_every_registered_admin(admin_client, admin_user, world, rf):
    request = rf.get("/admin/")
    request.user = admin_user
    for model, model_admin in admin.site._registry.items():
        response = admin_client.get(_url(model, "changelist"))
        assert response.status_code == 200, model

        expected_add = 200 if model_admin.has_add_permission(request) else 403
        assert admin_client.get(_url(model, "add")).status_code == expected_add, model

        obj = model._default_manager.first()
        if model._meta.app_label == "mdm":
            assert obj is not None, f"The world has no {model.__name__}"
        if obj is not None:
            response = admin_client.get(_url(model, "change", obj.pk))
            assert response.status_code == 200, model
            response = admin_client.get(_url(model, "history", obj.pk))
            assert response.status_code == 200, model


def test_it_lets_a_steward_open_every_master_record(client, steward, world):
    client.force_login(steward)
    for key in ("item", "revision", "conversion", "supplier", "site", "calendar", "location"):
        obj = world[key]
        response = client.get(_url(type(obj), "change", obj.pk))
        assert response.status_code == 200, key
        assert b'name="_save"' in response.content, key


def test_it_finds_an_item_by_gtin(client, steward, world):
    Item.objects.create(
        number="100-300", description="Washer", base_unit=world["units"][1], item_type="component"
    )
    client.force_login(steward)
    response = client.get(_url(Item, "changelist"), {"q": GTIN})
    assert list(response.context["cl"].result_list) == [world["item"]]


@pytest.mark.parametrize(
    ("model", "term", "key"),
    [
        (Item, "BN-8-40", "item"),
        (Item, "bossard", "item"),
        (Supplier, "DE136695976", "supplier"),
        (Supplier, "5299000J2N45DDNE4Y28", "supplier"),
        (Supplier, "GmbH", "supplier"),
        (Location, GLN, "location"),
        (SupplierSite, "Acme", "site"),
    ],
)
def test_it_searches_the_identifiers_stewards_look_for(client, steward, world, model, term, key):
    client.force_login(steward)
    response = client.get(_url(model, "changelist"), {"q": term})
    assert list(response.context["cl"].result_list) == [world[key]]


def test_it_filters_items_by_status_and_base_unit(client, steward, world):
    kgm = world["units"][0]
    steel = Item.objects.create(
        number="200-100",
        description="Steel sheet",
        base_unit=kgm,
        item_type="raw_material",
        status=Item.Status.BLOCKED,
    )
    client.force_login(steward)
    url = _url(Item, "changelist")

    response = client.get(url, {"status__exact": "blocked"})
    assert list(response.context["cl"].result_list) == [steel]
    response = client.get(url, {"base_unit__code__exact": "H87"})
    assert list(response.context["cl"].result_list) == [world["item"]]
    # The unit filter offers the units items use, not all of Rec 20.
    assert b"XBX (box)" not in response.content


def test_it_records_an_admin_change_with_its_source_and_steward(client, steward, world):
    item, revision = world["item"], world["revision"]
    client.force_login(steward)
    url = _url(Item, "change", item.pk)
    response = client.get(url)
    data = _submitted(response)
    data["description"] = "Hex bolt M8x40, zinc plated"
    data[f"{_inline_prefix(response, ItemRevision)}-0-description"] = "First, corrected"

    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    item.refresh_from_db()
    assert item.description == "Hex bolt M8x40, zinc plated"
    record = item.history.latest()
    assert (record.change_source, record.history_user) == ("admin", steward)
    revision_record = revision.history.latest()
    assert revision_record.description == "First, corrected"
    assert (revision_record.change_source, revision_record.history_user) == ("admin", steward)


def test_it_adds_an_inline_conversion_with_history(client, steward, world):
    item = world["item"]
    kgm, h87, _ = world["units"]
    client.force_login(steward)
    url = _url(Item, "change", item.pk)
    response = client.get(url)
    data = _submitted(response)
    prefix = _inline_prefix(response, ItemUnitConversion)
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "2",
            f"{prefix}-1-from_unit": "KGM",
            f"{prefix}-1-to_unit": "H87",
            f"{prefix}-1-factor": "40",
        }
    )

    assert client.post(url, data).status_code == 302

    added = ItemUnitConversion.objects.get(item=item, from_unit=kgm, to_unit=h87)
    record = added.history.get()
    assert (record.history_type, record.change_source, record.history_user) == (
        "+",
        "admin",
        steward,
    )


def test_it_shows_model_validation_errors(client, steward, world):
    client.force_login(steward)
    url = _url(Item, "change", world["item"].pk)
    data = _submitted(client.get(url))
    data["gtin"] = "4000000000014"

    response = client.post(url, data)

    assert response.status_code == 200
    assert "check digit is wrong" in str(response.context["errors"])


def test_it_reverts_to_an_earlier_version_from_the_history_page(client, steward, world):
    item, first = _renamed_by_mistake(world["item"])
    client.force_login(steward)

    response = client.get(_url(Item, "history", item.pk))
    assert response.status_code == 200
    assert b"Renamed by mistake" in response.content
    assert b"Source" in response.content

    revert_url = _url(Item, "simple_history", item.pk, first.history_id)
    response = client.get(revert_url)
    assert response.status_code == 200
    assert b"Revert" in response.content
    response = client.post(revert_url, _submitted(response))

    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.description, item.status) == ("Hex bolt M8x40", Item.Status.ACTIVE)
    record = item.history.latest()
    assert (record.change_source, record.history_user) == ("admin", steward)


def _renamed_by_mistake(item):
    """The item renamed and blocked by mistake: (item, the history record before that)."""
    first = item.history.latest()
    item.description = "Renamed by mistake"
    item.status = Item.Status.BLOCKED
    item.save()
    return item, first


def _history_table(response):
    return _part(response.content.decode(), 'id="change-history"', "</table>")


def _part(content, start, end):
    at = content.index(start)
    return content[at : content.index(end, at)]


def test_it_shows_history_in_labels_not_field_names_codes_or_none(client, steward, world):
    item = world["item"]
    item.status = Item.Status.BLOCKED
    item.item_type = Item.Type.RAW_MATERIAL
    item.manufacturer = ""
    item.save()
    client.force_login(steward)

    table = _history_table(client.get(_url(Item, "history", item.pk)))

    assert "<strong>Status:</strong> Active&nbsp;&rarr;&nbsp;Blocked" in table
    assert "<strong>Item type:</strong> Purchased component&nbsp;&rarr;&nbsp;Raw material" in table
    assert "<strong>Manufacturer:</strong> Bossard&nbsp;&rarr;&nbsp;empty" in table
    assert "None" not in table  # the change's user, an empty reason: words, not None
    assert "change_source" not in table and "Command" in table  # the source by its label


def test_it_shows_what_a_revert_will_change_and_marks_it_as_a_revert(client, steward, world):
    item, first = _renamed_by_mistake(world["item"])
    client.force_login(steward)
    revert_url = _url(Item, "simple_history", item.pk, first.history_id)

    page = client.get(revert_url).content.decode()
    shown = _part(page, 'id="revert-changes"', "</div>")
    assert "What reverting to this version will change" in shown
    assert "<strong>Description:</strong> Renamed by mistake&nbsp;&rarr;&nbsp;Hex bolt M8x40" in (
        shown
    )
    assert "<strong>Status:</strong> Blocked&nbsp;&rarr;&nbsp;Active" in shown
    assert "GTIN:" not in shown  # unchanged fields are not listed

    assert client.post(revert_url, _submitted(client.get(revert_url))).status_code == 302

    record = item.history.latest()
    assert record.history_change_reason.startswith("Reverted to the version of ")
    assert record.history_change_reason.endswith(f"(#{first.history_id})")
    table = _history_table(client.get(_url(Item, "history", item.pk)))
    rows = table.split("<tr")
    newest = next(row for row in rows if "Renamed by mistake&nbsp;&rarr;" in row)
    assert 'class="revert"' in newest and ">Revert</strong>" in newest
    edit = next(row for row in rows if "&rarr;&nbsp;Renamed by mistake" in row)
    assert "Revert" not in edit  # the edit it undid is an edit


def _item_form(item, description):
    """A complete, valid item form, as a steward's browser would post it."""
    return {
        "number": item.number,
        "description": description,
        "item_type": item.item_type,
        "status": item.status,
        "base_unit": item.base_unit_id,
        "gtin": item.gtin,
        "manufacturer": item.manufacturer,
        "mpn": item.mpn,
        "commodity": item.commodity,
        "net_weight": "",
        "weight_unit": "",
    }


def test_it_lets_a_viewer_look_but_not_change(client, viewer, world):
    item = world["item"]
    client.force_login(viewer)
    for model in (Item, Supplier, Location, Calendar, Unit, CodeList):
        assert client.get(_url(model, "changelist")).status_code == 200, model

    url = _url(Item, "change", item.pk)
    response = client.get(url)
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    response = client.post(url, _item_form(item, "Changed by a viewer"))
    assert response.status_code == 403
    assert client.get(_url(Item, "add")).status_code == 403

    first = item.history.earliest()
    revert_url = _url(Item, "simple_history", item.pk, first.history_id)
    response = client.get(revert_url)
    assert response.status_code == 200
    assert b'value="Revert"' not in response.content
    assert b'name="description"' not in response.content
    assert client.post(revert_url, _item_form(item, "Reverted by a viewer")).status_code == 403
    item.refresh_from_db()
    assert item.description == "Hex bolt M8x40"


def test_it_keeps_unit_codes_fixed_but_lets_stewards_map_them(client, steward, world):
    h87 = world["units"][1]
    client.force_login(steward)
    url = _url(Unit, "change", h87.pk)
    response = client.get(url)
    assert "code" not in response.context["adminform"].form.fields
    assert "name" not in response.context["adminform"].form.fields
    data = _submitted(response)
    data.update({"status": "deprecated", "pint_expression": "count"})

    assert client.post(url, data).status_code == 302

    h87.refresh_from_db()
    assert (h87.code, h87.name, h87.status, h87.pint_expression) == (
        "H87",
        "piece",
        "deprecated",
        "count",
    )
    assert h87.history.latest().change_source == "admin"


def test_it_picks_authoritative_domains_with_checkboxes(client, steward, db):
    client.force_login(steward)
    response = client.post(
        _url(SourceSystem, "add"),
        {"code": "ERP_CLOUD", "name": "Cloud ERP", "kind": "erp", "authoritative_for": ["item"]},
    )
    assert response.status_code == 302
    system = SourceSystem.objects.get(code="ERP_CLOUD")
    assert system.authoritative_for == ["item"]
    assert system.history.get().change_source == "admin"


def test_it_offers_only_usable_units_in_unit_pickers(client, steward, world):
    Unit.objects.create(code="KGX", name="kilogram gone", status=Unit.Status.DELETED)
    client.force_login(steward)
    response = client.get(
        reverse("admin:autocomplete"),
        {"term": "kilogram", "app_label": "mdm", "model_name": "item", "field_name": "base_unit"},
    )
    assert [result["id"] for result in response.json()["results"]] == ["KGM"]


def test_it_edits_working_weekdays_as_checkboxes(client, steward, world):
    calendar = world["calendar"]
    client.force_login(steward)
    url = _url(Calendar, "change", calendar.pk)
    response = client.get(url)
    assert response.context["adminform"].form["working_weekdays"].value() == [
        "0",
        "1",
        "2",
        "3",
        "4",
    ]
    data = _submitted(response)
    data["working_weekdays"] = ["0", "1", "2", "3", "4", "5"]

    assert client.post(url, data).status_code == 302
    calendar.refresh_from_db()
    assert calendar.working_weekdays == "1111110"

    data["working_weekdays"] = []
    response = client.post(url, data)
    assert response.status_code == 200
    assert "at least one working weekday" in str(response.context["errors"])


def test_it_round_trips_the_weekday_mask(db):
    assert CalendarForm(instance=Calendar(working_weekdays="0110001"))[
        "working_weekdays"
    ].value() == ["1", "2", "6"]
    form = CalendarForm(
        {"code": "SAT", "name": "Saturdays", "timezone": "UTC", "working_weekdays": ["5"]}
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["working_weekdays"] == "0000010"
    unchanged = CalendarForm(
        {"code": "SAT", "name": "Saturdays", "timezone": "UTC", "working_weekdays": ["5"]},
        instance=Calendar(code="SAT", name="Saturdays", timezone="UTC", working_weekdays="0000010"),
    )
    assert "working_weekdays" not in unchanged.changed_data


def test_it_lists_and_revokes_api_clients_without_showing_the_hash(admin_client, world):
    api_client = world["api_client"]
    response = admin_client.get(_url(ApiClient, "changelist"))
    assert b"create_api_client" in response.content
    response = admin_client.get(_url(ApiClient, "change", api_client.pk))
    assert api_client.key_hash.encode() not in response.content
    assert list(response.context["adminform"].form.fields) == ["is_active"]

    response = admin_client.post(
        _url(ApiClient, "changelist"),
        {"action": "revoke", admin.helpers.ACTION_CHECKBOX_NAME: [api_client.pk]},
    )

    assert response.status_code == 302
    api_client.refresh_from_db()
    assert api_client.is_active is False


def test_a_steward_revokes_an_api_key_as_the_readme_says(client, steward, world):
    """README, Logging in: "Revoke a key by unticking *active* on the API client in the
    admin" (the printed login is a steward's) or with the list's action."""
    api_client = world["api_client"]
    client.force_login(steward)
    assert client.get(_url(ApiClient, "changelist")).status_code == 200

    response = client.post(_url(ApiClient, "change", api_client.pk), {})

    assert response.status_code == 302
    api_client.refresh_from_db()
    assert api_client.is_active is False


def test_a_steward_revokes_api_keys_with_the_action(client, steward, world):
    api_client = world["api_client"]
    client.force_login(steward)
    response = client.post(
        _url(ApiClient, "changelist"),
        {"action": "revoke", admin.helpers.ACTION_CHECKBOX_NAME: [api_client.pk]},
    )
    assert response.status_code == 302
    api_client.refresh_from_db()
    assert api_client.is_active is False


def test_only_an_administrator_turns_a_revoked_key_back_on(client, admin_client, steward, world):
    api_client = world["api_client"]
    ApiClient.objects.filter(pk=api_client.pk).update(is_active=False)
    client.force_login(steward)
    response = client.get(_url(ApiClient, "change", api_client.pk))
    assert list(response.context["adminform"].form.fields) == []
    client.post(_url(ApiClient, "change", api_client.pk), {"is_active": "on"})
    api_client.refresh_from_db()
    assert api_client.is_active is False

    admin_client.post(_url(ApiClient, "change", api_client.pk), {"is_active": "on"})
    api_client.refresh_from_db()
    assert api_client.is_active is True


@pytest.mark.parametrize("model", ["auth.user", "auth.group"])
def test_a_steward_does_not_manage_users_or_groups(client, steward, world, model):
    """README, Logging in: users and groups (who holds which role) are an administrator's."""
    client.force_login(steward)
    app_label, model_name = model.split(".")
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    assert client.get(url).status_code == 403


def _queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _more_items(world, first, count):
    h87, xbx = world["units"][1], world["units"][2]
    for n in range(first, first + count):
        item = Item.objects.create(
            number=f"900-{n:03d}", description="Bulk", base_unit=h87, item_type="component"
        )
        ItemUnitConversion.objects.create(
            item=item, supplier=world["supplier"], from_unit=xbx, to_unit=h87, factor=6
        )


def _more_sites_and_locations(world, first, count):
    for n in range(first, first + count):
        site = SupplierSite.objects.create(
            supplier=world["supplier"], code=f"S{n}", country="DE", calendar=world["calendar"]
        )
        Location.objects.create(
            code=f"SUP-{n}",
            name="Supplier site",
            kind=Location.Kind.SUPPLIER_SITE,
            supplier_site=site,
            parent=world["location"],
            calendar=world["calendar"],
            country="DE",
        )
        day = datetime.date(2023, 1, 1) + datetime.timedelta(days=n)
        CalendarException.objects.create(
            calendar=world["calendar"], start=day, end=day, reason="Stocktake"
        )
        CodeValue.objects.create(code_list=world["code_list"], code=f"V{n}", meaning="Value")


@pytest.mark.parametrize(
    ("model", "add_rows"),
    [
        (Item, _more_items),
        (ItemUnitConversion, _more_items),
        (SupplierSite, _more_sites_and_locations),
        (Location, _more_sites_and_locations),
        (CalendarException, _more_sites_and_locations),
        (CodeValue, _more_sites_and_locations),
    ],
)
def test_it_lists_records_without_a_query_per_row(client, steward, world, model, add_rows):
    client.force_login(steward)
    url = _url(model, "changelist")
    add_rows(world, 0, 2)
    with_few_rows = _queries(client, url)
    add_rows(world, 2, 28)
    assert model.objects.count() >= 30
    assert _queries(client, url) <= with_few_rows


def test_it_refuses_two_new_released_revisions_that_overlap_in_one_save(client, steward, world):
    item = world["item"]
    client.force_login(steward)
    url = _url(Item, "change", item.pk)
    response = client.get(url)
    data = _submitted(response)
    prefix = _inline_prefix(response, ItemRevision)
    data[f"{prefix}-TOTAL_FORMS"] = "3"
    # Both end before revision A starts (2024), so each alone would be accepted.
    for index, (code, start) in enumerate((("X", "2020-01-01"), ("Y", "2020-06-01")), start=1):
        data.update(
            {
                f"{prefix}-{index}-revision": code,
                f"{prefix}-{index}-status": "released",
                f"{prefix}-{index}-effective_from": start,
                f"{prefix}-{index}-effective_to": "2020-12-31",
            }
        )

    response = client.post(url, data)

    assert response.status_code == 200
    assert "The rows starting 2020-01-01 and 2020-06-01 overlap" in response.content.decode()
    assert not item.revisions.filter(revision__in=["X", "Y"]).exists()


def test_a_merged_record_is_shown_but_never_edited_or_deleted(client, steward, world):
    supplier = world["supplier"]
    survivor = Supplier.objects.create(number="S-2000", name="Acme Fasteners", country="DE")
    Supplier.objects.filter(pk=supplier.pk).update(merged_into=survivor.public_id)
    client.force_login(steward)
    url = _url(Supplier, "change", supplier.pk)

    page = client.get(url)
    edited = client.post(url, {"name": "Renamed", "number": "S-1000", "country": "DE"})
    deleted = client.post(_url(Supplier, "delete", supplier.pk), {"post": "yes"})

    assert page.status_code == 200
    assert f"was merged into {survivor.public_id}" in page.content.decode()
    assert edited.status_code == 403 and deleted.status_code == 403
    supplier.refresh_from_db()
    assert supplier.name == "Acme Fasteners"
