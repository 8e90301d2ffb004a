"""Match routes, mounted at /api/v1/: match/<kind>/."""

from django.urls import path

from xref import match_api

urlpatterns = [
    path("match/<str:kind>/", match_api.MatchView.as_view(), name="match"),
]
