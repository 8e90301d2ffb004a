"""The planners' supply exceptions screen: acknowledgements that commit less, or later, than
the purchase order line asked for (raised by validation.controls when the acknowledgement is
released), with the quantity at risk, so planners can shift volume to an alternate supplier.

Thin: the exceptions come from validation.controls. Needs a login and the permission to view
supply exceptions (every role has it); the API is GET /api/v1/supply-exceptions/.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Sum
from django.shortcuts import render

from validation import controls
from validation.models import SupplyException

VIEW_PERMISSION = "validation.view_supplyexception"
PER_PAGE = 50
ALL = "all"


@login_required
def supply_exceptions(request):
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied("You have no access to the supply exceptions.")
    state = request.GET.get("state") or SupplyException.State.OPEN
    exceptions = controls.supply_exceptions()
    if state != ALL:
        exceptions = exceptions.filter(state=state)
    at_risk = (
        exceptions.values("item__public_id", "item__number", "item__description", "unit_id")
        .annotate(quantity=Sum("quantity_at_risk"))
        .order_by("-quantity")[:10]
    )
    page = Paginator(exceptions, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "quarantine/supply_exceptions.html",
        {
            "page": page,
            "state": state,
            "states": [*SupplyException.State.choices, (ALL, "All")],
            "at_risk": at_risk,
        },
    )
