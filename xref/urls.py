from django.urls import include, path

urlpatterns = [
    path("", include("xref.resolve_urls")),
    path("", include("xref.registry_urls")),
    path("", include("xref.match_urls")),
]
