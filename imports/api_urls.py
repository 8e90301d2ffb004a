"""API v1 routes of the imports app, mounted at /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from imports import api

router = SimpleRouter()
router.include_format_suffixes = False
router.register("imports", api.ImportRunViewSet, basename="import")

urlpatterns = [
    path("imports/templates/<str:kind>.csv", api.TemplateView.as_view(), name="import-template"),
    path("imports/examples/<str:kind>.csv", api.ExampleView.as_view(), name="import-example"),
    path("exports/<str:kind>.csv", api.ExportView.as_view(), name="export"),
    *router.urls,
]
