"""API v1 routes of change requests, mounted at /api/v1/: change-requests/."""

from rest_framework.routers import SimpleRouter

from changes import api

router = SimpleRouter()
router.register("change-requests", api.ChangeRequestViewSet, basename="change-request")

urlpatterns = router.urls
