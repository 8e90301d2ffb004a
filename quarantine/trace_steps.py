"""The steps of a thread (quarantine.trace) in words: for each record of the ledger, or
quarantine case, its time, its system, a sentence saying what happened, its page and how it is
tied into the thread; and the forecast lines those sentences read, searched in the database
(a forecast may have a million lines: they are never loaded whole).
"""

import dataclasses
import datetime
import json
from decimal import Decimal

from django.db import connection
from django.urls import reverse

from mdm.models import Item, Location, Unit
from quarantine.models import QuarantineCase
from quarantine.supply import state_of
from validation.ledger import date_or_none, decimal_or_none
from validation.models import ForecastRelease, InboundMessage, PurchaseOrderChange

EXPLICIT, INFERRED = "explicit", "inferred"
HUB = {"code": "HUB", "name": "The hub"}
LINES_SHOWN = 3  # order lines a sentence describes before "and N more"
PAIRS_SHOWN = 2  # items at plants a forecast's sentence describes before "and N more"
# The columns of a forecast's message left in the database (up to 100 MB each).
FORECAST_LARGE = ("payload", "released_payload", "diagnostics")
BUCKETS = {"week": ("week", "weeks"), "month": ("month", "months"), "day": ("day", "days")}
Resolution = QuarantineCase.Resolution


@dataclasses.dataclass
class Step:
    """One step of a thread: what happened, when, in which system, and how it is tied in
    (`link`: explicit, or inferred with `why`)."""

    kind: str
    at: datetime.datetime
    system: dict
    what: str
    url: str
    message: str | None
    link: str = EXPLICIT
    why: str = ""
    stop: dict | None = None
    since_previous: dict | None = None
    order: int = 0  # the record's primary key: the last tie-breaker of the time order


class Words:
    """Makes a thread's steps, reading the names of the items, places and units the
    sentences mention once each. `item` keeps only that item's order lines; `now` is the end
    of a stop still holding its message."""

    def __init__(self, now, item=None):
        self.now, self.only_item = now, item
        self._items, self._places, self._units = {}, {}, {}

    def item(self, public_id):
        if public_id not in self._items:
            found = Item.objects.filter(public_id=public_id).values_list("description").first()
            self._items[public_id] = found[0] if found else public_id
        return self._items[public_id]

    def place(self, public_id):
        if public_id not in self._places:
            found = Location.objects.filter(public_id=public_id).values_list("name").first()
            self._places[public_id] = found[0] if found else public_id
        return self._places[public_id]

    def unit(self, code):
        """'piece (H87)': the unit's name, then its code."""
        if code not in self._units:
            found = Unit.objects.filter(code=code).values_list("name").first()
            self._units[code] = f"{found[0]} ({code})" if found else str(code or "")
        return self._units[code]

    # --- forecast releases ----------------------------------------------------------------

    def release_step(self, release, link, why, pairs):
        system = _system(release.system)
        details = [self._forecast_change(release, *pair) for pair in sorted(pairs)[:PAIRS_SHOWN]]
        if len(pairs) > PAIRS_SHOWN:
            details.append(f"and {len(pairs) - PAIRS_SHOWN} more items at plants")
        if release.lines_filtered:
            count = release.lines_filtered
            details.append(f"{count} line{'s' if count != 1 else ''} left out as not actionable")
        what = f"{system['name']} released forecast {release.plan_id} version {release.version}"
        what += (": " + "; ".join(details) if details else "") + "."
        if not release.decision:
            what += " " + self._undecided(release)
        return Step(
            kind="forecast_release",
            at=release.released_at,
            system=system,
            what=what,
            url=_message_url(release.message_id),
            message=release.message.public_id,
            link=link,
            why=why,
            order=release.pk,
        )

    def _undecided(self, release):
        """What the ERP has (not) done with a release it has not decided on: pending for how
        long, or superseded by a newer version before it decided."""
        newer = (
            ForecastRelease.objects.filter(
                system_id=release.system_id, plan_id=release.plan_id, version__gt=release.version
            )
            .order_by("version")
            .values_list("version", flat=True)
            .first()
        )
        if newer is not None:
            return f"The ERP did not accept or reject it before version {newer} superseded it."
        waited = (self.now - release.released_at).total_seconds()
        return f"The ERP has not accepted or rejected it yet: pending for {duration_words(waited)}."

    def decision_step(self, release):
        """The ERP's decision on a forecast release (validation.ledger), at the time the ERP
        gives, with how long after the release it came."""
        system = _system(release.decided_by)
        seconds = (release.decided_at - release.released_at).total_seconds()
        if seconds >= 0:
            latency = f"{duration_words(seconds)} after its release"
        else:  # the ERP's clock and the hub's disagree
            latency = f"{duration_words(-seconds)} before the hub recorded its release"
        what = (
            f"{system['name']} {release.get_decision_display().lower()} forecast "
            f"{release.plan_id} version {release.version}, {latency}"
        )
        if release.decision_reason:
            what += f": {release.decision_reason.rstrip('. ')}"
        return Step(
            kind="forecast_decision",
            at=release.decided_at,
            system=system,
            what=what + ".",
            url=_message_url(release.decision_message_id),
            message=release.decision_message.public_id,
            order=release.pk,
        )

    def _forecast_change(self, release, item_id, plant_id):
        """'weeks 3-4 and 7-12 up 60 % (from 1000 to 1600 piece (H87)) for X at Y'."""
        where = {("hub", "item", "id"): item_id, ("hub", "location", "id"): plant_id}
        lines = forecast_lines(part_ids(release), "released_payload", where)
        subject = f"{self.item(item_id)} at {self.place(plant_id)}"
        if not lines:
            return f"nothing released for {subject}"
        previous = (
            ForecastRelease.objects.filter(
                system_id=release.system_id, plan_id=release.plan_id, version__lt=release.version
            )
            .select_related("message")
            .defer(*(f"message__{field}" for field in FORECAST_LARGE))
            .order_by("-version")
            .first()
        )
        before = {}
        if previous is not None:
            sent = {("item",): lines[0].get("item"), ("location",): lines[0].get("location")}
            for line in forecast_lines(part_ids(previous), "payload", sent):
                quantity = decimal_or_none(line.get("quantity"))
                before[line.get("period_start")] = (quantity, line.get("unit"))
        bucket = (
            InboundMessage.objects.filter(pk=release.message_id)
            .values_list("payload__bucket", flat=True)
            .first()
        )
        periods = [date_or_none(line.get("period_start")) for line in lines]
        start = release.horizon_start or min((p for p in periods if p), default=None)
        groups = {}  # label -> (period numbers, {(before, after, unit)})
        for line, period in zip(lines, periods, strict=True):
            if period is None or start is None:
                continue
            label, old = _change_label(line, before, previous is not None)
            new = decimal_or_none(line.get("quantity"))
            unit = hub_id(line, "unit") or line.get("unit")
            numbers, amounts = groups.setdefault(label, ([], set()))
            numbers.append(_period_number(start, period, bucket))
            amounts.add((old, new, unit))
        texts = []
        one, many = BUCKETS.get(bucket, ("period", "periods"))
        for label, (numbers, amounts) in sorted(groups.items(), key=lambda g: min(g[1][0])):
            text = f"{many if len(numbers) > 1 else one} {ranges(numbers)} {label}"
            if len(amounts) == 1:
                old, new, unit = next(iter(amounts))
                amount = f"{number(new)} {self.unit(unit)}"
                text += f" (from {number(old)} to {amount})" if old is not None else f" ({amount})"
            texts.append(text)
        return f"{', '.join(texts)} for {subject}"

    # --- orders -----------------------------------------------------------------------------

    def change_step(self, change, order, link, why, release):
        system = _system(change.message.system)
        original = change.change_sequence == 0
        verb = "released" if original else "changed"
        previous = {}
        if not original:
            before = (
                PurchaseOrderChange.objects.filter(
                    order=order, change_sequence__lt=change.change_sequence
                )
                .select_related("message")
                .order_by("-change_sequence")
                .first()
            )
            if before is not None:
                previous = {
                    line.get("line"): line for line in payload_of(before.message).get("lines") or ()
                }
        lines = [
            self._order_line(line, previous.get(line.get("line")))
            for line in payload_of(change.message).get("lines") or ()
            if self.only_item is None or hub_id(line, "item") == self.only_item.public_id
        ]
        sequence = sequence_words(change.change_sequence)
        what = (
            f"{system['name']} {verb} PO {order.po_number} ({sequence}) "
            f"to {order.supplier.name}: {_listed(lines)}"
        )
        return Step(
            kind="order" if original else "order_change",
            at=change.released_at,
            system=system,
            what=what,
            url=_message_url(change.message_id),
            message=change.message.public_id,
            link=link if release is not None else EXPLICIT,
            why=why,
            order=change.pk,
        )

    def _order_line(self, line, before):
        item = hub_id(line, "item")
        unit = hub_id(line, "unit") or line.get("unit")
        quantity, need_by = number(line.get("quantity")), line.get("need_by")
        text = f"line {line.get('line')}, {self.item(item) if item else line.get('item')}: "
        text += f"{quantity} {self.unit(unit)}"
        if before is not None and number(before.get("quantity")) != quantity:
            text += f" instead of {number(before.get('quantity'))}"
        text += f", need by {need_by}"
        if before is not None and before.get("need_by") != need_by:
            text += f" instead of {before.get('need_by')}"
        return text

    def ack_step(self, ack):
        order = ack.thread_order
        system = _system(ack.message.system)
        need_by = dict(order.lines.values_list("line", "need_by"))
        by_line = {}
        for line in payload_of(ack.message).get("lines") or ():
            if isinstance(line, dict):
                by_line.setdefault(line.get("line"), []).append(line)
        texts = []
        for number_, answers in sorted(by_line.items(), key=lambda entry: str(entry[0])):
            parts = [self._answer(answer, need_by.get(number_)) for answer in answers]
            texts.append(f"line {number_}: {', '.join(parts)}")
        what = f"{system['name']} acknowledged PO {order.po_number}"
        what += f" ({ack.ack_number})" if ack.ack_number else ""
        return Step(
            kind="acknowledgement",
            at=ack.recorded_at,
            system=system,
            what=f"{what}: {_listed(texts)}",
            url=_message_url(ack.message_id),
            message=ack.message.public_id,
            order=ack.pk,
        )

    def _answer(self, answer, need_by):
        status = (hub_id(answer, "status") or "").partition(":")[2] or answer.get("status", "")
        unit = hub_id(answer, "unit") or answer.get("unit")
        committed = date_or_none(answer.get("committed_date"))
        text = f"{number(answer.get('committed_quantity'))} {self.unit(unit)} "
        text += f"{str(status).replace('_', ' ')} for {answer.get('committed_date')}"
        if committed and need_by and committed > need_by:
            days = (committed - need_by).days
            text += f" ({days} day{'s' if days != 1 else ''} after the need-by date {need_by})"
        return text

    def notice_step(self, notice):
        system = _system(notice.message.system)
        what = f"{system['name']} sent ship notice {notice.shipment_id}: shipped {notice.ship_date}"
        if notice.expected_delivery:
            what += f", expected {notice.expected_delivery}"
        return Step(
            kind="ship_notice",
            at=notice.recorded_at,
            system=system,
            what=f"{what}; {_listed(self._carried(notice.lines, notice.thread_order))}",
            url=_message_url(notice.message_id),
            message=notice.message.public_id,
            order=notice.pk,
        )

    def receipt_step(self, receipt):
        system = _system(receipt.message.system)
        texts = self._carried(receipt.lines, receipt.thread_order, announced=True)
        return Step(
            kind="receipt",
            at=receipt.recorded_at,
            system=system,
            what=f"{system['name']} recorded goods receipt {receipt.receipt_id} on "
            f"{receipt.received_on}: {_listed(texts)}",
            url=_message_url(receipt.message_id),
            message=receipt.message.public_id,
            order=receipt.pk,
        )

    def _carried(self, lines, order, announced=False):
        """'line 10: 500 piece (H87)' for the lines of `order` a notice or receipt carries."""
        rows = lines.filter(order_line__order=order).select_related("order_line")
        if self.only_item is not None:
            rows = rows.filter(order_line__item=self.only_item)
        texts = []
        for row in rows.order_by("order_line__line", "pk"):
            text = f"line {row.order_line.line}: {number(row.quantity)} "
            text += self.unit(row.order_line.base_unit_id)
            if announced:
                text += (
                    f", announced by ship notice {row.shipment_id}"
                    if row.notice_id
                    else ", not announced by a ship notice"
                )
            texts.append(text)
        return texts

    def exception_step(self, exception):
        order_line = exception.order_line
        unit = self.unit(exception.unit_id)
        what = (
            f"The hub raised a supply exception on PO {order_line.order.po_number} line "
            f"{order_line.line}: {number(exception.quantity_at_risk)} of "
            f"{number(exception.ordered_quantity)} {unit} will not arrive by "
            f"{exception.need_by} ({exception.status.replace('_', ' ')}"
        )
        if exception.committed_date:
            what += f", committed {exception.committed_date}"
        if exception.days_late:
            what += f", {exception.days_late} day{'s' if exception.days_late != 1 else ''} late"
        what += f"); the exception is {state_of(exception)}."
        return Step(
            kind="supply_exception",
            at=exception.raised_at,
            system=dict(HUB),
            what=what,
            url=reverse("quarantine:supply-exceptions") + f"?state=all#exception-{exception.pk}",
            message=exception.acknowledgement.message.public_id,
            order=exception.pk,
        )

    # --- quarantine stops -------------------------------------------------------------------

    def stop_step(self, case):
        message = case.message
        errors = [d for d in case.diagnostics if d.get("severity") == "error"]
        first = errors[0] if errors else {}
        end = case.resolved_at or self.now
        held = max((end - case.opened_at).total_seconds(), 0)
        fixed_by, note = _fixed_by(case)
        stop = {
            "case": case.pk,
            "opened_at": case.opened_at,
            "resolved_at": case.resolved_at,
            "open": case.is_open,
            "outcome": case.outcome,
            "resolution": case.resolution or None,
            "fixed_by": fixed_by,
            "note": note,
            "held_seconds": held,
            "held_words": duration_words(held),
        }
        reason = (first.get("message") or "see the case").rstrip(". ")
        what = (
            f"The hub held {message.get_message_type_display().lower()} {message.public_id} "
            f"from {message.system.name}: {reason}"
        )
        what += f" (rule {first['rule']})." if first.get("rule") else "."
        if case.is_open:
            what += f" Still held, for {stop['held_words']} so far."
        else:
            what += f" Held {stop['held_words']}; {case.outcome.lower()}, by {fixed_by}."
        return Step(
            kind="quarantine_stop",
            at=case.opened_at,
            system=dict(HUB),
            what=what,
            url=reverse("quarantine:case", args=[case.pk]),
            message=message.public_id,
            stop=stop,
            order=case.pk,
        )


def _fixed_by(case):
    """(who ended the case, what they said): the person who closed it or started the replay
    that released it; 'the hub' for an auto-replay. (None, "") while it is open."""
    if case.is_open:
        return None, ""
    transitions = list(case.transitions.all())
    closing = next((t for t in reversed(transitions) if t.resolution), None)
    if case.resolution == Resolution.AUTO_REPLAY:
        return "the hub (automatic replay)", closing.reason if closing else ""
    people = [t for t in transitions if t.by_id and (closing is None or t.at <= closing.at)]
    if closing is not None and closing.by_id:
        return closing.by.get_username(), closing.reason
    if people:
        return people[-1].by.get_username(), people[-1].reason
    return "the hub", closing.reason if closing else ""


def _change_label(line, before, compared):
    """('up 60 %' | 'down 20 %' | 'unchanged' | 'new' | 'planned', quantity before)."""
    if not compared:
        return "planned", None
    old, unit = before.get(line.get("period_start"), (None, None))
    new = decimal_or_none(line.get("quantity"))
    if old is None or new is None or unit != line.get("unit"):
        return "new", None
    if old == 0:
        return ("unchanged", old) if new == 0 else ("new", old)
    percent = ((new - old) * 100 / old).quantize(Decimal("0.1"))
    if percent == 0:
        return "unchanged", old
    return f"{'up' if percent > 0 else 'down'} {number(abs(percent))} %", old


def _period_number(start, period, bucket):
    if bucket == "month":
        return (period.year - start.year) * 12 + period.month - start.month + 1
    if bucket == "day":
        return (period - start).days + 1
    return (period - start).days // 7 + 1


def _system(system):
    return {"code": system.code, "name": system.name or system.code}


def _message_url(pk):
    return reverse("admin:validation_inboundmessage_change", args=[pk])


def payload_of(message):
    """A message's payload as released (or as sent), a dict."""
    payload = message.released_payload or message.payload
    return payload if isinstance(payload, dict) else {}


def hub_id(obj, field):
    """The canonical id the enrichment gave an object's field (its "hub" block), or None."""
    if not isinstance(obj, dict):
        return None
    return ((obj.get("hub") or {}).get(field) or {}).get("id")


def sequence_words(number):
    """An order's change sequence in words: "original", "change 2"."""
    return "original" if number == 0 else f"change {number}"


def _listed(texts):
    if not texts:
        return "no lines."
    shown = "; ".join(texts[:LINES_SHOWN])
    more = len(texts) - LINES_SHOWN
    return shown + (f"; and {more} more line{'s' if more != 1 else ''}." if more > 0 else ".")


# --- words ---------------------------------------------------------------------------------------


def duration_words(seconds):
    """'2 days 4 h', '3 h 5 min', '12 min 3 s', '45 s', 'less than a second'."""
    whole = int(max(seconds, 0))
    if whole < 1:
        return "less than a second"
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    if minutes:
        return f"{minutes} min" + (f" {secs} s" if secs else "")
    return f"{secs} s"


def later_words(seconds):
    return "at the same moment" if seconds == 0 else f"{duration_words(seconds)} later"


def number(value):
    """A quantity as plain text: 1500, 12.5."""
    found = value if isinstance(value, Decimal) else decimal_or_none(value)
    return str(value) if found is None else format(found.normalize(), "f")


def ranges(numbers):
    """[3, 4, 7, 8, 9] -> '3-4 and 7-9'."""
    spans = []
    for n in sorted(set(numbers)):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    texts = [f"{a}" if a == b else f"{a}-{b}" for a, b in spans]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]


# --- forecast lines, searched in the database ---------------------------------------------------

_TABLE = InboundMessage._meta.db_table


def part_ids(release):
    """The messages holding a release's lines: its message, or every part of it."""
    message = release.message
    if not message.group_key:
        return [message.pk]
    parts = InboundMessage.objects.filter(system_id=release.system_id, group_key=message.group_key)
    return list(parts.values_list("pk", flat=True))


def covering_messages(item_id, plant_id):
    """Ids of the forecast messages with a released line for the item at the plant."""
    if connection.vendor == "postgresql":
        wanted = json.dumps([{"hub": {"item": {"id": item_id}, "location": {"id": plant_id}}}])
        sql = (
            f"SELECT m.id FROM {_TABLE} m WHERE m.message_type = 'forecast' "
            "AND m.released_payload -> 'lines' @> %s::jsonb"
        )
        params = [wanted]
    else:
        sql = (
            f"SELECT DISTINCT m.id FROM {_TABLE} m, json_each(m.released_payload, '$.lines') l "
            "WHERE m.message_type = 'forecast' AND m.released_payload IS NOT NULL "
            "AND json_extract(l.value, '$.hub.item.id') = %s "
            "AND json_extract(l.value, '$.hub.location.id') = %s"
        )
        params = [item_id, plant_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def release_pairs(message_ids):
    """{(item id, plant id)} of the released lines of these forecast messages."""
    ids = ", ".join(["%s"] * len(message_ids))
    if connection.vendor == "postgresql":
        sql = (
            "SELECT DISTINCT l #>> '{hub,item,id}', l #>> '{hub,location,id}' FROM "
            f"{_TABLE} m, jsonb_array_elements(m.released_payload -> 'lines') l "
            f"WHERE m.id IN ({ids})"
        )
    else:
        sql = (
            "SELECT DISTINCT json_extract(l.value, '$.hub.item.id'), "
            "json_extract(l.value, '$.hub.location.id') FROM "
            f"{_TABLE} m, json_each(m.released_payload, '$.lines') l WHERE m.id IN ({ids})"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(message_ids))
        return {(item, plant) for item, plant in cursor.fetchall() if item and plant}


def forecast_lines(message_ids, column, where):
    """The lines of these forecast messages' `column` ("payload" or "released_payload")
    whose fields at the paths of `where` ({("hub", "item", "id"): value}) hold those values."""
    if column not in ("payload", "released_payload") or not message_ids:
        return []
    ids = ", ".join(["%s"] * len(message_ids))
    params = list(message_ids)
    if connection.vendor == "postgresql":
        tests = " AND ".join(["l #>> %s::text[] = %s"] * len(where))
        sql = (
            f"SELECT l FROM {_TABLE} m, jsonb_array_elements(m.{column} -> 'lines') l "
            f"WHERE m.id IN ({ids}) AND {tests}"
        )
        for path, value in where.items():
            params += [list(path), value]
    else:
        tests = " AND ".join(["json_extract(l.value, %s) = %s"] * len(where))
        sql = (
            f"SELECT l.value FROM {_TABLE} m, json_each(m.{column}, '$.lines') l "
            f"WHERE m.id IN ({ids}) AND {tests}"
        )
        for path, value in where.items():
            params += ["$." + ".".join(path), value]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [row[0] for row in cursor.fetchall()]
    return [json.loads(row) if isinstance(row, str) else row for row in rows]
