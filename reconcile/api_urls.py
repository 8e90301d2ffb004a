"""/reconcile/: the W3C Reconciliation Service API v0.2 (service URL /reconcile/<key>/)."""

from django.urls import path, re_path

from reconcile import api

app_name = "reconcile"

urlpatterns = [
    path("records/", api.records, name="records"),
    path("records/<str:public_id>/", api.record, name="record"),
    path("types/", api.types, name="types"),
    path("<str:key>/", api.service, name="service"),
    re_path(
        r"^(?P<key>[^/]+)/suggest/(?P<what>entity|type|property)$", api.suggest, name="suggest"
    ),
    path("<str:key>/properties", api.propose_properties, name="properties"),
    path("<str:key>/preview", api.preview, name="preview"),
]
