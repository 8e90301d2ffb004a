"""API v1 routes of transaction validation, mounted at /api/v1/: contracts/, messages/,
validate/, supply-exceptions/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from validation import api

router = SimpleRouter()
router.register("messages", api.MessageViewSet, basename="message")
router.register("supply-exceptions", api.SupplyExceptionViewSet, basename="supply-exception")

urlpatterns = [
    path("contracts/", api.ContractListView.as_view(), name="contract-list"),
    path(
        "contracts/<str:message_type>/<int:version>/",
        api.ContractDetailView.as_view(),
        name="contract-detail",
    ),
    path("validate/", api.ValidateView.as_view(), name="validate"),
    *router.urls,
]
