"""API v1 routes of xref, mounted at /api/v1/ before the other apps' (hub.urls): resolution
and translation first, the hot path, then the cross-reference registry (xrefs/) and match.
The batch routes come before their kind's: a kind is never called "batch"."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from xref.api import match, registry, resolve

router = SimpleRouter()
router.register("xrefs", registry.CrossReferenceViewSet, basename="xref")

urlpatterns = [
    path("resolve/batch/", resolve.ResolveBatchView.as_view(), name="resolve-batch"),
    path("resolve/<str:kind>/", resolve.ResolveView.as_view(), name="resolve"),
    path("translate/batch/", resolve.TranslateBatchView.as_view(), name="translate-batch"),
    path("translate/<str:kind>/", resolve.TranslateView.as_view(), name="translate"),
    *router.urls,
    path("match/<str:kind>/", match.MatchView.as_view(), name="match"),
]
