"""The reconciliation service over HTTP: plain Django views (not DRF: the protocol has its own
shapes, form-encoded parameters and JSONP), thin over `reconcile.services`.

Every endpoint sits under /reconcile/<key>/ and answers CORS requests from any origin
(OpenRefine fetches the manifest, suggestions and property proposals from the browser): every
answer carries the CORS headers, errors included (a wrong or revoked key's 403, a 400, a 500),
so a browser shows the client the problem rather than a network error. The service URL and
its sub-paths answer alike with or without a trailing slash (api_urls): a redirect would
carry no CORS headers, and a POST redirected loses its body. JSON endpoints answer JSONP when a
`callback` names a plain JavaScript identifier. The view link (/reconcile/records/<id>/) needs
no key: it redirects to the record's admin page, which asks for a login. The identifier and
schema spaces (/reconcile/records/, /reconcile/types/) are identifiers that OpenRefine does
not fetch; opened in a browser they ask for a login with a hub role (viewer, steward or
integration) too, as the schema names every source system.
"""

import functools
import json
import re

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.core.handlers.exception import response_for_exception
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from core.problems import problem_response
from core.roles import ROLES, has_role
from reconcile import extension, services

# A JavaScript name such as "cb" or "jQuery123.handle": nothing that could smuggle code in.
CALLBACK = re.compile(r"^[A-Za-z_$][\w$]{0,63}(\.[A-Za-z_$][\w$]{0,63}){0,3}$", re.ASCII)
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Max-Age": "86400",
}


def _with_cors(response, request):
    for name, value in CORS_HEADERS.items():
        response[name] = value
    requested = request.headers.get("Access-Control-Request-Headers")
    response["Access-Control-Allow-Headers"] = requested or "Content-Type"
    return response


def cors(view):
    """`view` with the CORS headers on every answer, Django's own answer to an exception in
    the view (a 404, a 400 for a body it cannot read, the 500) included."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Exception as exc:
            # Django's handling as without this wrapper: logged, signalled, handler500.
            response = response_for_exception(request, exc)
        return _with_cors(response, request)

    return wrapper


def _param(request, name):
    if request.method == "POST" and name in request.POST:
        return request.POST.get(name)
    return request.GET.get(name)


def _error(status, detail):
    # The protocol defines no error body: a problem document, as the API's (core.problems).
    return problem_response(status, detail)


def _answer(request, data, status=200):
    """JSON, or JSONP when a valid callback is given; a bad callback name is a 400."""
    callback = _param(request, "callback")
    if callback is None:
        return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    if not CALLBACK.match(callback):
        return _error(400, "callback must be a JavaScript identifier, e.g. jsonp_cb or a.b.")
    body = f"/**/{callback}({json.dumps(data, ensure_ascii=False)});"
    return HttpResponse(body, status=status, content_type="application/javascript; charset=utf-8")


def endpoint(methods=("GET", "HEAD")):
    """Key check, CORS, preflight, allowed methods and 400s for bad requests."""

    def decorate(view):
        @csrf_exempt  # OpenRefine posts forms from its backend, without a CSRF token
        @cors
        @functools.wraps(view)
        def wrapper(request, key, *args, **kwargs):
            if request.method == "OPTIONS":
                return HttpResponse(status=204)
            if request.method not in methods:
                response = _error(405, f"Use {' or '.join(methods)}.")
                response["Allow"] = ", ".join((*methods, "OPTIONS"))
                return response
            if services.find_key(key) is None:
                detail = "Unknown or revoked reconciliation key; ask a data steward for a new one."
                return _error(403, detail)
            try:
                return view(request, key, *args, **kwargs)
            except services.BadRequest as exc:
                return _error(400, str(exc))

        return wrapper

    return decorate


@endpoint(methods=("GET", "HEAD", "POST"))
def service(request, key):
    """The service URL: reconciliation (`queries`), data extension (`extend`), or else the
    manifest."""
    queries = _param(request, "queries")
    if queries is not None:
        batch = services.parse_json_param(queries, "queries")
        return _answer(request, services.reconcile_batch(batch))
    extend = _param(request, "extend")
    if extend is not None:
        return _answer(request, extension.extend(services.parse_json_param(extend, "extend")))
    service_url = request.build_absolute_uri(reverse("reconcile:service", args=[key]))
    # The placeholder goes in after the URL is built, which would percent-encode its braces.
    record_url = request.build_absolute_uri(reverse("reconcile:record", args=["ID"]))
    manifest = services.manifest(
        service_url,
        view_url=record_url.replace("/ID/", "/{{id}}/"),
        identifier_space=request.build_absolute_uri(reverse("reconcile:records")),
        schema_space=request.build_absolute_uri(reverse("reconcile:types")),
    )
    return _answer(request, manifest)


@endpoint()
def suggest(request, key, what):
    prefix, cursor = request.GET.get("prefix", ""), request.GET.get("cursor", 0)
    if what == "entity":
        data = services.suggest_entities(prefix, cursor, request.GET.get("type"))
    elif what == "type":
        data = services.suggest_types(prefix, cursor)
    else:
        data = services.suggest_properties(prefix, cursor, request.GET.get("type"))
    return _answer(request, data)


@endpoint()
def propose_properties(request, key):
    type_id = request.GET.get("type")
    return _answer(request, services.propose_properties(type_id, request.GET.get("limit")))


@xframe_options_exempt  # shown in OpenRefine's preview iframe
@endpoint()
def preview(request, key):
    found = services.preview(request.GET.get("id", ""))
    if found is None:
        return render(request, "reconcile/preview.html", {"missing": True}, status=404)
    rtype, fields = found
    context = {"type": rtype.id, "public_id": request.GET["id"], "fields": fields}
    return render(request, "reconcile/preview.html", context)


@cors
def record(request, public_id):
    """A record's page in the hub: its admin change page (the admin asks for a login)."""
    rtype = services.record_type(public_id)
    if rtype is None:
        raise Http404("No such record.")
    pk = rtype.model.objects.filter(public_id=public_id).values_list("pk", flat=True).first()
    if pk is None:
        raise Http404("No such record.")
    opts = rtype.model._meta
    url = reverse(f"{admin.site.name}:{opts.app_label}_{opts.model_name}_change", args=[pk])
    return HttpResponseRedirect(url)


def hub_role_required(view):
    """A login, and a hub role: without one, a 403 saying so (as every screen answers)."""

    @cors
    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_role(request.user, *ROLES):
            detail = "Your login has no hub role; ask an administrator for the viewer role."
            return _error(403, detail)
        return view(request, *args, **kwargs)

    return wrapper


@hub_role_required
def records(request):
    """The identifier space: what the ids are."""
    return JsonResponse(
        {
            "description": "Public ids of the hub's master records (ITM-, SUP-, LOC-).",
            "types": [t.as_dict() for t in services.TYPES.values()],
        }
    )


@hub_role_required
def types(request):
    """The schema space: the types and their properties."""
    data = {
        "types": [
            {**t.as_dict(), "properties": services.properties(t.id)}
            for t in services.TYPES.values()
        ]
    }
    return JsonResponse(data)
