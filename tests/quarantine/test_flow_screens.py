"""The supply flows screens (/quarantine/flows/ and the lists behind its bars) over a small
ledger built row by row: every number on the dashboard is what plain queries of the tables
count (written here, not through validation.flows), each bar opens a list of exactly its
rows, and a bad parameter says what would be accepted and shows the list unfiltered."""

import datetime
import html
import re
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from mdm.models import Location, Supplier
from quarantine import flow_views, supply
from quarantine.models import SupplyExceptionNote
from tests.helpers import logged_in
from validation.models import (
    Acknowledgement,
    ForecastRelease,
    InboundMessage,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    ReceiptLine,
    ShipNotice,
    ShipNoticeLine,
    SupplyException,
)

pytestmark = pytest.mark.django_db

HOUR, DAY = datetime.timedelta(hours=1), datetime.timedelta(days=1)
# Ages well inside each bucket, so a row stays in its bucket however long a test runs.
UNDER_A_DAY, TWO_DAYS, FIVE_DAYS, TEN_DAYS = 2 * HOUR, 2 * DAY, 5 * DAY, 10 * DAY
AGE_KEYS = ("lt1d", "lt3d", "lt7d", "older")
ROW_MARKS = {
    "forecasts": "data-release=",
    "orders": "data-order=",
    "ship-notices": "data-notice=",
    "supply-exceptions": "data-exception=",
}


def bucket(at, now):
    """The dashboard's age bucket of a time, by the plain rule: under a day, 1 to 3 days,
    3 to 7 days, a week or more."""
    age = now - at
    if age < DAY:
        return "lt1d"
    if age < 3 * DAY:
        return "lt3d"
    if age < 7 * DAY:
        return "lt7d"
    return "older"


# --- building the ledger ----------------------------------------------------------------------


class Ledger:
    """Makes ledger rows directly, each with a released message of its own."""

    def __init__(self, world):
        self.world = world
        self.now = timezone.now()
        self.keys = 0

    def message(self, system, message_type):
        self.keys += 1
        return InboundMessage.objects.create(
            message_type=message_type,
            schema_version=1,
            system=self.world.systems[system],
            idempotency_key=f"flow-{self.keys}",
            payload_sha256="0" * 64,
            payload={},
            status="released",
        )

    def release(self, plan_id, version, ago, decision="", decided_ago=None, reason=""):
        decided = {}
        if decision:
            decided = {
                "decided_at": self.now - decided_ago,
                "decided_by": self.world.systems["ERP_LEGACY"],
                "decision_message": self.message("ERP_LEGACY", "forecast"),
                "decision_reason": reason,
            }
        return ForecastRelease.objects.create(
            system=self.world.systems["PLANNING"],
            plan_id=plan_id,
            version=version,
            message=self.message("PLANNING", "forecast"),
            horizon_start=self.now.date(),
            released_at=self.now - ago,
            decision=decision,
            **decided,
        )

    def order(self, po_number, supplier, plant, changed_ago, sequence=1, released=True):
        order = PurchaseOrder.objects.create(
            po_number=po_number,
            supplier=supplier,
            ship_to=plant or self.world.dock,
            plant=plant,
            system=self.world.systems["ERP_LEGACY"],
            change_sequence=sequence,
            order_date=self.now.date(),
            message=self.message("ERP_LEGACY", "purchase_order") if released else None,
            released_at=self.now - changed_ago - DAY,
            changed_at=self.now - changed_ago,
        )
        order.line = PurchaseOrderLine.objects.create(
            order=order,
            line=10,
            item=self.world.bearing,
            quantity=100,
            unit_id="H87",
            base_quantity=100,
            base_unit_id="H87",
            need_by=self.now.date(),
        )
        return order

    def acknowledge(self, order, ago):
        return Acknowledgement.objects.create(
            order=order,
            message=self.message("SUPPLIER_NET", "po_acknowledgement"),
            ack_date=self.now.date(),
            recorded_at=self.now - ago,
        )

    def notice(self, order, shipment_id, shipped_days_ago, recorded_ago, received_days_ago=None):
        notice = ShipNotice.objects.create(
            supplier=order.supplier,
            shipment_id=shipment_id,
            message=self.message("SUPPLIER_NET", "ship_notice"),
            ship_date=timezone.localdate(self.now) - datetime.timedelta(days=shipped_days_ago),
            recorded_at=self.now - recorded_ago,
        )
        ShipNoticeLine.objects.create(notice=notice, order_line=order.line, quantity=10)
        if received_days_ago is not None:
            receipt = Receipt.objects.create(
                receipt_id=f"GR-{shipment_id}",
                message=self.message("ERP_LEGACY", "receipt"),
                received_on=timezone.localdate(self.now)
                - datetime.timedelta(days=received_days_ago),
            )
            ReceiptLine.objects.create(
                receipt=receipt,
                order_line=order.line,
                shipment_id=shipment_id,
                notice=notice,
                quantity=10,
            )
        return notice

    def exception(self, order, item, plant, ago, state="open"):
        ack = self.acknowledge(order, ago)
        line = PurchaseOrderLine.objects.create(
            order=order,
            line=PurchaseOrderLine.objects.filter(order=order).count() * 10 + 10,
            item=item,
            quantity=100,
            unit_id="H87",
            base_quantity=100,
            base_unit_id="H87",
            need_by=self.now.date(),
        )
        return SupplyException.objects.create(
            acknowledgement=ack,
            order_line=line,
            supplier=order.supplier,
            item=item,
            plant=plant,
            status="backordered",
            ordered_quantity=100,
            on_time_quantity=60,
            quantity_at_risk=40,
            unit_id="H87",
            need_by=self.now.date(),
            days_late=7,
            state=state,
            raised_at=self.now - ago,
        )


@pytest.fixture
def ledger(world, steward):
    """Three suppliers, two plants and exceptions without a plant, two commodities and items
    without one; releases pending at every age, decided and superseded; orders waiting and
    answered; ship notices in and out of the week, received and not."""
    w = world
    book = Ledger(w)
    frontier = Supplier.objects.create(number="S-200", name="Frontier Bearing", country="US")
    quiet = Supplier.objects.create(number="S-300", name="Quiet Castings", country="DE")
    monterrey = Location.objects.create(
        code="MX01", name="Monterrey plant", kind="plant", country="MX", timezone="UTC"
    )
    w.bearing.commodity = w.bearing_b.commodity = "Bearings"
    w.sheet.commodity = "Sheet metal"
    for item in (w.bearing, w.bearing_b, w.sheet):
        item.save()

    # Forecast releases: S&OP-A version 1 superseded by version 2, pending; one pending at
    # each other age; decisions inside and outside the week.
    book.release("S&OP-A", 1, TEN_DAYS)
    book.release("S&OP-A", 2, FIVE_DAYS)
    book.release("S&OP-B", 1, UNDER_A_DAY)
    book.release("S&OP-C", 4, TWO_DAYS)
    book.release("S&OP-D", 1, TEN_DAYS)
    book.release("S&OP-E", 1, FIVE_DAYS, "accepted", decided_ago=DAY)
    book.release("S&OP-F", 1, FIVE_DAYS, "rejected", TWO_DAYS, "Horizon starts in the past")
    book.release("S&OP-G", 1, 30 * DAY, "accepted", decided_ago=20 * DAY)

    # Orders: Kugelmann has one changed today, one answered before its change (waits) and one
    # answered after it (does not wait); Frontier one waiting for ten days; an order loaded at
    # go-live (no message) never waits.
    today = book.order("4500000001", w.supplier, w.plant, UNDER_A_DAY, sequence=0)
    changed = book.order("4500000002", w.supplier, w.plant, TWO_DAYS, sequence=2)
    book.acknowledge(changed, 3 * DAY)
    answered = book.order("4500000003", w.supplier, w.plant, FIVE_DAYS)
    book.acknowledge(answered, 4 * DAY)
    late = book.order("4500000004", frontier, monterrey, TEN_DAYS)
    book.order("4500000005", quiet, None, TEN_DAYS, released=False)

    # Ship notices: three of Kugelmann's in the week (two received), one three weeks old;
    # Frontier's today, received today.
    book.notice(today, "ASN-1", 3, DAY, received_days_ago=0)
    book.notice(today, "ASN-2", 2, TWO_DAYS)
    book.notice(changed, "ASN-3", 6, FIVE_DAYS, received_days_ago=1)
    book.notice(changed, "ASN-OLD", 25, 21 * DAY, received_days_ago=18)
    book.notice(late, "ASN-4", 0, 3 * HOUR, received_days_ago=0)

    # Supply exceptions (the exception's own acknowledgement answers its order: made on
    # orders of their own, so the waiting orders above stay as they are).
    mine = book.order("4500000010", w.supplier, w.plant, TEN_DAYS)
    theirs = book.order("4500000011", frontier, monterrey, TEN_DAYS)
    book.exception(mine, w.bearing, w.plant, UNDER_A_DAY)
    book.exception(mine, w.bearing_b, w.plant, TEN_DAYS)
    seen = book.exception(mine, w.sheet, w.plant, TWO_DAYS)
    SupplyExceptionNote.objects.create(exception=seen, action="acknowledge", by=steward)
    book.exception(mine, w.bearing, w.plant, TWO_DAYS, state="closed")
    book.exception(theirs, w.sheet, monterrey, TWO_DAYS)
    book.exception(theirs, w.new_item, None, FIVE_DAYS)
    book.frontier, book.quiet, book.monterrey = frontier, quiet, monterrey
    return book


@pytest.fixture
def viewing(viewer):
    return logged_in(viewer)


# --- reading the screens ----------------------------------------------------------------------


def section(page, key):
    """The HTML of the dashboard's section `key`."""
    return re.search(rf'<section class="panel[^"]*" id="{key}".*?</section>', page, re.S).group(0)


def bars(part):
    """[(url, total)] of the bar rows of a chart."""
    found = re.findall(
        r'<a class="bar-row" href="([^"]+)"[^>]*>.*?<span class="bar-value">(\d+)<', part, re.S
    )
    return [(html.unescape(url), int(total)) for url, total in found]


def parts(part):
    """[(url, count)] of the linked numbers of a chart's table: one per group and age."""
    found = re.findall(r'<td class="value"><a href="([^"]+)">(\d+)</a></td>', part)
    return [(html.unescape(url), int(count)) for url, count in found]


def param(url, name):
    return parse_qs(urlsplit(url).query).get(name, [None])[0]


def rows_of(client, url):
    """How many rows the list at `url` shows (all its pages, as the count it gives)."""
    response = client.get(url)
    assert response.status_code == 200, url
    text = response.content.decode()
    kind = next(kind for kind in ROW_MARKS if f"/{kind}/" in urlsplit(url).path)
    shown = text.count(ROW_MARKS[kind])
    assert "filter-problems" not in text, url  # every link of the dashboard is understood
    return shown


def dashboard(client, window=""):
    response = client.get(f"/quarantine/flows/{'?window=' + window if window else ''}")
    assert response.status_code == 200
    return response.content.decode()


# --- the counts, straight from the tables -----------------------------------------------------


def pending_releases():
    """Releases without a decision that are their plan's latest version."""
    found = []
    for release in ForecastRelease.objects.filter(decision=""):
        newer = ForecastRelease.objects.filter(
            system=release.system, plan_id=release.plan_id, version__gt=release.version
        )
        if not newer.exists():
            found.append(release)
    return found


def waiting_orders():
    """Orders released through the hub with no acknowledgement recorded since their change."""
    found = []
    for order in PurchaseOrder.objects.filter(message__isnull=False).select_related("supplier"):
        if not order.acknowledgements.filter(recorded_at__gte=order.changed_at).exists():
            found.append(order)
    return found


def open_exceptions():
    return list(SupplyException.objects.filter(state="open").select_related("plant", "item"))


def notices_since(since):
    return list(ShipNotice.objects.filter(recorded_at__gte=since).select_related("supplier"))


# --- the dashboard ----------------------------------------------------------------------------


def test_every_bar_of_the_forecast_releases_counts_the_pending_releases_of_its_age(ledger, viewing):
    now = timezone.now()
    expected = Counter(bucket(r.released_at, now) for r in pending_releases())
    assert set(expected) == set(AGE_KEYS)  # the ledger has one pending release at each age

    part = section(dashboard(viewing), "releases")

    shown = {param(url, "age"): total for url, total in bars(part)}
    assert shown == {key: expected[key] for key in AGE_KEYS}
    assert all(param(url, "state") == "pending" for url, _ in bars(part))
    assert f'<strong class="total">{sum(expected.values())}</strong>' in part
    # Decided in the last 7 days: S&OP-E accepted yesterday, S&OP-F rejected two days ago.
    week = now - 7 * DAY
    accepted = ForecastRelease.objects.filter(decision="accepted", decided_at__gte=week).count()
    rejected = ForecastRelease.objects.filter(decision="rejected", decided_at__gte=week).count()
    assert f"{accepted} accepted, {rejected} rejected in the last 7 days" in part
    assert (accepted, rejected) == (1, 1)
    superseded = ForecastRelease.objects.filter(decision="", plan_id="S&OP-A", version=1)
    assert f"Superseded before a decision</a> ({superseded.count()})" in part


def test_every_bar_of_the_waiting_orders_counts_the_suppliers_orders_by_age(ledger, viewing):
    now = timezone.now()
    waiting = waiting_orders()
    by_supplier = Counter(order.supplier.public_id for order in waiting)
    by_age = Counter((order.supplier.public_id, bucket(order.changed_at, now)) for order in waiting)
    assert by_supplier == {ledger.world.supplier.public_id: 2, ledger.frontier.public_id: 1}

    part = section(dashboard(viewing), "orders")

    assert {param(url, "supplier"): total for url, total in bars(part)} == by_supplier
    cells = {(param(url, "supplier"), param(url, "age")): n for url, n in parts(part)}
    assert cells == {(s, age): by_age[(s, age)] for s in by_supplier for age in AGE_KEYS}
    # The supplier's name, its public id small beside it.
    for supplier in (ledger.world.supplier, ledger.frontier):
        assert f'{supplier.name} <small class="code">{supplier.public_id}</small>' in part
    assert f'<strong class="total">{len(waiting)}</strong>' in part


def test_ship_notice_latency_is_counted_per_supplier_over_the_chosen_window(ledger, viewing):
    now = timezone.now()
    for window, span in (("7d", 7 * DAY), ("30d", 30 * DAY)):
        notices = notices_since(now - span)
        by_supplier = Counter(notice.supplier.public_id for notice in notices)
        received = Counter(
            n.supplier.public_id for n in notices if ReceiptLine.objects.filter(notice=n).exists()
        )

        part = section(dashboard(viewing, window), "notices")

        shown = {param(url, "supplier"): total for url, total in bars(part)}
        assert shown == by_supplier, window
        assert {param(url, "window") for url, _ in bars(part)} == {window}
        for supplier, count in by_supplier.items():
            row = re.search(rf'<tr data-supplier="{supplier}">(.*?)</tr>', part, re.S).group(1)
            cells = re.findall(r'<td class="num"[^>]*>(.*?)</td>', row)
            assert cells[0] == str(count)
            assert cells[2] == str(received[supplier])
    # Over the week, Kugelmann's three notices came 2, 0 and 1 days after their ship dates
    # (as the documents date them): the table gives the average.
    kugelmann = ledger.world.supplier.public_id
    notices = [n for n in notices_since(now - 7 * DAY) if n.supplier.public_id == kugelmann]
    days = [(timezone.localdate(n.recorded_at) - n.ship_date).days for n in notices]
    assert sorted(days) == [0, 1, 2]
    part = section(dashboard(viewing, "7d"), "notices")
    row = re.search(rf'<tr data-supplier="{kugelmann}">(.*?)</tr>', part, re.S).group(1)
    cells = re.findall(r'<td class="num"[^>]*>(.*?)</td>', row)
    assert cells[1] == f"{sum(days) / len(days):.1f}"
    lines = ReceiptLine.objects.filter(notice__in=notices).select_related("receipt", "notice")
    to_receipt = [
        (line.receipt.received_on - timezone.localdate(line.notice.recorded_at)).days
        for line in lines
    ]
    assert sorted(to_receipt) == [1, 4]  # received today after yesterday's notice, ...
    assert cells[3] == f"{sum(to_receipt) / len(to_receipt):.1f}"


def test_every_bar_of_the_open_exceptions_counts_them_by_plant_and_by_commodity(ledger, viewing):
    now = timezone.now()
    exceptions = open_exceptions()
    by_plant = Counter(e.plant.public_id if e.plant else "-" for e in exceptions)
    by_commodity = Counter(e.item.commodity or "-" for e in exceptions)
    assert "-" in by_plant and "-" in by_commodity  # a group without a plant, a commodity

    page = dashboard(viewing)

    for key, name, expected in (
        ("by_plant", "plant", by_plant),
        ("by_commodity", "commodity", by_commodity),
    ):
        part = section(page, key)
        assert {param(url, name): total for url, total in bars(part)} == expected
        assert {param(url, "state") for url, _ in bars(part)} == {"not_closed"}
        cells = {(param(url, name), param(url, "age")): n for url, n in parts(part)}
        plain = Counter(
            (e.plant.public_id if e.plant else "-", bucket(e.raised_at, now))
            if name == "plant"
            else (e.item.commodity or "-", bucket(e.raised_at, now))
            for e in exceptions
        )
        assert cells == {
            (group, age): plain[(group, age)] for group in expected for age in AGE_KEYS
        }
    assert "No plant" in section(page, "by_plant")
    assert "No commodity" in section(page, "by_commodity")


def test_each_bar_and_each_part_opens_a_list_of_exactly_its_rows(ledger, viewing):
    page = dashboard(viewing, "30d")
    links = []
    for key in ("releases", "orders", "notices", "by_plant", "by_commodity"):
        part = section(page, key)
        links += bars(part) + parts(part)
    assert len(links) > 30
    assert any(count == 0 for _, count in links) and any(count > 1 for _, count in links)

    for url, count in links:
        assert rows_of(viewing, url) == count, url


def test_a_chart_draws_the_largest_groups_and_links_every_row(ledger, viewing, monkeypatch):
    monkeypatch.setattr(flow_views, "SHOWN", 1)

    part = section(dashboard(viewing), "orders")

    supplier = ledger.world.supplier.public_id  # two orders waiting, Frontier one
    assert bars(part) == [(f"/quarantine/flows/orders/?supplier={supplier}", 2)]
    assert "The 1 suppliers with the most orders waiting are drawn, of 2" in part
    assert 'href="/quarantine/flows/orders/">every order waiting</a>' in part
    assert rows_of(viewing, "/quarantine/flows/orders/") == len(waiting_orders())


def test_an_empty_ledger_says_so_in_words(world, viewing):
    page = dashboard(viewing)

    assert "No forecast release is waiting for the ERP." in page
    assert "No order change is waiting for the supplier&#x27;s acknowledgement." in page
    assert "No ship notice was recorded in the last 7 days." in page
    assert page.count("No supply exception is open.") == 2
    assert 'class="bar-row"' not in page


# --- the lists --------------------------------------------------------------------------------


def test_the_pending_releases_say_what_waits_and_link_their_threads(ledger, viewing):
    page = viewing.get("/quarantine/flows/forecasts/?state=pending&age=lt1d").content.decode()

    [release] = [r for r in pending_releases() if r.plan_id == "S&OP-B"]
    assert page.count("data-release=") == 1
    assert f'data-release="{release.pk}"' in page
    assert "S&amp;OP-B, version 1" in page
    assert 'href="/quarantine/trace/?forecast=S%26OP-B%3A1"' in page
    assert 'Planning <small class="code">PLANNING</small>' in page  # the system's name first
    assert "2 h" in page  # waiting, in words
    assert "no decision yet" in page
    assert "Showing: under a day" in page
    assert viewing.get("/quarantine/trace/?forecast=S%26OP-B%3A1").status_code == 200


def test_the_decided_releases_give_the_erps_decision_and_reason(ledger, viewing):
    rejected = viewing.get("/quarantine/flows/forecasts/?state=rejected").content.decode()
    accepted = viewing.get("/quarantine/flows/forecasts/?state=accepted").content.decode()
    superseded = viewing.get("/quarantine/flows/forecasts/?state=superseded").content.decode()

    assert rejected.count("data-release=") == 1
    assert "Rejected</span>" in rejected and "Horizon starts in the past" in rejected
    assert "by Legacy ERP" in rejected
    assert "answered after 3 days" in rejected  # released five days ago, rejected two
    assert (
        accepted.count("data-release=")
        == ForecastRelease.objects.filter(decision="accepted").count()
    )
    assert superseded.count("data-release=") == 1 and "S&amp;OP-A, version 1" in superseded
    assert "superseded before a decision" in superseded


def test_the_waiting_orders_show_the_supplier_plant_and_change_in_words(ledger, viewing):
    supplier = ledger.world.supplier
    page = viewing.get(f"/quarantine/flows/orders/?supplier={supplier.public_id}").content.decode()

    assert page.count("data-order=") == 2
    # Oldest change first: the change two days old, then today's original.
    assert page.index("PO 4500000002") < page.index("PO 4500000001")
    assert "change 2" in page and "the original order" in page
    assert f'Kugelmann</a> <small class="code">{supplier.public_id}</small>' in page
    assert f'HH01</a> <small class="code">{ledger.world.plant.public_id}</small>' in page
    assert 'href="/quarantine/trace/?po=4500000002"' in page
    assert "2 days" in page
    assert f"Showing: supplier Kugelmann ({supplier.public_id})" in page
    assert "4500000003" not in page  # answered after its change


def test_the_ship_notices_give_the_days_to_the_notice_and_to_the_receipt(ledger, viewing):
    supplier = ledger.world.supplier
    url = f"/quarantine/flows/ship-notices/?supplier={supplier.public_id}&window=7d"
    page = viewing.get(url).content.decode()

    assert page.count("data-notice=") == 3  # ASN-OLD is three weeks old
    for notice in ShipNotice.objects.filter(supplier=supplier, shipment_id__in=["ASN-1", "ASN-3"]):
        line = ReceiptLine.objects.select_related("receipt").get(notice=notice)
        noticed = timezone.localdate(notice.recorded_at)
        row = re.search(rf'data-notice="{notice.pk}">(.*?)</tr>', page, re.S).group(1)
        numbers = re.findall(r'<td class="num">(.*?)</td>', row)
        assert numbers == [
            str((noticed - notice.ship_date).days),
            str((line.receipt.received_on - noticed).days),
        ]
        assert line.receipt.received_on.isoformat() in row
        assert 'href="/quarantine/trace/?po=' in row
    assert "not received yet" in page  # ASN-2
    assert "ASN-OLD" in viewing.get(url.replace("7d", "30d")).content.decode()


def test_a_list_pages_by_fifty_and_keeps_its_filters(ledger, viewing):
    for n in range(55):
        ledger.release(f"BULK-{n}", 1, UNDER_A_DAY)

    first = viewing.get("/quarantine/flows/forecasts/?state=pending&age=lt1d").content.decode()
    second = viewing.get(
        "/quarantine/flows/forecasts/?state=pending&age=lt1d&page=2"
    ).content.decode()

    assert first.count("data-release=") == 50
    assert second.count("data-release=") == 56 - 50  # and S&OP-B
    assert 'href="?state=pending&amp;age=lt1d&amp;page=2"' in first
    assert "Page 2 of 2" in second


@pytest.mark.parametrize(
    ("url", "told", "unfiltered"),
    [
        ("/quarantine/flows/forecasts/?state=maybe", "There is no state “maybe”", "pending"),
        ("/quarantine/flows/forecasts/?age=ancient", "There is no age “ancient”", "pending"),
        ("/quarantine/flows/orders/?supplier=SUP-999999", "No supplier has the id", "orders"),
        ("/quarantine/flows/orders/?age=1w", "under a day (lt1d)", "orders"),
        ("/quarantine/flows/ship-notices/?window=1y", "There is no window “1y”", "notices"),
        ("/quarantine/flows/ship-notices/?supplier=nobody", "SUP-000001", "notices"),
        ("/quarantine/flows/?window=1y", "last 7 days (7d)", None),
    ],
)
def test_a_bad_parameter_is_explained_and_dropped(ledger, viewing, url, told, unfiltered):
    response = viewing.get(url)

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert told in page
    assert 'class="messagelist filter-problems"' in page
    expected = {
        "pending": len(pending_releases()),
        "orders": len(waiting_orders()),
        "notices": len(notices_since(timezone.now() - 7 * DAY)),
    }
    if unfiltered:
        mark = {"pending": "data-release=", "orders": "data-order=", "notices": "data-notice="}
        assert page.count(mark[unfiltered]) == expected[unfiltered]
        assert "Showing:" not in page


# --- access and navigation --------------------------------------------------------------------

URLS = (
    "/quarantine/flows/",
    "/quarantine/flows/forecasts/",
    "/quarantine/flows/orders/",
    "/quarantine/flows/ship-notices/",
)


@pytest.mark.parametrize("url", URLS)
def test_a_viewer_sees_the_flows_and_an_anonymous_user_is_sent_to_log_in(ledger, viewing, url):
    seen = viewing.get(url)
    assert seen.status_code == 200
    # The header's link is marked current on every flows screen.
    assert '<a href="/quarantine/flows/" aria-current="page">Supply flows</a>' in (
        seen.content.decode()
    )

    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/")


def test_the_header_and_the_quarantine_dashboard_link_to_the_flows(ledger, viewing):
    for url in ("/quarantine/", "/quarantine/supply-exceptions/"):
        assert '<a href="/quarantine/flows/">Supply flows</a>' in viewing.get(url).content.decode()
    dashboard_page = viewing.get("/quarantine/dashboard/").content.decode()
    assert 'id="flows-link"' in dashboard_page


# --- the supply exceptions screen, narrowed as the bars narrow it ---------------------------


def _exceptions(client, query):
    response = client.get(f"/quarantine/supply-exceptions/?{query}")
    assert response.status_code == 200
    page = response.content.decode()
    shown = {int(pk) for pk in re.findall(r'data-exception="(\d+)"', page)}
    return page, shown


def _pks(exceptions):
    return {e.pk for e in exceptions}


def test_the_supply_exceptions_narrow_to_a_plant_a_commodity_and_an_age(ledger, viewing):
    w, now = ledger.world, timezone.now()
    exceptions = open_exceptions()

    page, shown = _exceptions(viewing, f"state=not_closed&plant={w.plant.public_id}")
    assert shown == _pks(e for e in exceptions if e.plant_id == w.plant.pk)
    assert len(shown) == 3  # one of them acknowledged; the closed one is not open
    assert f"Showing: plant HH01 ({w.plant.public_id})" in page
    assert '<a href="?state=not_closed">(clear)</a>' in page

    _, shown = _exceptions(viewing, "state=not_closed&plant=-")
    assert shown == _pks(e for e in exceptions if e.plant_id is None)

    page, shown = _exceptions(viewing, "state=not_closed&commodity=Sheet+metal&age=lt3d")
    assert shown == _pks(
        e
        for e in exceptions
        if e.item.commodity == "Sheet metal" and bucket(e.raised_at, now) == "lt3d"
    )
    assert len(shown) == 2
    assert "Showing: commodity Sheet metal, 1 to 3 days" in page

    _, shown = _exceptions(viewing, "state=not_closed&commodity=-")
    assert shown == _pks(e for e in exceptions if not e.item.commodity)

    # The state filter still applies: "open" leaves the acknowledged one out.
    _, shown = _exceptions(viewing, f"plant={w.plant.public_id}")
    acknowledged = SupplyExceptionNote.objects.values_list("exception_id", flat=True)
    assert shown == _pks(
        e for e in exceptions if e.plant_id == w.plant.pk and e.pk not in acknowledged
    )
    _, shown = _exceptions(viewing, f"state=closed&plant={w.plant.public_id}")
    assert shown == set(SupplyException.objects.filter(state="closed").values_list("pk", flat=True))


def test_the_supply_exceptions_keep_their_filters_across_pages_states_and_steps(
    ledger, steward, monkeypatch
):
    monkeypatch.setattr(supply, "PER_PAGE", 1)
    client = logged_in(steward)
    plant = ledger.world.plant.public_id

    page, shown = _exceptions(client, f"state=not_closed&plant={plant}&page=2")
    assert len(shown) == 1
    assert f'href="?plant={plant}&amp;state=not_closed&amp;page=3"' in page
    assert f'href="?plant={plant}&amp;state=closed"' in page  # the state links keep the plant
    assert f'<input type="hidden" name="plant" value="{plant}">' in page

    [pk] = shown
    step = client.post(
        f"/quarantine/supply-exceptions/{pk}/close/",
        {"note": "Re-planned.", "state": "not_closed", "page": 2, "plant": plant},
    )
    assert step.status_code == 302
    assert step["Location"].startswith(
        f"/quarantine/supply-exceptions/?plant={plant}&state=not_closed&page=2"
    )


@pytest.mark.parametrize(
    ("query", "told"),
    [
        ("plant=LOC-999999", "No plant has the id “LOC-999999”"),
        ("commodity=Gold", "No item has the commodity “Gold”"),
        ("age=yesterday", "There is no age “yesterday”: give one of under a day (lt1d)"),
    ],
)
def test_a_bad_supply_exception_filter_is_explained_and_dropped(ledger, viewing, query, told):
    page, shown = _exceptions(viewing, f"state=not_closed&{query}")

    assert told in html.unescape(page)
    assert shown == _pks(open_exceptions())
    assert "Showing:" not in page
