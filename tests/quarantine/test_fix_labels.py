"""A steward's fix by cross-reference teaches the matcher: the record chosen for the unknown
code is kept as a match for what the message said of it, the other candidates the case
showed as non-matches (labelled pairs, xref.labels)."""

import pytest

from mdm.models import Item
from quarantine import services
from tests.quarantine.test_described_candidates import GTIN, _blocked_order
from tests.quarantine.test_review import _blocked_ship_notice, _on_commit
from tests.validation.world import build_world
from xref.labels import pairs, query_key
from xref.models import MatchLabel

pytestmark = pytest.mark.django_db


def _fix(case, steward, entry, target):
    with _on_commit():
        services.fix_by_reference(
            case,
            by=steward,
            kind=entry["kind"],
            system=entry["system"],
            code=entry["code"],
            target=target,
        )


def test_the_chosen_candidate_is_a_match_and_the_others_shown_are_not(world, steward):
    message = _blocked_ship_notice(world)
    case = message.quarantine_case
    (entry,) = services.suggestions(case)
    shown = [candidate["id"] for candidate in entry["candidates"]]
    # The near miss of the code (6204-2RS-C3 differs in two characters) comes first.
    assert shown[0] == world.bearing.public_id

    _fix(case, steward, entry, world.bearing.public_id)

    # The ship notice says nothing of the item but its code: the code is the query's text.
    query = {"q": "6204-2RS-XX"}
    assert sorted(pairs("item"), key=lambda pair: pair[1]) == sorted(
        [(query, world.bearing.public_id, True)] + [(query, other, False) for other in shown[1:]],
        key=lambda pair: pair[1],
    )
    label = MatchLabel.objects.get(record=world.bearing.public_id)
    assert (label.source, label.decided_by, label.query_key) == (
        "quarantine",
        steward,
        query_key(query),
    )
    message.refresh_from_db()
    assert message.status == "released"


def test_the_query_is_what_the_line_said_of_the_item(client, steward, db):
    world = _described_world()
    message = _blocked_order(
        world, item="4711-NEW", gtin=GTIN, description="  Deep groove ball bearing 6204 "
    )
    case = message.quarantine_case
    (entry,) = services.suggestions(case)
    shown = [candidate["id"] for candidate in entry["candidates"]]
    client.force_login(steward)

    with _on_commit():
        response = client.post(
            f"/quarantine/{case.pk}/fix/", {"entry": 0, "target": world.bearing.public_id}
        )

    assert response.status_code == 302
    query = {"q": "Deep groove ball bearing 6204", "gtin": GTIN}
    assert sorted(pairs("item"), key=lambda pair: pair[1]) == sorted(
        [(query, world.bearing.public_id, True)]
        + [(query, other, False) for other in shown if other != world.bearing.public_id],
        key=lambda pair: pair[1],
    )


def test_a_record_the_steward_found_elsewhere_is_the_match_and_every_suggestion_is_not(
    world, steward
):
    message = _blocked_ship_notice(world)
    case = message.quarantine_case
    (entry,) = services.suggestions(case)
    shown = {candidate["id"] for candidate in entry["candidates"]}
    other = Item.objects.exclude(public_id__in=shown).order_by("pk").first()

    _fix(case, steward, entry, other.public_id)

    decided = {record: is_match for _, record, is_match in pairs("item")}
    assert decided == {other.public_id: True, **dict.fromkeys(shown, False)}


def _described_world():
    world = build_world()
    world.bearing.description = "Deep groove ball bearing 6204-2RS"
    world.bearing.gtin = GTIN
    world.bearing.save()
    return world
