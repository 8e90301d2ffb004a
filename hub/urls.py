from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from hub import views

handler500 = "hub.views.server_error"
handler404 = "hub.views.page_not_found"
handler400 = "hub.views.bad_request"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz", views.healthz, name="healthz"),
    # Resolution early: it is the hot path, and every pattern tried before it costs time.
    path("api/v1/", include("xref.api_urls")),
    path("admin/", admin.site.urls),
    path("imports/", include("imports.urls")),
    path("quarantine/", include("quarantine.urls")),
    path("edi/", include("edi.urls")),
    path("changes/", include("changes.urls")),
    path("api/v1/", include("mdm.api_urls")),
    path("api/v1/", include("validation.api_urls")),
    path("api/v1/", include("imports.api_urls")),
    path("api/v1/", include("quarantine.api_urls")),
    path("api/v1/", include("events.api_urls")),
    path("api/v1/", include("edi.api_urls")),
    path("api/v1/", include("changes.api_urls")),
    path("reconcile/", include("reconcile.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", views.ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("metrics", views.metrics, name="metrics"),
    # Last: any other path under /api/ is the JSON 404, with HUB_DEBUG too.
    re_path(r"^api/(?P<path>.*)$", views.api_not_found, name="api-not-found"),
]
