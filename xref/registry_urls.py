"""Routes of the cross-reference registry, mounted at /api/v1/: xrefs/ and xrefs/<id>/."""

from rest_framework.routers import SimpleRouter

from xref import views

router = SimpleRouter()
router.register("xrefs", views.CrossReferenceViewSet, basename="xref")

urlpatterns = router.urls
