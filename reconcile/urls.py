"""/reconcile/: the W3C Reconciliation Service API v0.2 (service URL /reconcile/<key>/)."""

from django.urls import path, re_path

from reconcile import views

app_name = "reconcile"

urlpatterns = [
    path("records/", views.records, name="records"),
    path("records/<str:public_id>/", views.record, name="record"),
    path("types/", views.types, name="types"),
    path("<str:key>/", views.service, name="service"),
    re_path(
        r"^(?P<key>[^/]+)/suggest/(?P<what>entity|type|property)$", views.suggest, name="suggest"
    ),
    path("<str:key>/properties", views.propose_properties, name="properties"),
    path("<str:key>/preview", views.preview, name="preview"),
]
