"""API v1 routes of xref, mounted at /api/v1/ before the other apps' (hub.urls): resolution
and translation first, the hot path, then the cross-reference registry (xrefs/), match, the
labelled match pairs, the duplicates review queue and merges. The batch and labels routes come
before their kind's: a kind is never called "batch" or "labels". A record's merge and unmerge
routes (items/<id>/merge/) sit under mdm's own URLs, which are included after these: each
kind is spelled out, so no other /api/v1/<word>/<id>/merge/ is taken from mdm. A supplier
site's are under its supplier, by its code, as mdm serves the site itself."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from xref import sites
from xref.api import duplicates, labels, match, merges, registry, resolve

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
    path(
        "duplicates/<str:kind>/",
        duplicates.DuplicateClusterListView.as_view(),
        name="duplicate-clusters",
    ),
    path(
        "duplicates/<str:kind>/pairs/<int:pair_id>/",
        duplicates.DuplicatePairView.as_view(),
        name="duplicate-pair",
    ),
    path(
        "duplicates/<str:kind>/pairs/<int:pair_id>/decision/",
        duplicates.DuplicateDecisionView.as_view(),
        name="duplicate-decision",
    ),
    path(
        "duplicates/<str:kind>/runs/",
        duplicates.DuplicateRunListView.as_view(),
        name="duplicate-runs",
    ),
    path(
        "duplicates/<str:kind>/runs/<int:run_id>/",
        duplicates.DuplicateRunView.as_view(),
        name="duplicate-run",
    ),
    path("merges/", merges.MergeListView.as_view(), name="merge-list"),
    *(
        route
        for kind, plural in merges.PLURALS.items()
        for route in (
            path(
                f"{plural}/<str:public_id>/merge/",
                merges.MergeView.as_view(),
                {"kind": kind},
                name=f"{kind}-merge",
            ),
            path(
                f"{plural}/<str:public_id>/unmerge/",
                merges.UnmergeView.as_view(),
                {"kind": kind},
                name=f"{kind}-unmerge",
            ),
        )
    ),
    *(
        path(
            f"suppliers/<str:supplier_public_id>/sites/<str:code>/{action}/",
            view.as_view(),
            {"kind": sites.KIND},
            name=f"supplier-site-{action}",
        )
        for action, view in (("merge", merges.SiteMergeView), ("unmerge", merges.SiteUnmergeView))
    ),
]
