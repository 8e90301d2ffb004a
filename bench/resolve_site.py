"""The site bench_resolve.py serves under gunicorn: the product's URLs unchanged, plus the
baseline, a bare Django view (no DRF, no authentication, no serializer) doing the same indexed
lookup as the resolve API. Bench-only: the product never routes to it.

    gunicorn --chdir bench --pythonpath . resolve_site:application
"""

import logging
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
# A fifth of the bench's answers are 404s, each logged as a warning ("Not Found: ...") by
# both views alike: they would flood the bench's output.
logging.getLogger("django.request").setLevel(logging.ERROR)

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
# A code not valid today: the reference that ended before today, and its record's reference
# valid today that took over (preferred first), in one query on the same indexes.
RETIRED = """
SELECT x.id, x.valid_to, n.id, n.code, s2.code, i.public_id
FROM xref_crossreference x
JOIN mdm_sourcesystem s ON s.id = x.system_id
LEFT JOIN mdm_item i ON i.id = x.item_id
LEFT JOIN LATERAL (
  SELECT y.id, y.code, y.system_id FROM xref_crossreference y
  WHERE y.kind = x.kind AND y.item_id = x.item_id AND y.id <> x.id AND y.status = 'active'
    AND (y.valid_from IS NULL OR y.valid_from <= %s) AND (y.valid_to IS NULL OR y.valid_to > %s)
  ORDER BY y.valid_from NULLS FIRST, NOT y.is_preferred, y.id LIMIT 1
) n ON true
LEFT JOIN mdm_sourcesystem s2 ON s2.id = n.system_id
WHERE s.code = %s AND x.kind = %s AND x.code = %s AND x.valid_to <= %s
ORDER BY x.valid_to DESC LIMIT 1
"""


def reference(pk, scope, code, valid_from, valid_to, preferred):
    return {
        "id": pk,
        "scope": scope,
        "code": code,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "is_preferred": preferred,
    }


def bare_resolve(request, kind):
    """The answer of the resolve API without DRF, authentication or the service: resolved
    (200), retired with its successor (404), or not found (404, no candidates)."""
    today = timezone.localdate()
    system, code = request.GET.get("system"), request.GET.get("code")
    with connection.cursor() as cursor:
        cursor.execute(LOOKUP, [system, kind, code, today, today])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(RETIRED, [today, today, system, kind, code, today])
            retired = cursor.fetchone()
    if row is not None:
        pk, scope, code, valid_from, valid_to, preferred, public_id = row
        return JsonResponse(
            {
                "status": "resolved",
                "id": public_id,
                "reference": reference(pk, scope, code, valid_from, valid_to, preferred),
            }
        )
    if retired is None:
        return JsonResponse({"status": "not_found", "candidates": []}, status=404)
    pk, valid_to, successor, successor_code, successor_system, public_id = retired
    answer = {"status": "retired", "id": public_id, "valid_to": valid_to}
    if successor is not None:
        answer["successor"] = {"id": successor, "system": successor_system, "code": successor_code}
    return JsonResponse(answer, status=404)


urlpatterns = [
    path("bench/bare/resolve/<str:kind>/", bare_resolve),
    path("", include("hub.urls")),
]

application = WSGIHandler()
