"""The thread screen, /quarantine/trace/?...: quarantine.trace's timeline from a demand change
to its supply consequence, one row per step, for an item at a plant, a purchase order, a
forecast version or a supply exception (the parameters of GET /api/v1/trace/). An item given
alone (the link from its admin page) lists the plants its orders go to, to choose one.

Thin: quarantine.trace reads the parameters and builds the thread. Needs a login and the
permission to view quarantine cases (every role has it). Without parameters the page offers
the form; a bad parameter answers 400 and an unknown record 404, each with the form again and
the reason.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse

from quarantine import trace

VIEW_PERMISSION = "quarantine.view_quarantinecase"
PARAMETERS = ("po", "exception", "forecast", "item", "plant", "days")
KIND_LABELS = {
    "forecast_release": "Forecast released",
    "forecast_decision": "ERP decision",
    "order": "Order released",
    "order_change": "Order changed",
    "acknowledgement": "Order acknowledged",
    "ship_notice": "Shipment announced",
    "receipt": "Goods received",
    "supply_exception": "Supply at risk",
    "quarantine_stop": "Held in quarantine",
}


@login_required
def trace_screen(request):
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied("You have no access to the quarantine review screens.")
    given = {name: request.GET.get(name, "").strip() for name in PARAMETERS}
    context = {"given": given, "thread": None, "error": None}
    if not any(given.values()):
        return render(request, "quarantine/trace.html", context)
    if given["item"] and not any(given[name] for name in ("plant", "po", "forecast", "exception")):
        return _choose_plant(request, context, given["item"])
    try:
        found = trace.thread(**trace.parse_query(request.GET))
    except trace.BadTraceQuery as exc:
        return render(request, "quarantine/trace.html", {**context, "error": str(exc)}, status=400)
    except trace.TraceNotFound as exc:
        return render(request, "quarantine/trace.html", {**context, "error": str(exc)}, status=404)
    for step in found.steps:
        step.label = KIND_LABELS[step.kind]
    context.update(
        thread=found,
        api_url=f"{reverse('trace')}?{request.GET.urlencode()}",
        inferred=sum(step.link == trace.INFERRED for step in found.steps),
    )
    return render(request, "quarantine/trace.html", context)


def _choose_plant(request, context, item_key):
    """An item given alone (the link on an item's admin page): the plants its orders go to,
    each a link to the item's thread there."""
    try:
        item, plants = trace.plants_of_item(item_key)
    except trace.TraceNotFound as exc:
        return render(request, "quarantine/trace.html", {**context, "error": str(exc)}, status=404)
    context["plant_choice"] = {"item": item, "plants": plants}
    return render(request, "quarantine/trace.html", context)
