"""API v1 routes of xref, mounted at /api/v1/ before the other apps' (hub.urls): resolution
and translation first, the hot path, then the cross-reference registry (xrefs/), match and
the labelled match pairs. The batch and labels routes come before their kind's: a kind is
never called "batch" or "labels"."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from xref.api import labels, match, registry, resolve

router = SimpleRouter()
router.register("xrefs", registry.CrossReferenceViewSet, basename="xref")

urlpatterns = [
    path("resolve/batch/", resolve.ResolveBatchView.as_view(), name="resolve-batch"),
    path("resolve/<str:kind>/", resolve.ResolveView.as_view(), name="resolve"),
    path("translate/batch/", resolve.TranslateBatchView.as_view(), name="translate-batch"),
    path("translate/<str:kind>/", resolve.TranslateView.as_view(), name="translate"),
    *router.urls,
    path("match/labels/", labels.MatchLabelListView.as_view(), name="match-labels"),
    path("match/labels/import/", labels.MatchLabelImportView.as_view(), name="match-labels-import"),
    path("match/<str:kind>/", match.MatchView.as_view(), name="match"),
]
