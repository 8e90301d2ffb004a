"""The review screens, under /quarantine/ (the API is under /api/v1/quarantine/)."""

from django.urls import path

from quarantine import supply, views

app_name = "quarantine"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("supply-exceptions/", supply.supply_exceptions, name="supply-exceptions"),
    path(
        "supply-exceptions/<int:pk>/<str:action>/",
        supply.supply_exception_action,
        name="supply-exception-action",
    ),
    path("bulk/", views.bulk_start, name="bulk-start"),
    path("bulk/<int:run_id>/", views.bulk_status, name="bulk"),
    path("bulk/<int:run_id>/progress.json", views.bulk_progress, name="bulk-progress"),
    path("<int:pk>/", views.case_detail, name="case"),
    path(
        "<int:pk>/<str:action>/",
        views.case_action,
        name="case-action",
    ),
]
