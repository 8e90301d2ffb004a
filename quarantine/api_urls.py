"""API v1 routes of quarantine, mounted at /api/v1/: quarantine/cases/, the acknowledge
and close actions of supply-exceptions/, and trace/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from quarantine import api, trace_api

router = SimpleRouter()
router.register("quarantine/cases", api.CaseViewSet, basename="quarantine-case")
# Only the actions: the list and detail of supply exceptions are validation's.
router.register(
    "supply-exceptions", api.SupplyExceptionStepViewSet, basename="supply-exception-step"
)

urlpatterns = [*router.urls, path("trace/", trace_api.TraceView.as_view(), name="trace")]
