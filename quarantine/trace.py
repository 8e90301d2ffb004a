"""The thread: one timeline across systems, from a demand change to its supply consequence.

`thread(...)` reads the document ledger (validation.models: forecast releases, purchase
orders and their changes, acknowledgements, ship notices, receipts, supply exceptions) and the
quarantine cases of those documents' messages, and puts them in time order, each step with
its system, a sentence saying what happened, its page, and the time since the step before.

Entry points: an item at a plant (everything in a window, the last 90 days by default), a
purchase order (its changes, what followed them, and the forecast releases they follow), a
forecast version (the order changes that followed it for its items, and what followed those)
and a supply exception (its order's thread).

How an order change is tied to the forecast release it follows:
- explicitly, when its message names its demand: `demand_reference` {"plan_id", "version"}
  (purchase_order contract v3) of a release the hub made;
- else by inference: the latest release before the change whose released lines name an item
  of the order's lines at the order's plant, marked "inferred" with the reason.
Acknowledgements, ship notices, receipts and supply exceptions follow their order by PO number
and supplier (the ledger correlated them when it recorded them). A quarantine stop is a case
of one of the thread's messages, or of a message that names one of its PO numbers (or, in a
forecast's thread, its plan and version: the forecast sent again, or the ERP's answer to it),
with who fixed it and how long it held the flow.

A forecast release is followed by the ERP's decision on it (accepted or rejected, with how long
after the release it came: a step of its own at the time the ERP gives); while there is none,
the release's sentence says how long it has been pending, or that a newer version superseded
it first.

A forecast may have a million lines: its lines are searched in the database (JSON functions
of PostgreSQL and SQLite), never loaded whole. The steps' sentences are quarantine.trace_steps'.
The screen is quarantine.trace_views, the API quarantine.trace_api.
"""

import dataclasses
import datetime

from django.db.models import Count, Q
from django.utils import timezone

from mdm.models import Item, Location
from quarantine.models import QuarantineCase
from quarantine.supply import with_state
from quarantine.trace_steps import (
    EXPLICIT,
    FORECAST_LARGE,
    INFERRED,
    Words,
    covering_messages,
    hub_id,
    later_words,
    part_ids,
    payload_of,
    release_pairs,
    sequence_words,
)
from validation.models import (
    Acknowledgement,
    ForecastRelease,
    InboundMessage,
    PurchaseOrder,
    PurchaseOrderChange,
    Receipt,
    ShipNotice,
    SupplyException,
)

# Step kinds, in the order two steps at the same moment are shown.
KINDS = (
    "quarantine_stop",
    "forecast_release",
    "forecast_decision",
    "order",
    "order_change",
    "acknowledgement",
    "ship_notice",
    "receipt",
    "supply_exception",
)
DEFAULT_DAYS, MAX_DAYS = 90, 3650
ORDER_MESSAGE_TYPES = ("purchase_order", "po_acknowledgement", "ship_notice", "receipt")
# The messages that name a forecast version: the forecast, and the ERP's answer to it.
FORECAST_MESSAGE_TYPES = ("forecast", "forecast_acceptance")


class BadTraceQuery(ValueError):
    """The parameters do not say what to trace; `parameter` names the one at fault."""

    def __init__(self, message, parameter=None):
        super().__init__(message)
        self.parameter = parameter


class TraceNotFound(LookupError):
    """The order, item, plant, forecast or supply exception asked for is not known."""


@dataclasses.dataclass
class Thread:
    """A thread's steps in time order, with what was asked for in words."""

    title: str
    query: dict
    steps: list
    since: datetime.datetime | None = None


# --- the entry points -------------------------------------------------------------------------


def parse_query(params):
    """`thread`'s keyword arguments from request parameters (a QueryDict or a dict of text).
    BadTraceQuery says what is missing or wrong and what would be accepted."""
    given = {
        name: (params.get(name) or "").strip()
        for name in ("item", "plant", "po", "forecast", "exception", "days")
    }
    entries = [name for name in ("po", "forecast", "exception") if given[name]]
    if given["item"] or given["plant"]:
        entries.append("item and plant")
    if not entries:
        raise BadTraceQuery(
            "Say what to trace: an item at a plant (?item=ITM-000123&plant=LOC-000001), a "
            "purchase order (?po=4500020003), a forecast version (?forecast=PLAN-ID:2) or a "
            "supply exception (?exception=12)."
        )
    if len(entries) > 1:
        raise BadTraceQuery(
            f"Trace one thing at a time: {' and '.join(entries)} were given.", entries[1]
        )
    kwargs = {}
    if entries == ["item and plant"]:
        missing = "plant" if given["item"] else "item"
        if not given[missing]:
            raise BadTraceQuery(
                f"Give the {missing} too: an item is traced at one plant "
                "(?item=ITM-000123&plant=LOC-000001; public ids, or the item number and the "
                "plant code).",
                missing,
            )
        kwargs = {"item": given["item"], "plant": given["plant"], "days": _days(given["days"])}
    elif given["days"]:
        raise BadTraceQuery("days is a window for an item at a plant only.", "days")
    if given["po"]:
        kwargs["po"] = given["po"]
    if given["forecast"]:
        plan_id, _, version = given["forecast"].rpartition(":")
        if not plan_id or not version.isdigit() or int(version) < 1:
            raise BadTraceQuery(
                f"forecast is the plan id and version joined by a colon, e.g. "
                f"S&OP-2026-03:2; {given['forecast']!r} is not.",
                "forecast",
            )
        kwargs["forecast"] = (plan_id, int(version))
    if given["exception"]:
        if not given["exception"].isdigit():
            raise BadTraceQuery(
                f"exception is the number of a supply exception, e.g. 12; "
                f"{given['exception']!r} is not.",
                "exception",
            )
        kwargs["exception"] = int(given["exception"])
    return kwargs


def _days(text):
    if not text:
        return DEFAULT_DAYS
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise BadTraceQuery(
            f"days is a whole number of days from 1 to {MAX_DAYS}; {text!r} is not.", "days"
        )
    return int(text)


def thread(item=None, plant=None, po=None, forecast=None, exception=None, *, days=None, now=None):
    """The thread of an item at a plant (public id or number/code; the last `days` days,
    90 by default), a PO number, a forecast (plan id, version) or a supply exception (its
    id). TraceNotFound when the record asked for is not known."""
    now = now or timezone.now()
    if po is not None:
        return _po_thread(po, now)
    if forecast is not None:
        return _forecast_thread(*forecast, now)
    if exception is not None:
        return _exception_thread(exception, now)
    if item is not None and plant is not None:
        return _item_thread(item, plant, days or DEFAULT_DAYS, now)
    raise BadTraceQuery("Say what to trace: item and plant, po, forecast or exception.")


def plants_of_item(item_key, limit=20):
    """(item, [(plant, orders)]) for an item given alone: the plants its purchase order lines
    go to, most orders first, so a person can choose where to trace it. TraceNotFound for an
    unknown item."""
    item = Item.objects.filter(Q(public_id=item_key) | Q(number=item_key)).first()
    if item is None:
        raise TraceNotFound(f"No item {item_key} is known to the hub (public id or number).")
    counted = (
        PurchaseOrder.objects.filter(lines__item=item, plant__isnull=False)
        .values("plant")
        .annotate(orders=Count("pk", distinct=True))
        .order_by("-orders", "plant")[:limit]
    )
    plants = Location.objects.in_bulk([row["plant"] for row in counted])
    return item, [(plants[row["plant"]], row["orders"]) for row in counted]


def _po_thread(po_number, now):
    builder = _Builder(now)
    orders = PurchaseOrder.objects.filter(po_number=po_number).select_related("supplier", "plant")
    for order in orders:
        builder.add_order(order)
    builder.po_numbers.add(po_number)
    steps = builder.steps()
    if not steps and not orders:
        raise TraceNotFound(f"No purchase order {po_number} is known to the hub.")
    suppliers = ", ".join(sorted({order.supplier.name for order in orders}))
    title = f"PO {po_number}" + (f" to {suppliers}" if suppliers else "")
    return Thread(title, {"po": po_number}, steps)


def _exception_thread(pk, now):
    exception = (
        SupplyException.objects.filter(pk=pk)
        .select_related("order_line__order__supplier", "order_line__order__plant")
        .first()
    )
    if exception is None:
        raise TraceNotFound(f"No supply exception {pk} is known to the hub.")
    order = exception.order_line.order
    builder = _Builder(now)
    builder.add_order(order)
    builder.po_numbers.add(order.po_number)
    title = (
        f"Supply exception {pk} on PO {order.po_number} line {exception.order_line.line} "
        f"to {order.supplier.name}"
    )
    return Thread(title, {"exception": pk}, builder.steps())


def _forecast_thread(plan_id, version, now):
    releases = list(_releases().filter(plan_id=plan_id, version=version))
    builder = _Builder(now)
    builder.forecasts.add((plan_id, version))
    for release in releases:
        builder.add_release(release, EXPLICIT, "The forecast version asked for.", ())
        builder.add_changes_following(release)
    steps = builder.steps()
    if not steps:
        raise TraceNotFound(f"No forecast {plan_id} version {version} is known to the hub.")
    return Thread(f"Forecast {plan_id} version {version}", {"forecast": [plan_id, version]}, steps)


def _item_thread(item_key, plant_key, days, now):
    item = Item.objects.filter(Q(public_id=item_key) | Q(number=item_key)).first()
    if item is None:
        raise TraceNotFound(f"No item {item_key} is known to the hub (public id or number).")
    plant = Location.objects.filter(Q(public_id=plant_key) | Q(code=plant_key)).first()
    if plant is None:
        raise TraceNotFound(f"No plant {plant_key} is known to the hub (public id or code).")
    since = now - datetime.timedelta(days=days)
    builder = _Builder(now, since=since, item=item)
    why = f"Its released lines name {item.description} at {plant.name}."
    for release in builder.covering(item.public_id, plant.public_id):
        if release.released_at >= since:
            builder.add_release(release, EXPLICIT, why, {(item.public_id, plant.public_id)})
    orders = PurchaseOrder.objects.filter(plant=plant, lines__item=item).distinct()
    for order in orders.select_related("supplier", "plant"):
        builder.add_order(order)
    title = f"{item.description} ({item.public_id}) at {plant.name} ({plant.public_id})"
    query = {"item": item.public_id, "plant": plant.public_id, "days": days}
    return Thread(title, query, builder.steps(), since=since)


def _releases():
    # A forecast's message holds up to 100 MB of lines: leave them in the database. (The ERP's
    # decision message is a few fields.)
    return ForecastRelease.objects.select_related(
        "system", "message", "decided_by", "decision_message"
    ).defer(*(f"message__{field}" for field in FORECAST_LARGE))


# --- gathering the records ----------------------------------------------------------------------


class _Builder:
    """The records of one thread, gathered entry point by entry point, then made steps.
    `since` leaves out what happened before it (the linked forecast releases excepted: they
    are the cause); `item` keeps only the order lines of that item."""

    def __init__(self, now, since=None, item=None):
        self.since, self.item = since, item
        self.releases = {}  # pk -> [release, link, why, {(item id, plant id)}]
        self.changes = {}  # pk -> (change, order, link, why, release)
        self.records = {kind: {} for kind in ("ack", "notice", "receipt", "exception")}
        self.po_numbers, self.forecasts = set(), set()
        self._covering = {}
        self.words = Words(now, item)

    def within(self, at, start=None):
        return all(bound is None or at >= bound for bound in (self.since, start))

    def add_release(self, release, link, why, pairs):
        entry = self.releases.setdefault(release.pk, [release, link, why, set()])
        if link == EXPLICIT and entry[1] == INFERRED:
            entry[1], entry[2] = EXPLICIT, why
        entry[3].update(pairs)

    def add_order(self, order, start=None, changes=True):
        """The order's changes (unless `changes` is False) and what followed them, from
        `start` on."""
        self.po_numbers.add(order.po_number)
        found = PurchaseOrderChange.objects.filter(order=order).select_related("message__system")
        for change in found.order_by("change_sequence") if changes else ():
            if self.within(change.released_at, start):
                self.add_change(change, order)
        lines = {"order_line__order": order}
        if self.item is not None:
            lines["order_line__item"] = self.item
        found = {
            "ack": Acknowledgement.objects.filter(order=order).select_related("message__system"),
            "notice": ShipNotice.objects.filter(**{f"lines__{k}": v for k, v in lines.items()}),
            "receipt": Receipt.objects.filter(**{f"lines__{k}": v for k, v in lines.items()}),
            "exception": with_state(SupplyException.objects.filter(**lines)).select_related(
                "acknowledgement__message", "order_line__order", "unit"
            ),
        }
        times = {"ack": "recorded_at", "notice": "recorded_at", "receipt": "recorded_at"}
        for kind, rows in found.items():
            if kind in ("notice", "receipt"):
                rows = rows.distinct().select_related("message__system")
            for row in rows:
                if self.within(getattr(row, times.get(kind, "raised_at")), start):
                    row.thread_order = order
                    self.records[kind][row.pk] = row

    def add_change(self, change, order):
        release, link, why, pairs = self.link_of(change, order)
        if release is not None:
            sequence = sequence_words(change.change_sequence)
            if link == EXPLICIT:
                named = f"PO {order.po_number} ({sequence}) names it as its demand."
            else:
                [(item_id, plant_id)] = pairs
                named = (
                    f"Inferred: no order names it as its demand; it is the latest release "
                    f"before PO {order.po_number} ({sequence}) with a line for "
                    f"{self.words.item(item_id)} at {self.words.place(plant_id)}."
                )
            self.add_release(release, link, named, pairs)
        self.changes[change.pk] = (change, order, link, why, release)

    def link_of(self, change, order):
        """(release, link, why, pairs) of the forecast release a change follows, or
        (None, EXPLICIT, "", ()) when it follows none the hub knows of. An inferred link's
        `why` is "Inferred: <the basis>." after what the order named, if anything."""
        payload = payload_of(change.message)
        reference = payload.get("demand_reference")
        named = ""
        if isinstance(reference, dict):
            plan_id, version = reference.get("plan_id"), reference.get("version")
            release = _releases().filter(plan_id=plan_id, version=version).first()
            pairs = self._pairs_of(payload, order)
            if release is not None:
                why = f"The order names its demand: forecast {plan_id} version {version}."
                return release, EXPLICIT, why, pairs
            named = (
                f"The order names forecast {plan_id} version {version}, which the hub has not "
                "released. "
            )
        best = None
        for item_id, plant_id in self._pairs_of(payload, order):
            for release in reversed(self.covering(item_id, plant_id)):
                if release.released_at <= change.released_at:
                    if best is None or release.released_at > best[0].released_at:
                        best = (release, item_id, plant_id)
                    break
        if best is None:
            return None, EXPLICIT, named.strip(), ()
        release, item_id, plant_id = best
        why = (
            f"{named}Inferred: it is the latest forecast release before PO {order.po_number} "
            f"({sequence_words(change.change_sequence)}) with a line for "
            f"{self.words.item(item_id)} at {self.words.place(plant_id)}"
            + ("" if named else ", and the order names no demand reference")
            + "."
        )
        return release, INFERRED, why, {(item_id, plant_id)}

    def _pairs_of(self, payload, order):
        if order.plant is None:
            return set()
        items = {hub_id(line, "item") for line in payload.get("lines") or ()}
        if self.item is not None:
            items &= {self.item.public_id}
        return {(item_id, order.plant.public_id) for item_id in items if item_id}

    def covering(self, item_id, plant_id):
        """The releases whose released lines name the item at the plant, oldest first."""
        key = (item_id, plant_id)
        if key not in self._covering:
            parts = covering_messages(item_id, plant_id)
            groups = InboundMessage.objects.filter(pk__in=parts).exclude(group_key=None)
            keys = list(groups.values_list("group_key", flat=True))
            found = _releases().filter(Q(message_id__in=parts) | Q(message__group_key__in=keys))
            self._covering[key] = list(found.order_by("released_at", "pk"))
        return self._covering[key]

    def add_changes_following(self, release):
        """The order changes that follow `release` (named by them, or inferred), with what
        followed them."""
        pairs = release_pairs(part_ids(release))
        items = {item for item, _ in pairs}
        plants = {plant for _, plant in pairs}
        candidates = PurchaseOrderChange.objects.filter(
            Q(
                released_at__gte=release.released_at,
                order__plant__public_id__in=plants,
                order__lines__item__public_id__in=items,
            )
            | Q(
                message__payload__demand_reference__plan_id=release.plan_id,
                message__payload__demand_reference__version=release.version,
            )
        )
        firsts, linked_pairs = {}, set()
        for change in candidates.distinct().select_related(
            "message__system", "order__supplier", "order__plant"
        ):
            found, link, why, linked = self.link_of(change, change.order)
            if found is None or found.pk != release.pk:
                continue
            linked_pairs.update(linked)
            self.changes[change.pk] = (change, change.order, link, why, release)
            first = firsts.get(change.order_id)
            if first is None or change.released_at < first[1]:
                firsts[change.order_id] = (change.order, change.released_at)
        # The sentence describes the items at plants the changes followed, else all.
        self.releases[release.pk][3].update(linked_pairs or pairs)
        for order, start in firsts.values():
            self.add_order(order, start, changes=False)

    # --- steps --------------------------------------------------------------------------------

    def steps(self):
        steps = [self.words.release_step(*entry) for entry in self.releases.values()]
        steps += [
            self.words.decision_step(release)
            for release, *_ in self.releases.values()
            if release.decision
        ]
        steps += [self.words.change_step(*entry) for entry in self.changes.values()]
        steps += [self.words.ack_step(ack) for ack in self.records["ack"].values()]
        steps += [self.words.notice_step(n) for n in self.records["notice"].values()]
        steps += [self.words.receipt_step(r) for r in self.records["receipt"].values()]
        steps += [self.words.exception_step(e) for e in self.records["exception"].values()]
        steps += [self.words.stop_step(case) for case in self.cases(steps)]
        steps.sort(key=lambda step: (step.at, KINDS.index(step.kind), step.order))
        previous = None
        for step in steps:
            if previous is not None:
                seconds = (step.at - previous.at).total_seconds()
                step.since_previous = {"seconds": seconds, "words": later_words(seconds)}
            previous = step
        return steps

    def cases(self, steps):
        """The quarantine cases of the thread's messages, and of messages naming its PO
        numbers or its forecast (plan and version), opened within the window."""
        public_ids = {step.message for step in steps if step.message}
        query = Q(message__public_id__in=public_ids)
        for number in self.po_numbers:
            query |= Q(message_type__in=ORDER_MESSAGE_TYPES, search_text__contains=number.lower())
        for plan_id, version in self.forecasts:
            query |= Q(
                message_type__in=FORECAST_MESSAGE_TYPES,
                search_text__contains=plan_id.lower(),
                message__payload__plan_id=plan_id,
                message__payload__version=version,
            )
        found = (
            QuarantineCase.objects.filter(query)
            .select_related("message__system")
            .defer(*(f"message__{field}" for field in FORECAST_LARGE))
            .prefetch_related("transitions__by")
        )
        cases = [case for case in found if self.within(case.opened_at)]
        named = InboundMessage.objects.filter(
            pk__in=[c.message_id for c in cases if c.message.public_id not in public_ids],
            message_type__in=ORDER_MESSAGE_TYPES,
        ).values_list("pk", "payload")
        naming = {pk for pk, payload in named if self.po_numbers & po_numbers_of(payload)}
        return [
            case
            for case in cases
            if case.message.public_id in public_ids
            or case.message_id in naming
            or case.message_type in FORECAST_MESSAGE_TYPES
        ]


def po_numbers_of(payload, limit=None):
    """The PO numbers a message's payload names (its header's, or its lines')."""
    if not isinstance(payload, dict):
        return set()
    numbers = {payload.get("po_number")}
    for line in (payload.get("lines") or [])[: limit or None]:
        if isinstance(line, dict):
            numbers.add(line.get("po_number"))
    return {str(number) for number in numbers if isinstance(number, str | int)}


def forecast_key(message):
    """ "PLAN:2" of a forecast message (its plan id and version), the `forecast` parameter of
    its thread; None for another message or a header without them."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    plan_id, version = payload.get("plan_id"), payload.get("version")
    if message.message_type != "forecast" or not isinstance(version, int) or not plan_id:
        return None
    return f"{plan_id}:{version}"
