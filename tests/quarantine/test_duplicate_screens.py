"""The duplicates review screens through the Django test client: a steward finds a supplier
onboarded twice in the queue, compares the two records side by side and decides; a viewer
looks without deciding."""

import re

import pytest

from quarantine.duplicate_cases import open_cases
from xref import duplicates
from xref.models import DuplicateRun

pytestmark = pytest.mark.django_db

QUEUE = "/quarantine/duplicates/supplier/"


def _text(response):
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_queue_lists_the_pair_by_names_with_its_systems_and_open_cases(
    kugelmann_twice, steward_client
):
    kugelmann, twin, _ = kugelmann_twice

    response = steward_client.get(QUEUE)

    assert response.status_code == 200
    text = _text(response)
    assert f"{kugelmann.public_id} Kugelmann" in text
    assert f"{twin.public_id} Kugelmann GmbH" in text
    assert "Supplier network SUPPLIER_NET" in text
    assert "1 open case" in text
    html = response.content.decode()
    assert f'href="/quarantine/?supplier={kugelmann.public_id}"' in html
    assert 'id="find-duplicates"' in html
    assert 'aria-current="page">Duplicates</a>' in html  # the screens' navigation


def test_open_cases_are_counted_per_record_by_every_code_that_names_it(kugelmann_twice):
    kugelmann, twin, _ = kugelmann_twice

    assert open_cases("supplier", {kugelmann.public_id, twin.public_id}) == {
        kugelmann.public_id: 1,
        twin.public_id: 0,
    }


def test_not_the_same_from_the_screen_leaves_the_queue_and_survives_a_recheck(
    kugelmann_twice, steward_client, steward, django_capture_on_commit_callbacks
):
    kugelmann, twin, pair = kugelmann_twice
    page = steward_client.get(f"{QUEUE}pairs/{pair.pk}/?next={QUEUE}")
    assert 'value="not_same"' in page.content.decode()

    response = steward_client.post(
        f"{QUEUE}pairs/{pair.pk}/decide/",
        {"decision": "not_same", "note": "Two companies", "seen": "open", "next": QUEUE},
    )

    assert response.status_code == 302
    assert response["Location"] == QUEUE
    after = steward_client.get(QUEUE)
    assert "not the same" in _text(after)  # the message
    assert after.context["page"].paginator.count == 0
    assert 'id="duplicate-clusters"' not in after.content.decode()
    duplicates.check("supplier", twin.public_id)
    with django_capture_on_commit_callbacks(execute=True):
        duplicates.full_run("supplier")
    pair.refresh_from_db()
    assert (pair.status, pair.decided_by, pair.note) == ("not_same", steward, "Two companies")
    assert steward_client.get(QUEUE).context["page"].paginator.count == 0
    decided = steward_client.get(QUEUE, {"status": "not_same"})
    assert f"{twin.public_id} Kugelmann GmbH" in _text(decided)


def test_the_pair_page_marks_differing_fields_and_tells_the_evidence_in_words(
    kugelmann_twice, steward_client
):
    kugelmann, twin, pair = kugelmann_twice

    response = steward_client.get(f"{QUEUE}pairs/{pair.pk}/")

    html = response.content.decode()
    assert '<tr class="differs" data-field="name">' in html
    assert '<tr class="agrees" data-field="country">' in html
    assert '<tr class="differs" data-field="vat">' in html
    text = _text(response)
    assert "one value, written differently" in text  # the VAT number, spaced out
    assert "DUNS, LEI or VAT number: the same" in text
    assert "Found:" in text  # the history's first entry
    assert f"{kugelmann.public_id} Kugelmann" in text and "1 open case" in text


def test_a_decision_is_undone_and_both_show_in_the_history(
    kugelmann_twice, steward_client, steward
):
    _, _, pair = kugelmann_twice
    url = f"{QUEUE}pairs/{pair.pk}/"
    steward_client.post(f"{url}decide/", {"decision": "later", "seen": "open"})
    later = steward_client.get(url)
    assert 'id="undo"' in later.content.decode()

    response = steward_client.post(f"{url}decide/", {"decision": "open", "seen": "later"})

    assert response["Location"] == url
    pair.refresh_from_db()
    assert pair.status == "open"
    history = steward_client.get(url).context["shown"].history
    assert [(entry.words, entry.by) for entry in history][:2] == [
        ("Undone: back to the queue", steward.username),
        ("Put off for later", steward.username),
    ]


def test_a_decision_on_a_pair_decided_meanwhile_changes_nothing(kugelmann_twice, steward_client):
    _, _, pair = kugelmann_twice
    duplicates.decide(pair, "same")

    response = steward_client.post(
        f"{QUEUE}pairs/{pair.pk}/decide/", {"decision": "not_same", "seen": "open"}, follow=True
    )

    assert "nothing was changed" in _text(response)
    pair.refresh_from_db()
    assert pair.status == "same"


def test_a_viewer_sees_the_queue_without_buttons_and_may_not_decide(
    kugelmann_twice, client, viewer
):
    _, _, pair = kugelmann_twice
    client.force_login(viewer)

    queue = client.get(QUEUE).content.decode()
    page = client.get(f"{QUEUE}pairs/{pair.pk}/").content.decode()

    assert "find-duplicates" not in queue
    assert 'name="decision"' not in page
    assert client.post(f"{QUEUE}pairs/{pair.pk}/decide/", {"decision": "same"}).status_code == 403
    assert client.post(f"{QUEUE}runs/").status_code == 403
    pair.refresh_from_db()
    assert pair.status == "open"


def test_find_duplicates_starts_a_run_whose_progress_the_queue_shows(
    kugelmann_twice, steward_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = steward_client.post(f"{QUEUE}runs/")

    assert response.status_code == 302
    run = DuplicateRun.objects.get()
    progress = steward_client.get(f"{QUEUE}runs/{run.pk}/progress.json").json()
    assert (progress["finished"], progress["percent"], progress["pairs_found"]) == (True, 100, 1)
    assert "Finished: 1 pair found." in _text(steward_client.get(QUEUE))


def test_an_unknown_kind_is_not_found(steward_client):
    assert steward_client.get("/quarantine/duplicates/vendor/").status_code == 404
