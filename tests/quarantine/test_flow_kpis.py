"""The supply flows' key figures on /metrics (quarantine.kpis over validation.flows): on the
demo, every figure equals what a plain walk over the tables' rows counts (written here
without flows' queries), and each figure moves as the flow does: an acknowledgement answers
an order until the order changes, an order naming its forecast gives the forecast-to-order
latency, a quarantined message counts as a failure even once released."""

import datetime
from collections import Counter, defaultdict

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from quarantine import kpis
from tests.quarantine import test_trace
from tests.quarantine.test_cases import quarantine
from tests.quarantine.test_trace import _released
from tests.validation.world import example
from validation.models import (
    Acknowledgement,
    ForecastRelease,
    InboundMessage,
    PurchaseOrder,
    PurchaseOrderChange,
    ReceiptLine,
    ShipNotice,
    SupplyException,
)

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-only-0123456789"
DAY = 24 * 3600
PO = "4500012345"
seeded = test_trace.seeded  # the demo world, as the thread's tests have it


def scrape(settings):
    """{metric family name: {label values: value}} of the hub's real /metrics page, the
    label values in the alphabetical order of their names."""
    settings.METRICS_TOKEN = TOKEN
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return {
        family.name: {
            tuple(v for _, v in sorted(s.labels.items())): s.value for s in family.samples
        }
        for family in text_string_to_metric_families(response.content.decode())
    }


def counted(function, now=None):
    """{label values: value} of one KPI function, evaluated over its registered window."""
    figure = next(k for k in kpis.KPIS if k.compute is function)
    return {tuple(s.labels.values()): s.value for s in figure.evaluate(now or timezone.now())}


# --- the demo's figures, against the rows themselves ---------------------------------------


def _awaiting_by_walking():
    """Per supplier: orders released through the hub with no acknowledgement recorded at or
    after their latest change."""
    found = Counter()
    for order in PurchaseOrder.objects.filter(message__isnull=False).select_related("supplier"):
        answers = Acknowledgement.objects.filter(order=order)
        if not any(ack.recorded_at >= order.changed_at for ack in answers):
            found[order.supplier.public_id] += 1
    return found


def _failures_by_walking(since):
    totals, failed = Counter(), Counter()
    for message in InboundMessage.objects.select_related("system"):
        if message.received_at <= since:
            continue
        key = (message.system.code, message.message_type)
        totals[key] += 1
        has_case = hasattr(message, "quarantine_case")
        if has_case or message.status in ("rejected", "dead_letter"):
            failed[key] += 1
    return {key: failed[key] / totals[key] for key in totals}


def _pending_by_walking():
    latest = {}
    for release in ForecastRelease.objects.all():
        key = (release.system_id, release.plan_id)
        if key not in latest or release.version > latest[key].version:
            latest[key] = release
    return [release for release in latest.values() if not release.decision]


def test_the_demos_flow_figures_match_the_tables(seeded, settings):
    now = timezone.now()
    page = scrape(settings)

    awaiting = _awaiting_by_walking()
    assert awaiting, "the demo has orders waiting for an acknowledgement"
    assert page["hub_orders_awaiting_acknowledgement"] == {
        (supplier,): float(n) for supplier, n in awaiting.items()
    }
    open_exceptions = SupplyException.objects.filter(state="open").select_related("plant", "item")
    by_plant = Counter(e.plant.public_id if e.plant else "-" for e in open_exceptions)
    by_commodity = Counter(e.item.commodity or "-" for e in open_exceptions)
    assert by_plant and by_commodity
    assert page["hub_supply_exceptions_open_by_plant"] == {
        (plant,): float(n) for plant, n in by_plant.items()
    }
    assert page["hub_supply_exceptions_open_by_commodity"] == {
        (commodity,): float(n) for commodity, n in by_commodity.items()
    }
    failures = _failures_by_walking(now - datetime.timedelta(days=1))
    assert any(0 < ratio < 1 for ratio in failures.values()), failures
    assert page["hub_integration_failure_ratio"] == pytest.approx(failures)
    pending = _pending_by_walking()
    assert page["hub_forecast_releases_pending"] == {(): float(len(pending))}
    oldest = min(release.released_at for release in pending)
    age = page["hub_forecast_release_pending_age_seconds"][()]
    assert (now - oldest).total_seconds() - 1 <= age <= (now - oldest).total_seconds() + 60


def test_ship_notice_latency_is_counted_in_the_days_the_documents_give(world, settings):
    legacy, network = world.systems["ERP_LEGACY"], world.systems["SUPPLIER_NET"]
    _released(legacy, "purchase_order", example("purchase_order"))
    _released(network, "ship_notice", example("ship_notice"))
    _released(legacy, "receipt", example("receipt"))
    notice = ShipNotice.objects.get()
    [line] = ReceiptLine.objects.filter(notice=notice).select_related("receipt")
    noticed = timezone.localdate(notice.recorded_at)
    to_notice = max((noticed - notice.ship_date).days, 0)
    to_receipt = max((line.receipt.received_on - noticed).days, 0)

    figures = scrape(settings)["hub_ship_notice_latency_seconds"]

    supplier = world.supplier.public_id
    assert figures == {
        ("dispatch_to_notice", supplier): to_notice * DAY,
        ("notice_to_receipt", supplier): to_receipt * DAY,
    }
    # A notice recorded before the window is out of it.
    ShipNotice.objects.update(recorded_at=timezone.now() - datetime.timedelta(days=8))
    assert counted(kpis.ship_notice_latency) == {}


# --- each figure moves as the flow does -------------------------------------------------------


def test_an_order_waits_for_its_acknowledgement_until_it_changes_again(world):
    legacy, network = world.systems["ERP_LEGACY"], world.systems["SUPPLIER_NET"]
    supplier = world.supplier.public_id
    _released(legacy, "purchase_order", example("purchase_order", po_number=PO))
    PurchaseOrder.objects.update(changed_at=timezone.now() - datetime.timedelta(days=3))

    assert counted(kpis.orders_awaiting_acknowledgement) == {(supplier,): 1}
    wait = counted(kpis.acknowledgement_wait)[(supplier,)]
    assert 3 * DAY <= wait < 3 * DAY + 60

    _released(network, "po_acknowledgement", example("po_acknowledgement", po_number=PO))
    assert counted(kpis.orders_awaiting_acknowledgement) == {}
    assert counted(kpis.acknowledgement_wait) == {}

    # The buyer changes the order: the acknowledgement answered the order before the change.
    change = example("purchase_order", po_number=PO, change_sequence=1)
    _released(legacy, "purchase_order", change)
    assert counted(kpis.orders_awaiting_acknowledgement) == {(supplier,): 1}


def test_forecast_to_order_latency_counts_the_orders_that_name_their_forecast(world):
    _released(world.systems["PLANNING"], "forecast", example("forecast"))
    release = ForecastRelease.objects.get()
    ForecastRelease.objects.update(released_at=release.released_at - datetime.timedelta(hours=5))
    named = example("purchase_order", po_number="4500012345")
    named["demand_reference"] = {"plan_id": release.plan_id, "version": release.version}
    legacy = world.systems["ERP_LEGACY"]
    _released(legacy, "purchase_order", named, version=3)
    unknown = example("purchase_order", po_number="4500012346")
    unknown["demand_reference"] = {"plan_id": release.plan_id, "version": 99}
    _released(legacy, "purchase_order", unknown, version=3)
    _released(legacy, "purchase_order", example("purchase_order", po_number="4500012347"))
    change = PurchaseOrderChange.objects.get(order__po_number="4500012345")
    release.refresh_from_db()

    figure = next(k for k in kpis.KPIS if k.compute is kpis.forecast_to_order_latency)
    found = figure.evaluate(timezone.now())

    # The unknown version and the order naming none are not counted.
    assert found.values == ((change.released_at - release.released_at).total_seconds(),)
    assert 5 * 3600 <= found.values[0] < 5 * 3600 + 60
    buckets = dict(found.buckets())
    assert (buckets[4 * 3600], buckets[12 * 3600], buckets[float("inf")]) == (0, 1, 1)


def test_a_message_quarantined_then_released_still_counts_as_a_failure(world):
    network = world.systems["SUPPLIER_NET"]
    _released(world.systems["ERP_LEGACY"], "purchase_order", example("purchase_order"))
    _released(network, "ship_notice", example("ship_notice"))
    held = quarantine(network)
    key = ("SUPPLIER_NET", "ship_notice")

    assert counted(kpis.integration_failure_rate)[key] == 0.5
    InboundMessage.objects.filter(pk=held.pk).update(status="released")  # replayed, released
    assert counted(kpis.integration_failure_rate)[key] == 0.5
    InboundMessage.objects.filter(pk=held.pk).update(
        received_at=timezone.now() - datetime.timedelta(days=2)
    )
    assert counted(kpis.integration_failure_rate)[key] == 0.0


def test_supply_exceptions_age_by_plant_from_their_raising(seeded):
    now = timezone.now()
    SupplyException.objects.update(raised_at=now - datetime.timedelta(days=4))
    per_plant = defaultdict(list)
    for exception in SupplyException.objects.filter(state="open").select_related("plant"):
        per_plant[exception.plant.public_id if exception.plant else "-"].append(exception)

    ages = counted(kpis.oldest_supply_exception, now)

    assert ages == {(plant,): 4 * DAY for plant in per_plant}
    SupplyException.objects.update(state="closed")
    assert counted(kpis.oldest_supply_exception, now) == {}
    assert counted(kpis.open_supply_exceptions_by_plant, now) == {}
