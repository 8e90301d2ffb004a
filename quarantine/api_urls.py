"""API v1 routes of quarantine, mounted at /api/v1/: quarantine/cases/."""

from rest_framework.routers import SimpleRouter

from quarantine import api

router = SimpleRouter()
router.register("quarantine/cases", api.CaseViewSet, basename="quarantine-case")

urlpatterns = router.urls
