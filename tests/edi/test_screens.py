"""The EDI screens as a steward or a viewer uses them: the interchanges by partner, direction
and status in words; one interchange with its transaction sets, the messages they became,
the 997 sent back and its raw segments, the offending one highlighted; the download; and who
may look. The interchanges are received through edi.receiving, as the API would."""

import re
from html import unescape

import pytest

from edi import views
from edi.models import Interchange
from tests.edi import partners
from tests.edi.partners import NORTHWIND, ORDRSP, SAMPLE
from tests.edi.partners import received as _receive
from tests.edi.partners import with_ as _with

pytestmark = pytest.mark.django_db


@pytest.fixture
def network(db):
    return partners.network()


@pytest.fixture
def fort_wayne(network):
    return partners.fort_wayne(network)


@pytest.fixture
def northwind(network):
    return partners.northwind(network)


@pytest.fixture
def acme(network):
    return partners.acme(network)


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


def _rows(html, table_id):
    """The text of each body row of a table, tags dropped and spaces folded."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.DOTALL).group(0)
    body = table.split("<tbody>", 1)[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)
    return [_text(row) for row in rows]


def _text(html):
    """The page's text, tags dropped and spaces folded."""
    return unescape(" ".join(re.sub(r"<[^>]+>", " ", html).split()))


def _row_tags(html):
    """{segment number: the <tr ...> tag} of the raw view."""
    return {int(number): tag for tag, number in re.findall(r'(<tr id="segment-(\d+)"[^>]*>)', html)}


def _segment_text(html, number):
    row = re.search(rf'<tr id="segment-{number}"[^>]*>(.*?)</tr>', html, re.DOTALL).group(1)
    return re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)


# --- the list --------------------------------------------------------------------------------


def test_it_lists_interchanges_newest_first_with_partners_and_statuses_in_words(
    viewer_client, fort_wayne
):
    accepted = _receive(SAMPLE)
    broken = _receive(_with(SAMPLE, b"IEA*1*000000005", b"IEA*1*000000006"))
    stranger = _receive(_with(SAMPLE, b"ZZ*1556150        ", b"ZZ*XYZ            "))
    again = _receive(SAMPLE)

    response = viewer_client.get("/edi/")

    assert response.status_code == 200
    html = response.content.decode()
    rows = _rows(html, "interchanges")
    # Newest first; each refusal a partner is known for is answered with a TA1 right after.
    assert len(rows) == 7
    assert "Fort Wayne Books" in rows[0] and "Outbound" in rows[0] and "Sent" in rows[0]
    assert "Interchange acknowledgement TA1" in rows[0]
    assert f"answers {again.public_id}" in rows[0]
    # A duplicate's error is two sentences: the list shows the first.
    assert (
        "Duplicate Interchange control number 000000005 from Fort Wayne Books was taken in "
        f"already, as {accepted.public_id} on"
    ) in rows[1]
    assert "(the same interchange)." in rows[1]
    assert "Nothing of this one was used" not in rows[1]
    assert "unknown sender ZZ:XYZ" in rows[2]
    assert "Rejected No trading partner is set up for the sender ZZ:XYZ: a steward adds" in rows[2]
    assert "no acknowledgement sent" in rows[2]
    assert f"answers {broken.public_id}" in rows[3]
    assert "Fort Wayne Books" in rows[4] and "Inbound" in rows[4]
    assert (
        "Rejected The IEA trailer at line 30 carries control number '000000006'; it must "
        "repeat ISA13 '000000005'."
    ) in rows[4]
    assert (
        "Functional acknowledgement 997" in rows[5] and f"answers {accepted.public_id}" in rows[5]
    )
    assert "PO acknowledgement 855" in rows[6] and "000000005" in rows[6]
    assert "Accepted" in rows[6]
    [message] = [found.message for found in accepted.transaction_sets.all()]
    assert f"{message.public_id} received" in rows[6]
    [ack] = accepted.acknowledgements.all()
    assert f"answered by 997 {ack.public_id}" in rows[6]
    assert f'href="/edi/{stranger.public_id}/"' in html
    assert f'href="/admin/validation/inboundmessage/{message.pk}/change/"' in html
    assert f'href="/admin/edi/partner/{fort_wayne.pk}/change/"' in html


def test_it_filters_by_partner_direction_and_status(viewer_client, fort_wayne, northwind):
    _receive(SAMPLE)
    _receive(NORTHWIND)
    _receive(_with(SAMPLE, b"IEA*1*000000005", b"IEA*1*000000006"))

    by_partner = _rows(
        viewer_client.get(
            "/edi/", {"partner": "Northwind Traders", "direction": "in"}
        ).content.decode(),
        "interchanges",
    )
    assert len(by_partner) == 1
    assert "Northwind Traders" in by_partner[0]
    assert "PO acknowledgement 855" in by_partner[0] and "Ship notice 856" in by_partner[0]

    outbound = _rows(
        viewer_client.get(
            "/edi/", {"partner": "Northwind Traders", "direction": "out"}
        ).content.decode(),
        "interchanges",
    )
    assert len(outbound) == 2  # a 997 for each of its two groups
    assert all("Functional acknowledgement 997" in row for row in outbound)

    rejected = _rows(
        viewer_client.get("/edi/", {"status": "rejected"}).content.decode(), "interchanges"
    )
    assert len(rejected) == 1
    assert "IEA trailer" in rejected[0]

    html = viewer_client.get("/edi/", {"status": "duplicate"}).content.decode()
    assert "No interchanges match these filters." in html
    # The choices are the partners' names and the statuses in words.
    assert '<option value="Fort Wayne Books">Fort Wayne Books</option>' in html
    assert '<option value="partly_accepted">Accepted with errors</option>' in html
    assert '<option value="duplicate" selected>Duplicate</option>' in html


def test_unknown_senders_are_a_partner_choice_of_their_own(viewer_client, fort_wayne):
    _receive(SAMPLE)
    _receive(_with(SAMPLE, b"ZZ*1556150        ", b"ZZ*XYZ            "))

    rows = _rows(viewer_client.get("/edi/", {"partner": "-"}).content.decode(), "interchanges")

    assert len(rows) == 1 and "unknown sender ZZ:XYZ" in rows[0]


def test_the_list_is_paged_by_fifty(viewer_client, fort_wayne):
    for control in range(1, 52):
        number = str(control).zfill(9).encode()
        raw = _with(SAMPLE, b"*000000005*0*P", b"*" + number + b"*0*P")
        _receive(_with(raw, b"IEA*1*000000005", b"IEA*1*" + number))
    html = viewer_client.get("/edi/", {"direction": "in"}).content.decode()
    assert len(_rows(html, "interchanges")) == 50
    assert "Page 1 of 2" in html
    assert 'href="?direction=in&amp;page=2"' in html
    second = viewer_client.get("/edi/", {"direction": "in", "page": 2}).content.decode()
    [last] = _rows(second, "interchanges")
    assert "000000001" in last  # the first received is the last shown


# --- one interchange -------------------------------------------------------------------------


def test_an_accepted_interchange_shows_its_sets_message_997_and_segments(viewer_client, fort_wayne):
    found = _receive(SAMPLE, source="directory", filename="/inbox/fort-wayne/po-ack-5.edi")
    [ack] = found.acknowledgements.all()
    [message] = [found.message for found in found.transaction_sets.all()]

    response = viewer_client.get(f"/edi/{found.public_id}/")

    assert response.status_code == 200
    html = response.content.decode()
    facts = _text(html.split('id="facts"')[1].split("</dl>")[0])
    assert "Partner Fort Wayne Books" in facts
    assert "Sender ZZ:1556150 Receiver ZZ:123MILL (the hub)" in facts
    assert "Control number 000000005" in facts
    assert "Came by Watched directory, file /inbox/fort-wayne/po-ack-5.edi" in facts
    assert "Size 1.1 KB (1129 bytes)" in facts
    assert found.sha256 in facts
    [set_row] = _rows(html, "transaction-sets")
    assert set_row.startswith("PO acknowledgement 855 control 0005 · group 5")
    assert "855 for PO POTEST1112" in set_row
    assert f"{message.public_id} Purchase order acknowledgement · received" in set_row
    # The 997 sent back, in full, and a link to its own page.
    assert f'href="/edi/{ack.public_id}/"' in html
    assert "AK1*PR*5~" in html and "AK2*855*0005~" in html and "AK9*A*1*1*1~" in html
    # The raw view: one segment a row with its line; nothing highlighted.
    tags = _row_tags(html)
    assert len(tags) == 30
    assert _segment_text(html, 4)[1:] == [
        "4",
        "BAK*00*AD*POTEST1112*20201015**60169126***20201015~",
    ]
    assert _segment_text(html, 30)[1:] == ["30", "IEA*1*000000005~"]
    assert "offending" not in html
    assert "Go to the offending segment" not in html
    assert 'download="po-ack-5.edi"' in html


def test_a_broken_interchange_highlights_its_offending_segment(viewer_client, fort_wayne):
    found = _receive(_with(SAMPLE, b"IEA*1*000000005", b"IEA*1*000000006"))
    assert found.status == Interchange.Status.REJECTED

    html = viewer_client.get(f"/edi/{found.public_id}/").content.decode()

    assert "The IEA trailer at line 30 carries control number &#x27;000000006&#x27;" in html
    assert "TA1 note code 001" in html
    assert "The interchange control number in the header and trailer do not match" in html
    tags = _row_tags(html)
    assert len(tags) == 30  # the segments it could read before the IEA failed
    assert [number for number, tag in tags.items() if "offending" in tag] == [30]
    assert _segment_text(html, 30)[1:] == ["30", "IEA*1*000000006~"]
    assert '<a href="#segment-30" id="go-to-offending">Go to the offending segment</a>' in html
    # It is answered with a TA1, shown in full: interchange 5 rejected, note code 001.
    assert "TA1*000000005*" in html and "*R*001~" in html


def test_a_rejected_set_highlights_the_segment_of_its_problem(viewer_client, fort_wayne):
    found = _receive(_with(SAMPLE, b"SE*26*0005", b"SE*25*0005"))
    assert found.status == Interchange.Status.REJECTED

    html = viewer_client.get(f"/edi/{found.public_id}/").content.decode()

    [set_row] = _rows(html, "transaction-sets")
    assert "Rejected" in set_row and "none: nothing of it was used" in set_row
    assert "SE01 at line 28 says '25' segments, but the set has 26" in set_row
    assert "segment 26 SE" in set_row
    assert "Number of included segments does not match actual count 4" in set_row
    assert "line 28" in set_row
    offending = [number for number, tag in _row_tags(html).items() if "offending" in tag]
    assert offending == [28]
    assert _segment_text(html, 28)[1:] == ["28", "SE*25*0005~"]
    assert "AK5*R*4~" in html  # the 997 says so too


def test_an_edifact_interchange_is_cut_at_its_terminators(viewer_client, acme):
    found = _receive(_with(ORDRSP, b"UNT+18+1'", b"UNT+17+1'"))

    html = viewer_client.get(f"/edi/{found.public_id}/").content.decode()

    tags = _row_tags(html)
    assert len(tags) == 21  # UNA, UNB, 18 of the message, UNZ
    assert _segment_text(html, 1)[1:] == ["1", "UNA:+.? &#x27;"]
    assert _segment_text(html, 3)[1:] == ["3", "UNH+1+ORDRSP:D:96A:UN&#x27;"]
    assert _segment_text(html, 20)[1:] == ["20", "UNT+17+1&#x27;"]
    assert [number for number, tag in tags.items() if "offending" in tag] == [20]
    [set_row] = _rows(html, "transaction-sets")
    assert "UNT element 1 says message 1 has 17 segments; it has 18" in set_row
    assert "segment 18 UNT, element 1 · Control count does not match" in set_row
    assert "Syntax and service report CONTRL" in _text(html)


def test_a_long_interchange_shows_its_first_segments_and_those_around_the_offending_one(
    viewer_client, fort_wayne, monkeypatch
):
    monkeypatch.setattr(views, "ROWS_SHOWN", 10)
    found = _receive(_with(SAMPLE, b"IEA*1*000000005", b"IEA*1*000000006"))

    html = viewer_client.get(f"/edi/{found.public_id}/").content.decode()

    # The first 10, then the offending IEA (30) with the 5 before it; 11 to 24 left out.
    assert sorted(_row_tags(html)) == [*range(1, 11), *range(25, 31)]
    assert "… 14 segments not shown" in _text(html)
    assert "30 segments" in _text(html)


def test_a_body_that_is_no_interchange_is_shown_at_its_lines(viewer_client):
    found = _receive(b"Dear hub,\r\n  please find our order attached.\r\n\r\nRegards\r\n")

    html = viewer_client.get(f"/edi/{found.public_id}/").content.decode()

    assert "Its lines as received (it was not read as an interchange)" in _text(html)
    assert _segment_text(html, 1)[1:] == ["1", "Dear hub,"]
    assert _segment_text(html, 2)[1:] == ["2", "please find our order attached."]
    assert _segment_text(html, 3)[1:] == ["4", "Regards"]
    assert len(_row_tags(html)) == 3
    rows = _rows(viewer_client.get("/edi/").content.decode(), "interchanges")
    assert "unknown sender (its header could not be read)" in rows[0]
    assert "Rejected The body is neither an X12 interchange" in rows[0]


def test_an_outbound_acknowledgement_links_the_interchange_it_answers(viewer_client, fort_wayne):
    found = _receive(SAMPLE)
    [ack] = found.acknowledgements.all()

    html = viewer_client.get(f"/edi/{ack.public_id}/").content.decode()

    assert "Functional acknowledgement to Fort Wayne Books" in _text(html)
    assert f'<a href="/edi/{found.public_id}/">{found.public_id}</a>' in html
    assert "Outbound: sent by the hub to the partner" in html
    assert "Sender ZZ:123MILL (the hub) Receiver ZZ:1556150" in _text(html)
    assert [tag for tag in _row_tags(html).values() if "offending" in tag] == []
    assert "Acknowledgements sent back" not in html


def test_the_raw_bytes_download_under_the_files_name(viewer_client, fort_wayne):
    from_api = _receive(SAMPLE)
    from_directory = _receive(
        _with(SAMPLE, b"IEA*1*000000005", b"IEA*1*000000006"),
        source="directory",
        filename="/inbox/fw/855 batch.edi",
    )

    response = viewer_client.get(f"/edi/{from_api.public_id}/raw/")
    assert response.content == SAMPLE
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"] == f'attachment; filename="{from_api.public_id}.x12"'
    response = viewer_client.get(f"/edi/{from_directory.public_id}/raw/")
    assert response["Content-Disposition"] == 'attachment; filename="855 batch.edi"'


# --- who may look ----------------------------------------------------------------------------


def test_a_steward_sees_the_screens_and_the_nav_link(client, steward, fort_wayne):
    found = _receive(SAMPLE)
    client.force_login(steward)
    html = client.get("/edi/").content.decode()
    assert '<a href="/edi/" aria-current="page">EDI</a>' in html
    assert client.get(f"/edi/{found.public_id}/").status_code == 200


def test_an_anonymous_visitor_is_sent_to_log_in(client, fort_wayne):
    found = _receive(SAMPLE)
    for url in ("/edi/", f"/edi/{found.public_id}/", f"/edi/{found.public_id}/raw/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/admin/login/?next={url}"


def test_a_login_without_the_permission_is_refused(client, django_user_model, fort_wayne):
    found = _receive(SAMPLE)
    # Staff (the admin lets them in) but in no role: no permission to view interchanges.
    outsider = django_user_model.objects.create_user(username="otto", password="x", is_staff=True)
    client.force_login(outsider)
    for url in ("/edi/", f"/edi/{found.public_id}/", f"/edi/{found.public_id}/raw/"):
        assert client.get(url).status_code == 403


def test_the_nav_link_is_hidden_without_the_permission(client, django_user_model):
    outsider = django_user_model.objects.create_user(username="otto", password="x", is_staff=True)
    client.force_login(outsider)
    assert ">EDI</a>" not in client.get("/admin/").content.decode()


def test_an_unknown_interchange_is_a_404_that_says_so(viewer_client):
    response = viewer_client.get("/edi/EDI-999999/")
    assert response.status_code == 404
    assert "No interchange EDI-999999" in response.content.decode()
    assert viewer_client.get("/edi/EDI-999999/raw/").status_code == 404
