"""The supply flows screens, under /quarantine/flows/: the seed's business dashboards drawn
from validation.flows (forecast releases waiting for the ERP, order changes waiting for the
supplier's acknowledgement, how late ship notices come and how long goods take after them,
open supply exceptions by plant and by commodity), and the list behind each bar.

A bar and the list it opens count the same rows: the list is the chart's queryset narrowed by
validation.flows.where as the bar's link says (the supply exceptions' bars open the supply
exceptions screen, quarantine.supply, narrowed the same way). Thin: the figures come from
validation.flows, the filters from quarantine.flow_filters, the bars from quarantine.charts.
Every screen needs a login and the permission to view supply exceptions (every role has it).
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from quarantine import charts, flow_filters, queries, supply
from quarantine.trace_steps import duration_words
from validation import flows
from validation.claims import LARGE_FIELDS
from validation.models import ShipNoticeLine

PER_PAGE = 50
SUPPLY = "quarantine:supply-exceptions"  # the open exceptions' bars open that screen
# Suppliers, plants or commodities drawn per chart, the largest first; the rest are in the lists.
SHOWN = 15
RECEIVED_SERIES = (
    ("goods received", charts.BUCKET_COLOURS[0]),
    ("no receipt yet", charts.BUCKET_COLOURS[1]),
)


def _require_view(user):
    if not user.has_perm(supply.VIEW_PERMISSION):
        raise PermissionDenied("You have no access to the supply flows.")


def _age_series():
    labels = [label for _, label, _ in flows.AGES]
    return list(zip(labels, charts.BUCKET_COLOURS, strict=True))


def _url(name, **params):
    return f"{reverse(name)}?{urlencode(params)}"


def words_and_code(label, key):
    """validation.flows' "name (public id)" as the name and the id apart, so the id is shown
    small beside the name; a label without its key (a commodity) is all words."""
    suffix = f" ({key})"
    if key and label.endswith(suffix):
        return label[: -len(suffix)], key
    return label, ""


def _aging_rows(groups, name, param, **fixed):
    """bar_list rows of the largest validation.flows.Group bars: each opens the list `name`
    filtered to its group (flows.NONE for the group without a record), each age's count the
    list of that age too."""
    rows = []
    for group in groups[:SHOWN]:
        params = {**fixed, param: group.key or flows.NONE}
        label, code = words_and_code(group.label, group.key)
        rows.append(
            {
                "label": label,
                "code": code,
                "values": list(group.ages),
                "url": _url(name, **params),
                "value_urls": [_url(name, **params, age=key) for key in flows.AGE_KEYS],
            }
        )
    return rows


def _aging_section(key, title, groups, rows, empty):
    """A chart of groups by age, or the sentence `empty` when there is nothing to draw."""
    total = sum(group.total for group in groups)
    return {
        "key": key,
        "title": title,
        "total": total,
        "chart": charts.bar_list(rows, _age_series(), f"{title}, by age") if total else None,
        "empty": empty,
        "shown": len(rows),
        "groups": len(groups),
    }


# --- the dashboard ----------------------------------------------------------------------------


@login_required
def dashboard(request):
    """The four flows' charts; ship notices and decisions over the window ?window= (a key of
    quarantine.queries.WINDOWS, as on the quarantine dashboard)."""
    _require_view(request.user)
    now = timezone.now()
    filters = flow_filters.read(request.GET, ("window",), {"window": queries.DEFAULT_WINDOW})
    window = filters.get("window")
    window_text, span = queries.WINDOWS[window]
    since = now - span
    awaiting = flows.awaiting_by_supplier(now)
    plants, commodities = flows.exceptions_by_plant(now), flows.exceptions_by_commodity(now)
    context = {
        "filters": filters,
        "window_text": window_text,
        "windows": [
            (text, f"?window={key}", key == window) for key, (text, _) in queries.WINDOWS.items()
        ],
        "releases": _releases_section(now, since),
        "orders": _aging_section(
            "orders",
            "Order changes waiting for the supplier's acknowledgement",
            awaiting,
            _aging_rows(awaiting, "quarantine:flow-orders", "supplier"),
            "No order change is waiting for the supplier's acknowledgement.",
        ),
        "notices": _notices_section(since, window),
        "exceptions": [
            _aging_section(
                "by_plant",
                "Open supply exceptions by plant",
                plants,
                _aging_rows(plants, SUPPLY, "plant", state=supply.NOT_CLOSED),
                "No supply exception is open.",
            ),
            _aging_section(
                "by_commodity",
                "Open supply exceptions by commodity",
                commodities,
                _aging_rows(commodities, SUPPLY, "commodity", state=supply.NOT_CLOSED),
                "No supply exception is open.",
            ),
        ],
    }
    return render(request, "quarantine/flows.html", context)


def _releases_section(now, since):
    """Pending releases per age, each bar opening the pending releases of its age; the
    decisions the ERP recorded since `since`; how many releases are in each state."""
    aging = flows.pending_releases_aging(now)
    rows = [
        {
            "label": label,
            "code": "",
            "values": [count if other == key else 0 for other in flows.AGE_KEYS],
            "url": _url("quarantine:flow-forecasts", state=flows.PENDING, age=key),
        }
        for key, label, count in aging
    ]
    title = "Forecast releases waiting for the ERP"
    total = sum(count for _, _, count in aging)
    decided = {
        state: flows.releases(state).filter(decided_at__gte=since).count()
        for state in (flows.ACCEPTED, flows.REJECTED)
    }
    return {
        "key": "releases",
        "title": title,
        "total": total,
        "chart": charts.bar_list(rows, _age_series(), f"{title}, by age") if total else None,
        "accepted": decided[flows.ACCEPTED],
        "rejected": decided[flows.REJECTED],
        "states": [
            (label, flows.releases(state).count(), _url("quarantine:flow-forecasts", state=state))
            for state, label in flows.RELEASE_STATES
        ],
    }


def _notices_section(since, window):
    """Per supplier over the window: notices (received or not yet, each bar opening the
    supplier's notices of the window) and the average days of each leg, as a table too."""
    latency = flows.notice_latency_by_supplier(since)
    rows = []
    for row in latency:
        url = _url("quarantine:flow-ship-notices", supplier=row.supplier, window=window)
        label, code = words_and_code(row.label, row.supplier)
        rows.append(
            {
                "label": label,
                "code": code,
                "values": [row.received, row.notices - row.received],
                "url": url,
                "figures": row,
            }
        )
    title = "Ship notices by supplier"
    return {
        "key": "notices",
        "title": title,
        "total": sum(row.notices for row in latency),
        "chart": charts.bar_list(rows[:SHOWN], RECEIVED_SERIES, title) if rows else None,
        "rows": rows,
        "shown": min(len(rows), SHOWN),
        "groups": len(rows),
    }


# --- the lists behind the bars ----------------------------------------------------------------


def _page(request, found):
    return Paginator(found, PER_PAGE).get_page(request.GET.get("page"))


def _large(relation):
    """The message fields a list leaves unread: it shows the message's public id only."""
    return [f"{relation}__{name}" for name in LARGE_FIELDS]


def _thread(**params):
    return _url("quarantine:trace", **params)


def waiting_words(release, state, now):
    """How long a release waited for the ERP, in words: so far (pending), until the ERP
    answered (decided), or that a newer version came first (superseded)."""
    if state == flows.PENDING:
        return duration_words((now - release.released_at).total_seconds())
    if release.decision and release.decided_at:
        spent = (release.decided_at - release.released_at).total_seconds()
        return f"answered after {duration_words(spent)}"
    if release.decision:
        return "answered"
    return "superseded before a decision"


@login_required
def forecast_list(request):
    """Forecast releases in one state (pending unless ?state= says), optionally of one age
    since their release (?age=), newest first."""
    _require_view(request.user)
    now = timezone.now()
    filters = flow_filters.read(request.GET, ("state", "age"), {"state": flows.PENDING})
    state = filters.get("state")
    found = flows.where(flows.releases(state), now, age=filters.get("age"), column="released_at")
    found = found.select_related("decision_message").defer(*_large("decision_message"))
    page = _page(request, found)
    for release in page:
        release.thread_url = _thread(forecast=f"{release.plan_id}:{release.version}")
        release.waiting = waiting_words(release, state, now)
    context = {
        "page": page,
        "filters": filters,
        "state": state,
        "state_label": dict(flows.RELEASE_STATES)[state],
        "states": [
            (key, label, "?" + filters.query(state=key)) for key, label in flows.RELEASE_STATES
        ],
        "clear_url": "?" + urlencode({"state": state}),
    }
    return render(request, "quarantine/flow_forecasts.html", context)


def sequence_words(sequence):
    """A purchase order's change sequence in words: the original order, or change n."""
    return "the original order" if sequence == 0 else f"change {sequence}"


@login_required
def order_list(request):
    """Orders whose latest change waits for the supplier's acknowledgement, optionally of one
    supplier (?supplier=) and one age since the change (?age=), oldest change first."""
    _require_view(request.user)
    now = timezone.now()
    filters = flow_filters.read(request.GET, ("supplier", "age"))
    found = flows.where(
        flows.orders_awaiting_acknowledgement(),
        now,
        age=filters.get("age"),
        column="changed_at",
        supplier__public_id=filters.get("supplier"),
    )
    page = _page(request, found)
    for order in page:
        order.thread_url = _thread(po=order.po_number)
        order.sequence_words = sequence_words(order.change_sequence)
        order.waiting = duration_words((now - order.changed_at).total_seconds())
    context = {"page": page, "filters": filters, "clear_url": "?"}
    return render(request, "quarantine/flow_orders.html", context)


@login_required
def ship_notice_list(request):
    """Ship notices recorded over a window (?window=, the dashboard's), optionally of one
    supplier (?supplier=), newest first, with the days to the notice and to the receipt."""
    _require_view(request.user)
    now = timezone.now()
    names = ("supplier", "window")
    filters = flow_filters.read(request.GET, names, {"window": queries.DEFAULT_WINDOW})
    window = filters.get("window")
    window_text, span = queries.WINDOWS[window]
    lines = ShipNoticeLine.objects.select_related("order_line__order").order_by("pk")
    found = flows.where(
        flows.ship_notices(now - span), now, supplier__public_id=filters.get("supplier")
    ).select_related("message")
    found = found.defer(*_large("message")).prefetch_related(Prefetch("lines", queryset=lines))
    page = _page(request, found)
    for notice in page:
        notice.to_notice, notice.to_receipt = flows.notice_days(notice)
        numbers = dict.fromkeys(line.order_line.order.po_number for line in notice.lines.all())
        notice.threads = [(number, _thread(po=number)) for number in numbers]
    context = {
        "page": page,
        "filters": filters,
        "window_text": window_text,
        "windows": [
            (text, "?" + filters.query(window=key), key == window)
            for key, (text, _) in queries.WINDOWS.items()
        ],
        "clear_url": "?" + urlencode({"window": window}),
    }
    return render(request, "quarantine/flow_ship_notices.html", context)
