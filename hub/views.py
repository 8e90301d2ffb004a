import logging
import sys

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.views import csrf, defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularSwaggerView
from kombu import Connection
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated

from core.problems import problem_response
from hub import metrics as hub_metrics

logger = logging.getLogger(__name__)


def _check_database():
    if connection.vendor == "postgresql":
        # Bounded (core.postgresql): a stalled server is reported down, not waited for.
        connection.ensure_connection()
        if not connection.is_usable():
            connection.close()
            timeout = settings.HUB_DB_CHECK_TIMEOUT
            raise OperationalError(f"the database did not answer within {timeout} s")
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_broker():
    timeout = settings.HEALTHZ_BROKER_TIMEOUT
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)


@never_cache
@require_GET
def healthz(request):
    """Liveness and readiness in one: each part the hub depends on, up or down."""
    checks = {"database": _check_database}
    if settings.BROKER_CONFIGURED:
        checks["broker"] = _check_broker
    parts = {}
    for name, check in checks.items():
        try:
            check()
            parts[name] = {"status": "ok"}
        except Exception as exc:  # any failure means the part is down; say which and why
            logger.warning("healthz: %s is down: %s", name, exc)
            parts[name] = {"status": "down", "error": str(exc).splitlines()[0][:200]}
    healthy = all(part["status"] == "ok" for part in parts.values())
    return JsonResponse(
        {"status": "ok" if healthy else "down", "checks": parts}, status=200 if healthy else 503
    )


@never_cache
@require_GET
def metrics(request):
    """The key figures for Prometheus (hub.metrics), for the metrics token or a login."""
    refused = hub_metrics.refusal(request)
    if refused is not None:
        return refused
    return HttpResponse(hub_metrics.render(), content_type=hub_metrics.CONTENT_TYPE)


class ApiDocsView(SpectacularSwaggerView):
    """Swagger UI; a person opening it in a browser without a session is sent to log in
    instead of seeing a bare 401."""

    def handle_exception(self, exc):
        wants_html = "text/html" in self.request.META.get("HTTP_ACCEPT", "")
        if isinstance(exc, NotAuthenticated | AuthenticationFailed) and wants_html:
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)


def login_locked_out(request, original_response, credentials):
    """django-axes' lockout answer (AXES_LOCKOUT_CALLABLE) to a login of a locked account or
    address: what happened and when to try again, as a page with a 429 and Retry-After. The
    try that got here counts as a failure too, so the lock ends a whole cool-off from now."""
    cooloff = settings.AXES_COOLOFF_TIME
    response = render(
        request,
        "admin/login_locked_out.html",
        {
            **admin.site.each_context(request),
            "title": "Login locked",
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "locked_until": timezone.localtime() + cooloff,
            "cooloff_minutes": max(1, round(cooloff.total_seconds() / 60)),
        },
        status=429,
    )
    response["Retry-After"] = str(int(cooloff.total_seconds()))
    return response


# Seconds a client is told to wait when the database is unreachable.
RETRY_AFTER_SECONDS = 5
# Paths whose callers are programs: they get JSON, people get a short page.
MACHINE_PATHS = ("/api/", "/reconcile/", "/healthz", "/metrics")


def server_error(request):
    """handler500: no stack trace ever. An unreachable database (the connection refused,
    dropped or timed out) is a 503 with Retry-After, since the request may simply be sent
    again once it is back; the hub reconnects by itself. Anything else is a plain 500.
    Called inside Django's exception handling, so the exception is sys.exc_info()'s."""
    exc = sys.exc_info()[1]
    unavailable = isinstance(exc, OperationalError | InterfaceError)
    if unavailable:
        status = 503
        detail = "The hub's database is unavailable; send the request again shortly."
    else:
        status = 500
        detail = "The hub failed to answer this request; the error has been logged."
    if request.path.startswith(MACHINE_PATHS):
        response = problem_response(status, detail)
    else:
        response = HttpResponse(
            f"<!doctype html><title>{status}</title><h1>{detail}</h1>",
            status=status,
            content_type="text/html; charset=utf-8",
        )
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def page_not_found(request, exception):
    """handler404: a path that matches no URL pattern (an API path with a malformed id, say)
    is JSON for programs, as every other API answer is; people get Django's page."""
    if request.path.startswith("/api/"):
        return _no_endpoint(request)
    if request.path.startswith(MACHINE_PATHS):
        return problem_response(404, "Nothing is found at this address.")
    return defaults.page_not_found(request, exception)


def bad_request(request, exception):
    """handler400: a request Django refuses before any view (a form with too many fields, a
    host not allowed) is a problem document for programs, Django's page for people."""
    if request.path.startswith(MACHINE_PATHS):
        return problem_response(400, "The request is malformed and was not read.")
    return defaults.bad_request(request, exception)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a problem document for programs, Django's page for people."""
    if request.path.startswith(MACHINE_PATHS):
        detail = "CSRF check failed: a login session must send its CSRF token (X-CSRFToken)."
        return problem_response(403, detail)
    return csrf.csrf_failure(request, reason)


@csrf_exempt  # it changes nothing: a write to no endpoint is a 404, not a CSRF page
def api_not_found(request, path):
    """The last route under /api/: a path that matches no endpoint is the JSON 404 in every
    mode (with HUB_DEBUG, Django would answer its HTML page listing every URL pattern). A
    GET missing only its trailing slash is redirected, as Django's APPEND_SLASH would."""
    if request.method in ("GET", "HEAD") and _is_endpoint(f"{request.path_info}/"):
        return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return _no_endpoint(request)


def _is_endpoint(path):
    try:
        return resolve(path).func is not api_not_found
    except Resolver404:
        return False


def _no_endpoint(request):
    detail = f"No API endpoint at {request.path}; the endpoints are listed at /api/docs/."
    if not request.path.endswith("/") and _is_endpoint(f"{request.path_info}/"):
        detail = f"No API endpoint at {request.path}; did you mean {request.path}/ ?"
    return problem_response(404, detail)
