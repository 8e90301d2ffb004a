"""The site bench_resolve.py serves under gunicorn: the product's URLs unchanged, plus the
baseline, a bare Django view (no DRF, no authentication, no serializer) doing the same indexed
lookup as the resolve API. Bench-only: the product never routes to it.

    gunicorn --chdir bench --pythonpath . resolve_site:application
"""

import os

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.http import JsonResponse
from django.urls import include, path
from django.utils import timezone

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
django.setup(set_prefix=False)
settings.ROOT_URLCONF = __name__

# The reference of (system, kind, code) valid today and its record's public id: the lookup
# xref_resolve_idx serves, as the resolve API makes it.
LOOKUP = """
SELECT x.id, x.scope, x.code, x.valid_from, x.valid_to, x.is_preferred, i.public_id
FROM xref_crossreference x
JOIN mdm_sourcesystem s ON s.id = x.system_id
LEFT JOIN mdm_item i ON i.id = x.item_id
WHERE s.code = %s AND x.kind = %s AND x.code = %s AND x.status = 'active'
  AND (x.valid_from IS NULL OR x.valid_from <= %s) AND (x.valid_to IS NULL OR x.valid_to > %s)
"""


def bare_resolve(request, kind):
    today = timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            LOOKUP, [request.GET.get("system"), kind, request.GET.get("code"), today, today]
        )
        row = cursor.fetchone()
    if row is None:
        return JsonResponse({"status": "not_found"}, status=404)
    pk, scope, code, valid_from, valid_to, preferred, public_id = row
    reference = {
        "id": pk,
        "scope": scope,
        "code": code,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "is_preferred": preferred,
    }
    return JsonResponse({"status": "resolved", "id": public_id, "reference": reference})


urlpatterns = [
    path("bench/bare/resolve/<str:kind>/", bare_resolve),
    path("", include("hub.urls")),
]

application = WSGIHandler()
