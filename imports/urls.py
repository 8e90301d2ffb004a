"""The steward screen, mounted at /imports/."""

from django.urls import path

from imports import views

app_name = "imports"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.run_detail, name="run"),
    path("<int:pk>/progress/", views.run_progress, name="progress"),
    path("<int:pk>/apply/", views.run_apply, name="apply"),
    path("<int:pk>/revert/", views.run_revert, name="revert"),
    path("<int:pk>/failed-rows.csv", views.failed_rows, name="failed-rows"),
    path("templates/<str:kind>.csv", views.template, name="template"),
    path("examples/<str:kind>.csv", views.example, name="example"),
    path("exports/<str:kind>.csv", views.export, name="export"),
]
