"""The cross-reference registry in the admin, found by the record a reference names: its
public id or its name finds every code any system has for it, and the canonical column is a
link to the record's page."""

import pytest
from django.urls import reverse

from xref.models import CrossReference

pytestmark = pytest.mark.django_db

URL = reverse("admin:xref_crossreference_changelist")


@pytest.fixture
def references(world, add_reference):
    """Acme is 100234 in the legacy ERP and ACME-NET on the network; the bolt is 100234 in
    the legacy ERP (plant 1000) and BOLT-8 in planning; the plant is DE01-P in planning."""
    return {
        "acme_legacy": add_reference(world.legacy, "100234", world.acme),
        "acme_network": add_reference(world.network, "ACME-NET", world.acme),
        "acme_site": add_reference(world.network, "ACME-NET-HQ", world.acme_hq),
        "bolt_legacy": add_reference(world.legacy, "100234", world.bolt, scope="1000"),
        "bolt_planning": add_reference(world.planning, "BOLT-8", world.bolt),
        "plant": add_reference(world.planning, "DE01-P", world.plant),
    }


def _found(client, term):
    response = client.get(URL, {"q": term})
    assert response.status_code == 200
    return set(response.context["cl"].result_list)


def test_it_finds_a_records_references_by_its_public_id(client, steward, world, references):
    client.force_login(steward)

    assert _found(client, world.bolt.public_id) == {
        references["bolt_legacy"],
        references["bolt_planning"],
    }
    assert _found(client, world.acme.public_id.lower()) >= {
        references["acme_legacy"],
        references["acme_network"],
    }


def test_it_finds_a_records_references_by_a_part_of_its_name(client, steward, world, references):
    client.force_login(steward)

    # The supplier's own codes and its site's (the site belongs to Acme).
    assert _found(client, "acme") == {
        references["acme_legacy"],
        references["acme_network"],
        references["acme_site"],
    }
    assert _found(client, "Hex bolt") == {references["bolt_legacy"], references["bolt_planning"]}
    assert _found(client, "Ingolstadt") == {references["plant"]}


def test_a_code_still_finds_its_references(client, steward, world, references):
    client.force_login(steward)

    assert _found(client, "DE01-P") == {references["plant"]}
    # 100234 is a code of both, and the bolt's own number: its planning code comes too.
    assert _found(client, "100234") == {
        references["acme_legacy"],
        references["bolt_legacy"],
        references["bolt_planning"],
    }
    assert _found(client, "Nothing like it") == set()


def test_the_canonical_column_links_to_the_records_page(client, steward, world, references):
    client.force_login(steward)

    page = client.get(URL).content.decode()

    bolt = reverse("admin:mdm_item_change", args=[world.bolt.pk])
    acme = reverse("admin:mdm_supplier_change", args=[world.acme.pk])
    assert f'<a href="{bolt}">{world.bolt.public_id} {world.bolt.description}</a>' in page
    assert f'<a href="{acme}">{world.acme.public_id} {world.acme.name}</a>' in page
    assert CrossReference.objects.count() == 6
