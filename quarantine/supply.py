"""The planners' supply exceptions: acknowledgements that commit less, or later, than the
purchase order line asked for (raised by validation.controls when the acknowledgement is
released), with the quantity at risk, so planners can shift volume to an alternate supplier.

A supply exception is open, acknowledged (someone has seen it and is handling it) or closed.
Stewards acknowledge and close them with a note (`acknowledge`, `close`); each step is a
SupplyExceptionNote (who, when, what, the note), which is the exception's history. Closing
sets the exception's own state (validation's `closed`); "acknowledged" is an open exception
with an acknowledgement note. The role is checked here, whatever door the call came through
(the screen, or POST /api/v1/supply-exceptions/{id}/acknowledge/ and .../close/).

The screen needs a login and the permission to view supply exceptions (every role has it);
the list API is GET /api/v1/supply-exceptions/ (validation). The supply flows dashboard
(quarantine.flow_views) links here narrowed to a plant, a commodity and an age, as its bars
count them (validation.flows).
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.roles import STEWARD, has_role
from mdm.models import CodeValue
from quarantine import events, flow_filters
from quarantine.forms import SupplyNoteForm
from quarantine.models import SupplyExceptionNote
from validation import flows, reports
from validation.layouts import ACK_LIST
from validation.models import SupplyException

VIEW_PERMISSION = "validation.view_supplyexception"
PER_PAGE = 50
OPEN, ACKNOWLEDGED, CLOSED, ALL = "open", "acknowledged", "closed", "all"
# Open or acknowledged: not closed yet, as the supply flows dashboard counts them.
NOT_CLOSED = "not_closed"
STATES = (
    (OPEN, "Open"),
    (ACKNOWLEDGED, "Acknowledged"),
    (NOT_CLOSED, "Open or acknowledged"),
    (CLOSED, "Closed"),
    (ALL, "All"),
)
# The filters a chart's bar narrows the list by (validation.flows.where).
FILTERS = ("plant", "commodity", "age")
Action = SupplyExceptionNote.Action


class SupplyConflict(Exception):
    """The exception is already in the state asked for (another steward acted first); the
    message says who did what, and when."""


# --- state and history ----------------------------------------------------------------------


def can_act(user):
    """Stewards (and superusers) acknowledge and close supply exceptions; viewers and
    integration clients only read them."""
    return bool(user is not None and user.is_authenticated and has_role(user, STEWARD))


def with_state(exceptions):
    """Supply exceptions annotated with `acknowledged` (has an acknowledgement note) and
    their notes, oldest first, with their authors."""
    acknowledged = SupplyExceptionNote.objects.filter(
        exception=OuterRef("pk"), action=Action.ACKNOWLEDGE
    )
    return exceptions.annotate(acknowledged=Exists(acknowledged)).prefetch_related(
        Prefetch("notes", queryset=SupplyExceptionNote.objects.select_related("by"))
    )


def in_state(exceptions, state):
    """Filter annotated exceptions (`with_state`) by open, acknowledged, open or acknowledged,
    closed or all."""
    if state == NOT_CLOSED:
        return exceptions.filter(state=SupplyException.State.OPEN)
    if state == OPEN:
        return exceptions.filter(state=SupplyException.State.OPEN, acknowledged=False)
    if state == ACKNOWLEDGED:
        return exceptions.filter(state=SupplyException.State.OPEN, acknowledged=True)
    if state == CLOSED:
        return exceptions.filter(state=SupplyException.State.CLOSED)
    return exceptions


def state_of(exception):
    """open, acknowledged or closed, in the words of the screen."""
    if exception.state == SupplyException.State.CLOSED:
        return CLOSED
    acknowledged = getattr(exception, "acknowledged", None)
    if acknowledged is None:
        acknowledged = exception.notes.filter(action=Action.ACKNOWLEDGE).exists()
    return ACKNOWLEDGED if acknowledged else OPEN


def acknowledge(exception, *, by, note=""):
    """Say the exception is seen and being handled (the note, optional, says how). Returns
    the SupplyExceptionNote. SupplyConflict when it is already acknowledged or closed."""
    _require_act(by)
    with transaction.atomic():
        locked = _lock(exception)
        if locked.state == SupplyException.State.CLOSED or state_of(locked) == ACKNOWLEDGED:
            raise SupplyConflict(_conflict_text(locked))
        step = _note(locked, Action.ACKNOWLEDGE, by, note)
        events.supply_exception_acknowledged(locked, by=by, note=step.note)
        return step


def close(exception, *, by, note):
    """Close the exception with a note saying how it was settled (volume shifted, re-planned,
    accepted as is). Returns the SupplyExceptionNote. SupplyConflict when already closed."""
    _require_act(by)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say how the exception was settled to close it."})
    with transaction.atomic():
        locked = _lock(exception)
        closed = SupplyException.objects.filter(
            pk=locked.pk, state=SupplyException.State.OPEN
        ).update(state=SupplyException.State.CLOSED)
        if not closed:
            raise SupplyConflict(_conflict_text(locked))
        exception.state = SupplyException.State.CLOSED
        step = _note(locked, Action.CLOSE, by, note)
        events.supply_exception_closed(locked, by=by, note=step.note)
        return step


def _require_act(by):
    if not can_act(by):
        raise PermissionDenied("Only data stewards can acknowledge or close supply exceptions.")


def _lock(exception):
    # Locks the row on PostgreSQL, so two stewards' steps on one exception queue up.
    return SupplyException.objects.select_for_update().get(pk=exception.pk)


def _note(exception, action, by, note):
    return SupplyExceptionNote.objects.create(
        exception=exception, action=action, by=by, note=(note or "").strip(), at=timezone.now()
    )


def _conflict_text(exception):
    last = exception.notes.select_related("by").order_by("-at", "-id").first()
    what = state_of(exception)
    if last is None:
        return f"Supply exception {exception.pk} is already {what}."
    who = last.by.get_username() if last.by_id else "someone"
    at = timezone.localtime(last.at).strftime("%Y-%m-%d %H:%M")
    return f"Supply exception {exception.pk} was already {what} by {who} at {at}."


# --- the screen -----------------------------------------------------------------------------


def _require_view(user):
    if not user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied("You have no access to the supply exceptions.")


@login_required
def supply_exceptions(request):
    _require_view(request.user)
    return _render(request, request.GET)


def filtered(filters, now):
    """The supply exceptions narrowed by `filters` (flow_filters.Filters of FILTERS) as the
    supply flows dashboard's bars count them: a plant, a commodity, an age since raised."""
    return flows.where(
        reports.supply_exceptions(),
        now,
        age=filters.get("age"),
        column="raised_at",
        plant__public_id=filters.get("plant"),
        item__commodity=filters.get("commodity"),
    )


def _render(request, params, failed=None, status=200):
    """The screen at the state filter, the filters and the page `params` (the GET, or the
    POST of a refused step) give. `failed` is (exception pk, bound form, error) of a step that
    was refused: its row shows the error and the note as typed."""
    state = params.get("state")
    state = state if state in dict(STATES) else OPEN
    filters = flow_filters.read(params, FILTERS)
    exceptions = filtered(filters, timezone.now())
    exceptions = in_state(with_state(exceptions), state).select_related("unit")
    at_risk = (
        exceptions.values(
            "item_id",
            "item__public_id",
            "item__number",
            "item__description",
            "unit_id",
            "unit__name",
        )
        .annotate(quantity=Sum("quantity_at_risk"))
        .order_by("-quantity")[:10]
    )
    page = Paginator(exceptions, PER_PAGE).get_page(params.get("page"))
    shown = False
    statuses = dict(
        CodeValue.objects.filter(code_list__code=ACK_LIST).values_list("code", "meaning")
    )
    for exception in page:
        exception.status_label = statuses.get(exception.status, "")
        exception.state_name = state_of(exception)
        exception.state_label = dict(STATES)[exception.state_name]
        exception.form, exception.error = SupplyNoteForm(), None
        if failed and failed[0] == exception.pk:
            exception.form, exception.error, shown = failed[1], failed[2], True
    if failed and not shown:  # it left this filter (closed by someone else): say so on top
        typed = failed[1].data.get("note", "").strip()
        messages.error(request, failed[2] + (f" Your note: {typed}" if typed else ""))
    context = {
        "page": page,
        "state": state,
        "state_label": dict(STATES)[state],
        "states": STATES,
        "filters": filters,
        "clear_url": "?" + urlencode({"state": state}),
        "at_risk": at_risk,
        "can_act": can_act(request.user),
    }
    return render(request, "quarantine/supply_exceptions.html", context, status=status)


@login_required
@require_POST
def supply_exception_action(request, pk, action):
    """Acknowledge or close one exception from the screen, then back to the same filter and
    page; a refused step (no note to close, someone acted first) shows the screen again with
    the error on the row and the note as typed, and saves nothing."""
    _require_view(request.user)
    if action not in ("acknowledge", "close"):
        raise Http404("No such action on a supply exception.")
    if not can_act(request.user):
        raise PermissionDenied("Only data stewards can acknowledge or close supply exceptions.")
    exception = get_object_or_404(SupplyException, pk=pk)
    form = SupplyNoteForm(request.POST)
    step = acknowledge if action == "acknowledge" else close
    try:
        if not form.is_valid():
            raise ValidationError(form.errors.get("note") or "Give a note.")
        step(exception, by=request.user, note=form.cleaned_data["note"])
    except (SupplyConflict, ValidationError) as exc:
        error = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        failed = (exception.pk, form, f"{error} Nothing was saved.")
        status = 409 if isinstance(exc, SupplyConflict) else 400
        return _render(request, request.POST, failed, status=status)
    done = "acknowledged" if action == "acknowledge" else "closed"
    messages.success(request, f"Supply exception {exception.pk} {done}.")
    filters = flow_filters.read(request.POST, FILTERS)
    state, page_number = request.POST.get("state"), request.POST.get("page")
    query = filters.query(state=state or OPEN, page=page_number or 1)
    return redirect(f"{reverse('quarantine:supply-exceptions')}?{query}#exception-{pk}")
