"""API v1 routes, mounted at /api/v1/. Nested records (an item's revisions, a supplier's
sites) live under their parent's URL."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from mdm import api as views

router = DefaultRouter()
# Codes may contain dots, which format suffixes (".json") would swallow; JSON is the default.
router.include_format_suffixes = False
router.register("systems", views.SourceSystemViewSet, basename="system")
router.register("units", views.UnitViewSet, basename="unit")
router.register("items", views.ItemViewSet, basename="item")
router.register("suppliers", views.SupplierViewSet, basename="supplier")
router.register("locations", views.LocationViewSet, basename="location")
router.register("calendars", views.CalendarViewSet, basename="calendar")
router.register("code-lists", views.CodeListViewSet, basename="code-list")

LIST = {"get": "list", "post": "create"}
DETAIL = {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}


def nested(prefix, viewset, basename, lookup):
    """List and detail routes of a view set under its parent, e.g.
    items/<item_public_id>/revisions/ and items/<item_public_id>/revisions/<revision>/."""
    return [
        path(f"{prefix}/", viewset.as_view(LIST), name=f"{basename}-list"),
        path(f"{prefix}/<{lookup}>/", viewset.as_view(DETAIL), name=f"{basename}-detail"),
    ]


urlpatterns = [
    *nested(
        "items/<str:item_public_id>/revisions",
        views.ItemRevisionViewSet,
        "item-revision",
        "str:revision",
    ),
    *nested(
        "items/<str:item_public_id>/conversions",
        views.ItemUnitConversionViewSet,
        "item-conversion",
        "int:pk",
    ),
    *nested(
        "suppliers/<str:supplier_public_id>/sites",
        views.SupplierSiteViewSet,
        "supplier-site",
        "str:code",
    ),
    *nested(
        "calendars/<str:calendar_public_id>/exceptions",
        views.CalendarExceptionViewSet,
        "calendar-exception",
        "int:pk",
    ),
    *nested(
        "code-lists/<str:code_list_code>/values",
        views.CodeValueViewSet,
        "code-value",
        "str:code",
    ),
    *router.urls,
]
