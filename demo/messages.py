"""Demo messages: what Valdor's four systems send the hub on an ordinary day, and one message
for each rule that quarantines it.

Submitted (demo.seed, once the demo world has committed) like a sync flow would submit them,
through validation's submission service, each as its system, and validated at once in eager
mode (`make run`) or by the workers (one after the other: the demo waits for each outcome,
since the business controls compare a message with what was released before it).

Released: a PLANNING forecast (one line for an item the plant's ERP does not stock: released
with a NO_TARGET_CODE warning) and ERP_LEGACY's acceptance of it, ERP_LEGACY and ERP_CLOUD
purchase orders, a SUPPLIER_NET acknowledgement and ship notice, ERP_LEGACY and ERP_CLOUD
receipts and inventory balances.
Quarantined: one message per error rule, the first with a NO_TARGET_CODE warning beside its
error. The records, dates and codes come from demo.message_world.DemoWorld; the deterministic
idempotency keys make a second seed submit nothing new. The seed scenario's third supplier
trades by EDI (demo.edi): its acknowledgement comes in as an X12 855 through the EDI gateway,
and the hub's orders to it go out as 850 and 860.
"""

import datetime
import logging
import time
from zoneinfo import ZoneInfo

from celery import current_app
from django.db.models import Count

from core.history import change_source
from demo import edi
from demo.message_world import CLOUD, LEGACY, NETWORK, PLANNING, PLANTS, DemoWorld
from mdm.calendars import WorkingCalendar
from mdm.models import Location
from validation.models import InboundMessage
from validation.submission import IdempotencyConflict, PartConflict, submit_message
from xref.models import Kind

logger = logging.getLogger(__name__)

KEY_PREFIX = "demo-"
# How long after a forecast reaches the hub the legacy ERP's interface takes it (its
# acceptance's decided_at: the forecast's time of arrival plus this, the same on every seed).
ERP_TAKES = datetime.timedelta(minutes=2)
# The third scenario supplier trades by EDI: its acknowledgement is this interchange.
EDI, EDI_ACK_CONTROL = "EDI", 855001


def submit_demo_messages():
    """Register the references the messages need, then submit every demo message not
    submitted yet. Returns {status: count} of the demo messages."""
    started = time.monotonic()
    with change_source("command", reference="seed_demo"):
        world = DemoMessages.load()
        if world is None:
            logger.info("No demo cross-references: no demo messages submitted.")
            return {}
        world.register_references()
        partner = world.edi_partner()
        submitted = 0
        waiting = True
        for system, key, message_type, payload, *version in world.messages():
            if system == EDI:  # an X12 855 through the EDI gateway (demo.edi)
                interchange = edi.send_acknowledgement(payload, partner, EDI_ACK_CONTROL)
                found = interchange.transaction_sets.exclude(message=None).first()
                if waiting and found and not current_app.conf.task_always_eager:
                    waiting = _wait_for_outcome(found.message_id)
                continue
            try:
                submission = submit_message(
                    system=world.systems[system],
                    message_type=message_type,
                    schema_version=version[0] if version else 1,
                    payload=payload,
                    idempotency_key=KEY_PREFIX + key,
                )
            except (IdempotencyConflict, PartConflict) as exc:
                logger.warning("Demo message %s not submitted: %s", key, exc)
                continue
            submitted += submission.created
            if waiting and submission.created and not current_app.conf.task_always_eager:
                # With workers, the next message may depend on this one's release (an
                # acknowledgement on its order, a forecast version on the one before). No
                # outcome in time: no worker is running yet, so the rest are not waited for.
                waiting = _wait_for_outcome(submission.message.pk)
    statuses = dict(
        InboundMessage.objects.filter(idempotency_key__startswith=KEY_PREFIX)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    logger.info(
        "Demo messages: %s submitted in %.1f s; %s",
        submitted,
        time.monotonic() - started,
        statuses,
    )
    return statuses


# How long the demo waits for a worker to validate each message before sending the next.
WAIT_SECONDS = 30


def _wait_for_outcome(pk):
    """Whether the message reached its outcome within WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        status = InboundMessage.objects.values_list("status", flat=True).get(pk=pk)
        if status in InboundMessage.FINAL_STATUSES:
            return True
        time.sleep(0.2)
    logger.warning(
        "Demo message %s not validated within %s s (is a worker running?); the rest are sent "
        "without waiting, and those that depend on an earlier release may be quarantined.",
        pk,
        WAIT_SECONDS,
    )
    return False


class DemoMessages(DemoWorld):
    """Every demo message, built from the demo world."""

    def messages(self):
        """(system, idempotency key, message type, payload) of every demo message."""
        builders = (
            self._forecasts,
            self._purchase_orders,
            self._network_messages,
            self._receipts_and_stock,
            self._scenario,
            self._quarantined,
            self._refused_by_controls,
        )
        for build in builders:
            yield from build()

    def _forecasts(self):
        if not self.forecast_items:
            return
        start = self.legacy_day - datetime.timedelta(days=self.legacy_day.weekday())
        piece, _ = self._units(PLANNING, start)
        lines = []
        plants = [(p, self.code(PLANNING, Kind.LOCATION, self.plants[p], start)) for p in PLANTS]
        for week in range(8):
            period = (start + datetime.timedelta(weeks=week)).isoformat()
            for n, item in enumerate(self.forecast_items):
                code = self.code(PLANNING, Kind.ITEM, item, start)
                for k, (_, location) in enumerate(plants):
                    quantity = 40 * (n + 1) + 10 * k + 5 * (week % 3)
                    lines.append(self._forecast_line(code, location, period, quantity, piece))
        if self.only_1000 is not None:  # the MX01 ERP does not stock it: NO_TARGET_CODE
            code = self.code(PLANNING, Kind.ITEM, self.only_1000, start)
            lines.append(self._forecast_line(code, plants[2][1], start.isoformat(), 25, piece))
        sop = self._forecast(start, "SOP", lines)
        yield PLANNING, "forecast-sop", "forecast", sop
        accepted = self._acceptance(sop["plan_id"], sop["version"], "forecast-sop")
        if accepted is not None:
            yield LEGACY, "accept-forecast-sop", "forecast_acceptance", accepted

    def _purchase_orders(self):
        day = self.legacy_day
        piece, box = self._units(LEGACY, day)
        lines = [
            self._order_line(n, LEGACY, item, day, 100 * n, piece)
            for n, item in enumerate(self.order_items, start=1)
        ]
        if self.box_item is not None:
            lines.append(self._order_line(len(lines) + 1, LEGACY, self.box_item, day, 3, box))
        if lines and self.supplier:
            payload = self._order(LEGACY, "4500010001", day, "GR1000", lines)
            yield LEGACY, "po-4500010001", "purchase_order", payload
        day = self.cloud_day
        piece, _ = self._units(CLOUD, day)
        lines = [
            self._order_line(n, CLOUD, item, day, 250, piece)
            for n, item in enumerate(self.order_items[:2], start=1)
        ]
        if lines and self.supplier:
            payload = self._order(CLOUD, "PO-2000001", day, "DOCK-DE10", lines)
            yield CLOUD, "po-2000001", "purchase_order", payload

    def _network_messages(self):
        if not self.supplier or not self.order_items:
            return
        day = self.calendar.add_working_days(self.legacy_day, 1)
        supplier = self.code(NETWORK, Kind.SUPPLIER, self.supplier, day)
        each = self.code(NETWORK, Kind.UNIT, "H87", day)
        statuses = ("IA", "IA", "IC", "IR")
        lines = []
        for n, item in enumerate(self.order_items, start=1):
            status = statuses[(n - 1) % len(statuses)]
            committed = self.calendar.add_working_days(self.legacy_day, 10 + (status == "IC"))
            lines.append(
                {
                    "line": 10 * n,
                    "status": status,
                    "committed_quantity": 0 if status == "IR" else 100 * n,
                    "unit": each,
                    "committed_date": committed.isoformat(),
                    "item": f"VP-{item.number}",
                }
            )
        ack = {
            "po_number": "4500010001",
            "ack_number": "ACK-4500010001-1",
            "supplier": supplier,
            "ack_date": day.isoformat(),
            "lines": lines,
        }
        yield NETWORK, "ack-4500010001", "po_acknowledgement", ack
        yield NETWORK, "asn-4500010001", "ship_notice", self._ship_notice("ASN-4500010001-1")

    def _receipts_and_stock(self):
        if not self.order_items:
            return
        day = self.calendar.add_working_days(self.legacy_day, 10)
        piece, _ = self._units(LEGACY, day)
        receipt = {
            "receipt_id": "5000100001",
            "location": "GR1000",
            "received_at": day.isoformat(),
            "lines": [
                {
                    "po_number": "4500010001",
                    "po_line": 10 * n,
                    "shipment_id": "ASN-4500010001-1",
                    "item": self.legacy_codes[item.pk]["1000"],
                    "quantity": str(100 * n),
                    "unit": piece,
                }
                for n, item in enumerate(self.order_items[:3], start=1)
            ],
        }
        yield LEGACY, "gr-5000100001", "receipt", receipt
        stock = {
            "location": PLANTS["DE01"][0],
            "as_of": day.isoformat(),
            "lines": [
                {
                    "item": self.legacy_codes[item.pk]["1000"],
                    "quantity": str(150 * n) if n < 4 else "0",
                    "unit": piece,
                    "stock_type": "UNR",
                }
                for n, item in enumerate(self.order_items, start=1)
            ],
        }
        yield LEGACY, "stock-1000", "inventory_balance", stock
        day = self.cloud_day
        piece, _ = self._units(CLOUD, day)
        cloud_stock = {
            "location": PLANTS["US01"][1],
            "as_of": day.isoformat(),
            "lines": [
                {
                    "item": self.code(CLOUD, Kind.ITEM, item, day),
                    "quantity": f"{75 * n}.5",
                    "unit": piece,
                }
                for n, item in enumerate(self.order_items, start=1)
            ],
        }
        yield CLOUD, "stock-us10", "inventory_balance", cloud_stock

    def _quarantined(self):
        """One message per error rule."""
        day = self.legacy_day
        piece, box = self._units(LEGACY, day)
        start = day - datetime.timedelta(days=day.weekday())
        unit = self._units(PLANNING, start)[0]
        if self.forecast_items:
            item = self.code(PLANNING, Kind.ITEM, self.forecast_items[0], start)
            mx01 = self.code(PLANNING, Kind.LOCATION, self.plants["MX01"], start)
            # The planner typed the manufacturer's part number of another item instead of its
            # PLANNING code: unresolved, with that item suggested (matched by its MPN).
            typed = next((i.mpn for i in self.forecast_items[1:] if i.mpn), "PL-9999999")
            lines = [
                self._forecast_line(item, mx01, start.isoformat(), 10, unit),
                self._forecast_line(typed, mx01, start.isoformat(), 10, unit),
            ]
            if self.only_1000 is not None:
                only = self.code(PLANNING, Kind.ITEM, self.only_1000, start)
                lines.append(self._forecast_line(only, mx01, start.isoformat(), 10, unit))
            yield (
                PLANNING,
                "bad-forecast-unknown-item",
                "forecast",
                self._forecast(start, "UNKNOWN", lines),
            )
            warehouse = self.code(
                PLANNING, Kind.LOCATION, Location.objects.get(code="DE01-WH1"), start
            )
            lines = [self._forecast_line(item, warehouse, start.isoformat(), 10, unit)]
            yield (
                PLANNING,
                "bad-forecast-warehouse",
                "forecast",
                self._forecast(start, "WAREHOUSE", lines),
            )
        if not self.supplier or not self.order_items:
            return
        ok = self.order_items[0]
        saturday = day + datetime.timedelta(days=(5 - day.weekday()) % 7 or 7)
        bad_lines = {
            "obsolete-item": self.obsolete_item and [(self.obsolete_item, 10, piece, {})],
            "blocked-item": self.blocked_item and [(self.blocked_item, 10, piece, {})],
            "obsolete-revision": self.revised_item
            and "obsolete" in self.revisions
            and [(self.revised_item, 10, piece, {"revision": self.revisions["obsolete"]})],
            "unit": self.no_box_item and [(self.no_box_item, 2, box, {})],
            "saturday": [(ok, 10, piece, {"need_by": saturday})],
        }
        for n, (name, lines) in enumerate(bad_lines.items(), start=2):
            if not lines:
                continue
            order_lines = [
                self._order_line(k, LEGACY, item, day, quantity, sent_unit, **extra)
                for k, (item, quantity, sent_unit, extra) in enumerate(lines, start=1)
            ]
            number = f"45000100{n:02d}"
            payload = self._order(LEGACY, number, day, "GR1000", order_lines)
            yield LEGACY, f"bad-po-{name}", "purchase_order", payload
        line = [self._order_line(1, LEGACY, ok, day, 10, piece)]
        if self.gone_supplier is not None:
            payload = self._order(
                LEGACY, "4500010020", day, "GR1000", line, supplier=self.gone_supplier, site=False
            )
            yield LEGACY, "bad-po-supplier", "purchase_order", payload
        if self.closed_site is not None:
            payload = self._order(
                LEGACY,
                "4500010021",
                day,
                "GR1000",
                line,
                supplier=self.closed_site.supplier,
                site=self.closed_site,
            )
            yield LEGACY, "bad-po-site", "purchase_order", payload
        payload = self._order(LEGACY, "4500010022", day, PLANTS["DE01"][0], line)
        yield LEGACY, "bad-po-ship-to", "purchase_order", payload
        notice = self._ship_notice("ASN-4500010001-2", quantity="12.1234567", lines=1)
        yield NETWORK, "bad-asn-quantity", "ship_notice", notice

    # --- the seed scenario ------------------------------------------------------------------
    #
    # Planning releases a revised 12-week forecast for a critical electronic component after a
    # demand spike (version 2: weeks 3 to 12 up 60 %; unchanged and tiny changes are left out
    # of the release); ERP pulls in and raises the purchase orders of the component's three
    # suppliers (change 1 of each); two acknowledge the new dates; the third, through its
    # portal, confirms 70 % and delays 30 % by two weeks for lack of capacity: released, and a
    # supply exception for planners. The legacy ERP accepted version 1 and has not taken the
    # revised version 2 yet (pending). Then an older version (1) is sent again: refused as
    # stale; and a version 3 that changes a frozen week: held for a planner's approval.

    SCENARIO_ORDERS = ("4500020001", "4500020002", "4500020003")

    def _scenario_start(self):
        return self.legacy_day - datetime.timedelta(days=self.legacy_day.weekday())

    def _critical_forecast(self, version, quantities):
        start = self._scenario_start()
        piece, _ = self._units(PLANNING, start)
        item = self.code(PLANNING, Kind.ITEM, self.critical_item, start)
        plant = self.code(PLANNING, Kind.LOCATION, self.plants["DE01"], start)
        lines = [
            self._forecast_line(
                item, plant, (start + datetime.timedelta(weeks=week)).isoformat(), quantity, piece
            )
            for week, quantity in enumerate(quantities)
        ]
        return {
            "plan_id": self.critical_plan,
            "version": version,
            "horizon": {
                "start": start.isoformat(),
                "end": (start + datetime.timedelta(weeks=12, days=-1)).isoformat(),
            },
            "bucket": "week",
            "lines": lines,
        }

    BASELINE = (1000,) * 12
    # The spike: weeks 1-2 frozen and unchanged, week 5 +10 (under the thresholds), week 6 as
    # before; the rest +60 %.
    SPIKE = (1000, 1000, 1600, 1600, 1010, 1000, 1600, 1600, 1600, 1600, 1600, 1600)

    def _scenario_need_by(self, changed):
        return self.calendar.add_working_days(self.legacy_day, 15 if changed else 20)

    def _scenario_order(self, n, supplier, sequence, quantity):
        day = self.legacy_day
        piece, _ = self._units(LEGACY, day)
        line = self._order_line(
            1,
            LEGACY,
            self.critical_item,
            day,
            quantity,
            piece,
            need_by=self._scenario_need_by(sequence > 0),
        )
        site = self.site if supplier == self.supplier else self.scenario_sites.get(supplier.pk)
        payload = self._order(
            LEGACY, self.SCENARIO_ORDERS[n], day, "GR1000", [line], supplier=supplier, site=site
        )
        payload["change_sequence"] = sequence
        return payload

    def _scenario_ack(self, n, supplier, lines):
        day = self.calendar.add_working_days(self.legacy_day, 1)
        each = self.code(NETWORK, Kind.UNIT, "H87", day)
        return {
            "po_number": self.SCENARIO_ORDERS[n],
            "ack_number": f"ACK-{self.SCENARIO_ORDERS[n]}-1",
            "supplier": self.code(NETWORK, Kind.SUPPLIER, supplier, day),
            "ack_date": day.isoformat(),
            "lines": [
                {
                    "line": 10,
                    "status": status,
                    "committed_quantity": quantity,
                    "unit": each,
                    "committed_date": committed.isoformat(),
                }
                for status, quantity, committed in lines
            ],
        }

    def _committed(self, supplier, day):
        """`day`, or the next working day of the supplier's site when it is not one."""
        site = self.site if supplier == self.supplier else self.scenario_sites.get(supplier.pk)
        if site is None or site.calendar_id is None:
            return day
        return WorkingCalendar(site.calendar).add_working_days(day, 0)

    def _scenario(self):
        if self.critical_item is None or len(self.scenario_suppliers) < 3:
            return
        yield (
            PLANNING,
            "crit-forecast-v1",
            "forecast",
            self._critical_forecast(1, self.BASELINE),
        )
        accepted = self._acceptance(self.critical_plan, 1, "crit-forecast-v1")
        if accepted is not None:
            yield LEGACY, "crit-accept-forecast-v1", "forecast_acceptance", accepted
        # Version 2 stays pending: the ERP has not taken the revised forecast yet.
        yield PLANNING, "crit-forecast-v2", "forecast", self._critical_forecast(2, self.SPIKE)
        for n, supplier in enumerate(self.scenario_suppliers):
            number = self.SCENARIO_ORDERS[n]
            original = self._scenario_order(n, supplier, 0, 1000)
            yield LEGACY, f"crit-po-{number}-0", "purchase_order", original
            change = self._scenario_order(n, supplier, 1, 1500)
            yield LEGACY, f"crit-po-{number}-1", "purchase_order", change
        need_by = self._scenario_need_by(True)
        for n, supplier in enumerate(self.scenario_suppliers[:2]):
            lines = [("IA", 1500, self._committed(supplier, need_by))]
            ack = self._scenario_ack(n, supplier, lines)
            yield NETWORK, f"crit-ack-{self.SCENARIO_ORDERS[n]}", "po_acknowledgement", ack
        # The third trades by EDI: 70 % accepted (IA), 30 % backordered two weeks (IB).
        third = self.scenario_suppliers[2]
        late = self._committed(third, need_by + datetime.timedelta(days=14))
        lines = [("IA", 1050, self._committed(third, need_by)), ("IB", 450, late)]
        ack = self._scenario_ack(2, third, lines)
        yield EDI, f"crit-ack-{self.SCENARIO_ORDERS[2]}", "po_acknowledgement", ack

    def _acceptance(self, plan_id, version, forecast_key):
        """The legacy ERP's acceptance of a plan's version, decided ERP_TAKES after the demo
        forecast `forecast_key` reached the hub, at the DE01 plant's time (the same payload on
        every seed); None when that forecast was not submitted."""
        received = (
            InboundMessage.objects.filter(
                system=self.systems[PLANNING], idempotency_key=KEY_PREFIX + forecast_key
            )
            .values_list("received_at", flat=True)
            .first()
        )
        if received is None:
            return None
        local = ZoneInfo(self.plants["DE01"].timezone)
        return {
            "plan_id": plan_id,
            "version": version,
            "decision": "accepted",
            "decided_at": (received + ERP_TAKES).astimezone(local).isoformat(timespec="seconds"),
        }

    def edi_partner(self):
        """The third scenario supplier's EDI profile, made before its orders are released (they
        go out to it as 850 and 860); None without a scenario."""
        if len(self.scenario_suppliers) < 3:
            return None
        third = self.scenario_suppliers[2]
        code = self.code(NETWORK, Kind.SUPPLIER, third, self.legacy_day)
        return edi.partner_for(third, self.systems[NETWORK], code)

    def _refused_by_controls(self):
        """One message per business control that quarantines it."""
        if self.critical_item is not None and len(self.scenario_suppliers) == 3:
            yield (
                PLANNING,
                "crit-forecast-v1-again",
                "forecast",
                self._critical_forecast(1, self.BASELINE),
            )
            frozen = self._critical_forecast(3, (1400, *self.SPIKE[1:]))
            extra = dict(frozen["lines"][-1])
            extra["period_start"] = (
                datetime.date.fromisoformat(extra["period_start"]) + datetime.timedelta(weeks=1)
            ).isoformat()
            frozen["lines"].append(extra)  # week 13: beyond the plan's horizon, a warning
            yield PLANNING, "bad-crit-forecast-frozen", "forecast", frozen
            # The ERP answers version 3, which the hub held: it never reached the ERP.
            unknown = self._acceptance(self.critical_plan, 3, "bad-crit-forecast-frozen")
            if unknown is not None:
                yield LEGACY, "bad-accept-unknown-version", "forecast_acceptance", unknown
            # The planning system echoes an acceptance of its own: only an ERP decides.
            echoed = self._acceptance(self.critical_plan, 2, "crit-forecast-v2")
            if echoed is not None:
                yield PLANNING, "bad-accept-not-erp", "forecast_acceptance", echoed
            again = self._scenario_order(1, self.scenario_suppliers[1], 1, 1600)
            yield LEGACY, "bad-po-sequence", "purchase_order", again
            supplier = self.scenario_suppliers[0]
            need_by = self._scenario_need_by(True)
            unknown = self._scenario_ack(0, supplier, [("IA", 1500, need_by)])
            unknown["po_number"] = "4500029999"
            yield NETWORK, "bad-ack-unknown-po", "po_acknowledgement", unknown
            no_line = self._scenario_ack(0, supplier, [("IA", 1500, need_by)])
            no_line["lines"][0]["line"] = 90
            yield NETWORK, "bad-ack-unknown-line", "po_acknowledgement", no_line
            short = self._scenario_ack(1, self.scenario_suppliers[1], [("IA", 1400, need_by)])
            yield NETWORK, "bad-ack-quantity", "po_acknowledgement", short
            for n, other in enumerate(self.scenario_suppliers[1:], start=1):
                site = self.scenario_sites.get(other.pk)
                if site is None:
                    continue
                site_calendar = WorkingCalendar(site.calendar)
                day_off = need_by
                while site_calendar.is_working_day(day_off):
                    day_off += datetime.timedelta(days=1)
                closed = self._scenario_ack(n, other, [("IA", 1500, day_off)])
                yield NETWORK, "bad-ack-day-off", "po_acknowledgement", closed
                break
        if not self.supplier or not self.order_items:
            return
        again = self._ship_notice("ASN-4500010001-1", quantity=1, lines=1)
        yield NETWORK, "bad-asn-duplicate", "ship_notice", again
        over = self._ship_notice("ASN-4500010001-3", lines=2)
        over["lines"] = over["lines"][1:]
        over["lines"][0]["quantity"] = 50  # line 20 shipped its 200 already
        yield NETWORK, "bad-asn-over-shipment", "ship_notice", over
        packed = self._ship_notice("ASN-4500010001-4", quantity=1, lines=1)
        packed["lines"][0]["packs"] = [{"sscc": "376130321109103421", "quantity": 1}]
        yield NETWORK, "bad-asn-sscc", "ship_notice", packed, 2
