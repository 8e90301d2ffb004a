"""The review screens, under /quarantine/ (the API is under /api/v1/quarantine/)."""

from django.urls import path

from quarantine import (
    duplicate_views,
    event_views,
    flow_views,
    merge_views,
    supply,
    trace_views,
    views,
)

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
    path("trace/", trace_views.trace_screen, name="trace"),
    path("flows/", flow_views.dashboard, name="flows"),
    path("flows/forecasts/", flow_views.forecast_list, name="flow-forecasts"),
    path("flows/orders/", flow_views.order_list, name="flow-orders"),
    path("flows/ship-notices/", flow_views.ship_notice_list, name="flow-ship-notices"),
    path("duplicates/<str:kind>/", duplicate_views.duplicates, name="duplicates"),
    path(
        "duplicates/<str:kind>/runs/",
        duplicate_views.duplicate_run_start,
        name="duplicate-run-start",
    ),
    path(
        "duplicates/<str:kind>/runs/<int:run_id>/progress.json",
        duplicate_views.duplicate_run_progress,
        name="duplicate-run-progress",
    ),
    path(
        "duplicates/<str:kind>/pairs/<int:pair_id>/",
        duplicate_views.duplicate_pair,
        name="duplicate-pair",
    ),
    path(
        "duplicates/<str:kind>/pairs/<int:pair_id>/decide/",
        duplicate_views.duplicate_decide,
        name="duplicate-decide",
    ),
    path(
        "duplicates/<str:kind>/pairs/<int:pair_id>/merge/",
        merge_views.merge_pair,
        name="duplicate-merge",
    ),
    path("merges/", merge_views.merges, name="merges"),
    path("merges/<int:merge_id>/", merge_views.merged, name="merge"),
    path("merges/<int:merge_id>/unmerge/", merge_views.unmerge, name="merge-unmerge"),
    path("events/", event_views.subscriptions, name="events"),
    path(
        "events/subscriptions/<int:pk>/",
        event_views.subscription,
        name="event-subscription",
    ),
    path(
        "events/subscriptions/<int:pk>/replay/",
        event_views.replay,
        name="event-replay",
    ),
    path(
        "events/subscriptions/<int:pk>/discard/",
        event_views.discard,
        name="event-discard",
    ),
    path(
        "events/subscriptions/<int:pk>/replays/<int:stamp>/progress.json",
        event_views.replay_progress,
        name="event-replay-progress",
    ),
    path("events/<str:event_id>/", event_views.event, name="event"),
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
