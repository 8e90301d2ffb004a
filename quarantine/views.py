"""The review screens: the queue, a case, bulk progress and the dashboard.

Thin: figures come from quarantine.queries, every change from quarantine.services (which
checks the role again, records the transition and settles conflicts). Every screen needs a
login (the admin's) and the permission to view cases; acting needs the steward role, and
release by override its own permission: the buttons are hidden from those without them and
their POSTs are refused with 403.
"""

import json
import math

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from changes import requests
from changes.models import ChangeRequest
from quarantine import approvals, charts, conversions, kpis, queries, services, trace
from quarantine.filters import AGE_BUCKETS
from quarantine.forms import (
    AssignForm,
    BulkForm,
    ConversionForm,
    EditPayloadForm,
    FixForm,
    ReasonForm,
    ReplayForm,
)
from quarantine.highlight import highlighted_payload
from quarantine.kpis import RATIO, SECONDS
from quarantine.models import BulkRun, QuarantineCase
from validation.models import InboundMessage, MessageType, Team

VIEW_PERMISSION = "quarantine.view_quarantinecase"
PER_PAGE = 50
# The queue shows the cases still waiting for someone unless a status is chosen;
# status=any shows every case.
DEFAULT_STATUSES = list(QuarantineCase.OPEN_STATUSES)
ANY = "any"
# Filters kept as hidden fields by the search form (the others are its visible inputs).
HIDDEN_FILTERS = ("status", "team", "rule", "system", "message_type", "age", "overdue")
# A payload with more lines is not offered for editing in the browser (a forecast may have a
# million); it is fixed at the source or by cross-reference instead.
EDIT_MAX_LINES = 2000
# The case page links the thread of each PO number its message names, read from this many lines.
THREAD_LINES = 50


def _require_view(user):
    if not user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied("You have no access to the quarantine review screens.")


def _require_act(user):
    if not services.can_act(user):
        raise PermissionDenied("Only data stewards can act on quarantine cases.")


def _roles(user):
    return {"can_act": services.can_act(user), "can_override": services.can_override(user)}


# --- the queue ------------------------------------------------------------------------------


def queue_params(query):
    """The filter parameters of a queue request: open cases unless a status is chosen."""
    params = query.copy()
    statuses = params.getlist("status")
    if not statuses:
        params.setlist("status", DEFAULT_STATUSES)
    elif ANY in statuses:
        params.pop("status")
    return params


@login_required
def queue(request):
    _require_view(request.user)
    params = queue_params(request.GET)
    filterset, cases = queries.filtered_cases(params)
    facets, shown = queries.facet_counts(params)
    paginator = CountedPaginator(queries.queue_rows(cases), PER_PAGE, count=shown)
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = queries.describe(page.object_list)
    for group in facets:
        name = group["facet"].param
        chosen = params.getlist(name)
        group["chosen"] = bool(request.GET.getlist(name))
        group["clear"] = _query(request.GET, name, None)
        group["links"] = [
            {
                "value": value,
                "label": label,
                "codes": group["codes"].get(value, ""),
                "count": count,
                "selected": value in chosen,
                "url": _query(request.GET, name, None if value in chosen else value),
            }
            for value, label, count in group["values"]
        ]
    status_any = request.GET.getlist("status") == [ANY]
    context = {
        "filterset": filterset,
        "page": page,
        "facets": facets,
        "status_any": status_any,
        "status_any_url": _query(request.GET, "status", ANY),
        "hidden": [(name, value) for name in HIDDEN_FILTERS for value in request.GET.getlist(name)],
        "bulk_form": BulkForm(),
        "next": request.get_full_path(),
        "age_labels": dict(AGE_BUCKETS),
        **_roles(request.user),
    }
    return render(request, "quarantine/queue.html", context)


class CountedPaginator(Paginator):
    """A paginator told the number of objects: the facet counts have it already, so the
    queue spares a COUNT over the filtered cases."""

    def __init__(self, object_list, per_page, count):
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self):
        return self._known_count


def _query(query, name, value):
    """The queue's query string with `name` set to `value` (None: removed), page reset."""
    changed = query.copy()
    changed.pop("page", None)
    changed.pop(name, None)
    if value is not None:
        changed[name] = value
    return "?" + changed.urlencode()


# --- bulk actions ---------------------------------------------------------------------------


@login_required
@require_POST
def bulk_start(request):
    _require_view(request.user)
    _require_act(request.user)
    back = safe_next(request, reverse("quarantine:queue"))
    form = BulkForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = "Select at least one case" if field == "cases" else None
            messages.error(request, label or " ".join(errors))
        return redirect(back)
    run = services.start_bulk(
        form.cleaned_data["action"],
        form.cleaned_data["cases"],
        request.user,
        **form.action_kwargs(),
    )
    return redirect(f"{reverse('quarantine:bulk', args=[run.pk])}?next={_quote(back)}")


@login_required
def bulk_status(request, run_id):
    """The progress of a bulk run: a bar that a script keeps current by polling
    bulk_progress; without JavaScript the page reloads itself until the run is done."""
    _require_view(request.user)
    run = get_object_or_404(BulkRun, pk=run_id)
    progress = services.bulk_progress(run.pk)
    context = {
        "run": run,
        "progress": progress,
        "back": safe_next(request, reverse("quarantine:queue")),
        "progress_url": reverse("quarantine:bulk-progress", args=[run.pk]),
    }
    return render(request, "quarantine/bulk.html", context)


@login_required
def bulk_progress(request, run_id):
    _require_view(request.user)
    get_object_or_404(BulkRun.objects.only("pk"), pk=run_id)
    return JsonResponse(services.bulk_progress(run_id))


def safe_next(request, default):
    """The page to go back to: `next` when it is of this site, else `default`."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _quote(url):
    from urllib.parse import quote

    return quote(url, safe="")


# --- a case ---------------------------------------------------------------------------------


@login_required
def case_detail(request, pk):
    _require_view(request.user)
    return _render_case(request, _case(pk))


def _case(pk):
    return get_object_or_404(
        QuarantineCase.objects.select_related("message", "system", "assignee"), pk=pk
    )


def _render_case(request, case, forms=None, error=None, status=200):
    """The case page; `forms` are bound forms to show again (with their errors and what was
    typed), `error` a message shown above the actions (a conflict)."""
    forms = forms or {}
    message = case.message
    anchors = {}
    diagnostics = []
    for diagnostic in case.diagnostics:
        path = diagnostic.get("path") or ""
        in_this_part = diagnostic.get("part") in (None, message.part_number)
        if path and in_this_part:
            anchors.setdefault(path, f"field-{len(anchors) + 1}")
        diagnostics.append({**diagnostic, "anchor": anchors.get(path) if in_this_part else None})
    diagnostics = queries.worded(diagnostics, case.system.code)
    queries.describe([case])
    suggestions = services.suggestions(case) if case.is_open else []
    roles = _roles(request.user)
    find = request.GET.get("find", "").strip()
    entry = _int(request.GET.get("entry"))
    if find and entry is not None and entry < len(suggestions):
        suggestions[entry]["found"] = queries.search_master(suggestions[entry]["kind"], find)
        suggestions[entry]["find"] = find
    for position, suggestion in enumerate(suggestions):
        suggestion["entry"] = position
        suggestion["needs_approval"] = approvals.fix_needs_approval(suggestion["system"])
        bound = forms.get("fix")
        if bound is not None and bound.data.get("entry") == str(position):
            suggestion["form"] = bound
    context = {
        "case": case,
        "message": message,
        "diagnostics": diagnostics,
        "rule_descriptions": queries.rule_descriptions(case.rule_codes),
        "payload_html": highlighted_payload(message.payload, anchors),
        "revisions": queries.payload_revisions(message),
        "history": queries.case_history(case),
        "suggestions": suggestions,
        "assign_form": forms.get("assign") or AssignForm(initial={"assignee": case.assignee_id}),
        "replay_form": forms.get("replay") or ReplayForm(),
        "reject_form": forms.get("reject") or ReasonForm(prefix="reject"),
        "release_form": forms.get("release") or ReasonForm(prefix="release"),
        "edit_form": forms.get("edit") or _edit_form(case, roles),
        "conversions": _conversion_forms(request.user, case, forms.get("conversion")),
        "conversion_needs_permission": conversions.RULE in case.rule_codes
        and not conversions.can_add(request.user),
        "open_form": next(iter(forms), None),
        "error": error,
        "unsaved": _unsaved(forms) if error and not case.is_open else [],
        "editable": _editable(message),
        "thread_orders": sorted(trace.po_numbers_of(message.payload, limit=THREAD_LINES)),
        "thread_forecast": trace.forecast_key(message),
        **roles,
    }
    return render(request, "quarantine/case.html", context, status=status)


def _conversion_forms(user, case, bound):
    """The unit conversions the case lacks, each with its form (`bound` again after a
    refused one), for a user who may add them."""
    if not conversions.can_add(user):
        return []
    found = []
    for entry, missing in enumerate(conversions.missing_conversions(case)):
        form = ConversionForm(initial={"entry": entry, "for_supplier": True})
        if bound is not None and bound.data.get("entry") == str(entry):
            form = bound
        found.append({"entry": entry, "missing": missing, "form": form})
    return found


def _unsaved(forms):
    """What was typed into the forms of an action that lost a conflict on a case that is now
    closed (so its forms are not shown again): kept on the page to copy."""
    typed = []
    for form in forms.values():
        for name, field in form.fields.items():
            value = form.data.get(form.add_prefix(name), "")
            if isinstance(field.widget, django_forms.HiddenInput) or not isinstance(value, str):
                continue
            if value.strip() and isinstance(field, django_forms.CharField):
                typed.append((field.label or name.capitalize(), value))
    return typed


def _editable(message):
    return message.group_key is None and (message.line_count or 0) <= EDIT_MAX_LINES


def _edit_form(case, roles):
    if not (roles["can_act"] and case.is_open and _editable(case.message)):
        return None
    text = json.dumps(case.message.payload, indent=2, ensure_ascii=False)
    return EditPayloadForm(initial={"payload": text})


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
@require_POST
def case_action(request, pk, action):
    """Every action on a case: a POST (with CSRF) that calls the service and comes back to
    the case page, or shows it again with the form and its error when it failed."""
    _require_view(request.user)
    if action not in ACTIONS:
        raise Http404("No such action on a case.")
    if action == "release":
        if not services.can_override(request.user):
            raise PermissionDenied("Releasing by override needs the override permission.")
    else:
        _require_act(request.user)
    case = _case(pk)
    form, call = ACTIONS[action](request, case)
    if not form.is_valid():
        return _render_case(request, case, forms={action: form}, status=400)
    try:
        done = call(form.cleaned_data)
    except services.CaseConflict as exc:
        case = _case(pk)
        return _render_case(request, case, forms={action: form}, error=str(exc), status=409)
    except ValidationError as exc:
        _add_errors(form, exc)
        return _render_case(request, _case(pk), forms={action: form}, status=400)
    messages.success(request, done)
    return redirect("quarantine:case", pk=pk)


def _add_errors(form, exc):
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _assign(request, case):
    form = AssignForm(request.POST)

    def call(data):
        services.assign(case, by=request.user, assignee=data["assignee"])
        who = data["assignee"].get_username() if data["assignee"] else "nobody"
        return f"Case {case.pk} assigned to {who}."

    return form, call


def _replay(request, case):
    form = ReplayForm(request.POST)

    def call(data):
        services.replay(case, by=request.user, reason=data["reason"])
        return _after_replay(case, "Replayed")

    return form, call


def _reject(request, case):
    form = ReasonForm(request.POST, prefix="reject")

    def call(data):
        services.reject(case, by=request.user, reason=data["reason"])
        return f"Case {case.pk} rejected: {case.message.public_id} will not be released."

    return form, call


def _release(request, case):
    form = ReasonForm(request.POST, prefix="release")

    def call(data):
        services.release_by_override(case, by=request.user, reason=data["reason"])
        return f"{case.message.public_id} released by override."

    return form, call


def _edit(request, case):
    form = EditPayloadForm(request.POST)

    def call(data):
        services.edit_payload(case, by=request.user, payload=data["payload"], reason=data["reason"])
        return _after_replay(case, "Payload saved as a new revision and revalidated")

    return form, call


def _fix(request, case):
    form = FixForm(request.POST)

    def call(data):
        entries = services.suggestions(case)
        if data["entry"] >= len(entries):
            raise services.CaseConflict(
                "That code is no longer unresolved in this case; reload the case."
            )
        entry = entries[data["entry"]]
        _, done = services.fix_by_reference(
            case,
            by=request.user,
            kind=entry["kind"],
            system=entry["system"],
            code=entry["code"],
            target=data["target"].strip(),
            scope=entry.get("scope") or "",
        )
        if isinstance(done, ChangeRequest):
            what = f"Cross-reference {done.items.first().label}"
            return _waiting(what, done, "the message replays on its own once it is approved")
        return _after_replay(
            case,
            f"Cross-reference {entry['system']} {entry['kind']} {entry['code']} -> "
            f"{data['target'].strip().upper()} saved and the message replayed",
        )

    return form, call


def _conversion(request, case):
    form = ConversionForm(request.POST)

    def call(data):
        _, conversion = conversions.add_conversion(
            case,
            by=request.user,
            entry=data["entry"],
            factor=data["factor"],
            for_supplier=data["for_supplier"],
        )
        if isinstance(conversion, ChangeRequest):
            what = f"Unit conversion {conversion.items.first().label}"
            return _waiting(what, conversion, "replay the case once it is approved")
        return _after_replay(
            case,
            f"Unit conversion {conversions.describe(conversion)} saved and the message replayed",
        )

    return form, call


def _waiting(what, asked, then):
    """What a fix held for approval led to, with a link to the change request."""
    return format_html(
        '{} needs another person\'s approval: it waits for change request <a href="{}">{}</a>; {}.',
        what,
        reverse("changes:request", args=[asked.pk]),
        asked.number,
        then,
    )


def _after_replay(case, what):
    """What a replay led to: validation may have answered already (eager mode) or not."""
    case.refresh_from_db(fields=["status", "resolution"])
    case.message.refresh_from_db(fields=["status"])
    if case.status == QuarantineCase.Status.RESOLVED_BY_REPLAY:
        return (
            f"{what}: the message was released and the case is resolved ({case.outcome.lower()})."
        )
    if case.message.status == case.message.Status.QUARANTINED:
        return f"{what}: the message is still quarantined; see the diagnostics."
    return f"{what}: validation is running; reload in a moment for the outcome."


ACTIONS = {
    "assign": _assign,
    "replay": _replay,
    "reject": _reject,
    "release": _release,
    "edit": _edit,
    "fix": _fix,
    "conversion": _conversion,
}


# --- the dashboard --------------------------------------------------------------------------


# Key figures the dashboard's own breakdowns show already (they stay on /metrics).
SHOWN_AS_CHARTS = ("hub_quarantine_open_cases", "hub_quarantine_open_cases_by_rule")
# Emergency changes not yet approved, listed on the dashboard until approved after the fact.
EMERGENCY_SHOWN = 10


@login_required
def dashboard(request):
    _require_view(request.user)
    window = request.GET.get("window")
    window = window if window in queries.WINDOWS else queries.DEFAULT_WINDOW
    figures = queries.dashboard_figures(window=window)
    series = list(zip([label for _, label in AGE_BUCKETS], charts.BUCKET_COLOURS, strict=True))
    queue_url = reverse("quarantine:queue")
    sections = []
    for key, param, title in (
        ("by_team", "team", "Open cases by team"),
        ("by_rule", "rule", "Open cases by rule"),
        ("by_plant", "plant", "Open cases by plant"),
        ("by_supplier", "supplier", "Open cases by supplier"),
    ):
        data = figures[key]
        codes = data.get("codes", {})
        rows = [
            {
                "label": label,
                "code": codes.get(value, value if param == "rule" else ""),
                "values": buckets,
                "url": f"{queue_url}?{param}={_quote(value)}" if value else None,
            }
            for label, value, buckets, _ in data["rows"]
        ]
        sections.append(
            {
                "key": key,
                "title": title,
                "chart": charts.bar_list(rows, series, f"{title}, by age"),
                "shown": len(rows),
                "groups": data["groups"],
            }
        )
    ages = [
        {
            "label": label,
            "code": "",
            "values": [count if other == key else 0 for other, _, _ in figures["buckets"]],
            "url": f"{queue_url}?age={key}",
        }
        for key, label, count in figures["buckets"]
    ]
    interventions = figures["interventions"]
    emergency = list(
        requests.emergency_unapproved().select_related("requested_by", "emergency_by")[
            :EMERGENCY_SHOWN
        ]
    )
    context = {
        "figures": figures,
        "sections": sections,
        "windows": [
            (key, text, f"?window={key}", key == window)
            for key, (text, _) in queries.WINDOWS.items()
        ],
        "totals_chart": charts.bar_list(ages, series, "All open cases, by age"),
        "interventions_chart": charts.column_bars(
            [(day.strftime("%d %b"), count) for day, count in interventions],
            f"Manual interventions per day, {figures['window_text']}",
            height=120,
        ),
        "interventions_total": sum(count for _, count in interventions),
        "emergency_changes": emergency,
        # Counted only when the list is full (the rest are in the change requests' queue).
        "emergency_total": len(emergency)
        if len(emergency) < EMERGENCY_SHOWN
        else requests.emergency_unapproved().count(),
        "kpis": kpi_panels(
            (figure, result)
            for figure, result in kpis.evaluate(figures["now"], window=figures["span"])
            if figure.name not in SHOWN_AS_CHARTS
        ),
    }
    return render(request, "quarantine/dashboard.html", context)


# Display names of label values, where the raw value is a code.
LABEL_NAMES = {
    "type": dict(MessageType.choices),
    "status": dict(InboundMessage.Status.choices),
    "team": dict(Team.choices),
}


def kpi_panels(results):
    """The key figures (quarantine.kpis, the same as /metrics) as the dashboard shows them:
    per KPI its rows of (label, formatted value), or for a distribution its summary figures
    and a chart of the buckets."""
    panels = []
    results = list(results)
    words = queries.kpi_label_words(results)
    for figure, result in results:
        panel = {"kpi": figure, "rows": [], "figures": [], "chart": None}
        if isinstance(result, kpis.Distribution):
            panel["figures"] = [
                ("count", str(result.count)),
                ("average", format_value(figure.unit, result.average)),
                ("median", format_value(figure.unit, result.quantile(0.5))),
                ("95th percentile", format_value(figure.unit, result.quantile(0.95))),
                ("longest", format_value(figure.unit, result.maximum)),
            ]
            below, points = 0, []
            for bound, cumulative in result.buckets():
                name = "more" if bound == math.inf else "≤ " + format_value(SECONDS, bound)
                points.append((name, cumulative - below))
                below = cumulative
            panel["chart"] = charts.column_bars(points, f"{figure.title}, {figure.window_text}")
        elif not figure.labels:
            (sample,) = result or [kpis.Sample({}, None)]
            panel["figures"] = [(figure.window_text, format_value(figure.unit, sample.value))]
        else:
            panel["rows"] = [
                (
                    " · ".join(
                        str(
                            words.get((figure.name, name), {}).get(s.labels[name])
                            or LABEL_NAMES.get(name, {}).get(s.labels[name], s.labels[name])
                        )
                        for name in figure.labels
                    ),
                    format_value(figure.unit, s.value),
                )
                for s in result
            ]
        panels.append(panel)
    return panels


def format_value(unit, value):
    """A KPI value for people: durations in the largest fitting unit, ratios in percent."""
    if value is None:
        return "–"
    if unit == SECONDS:
        for size, suffix in ((86400, "d"), (3600, "h"), (60, "min")):
            if value >= size:
                return f"{value / size:.1f} {suffix}"
        return f"{value:.0f} s"
    if unit == RATIO:
        return f"{value:.0%}"
    return f"{value:g}"
