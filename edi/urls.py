"""The EDI gateway's screens, under /edi/ (the API is under /api/v1/edi/)."""

from django.urls import path

from edi import views

app_name = "edi"

urlpatterns = [
    path("", views.interchanges, name="interchanges"),
    path("<str:public_id>/", views.interchange, name="interchange"),
    path("<str:public_id>/raw/", views.interchange_raw, name="interchange-raw"),
]
