"""Resolution and translation routes, mounted at /api/v1/. The batch routes come first: a
kind is never called "batch"."""

from django.urls import path

from xref import resolve_api

urlpatterns = [
    path("resolve/batch/", resolve_api.ResolveBatchView.as_view(), name="resolve-batch"),
    path("resolve/<str:kind>/", resolve_api.ResolveView.as_view(), name="resolve"),
    path("translate/batch/", resolve_api.TranslateBatchView.as_view(), name="translate-batch"),
    path("translate/<str:kind>/", resolve_api.TranslateView.as_view(), name="translate"),
]
