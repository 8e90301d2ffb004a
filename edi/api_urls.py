"""API v1 routes of the EDI gateway, mounted at /api/v1/: edi/ (send an interchange) and
edi/interchanges/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from edi import api

router = SimpleRouter()
router.register("edi/interchanges", api.InterchangeViewSet, basename="edi-interchange")

urlpatterns = [
    path("edi/", api.InboxView.as_view(), name="edi-inbox"),
    *router.urls,
]
