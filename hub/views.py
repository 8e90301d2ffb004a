import logging

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularSwaggerView
from kombu import Connection
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated

logger = logging.getLogger(__name__)


def _check_database():
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


class ApiDocsView(SpectacularSwaggerView):
    """Swagger UI; a person opening it in a browser without a session is sent to log in
    instead of seeing a bare 401."""

    def handle_exception(self, exc):
        wants_html = "text/html" in self.request.META.get("HTTP_ACCEPT", "")
        if isinstance(exc, NotAuthenticated | AuthenticationFailed) and wants_html:
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
