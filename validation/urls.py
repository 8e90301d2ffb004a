"""API v1 routes of transaction validation, mounted at /api/v1/: contracts/, messages/,
validate/, supply-exceptions/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from validation import views

router = SimpleRouter()
router.register("messages", views.MessageViewSet, basename="message")
router.register("supply-exceptions", views.SupplyExceptionViewSet, basename="supply-exception")

urlpatterns = [
    path("contracts/", views.ContractListView.as_view(), name="contract-list"),
    path(
        "contracts/<str:message_type>/<int:version>/",
        views.ContractDetailView.as_view(),
        name="contract-detail",
    ),
    path("validate/", views.ValidateView.as_view(), name="validate"),
    *router.urls,
]
