"""API v1 views for master data. Thin: serializers validate through the models, services do
the arithmetic (`mdm.units`, `mdm.calendars`), core.auth decides who may read and write.

Records are addressed by public id (items, suppliers, locations, calendars), by Rec 20 code
(units) or by code (source systems, code lists); nested records by their code within the
parent (an item's revision "B", a supplier's site "HAMBURG").
"""

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.response import Response
from rest_framework.reverse import reverse

from changes import policies
from changes.api_doors import held, held_writes
from changes.registry import governed
from core.problems import ProblemResponse
from core.rest import (
    BearerKeyScheme,  # noqa: F401  (registers the schema extension)
    not_found_detail,
)
from mdm import calendars, filters, serializers, units
from mdm.models import (
    Calendar,
    CalendarException,
    CodeList,
    CodeValue,
    Item,
    ItemRevision,
    ItemUnitConversion,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
    Unit,
)
from mdm.models.base import live_record

# Codes may contain dots (e.g. "ACK.STATUS"), so lookups match anything up to the next slash.
CODE_IN_PATH = "[^/]+"


class MasterDataViewSet(viewsets.ModelViewSet):
    """CRUD for one kind of record. Each write runs in its own transaction so a refused
    write (a database constraint, a record still referenced) leaves nothing half done.

    A write a policy says needs approval (changes) is held as a change request instead:
    the answer is 202 with the request, and nothing is written (changes.api_doors). The
    record it asks for is built from the validated data, the parent of a nested record
    included (the serializer's validation adds it), without saving it."""

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        answer = self.held_answer(request, serializer, policies.CREATE)
        if answer is not None:
            return answer
        self.perform_create(serializer)
        headers = self.get_success_headers(serializer.data)
        return Response(serializer.data, status=status.HTTP_201_CREATED, headers=headers)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        answer = self.held_answer(request, serializer, policies.UPDATE)
        if answer is not None:
            return answer
        self.perform_update(serializer)
        if getattr(instance, "_prefetched_objects_cache", None):
            instance._prefetched_objects_cache = {}  # as DRF does: show the fresh relations
        return Response(serializer.data)

    def destroy(self, request, *args, **kwargs):
        instance = self.get_object()
        answer = held(request, instance, policies.DELETE)
        if answer is not None:
            return answer
        self.perform_destroy(instance)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def held_answer(self, request, serializer, action):
        """The answer to a write that waits for approval, None to write it (always for a
        kind no app governs: its record is not even built)."""
        if governed(serializer.Meta.model) is None:
            return None
        return held(request, serializer.unsaved_instance(serializer.validated_data), action)

    def perform_create(self, serializer):
        with transaction.atomic():
            serializer.save()

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.save()

    def perform_destroy(self, instance):
        with transaction.atomic():
            instance.delete()


class NestedViewSet(MasterDataViewSet):
    """Records that belong to a parent named in the URL (an item's revisions). The parent is
    looked up first, so an unknown parent is a 404, and is handed to the serializer so the
    model validates the record together with its parent."""

    parent_model = None
    parent_lookup = None  # field of the parent model matched against the URL
    parent_kwarg = None  # name of the URL parameter
    parent_field = None  # foreign key from the record to its parent

    def get_parent(self):
        if not hasattr(self, "_parent"):
            value = self.kwargs[self.parent_kwarg]
            try:
                self._parent = self.parent_model.objects.get(**{self.parent_lookup: value})
            except self.parent_model.DoesNotExist:
                noun = self.parent_model._meta.verbose_name
                raise NotFound(not_found_detail(noun, self.parent_lookup, value)) from None
        return self._parent

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation: no URL values
            return queryset.none()
        return queryset.filter(**{self.parent_field: self.get_parent()})

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False) and self.parent_kwarg in self.kwargs:
            context["parent"] = {self.parent_field: self.get_parent()}
        return context


class MergedRecord(APIException):
    status_code = 409
    default_detail = "The record was merged into another; change that one."


INCLUDE_MERGED = OpenApiParameter(
    "include_merged",
    OpenApiTypes.BOOL,
    description="Also list records merged into another (left out by default).",
)


@extend_schema_view(
    list=extend_schema(parameters=[INCLUDE_MERGED]),
    retrieve=extend_schema(
        description="A record merged into another answers with the record it was merged into "
        "(the end of the chain of merges), whose URL is in the Content-Location header; "
        "`merged_from` then names the id asked for."
    ),
)
class MergeableViewSet(MasterDataViewSet):
    """Records that can be merged into another (items, suppliers, locations, supplier sites:
    xref.merging).
    A merged record's id stays valid forever: its detail URL answers with the live record it
    was merged into. Lists leave merged records out unless `include_merged=true`; a merged
    record is not changed or deleted here (409): its values are the merge's to restore."""

    def get_queryset(self):
        queryset = super().get_queryset()
        params = getattr(self.request, "query_params", {})
        wanted = params.get("include_merged", "")
        if self.action == "list" and wanted.strip().lower() not in ("true", "1", "yes"):
            queryset = queryset.filter(merged_into="")
        return queryset

    def get_object(self):
        record = super().get_object()
        if record.merged_into and self.action != "retrieve":
            raise MergedRecord(
                f"{record.public_id} was merged into {record.merged_into}; "
                f"change {record.merged_into} instead."
            )
        return record

    def retrieve(self, request, *args, **kwargs):
        record = self.get_object()
        if not record.merged_into:
            return Response(self.get_serializer(record).data)
        try:
            live = live_record(type(record), record.public_id)
        except ValueError as exc:
            raise MergedRecord(str(exc)) from None
        live = self.get_queryset().get(pk=live.pk)
        data = {**self.get_serializer(live).data, "merged_from": record.public_id}
        return Response(data, headers={"Content-Location": self.detail_url(live)})

    def detail_url(self, record):
        """The URL of the record's detail route."""
        kwargs = {"public_id": record.public_id}
        return reverse(f"{self.basename}-detail", kwargs=kwargs, request=self.request)


def path_parameter(name, description):
    return OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.PATH, description=description)


def nested_under(parameter):
    """Documents the parent's URL parameter on every action of a nested view set."""
    actions = ("list", "create", "retrieve", "update", "partial_update", "destroy")
    return extend_schema_view(**{name: extend_schema(parameters=[parameter]) for name in actions})


class SourceSystemViewSet(MasterDataViewSet):
    """Systems that exchange data through the hub, and what each is the source of record
    for."""

    queryset = SourceSystem.objects.all()
    serializer_class = serializers.SourceSystemSerializer
    filterset_class = filters.SourceSystemFilterSet
    lookup_field = "code"


class UnitViewSet(viewsets.ReadOnlyModelViewSet):
    """Units of measure by UN/ECE Rec 20 code. Reference data loaded from Rec 20: read-only
    for everyone."""

    queryset = Unit.objects.all()
    serializer_class = serializers.UnitSerializer
    filterset_class = filters.UnitFilterSet
    lookup_field = "code"

    @extend_schema(
        summary="Convert a quantity between units",
        description=(
            "Global conversions (e.g. KGM to GRM) and, with `item` (and `supplier`), the "
            "item's pack conversions (1 XBX = 12 H87). Quantities are decimal strings so no "
            "precision is lost. An impossible conversion is a 400 with the reason."
        ),
        filters=False,
        parameters=[
            OpenApiParameter(
                "quantity",
                OpenApiTypes.STR,
                required=True,
                description="Decimal number, e.g. 2.5 (text, so no precision is lost)",
            ),
            OpenApiParameter(
                "from", OpenApiTypes.STR, required=True, description="Rec 20 code, e.g. XBX"
            ),
            OpenApiParameter(
                "to", OpenApiTypes.STR, required=True, description="Rec 20 code, e.g. H87"
            ),
            OpenApiParameter(
                "item", OpenApiTypes.STR, description="Item public id or number, for pack units"
            ),
            OpenApiParameter(
                "supplier",
                OpenApiTypes.STR,
                description="Supplier public id or number, for supplier-specific packs",
            ),
            OpenApiParameter(
                "date",
                OpenApiTypes.DATE,
                description="Date the conversion must be valid on (default: today)",
            ),
        ],
        responses={200: serializers.ConversionResultSerializer},
    )
    @action(detail=False, pagination_class=None, filter_backends=[])
    def convert(self, request):
        query = serializers.ConvertQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data

        try:
            detailed = units.convert_detailed(
                params["quantity"],
                params["from"],
                params["to"],
                item=params.get("item"),
                supplier=params.get("supplier"),
                on_date=params.get("date"),
            )
        except units.ConversionError as exc:
            return ProblemResponse(400, str(exc))
        result, warnings = detailed.quantity, list(detailed.warnings)
        return Response(
            {
                "quantity": serializers.decimal_text(params["quantity"]),
                "from": params["from"].code,
                "to": params["to"].code,
                "result": serializers.decimal_text(result),
                "warnings": warnings,
            }
        )


@held_writes
class ItemViewSet(MergeableViewSet):
    """Items: materials, components and products, by public id (ITM-...)."""

    queryset = Item.objects.select_related("base_unit", "weight_unit")
    serializer_class = serializers.ItemSerializer
    filterset_class = filters.ItemFilterSet
    lookup_field = "public_id"


ITEM_PATH = path_parameter("item_public_id", "Public id of the item, e.g. ITM-000123")


@nested_under(ITEM_PATH)
class ItemRevisionViewSet(NestedViewSet):
    """An item's engineering revisions, by revision code."""

    queryset = ItemRevision.objects.select_related("item")
    serializer_class = serializers.ItemRevisionSerializer
    filterset_class = filters.ItemRevisionFilterSet
    lookup_field = "revision"
    parent_model = Item
    parent_lookup = "public_id"
    parent_kwarg = "item_public_id"
    parent_field = "item"


@nested_under(ITEM_PATH)
@held_writes
class ItemUnitConversionViewSet(NestedViewSet):
    """An item's pack conversions (1 from-unit = factor to-units), optionally per supplier."""

    queryset = ItemUnitConversion.objects.select_related("item", "supplier", "from_unit", "to_unit")
    serializer_class = serializers.ItemUnitConversionSerializer
    filterset_class = filters.ItemUnitConversionFilterSet
    parent_model = Item
    parent_lookup = "public_id"
    parent_kwarg = "item_public_id"
    parent_field = "item"


@held_writes
class SupplierViewSet(MergeableViewSet):
    """Suppliers, by public id (SUP-...)."""

    queryset = Supplier.objects.all()
    serializer_class = serializers.SupplierSerializer
    filterset_class = filters.SupplierFilterSet
    lookup_field = "public_id"


SUPPLIER_PATH = path_parameter("supplier_public_id", "Public id of the supplier, e.g. SUP-000045")


@nested_under(SUPPLIER_PATH)
class SupplierSiteViewSet(MergeableViewSet, NestedViewSet):
    """A supplier's ordering and shipping sites, by site code. A site merged into another of
    its supplier's answers with that one."""

    queryset = SupplierSite.objects.select_related("supplier", "calendar")
    serializer_class = serializers.SupplierSiteSerializer
    filterset_class = filters.SupplierSiteFilterSet
    lookup_field = "code"
    parent_model = Supplier
    parent_lookup = "public_id"
    parent_kwarg = "supplier_public_id"
    parent_field = "supplier"

    def detail_url(self, record):
        kwargs = {"supplier_public_id": self.get_parent().public_id, "code": record.code}
        return reverse("supplier-site-detail", kwargs=kwargs, request=self.request)


class LocationViewSet(MergeableViewSet):
    """Plants, warehouses, distribution centres, ship-tos and supplier sites, by public id
    (LOC-...)."""

    queryset = Location.objects.select_related("calendar", "parent", "supplier_site")
    serializer_class = serializers.LocationSerializer
    filterset_class = filters.LocationFilterSet
    lookup_field = "public_id"


@held_writes
class CalendarViewSet(MasterDataViewSet):
    """Working calendars, by public id (CAL-...), with their exceptions, and working-day
    arithmetic on them."""

    queryset = Calendar.objects.prefetch_related("exceptions")
    serializer_class = serializers.CalendarSerializer
    filterset_class = filters.CalendarFilterSet
    lookup_field = "public_id"

    @extend_schema(
        summary="Add working days to a date",
        description=(
            "The date `days` working days after `date` (before it when negative; with 0, "
            "`date` itself when worked, else the next working day)."
        ),
        filters=False,
        parameters=[
            OpenApiParameter("date", OpenApiTypes.DATE, required=True),
            OpenApiParameter(
                "days", OpenApiTypes.INT, required=True, description="May be negative"
            ),
        ],
        responses={200: serializers.AddWorkingDaysResultSerializer},
    )
    @action(detail=True, url_path="add-working-days", pagination_class=None, filter_backends=[])
    def add_working_days(self, request, public_id=None):
        query = serializers.AddWorkingDaysQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        day, days = query.validated_data["date"], query.validated_data["days"]
        calendar = self.get_object()

        try:
            result = calendars.add_working_days(calendar, day, days)
        except ValueError as exc:
            return ProblemResponse(400, str(exc))
        return Response(
            {"calendar": calendar.public_id, "date": day, "days": days, "result": result}
        )

    @extend_schema(
        summary="Count working days between two dates",
        description="Working days in [from, to): `from` counts, `to` does not.",
        filters=False,
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=True),
            OpenApiParameter("to", OpenApiTypes.DATE, required=True),
        ],
        responses={200: serializers.WorkingDaysResultSerializer},
    )
    @action(detail=True, url_path="working-days", pagination_class=None, filter_backends=[])
    def working_days(self, request, public_id=None):
        query = serializers.WorkingDaysQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data["from"], query.validated_data["to"]
        calendar = self.get_object()

        try:
            count = calendars.working_days_between(calendar, start, end)
        except ValueError as exc:
            return ProblemResponse(400, str(exc))
        return Response(
            {"calendar": calendar.public_id, "from": start, "to": end, "working_days": count}
        )


CALENDAR_PATH = path_parameter("calendar_public_id", "Public id of the calendar, e.g. CAL-000002")


@nested_under(CALENDAR_PATH)
@held_writes
class CalendarExceptionViewSet(NestedViewSet):
    """A calendar's dated exceptions: shutdowns, bridge days, working Saturdays."""

    queryset = CalendarException.objects.select_related("calendar")
    serializer_class = serializers.CalendarExceptionSerializer
    filterset_class = filters.CalendarExceptionFilterSet
    parent_model = Calendar
    parent_lookup = "public_id"
    parent_kwarg = "calendar_public_id"
    parent_field = "calendar"


class CodeListViewSet(MasterDataViewSet):
    """Lists of canonical codes (e.g. acknowledgement line statuses), with their values."""

    queryset = CodeList.objects.prefetch_related("values")
    serializer_class = serializers.CodeListSerializer
    filterset_class = filters.CodeListFilterSet
    lookup_field = "code"
    lookup_value_regex = CODE_IN_PATH


CODE_LIST_PATH = path_parameter("code_list_code", "Code of the code list")


@nested_under(CODE_LIST_PATH)
class CodeValueViewSet(NestedViewSet):
    """The canonical codes of one code list, by code."""

    queryset = CodeValue.objects.select_related("code_list")
    serializer_class = serializers.CodeValueSerializer
    filterset_class = filters.CodeValueFilterSet
    lookup_field = "code"
    parent_model = CodeList
    parent_lookup = "code"
    parent_kwarg = "code_list_code"
    parent_field = "code_list"
