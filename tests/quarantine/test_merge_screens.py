"""The merge screens through the Django test client (issue 19, item 4): a steward opens the
merge of a pair from its page, keeps one value of the merged record, merges, sees the merged
record and unmerges it from the merges screen; a form sent after a record changed says so and
keeps the steward's picks; a viewer looks without merging."""

import html
import re

import pytest

from mdm.models import Supplier
from xref import merging
from xref.models import CrossReference, DuplicatePair, Merge

pytestmark = pytest.mark.django_db

QUEUE = "/quarantine/duplicates/supplier/"


def _text(response):
    page = response.content.decode()
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _form(response):
    """The merge form's hidden fields, as the browser would send them back."""
    page = response.content.decode()
    return dict(re.findall(r'<input type="hidden" name="([\w-]+)" value="([^"]*)"', page))


def _checked(response, group):
    page = response.content.decode()
    found = re.search(rf'<input type="radio" name="pick-{group}" value="(\w+)"[^>]*checked', page)
    return found and found[1]


def test_the_pair_page_opens_the_merge_keeping_the_record_more_systems_know(
    kugelmann_twice, steward_client
):
    kugelmann, twin, pair = kugelmann_twice
    pair_page = steward_client.get(f"{QUEUE}pairs/{pair.pk}/").content.decode()
    assert f'href="{QUEUE}pairs/{pair.pk}/merge/"' in pair_page

    response = steward_client.get(f"{QUEUE}pairs/{pair.pk}/merge/")

    assert response.status_code == 200
    text = _text(response)
    assert f"Merge {twin.public_id} Kugelmann GmbH into {kugelmann.public_id} Kugelmann" in text
    page = response.content.decode()
    assert '<tr class="differs" data-field="legal_name">' in page
    assert '<tr class="agrees" data-field="country">' in page
    assert _checked(response, "name") == "loser"  # "Kugelmann GmbH", the longer
    assert _checked(response, "legal_name") == "survivor"
    assert f"the longer {twin.public_id}" in text  # the rule in words, the record beside
    assert "1 cross-reference: Cloud ERP ERP_CLOUD 1" in text
    assert f"Merge {twin.public_id} into {kugelmann.public_id}" in text  # the button
    swapped = steward_client.get(f"{QUEUE}pairs/{pair.pk}/merge/?survivor={twin.public_id}")
    moving = _text(swapped)
    assert f"Merge {kugelmann.public_id} Kugelmann into {twin.public_id}" in moving
    assert "3 cross-references" in moving and "2 supplier sites" in moving
    assert "1 open case, replayed once the merge is done" in moving


def test_a_steward_merges_keeping_the_merged_records_legal_name(
    kugelmann_twice, steward_client, steward
):
    kugelmann, twin, pair = kugelmann_twice
    url = f"{QUEUE}pairs/{pair.pk}/merge/"
    form = _form(steward_client.get(url))

    response = steward_client.post(
        url, {**form, "pick-legal_name": "loser", "pick-name": "survivor", "reason": "Same VAT"}
    )

    merge = Merge.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/quarantine/merges/{merge.pk}/"
    kugelmann.refresh_from_db()
    twin.refresh_from_db()
    assert (kugelmann.name, kugelmann.legal_name) == ("Kugelmann", "Kugelmann KG")
    assert twin.merged_into == kugelmann.public_id
    assert CrossReference.objects.get(code="BP900").supplier == kugelmann
    merged = steward_client.get(response["Location"])
    text = _text(merged)
    assert f"{twin.public_id} Kugelmann GmbH merged into {kugelmann.public_id} Kugelmann" in text
    assert f"Taken from {twin.public_id} Legal name" in text
    assert "Cloud ERP ERP_CLOUD BP900" in text  # the twin's code now leads to the survivor
    assert f"answers with {kugelmann.public_id}" in text
    entry = Supplier.history.filter(id=kugelmann.pk).order_by("-history_date").first()
    assert (entry.history_user, entry.change_source) == (steward, "web")
    assert entry.history_change_reason.endswith("Same VAT")
    assert f"{steward.username} " in text and entry.history_change_reason in text


def test_unmerge_from_the_merges_screen_restores_both_records(kugelmann_twice, steward_client):
    kugelmann, twin, _ = kugelmann_twice
    merge = merging.merge(
        "supplier",
        kugelmann.public_id,
        twin.public_id,
        values={"name": "Kugelmann", "legal_name": "Kugelmann KG"},
    )
    listed = steward_client.get("/quarantine/merges/")
    text = _text(listed)
    assert f"{kugelmann.public_id} Kugelmann {twin.public_id} Kugelmann GmbH" in text
    assert "1 cross-reference" in text and "Unmerge…" in text

    response = steward_client.post(
        f"/quarantine/merges/{merge.pk}/unmerge/",
        {"reason": "Two companies after all", "next": "/quarantine/merges/"},
        follow=True,
    )

    assert response.redirect_chain == [("/quarantine/merges/", 302)]
    kugelmann.refresh_from_db()
    twin.refresh_from_db()
    assert (kugelmann.legal_name, twin.merged_into) == ("Kugelmann Wälzlager GmbH & Co. KG", "")
    assert CrossReference.objects.get(code="BP900").supplier == twin
    text = _text(response)
    assert f"Unmerged: {twin.public_id} is a record of its own again" in text
    assert "Undone by stella.steward" in text and "Two companies after all" in text
    assert "Unmerge…" not in text


def test_a_form_sent_after_a_record_changed_says_so_and_keeps_the_picks(
    kugelmann_twice, steward_client
):
    kugelmann, twin, pair = kugelmann_twice
    url = f"{QUEUE}pairs/{pair.pk}/merge/"
    form = _form(steward_client.get(url))
    twin.legal_name = "Kugelmann Kommanditgesellschaft"
    twin.save()

    response = steward_client.post(
        url, {**form, "pick-legal_name": "loser", "reason": "Same VAT, same address"}
    )

    assert response.status_code == 409
    text = _text(response)
    assert "One of the records changed since you opened this page; look again." in text
    assert f"{twin.public_id} was changed" in text
    assert _checked(response, "legal_name") == "loser"
    assert ">Same VAT, same address</textarea>" in response.content.decode()
    assert "Kugelmann Kommanditgesellschaft" in text  # the values as they are now
    assert not Merge.objects.exists()
    again = steward_client.post(url, {**_form(response), "pick-legal_name": "loser"})
    assert again.status_code == 302
    kugelmann.refresh_from_db()
    assert kugelmann.legal_name == "Kugelmann Kommanditgesellschaft"


def test_a_viewer_sees_the_merge_screens_but_may_not_merge_or_unmerge(
    kugelmann_twice, client, viewer
):
    kugelmann, twin, pair = kugelmann_twice
    merge = merging.merge("supplier", kugelmann.public_id, twin.public_id)
    merging.unmerge(merge)
    client.force_login(viewer)
    url = f"{QUEUE}pairs/{pair.pk}/merge/"

    page = client.get(url)

    assert page.status_code == 200
    assert 'id="merge-button"' not in page.content.decode()
    assert "merging needs the steward role" in _text(page)
    assert client.post(url, _form(page)).status_code == 403
    assert client.get("/quarantine/merges/").status_code == 200
    assert client.post(f"/quarantine/merges/{merge.pk}/unmerge/").status_code == 403
    twin.refresh_from_db()
    assert twin.merged_into == ""


def test_item_and_location_merges_show_related_records_in_words(world, steward_client):
    bearing, bearing_b = world.bearing, world.bearing_b
    items = DuplicatePair.objects.create(
        kind="item", record_a=bearing.public_id, record_b=bearing_b.public_id, score=95.0
    )
    docks = DuplicatePair.objects.create(
        kind="location",
        record_a=world.dock.public_id,
        record_b=world.closed_dock.public_id,
        score=95.0,
    )

    item_page = steward_client.get(f"/quarantine/duplicates/item/pairs/{items.pk}/merge/")
    dock_page = steward_client.get(f"/quarantine/duplicates/location/pairs/{docks.pk}/merge/")

    assert (item_page.status_code, dock_page.status_code) == (200, 200)
    assert "piece H87" in _text(item_page)  # the base unit by its name, the code beside
    assert "kilogram KGM" in _text(item_page)
    dock = _text(dock_page)
    assert f"{world.plant.public_id} HH01" in dock  # the parent by its id and name
    assert "Ship-to" in dock  # a choice by its label
