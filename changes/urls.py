"""The change request screens, under /changes/ (the API is under /api/v1/change-requests/)."""

from django.urls import path

from changes import views

app_name = "changes"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/", views.request_page, name="request"),
    path("<int:pk>/<str:action>/", views.request_action, name="request-action"),
]
