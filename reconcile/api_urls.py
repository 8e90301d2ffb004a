"""/reconcile/: the W3C Reconciliation Service API v0.2 (service URL /reconcile/<key>/).

The service URL and its sub-paths answer with or without a trailing slash, as clients and
people type them: a redirect (Django's APPEND_SLASH) would carry no CORS headers, and a form
POST redirected arrives without its body. URLs are reversed to the forms the manifest gives:
the service URL with its slash, the sub-paths without.
"""

from django.urls import path, re_path

from reconcile import api

app_name = "reconcile"

KEY = r"(?P<key>[^/]+)"
# The same key without its slash, unless it is a space's name: /reconcile/records and
# /reconcile/types are still redirected to their pages.
KEY_NO_SLASH = r"(?P<key>(?!(?:records|types)$)[^/]+)"

urlpatterns = [
    path("records/", api.records, name="records"),
    path("records/<str:public_id>/", api.record, name="record"),
    path("types/", api.types, name="types"),
    # One endpoint in two patterns: reverse() gives the last, the service URL with its slash.
    re_path(rf"^{KEY_NO_SLASH}$", api.service, name="service"),
    path("<str:key>/", api.service, name="service"),
    re_path(rf"^{KEY}/suggest/(?P<what>entity|type|property)/?$", api.suggest, name="suggest"),
    re_path(rf"^{KEY}/properties/?$", api.propose_properties, name="properties"),
    re_path(rf"^{KEY}/preview/?$", api.preview, name="preview"),
]
