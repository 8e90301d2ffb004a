"""The world the access matrix (and the API fuzzing) calls every URL of: one of each
record, the users and keys of each caller, messages, cases and runs."""

import datetime as dt
from types import SimpleNamespace
from unittest import mock

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from changes.models import ApprovalPolicy, ChangeItem, ChangeRequest
from events import outbox
from events.models import Subscription
from hub.celery import app as celery_app
from imports.models import ImportRun
from mdm.models import (
    ApiClient,
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
from mdm.services import create_api_client
from quarantine.models import BulkRun, QuarantineCase, TeamSettings
from reconcile.services import create_key
from tests.edi import partners
from tests.validation.world import example
from validation import enqueue, pipeline, tasks
from validation.models import (
    Acknowledgement,
    InboundMessage,
    PlanPolicy,
    PurchaseOrder,
    PurchaseOrderLine,
    Rule,
    SupplyException,
)
from validation.submission import submit_message
from xref import labels
from xref.models import CrossReference, DuplicatePair, DuplicateRun, MatchWeights, Merge


def _user(username, role):
    user = User.objects.create_user(username=username, is_staff=True)  # no password: no hashing
    user.groups.add(Group.objects.get(name=role))
    return user


def build_world(history_ids=None):
    """The records, users, keys, messages and cases the access matrix calls the URLs of:
    a SimpleNamespace of them; `history_ids(world)` gives its `history` (the admin's history
    pages), asked while the world's tasks still run eagerly."""
    steward, viewer = _user("stella.steward", "steward"), _user("victor.viewer", "viewer")
    erp_system = SourceSystem.objects.create(code="ERP_LEGACY", name="Legacy ERP", kind="erp")
    planning_system = SourceSystem.objects.create(code="PLANNING", name="Planning", kind="planning")
    saved = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = True
    piece = Unit.objects.create(code="H87", name="piece", mapping_class="count")
    Unit.objects.create(
        code="KGM", name="kilogram", pint_expression="kilogram", mapping_class="direct"
    )
    Unit.objects.create(code="GRM", name="gram", pint_expression="gram", mapping_class="direct")
    box = Unit.objects.create(
        code="XBX", name="Box", source=Unit.Source.REC21, mapping_class="item_specific"
    )
    item = Item.objects.create(
        number="100234",
        description="Hex bolt M8x40",
        base_unit=piece,
        item_type=Item.Type.COMPONENT,
    )
    revision = ItemRevision.objects.create(
        item=item, revision="A", effective_from=dt.date(2025, 1, 1)
    )
    conversion = ItemUnitConversion.objects.create(
        item=item, from_unit=box, to_unit=piece, factor=10
    )
    supplier = Supplier.objects.create(number="V100001", name="Acme Fasteners", country="DE")
    site = SupplierSite.objects.create(supplier=supplier, code="HQ", country="DE")
    location = Location.objects.create(
        code="DE01", name="Ingolstadt plant", kind=Location.Kind.PLANT, country="DE"
    )
    calendar = Calendar.objects.create(code="DE-BY", name="Bavaria", holiday_country="DE")
    exception = CalendarException.objects.create(
        calendar=calendar,
        start=dt.date(2026, 3, 4),
        end=dt.date(2026, 3, 4),
        is_working=False,
        reason="Works outing",
    )
    code_list = CodeList.objects.create(code="ACK_STATUS", name="Acknowledgement status")
    code_value = CodeValue.objects.create(code_list=code_list, code="accepted", meaning="OK")
    xref = CrossReference.objects.create(
        kind="item", system=erp_system, code="MAT-1", item=item, is_preferred=True
    )
    # Translation needs a code at both ends.
    CrossReference.objects.create(
        kind="item", system=planning_system, code="PLN-1", item=item, is_preferred=True
    )
    erp_message = _quarantined(erp_system)
    planning_message = _submitted(planning_system, "forecast")
    case = QuarantineCase.objects.get(message=erp_message)
    bulk = BulkRun.objects.create(
        action="assign", params={}, case_ids=[case.pk], created_by=steward, total=1
    )
    run = ImportRun.objects.create(kind="items", file_name="a.csv")
    reconciliation_key, secret = create_key("procurement-openrefine")
    _, planning_key = create_api_client("PLANNING", "planning-sync")
    w = SimpleNamespace(
        steward=steward,
        viewer=viewer,
        erp=erp_system,
        planning=planning_system,
        unit=piece,
        item=item,
        revision=revision,
        conversion=conversion,
        supplier=supplier,
        site=site,
        location=location,
        calendar=calendar,
        exception=exception,
        code_list=code_list,
        code_value=code_value,
        xref=xref,
        erp_message=erp_message,
        planning_message=planning_message,
        case=case,
        bulk=bulk,
        run=run,
        reconciliation_key=reconciliation_key,
        reconcile_key=secret,
        match_label=labels.record("item", {"q": "hex bolt"}, item.public_id, True, "api")[0],
        match_weights=MatchWeights.objects.create(kind="item", weights={}),
        planning_key=planning_key,
        api_client=ApiClient.objects.get(system=planning_system),
        group=Group.objects.get(name="viewer"),
        rule=Rule.objects.first(),
        team_settings=TeamSettings.objects.create(team="procurement", sla_hours=4),
        plan_policy=PlanPolicy.objects.create(system=planning_system, plan_id="S&OP"),
        supply_exception=_supply_exception(planning_message, item),
        item_type=ContentType.objects.get_for_model(Item).pk,
        access_attempt=AccessAttempt.objects.create(
            username="stella.steward", ip_address="203.0.113.5", failures_since_start=3
        ),
        access_log=AccessLog.objects.create(username="stella.steward", ip_address="203.0.113.5"),
        access_failure_log=AccessFailureLog.objects.create(
            username="stella.steward", ip_address="203.0.113.5"
        ),
    )
    late_parts = Supplier.objects.get(number="V100002")
    w.duplicate_pair = DuplicatePair.objects.create(
        kind="supplier",
        record_a=min(supplier.public_id, late_parts.public_id),
        record_b=max(supplier.public_id, late_parts.public_id),
        score=95.0,
    )
    w.duplicate_run = DuplicateRun.objects.create(kind="supplier")
    # A merge of the two, undone: the records stay as they are.
    w.merge = Merge.objects.create(
        kind="supplier",
        survivor=supplier.public_id,
        loser=late_parts.public_id,
        before={"survivor": {"id": supplier.pk}, "loser": {"id": late_parts.pk}},
        decided_by=steward,
        undone_at=dt.datetime(2026, 3, 3, tzinfo=dt.UTC),
        undone_by=steward,
    )
    w.subscription = Subscription.objects.create(
        name="erp-items", consumer="ERP_LEGACY", mode="pull", types=["hub.item.*"]
    )
    w.push_subscription = Subscription.objects.create(
        name="planning-supply-push",
        consumer="PLANNING",
        mode="push",
        types=["hub.supply_exception.*"],
        url="https://planning.example.com/hooks/hub",
    )
    with transaction.atomic():
        w.event = outbox.emit("hub.item.changed", item.public_id, {"id": item.public_id})
    outbox.publish()
    # An ERP_LEGACY trading partner's 855, taken in: PLANNING's client does not see it.
    w.edi_partner = partners.fort_wayne(erp_system)
    w.interchange = partners.received(partners.SAMPLE)
    # A policy, and a change request another steward asked for (a supplier's new name, not
    # applied): the world's steward neither asked for it nor may approve it.
    w.approval_policy = ApprovalPolicy.objects.create(kind="mdm.supplier", fields=["status"])
    w.change_request = ChangeRequest.objects.create(
        kind="mdm.supplier",
        title=f"Change to suppliers: {supplier} (name)",
        reason="Legal name registered",
        source="api",
        requested_by=_user("sam.steward", "steward"),
    )
    ChangeItem.objects.create(
        request=w.change_request,
        position=1,
        model="mdm.supplier",
        object_id=str(supplier.pk),
        action=ChangeItem.Action.UPDATE,
        label=str(supplier),
        before={"name": supplier.name},
        after={"name": f"{supplier.name} GmbH"},
    )
    w.history = history_ids(w) if history_ids else {}
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved
    return w


def _submitted(system, message_type="ship_notice", payload=None):
    with mock.patch.object(enqueue, "enqueue_validation"):
        return submit_message(
            system=system,
            message_type=message_type,
            schema_version=1,
            payload=payload or example(message_type),
            idempotency_key=f"k{InboundMessage.objects.count()}",
        ).message


def _supply_exception(message, item):
    # A supplier and plant of its own: the ledger protects what it names from deletion.
    now = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    supplier = Supplier.objects.create(number="V100002", name="Late Parts", country="DE")
    plant = Location.objects.create(
        code="DE02", name="Second plant", kind=Location.Kind.PLANT, country="DE"
    )
    order = PurchaseOrder.objects.create(
        po_number="4500000001",
        supplier=supplier,
        ship_to=plant,
        plant=plant,
        system=message.system,
        change_sequence=0,
        order_date=now.date(),
        released_at=now,
        changed_at=now,
    )
    line = PurchaseOrderLine.objects.create(
        order=order,
        line=10,
        item=item,
        quantity=10,
        unit_id="H87",
        base_quantity=10,
        base_unit_id="H87",
        need_by=now.date(),
    )
    ack = Acknowledgement.objects.create(order=order, message=message, ack_date=now.date())
    return SupplyException.objects.create(
        acknowledgement=ack,
        order_line=line,
        supplier=supplier,
        item=item,
        plant=plant,
        status="backordered",
        ordered_quantity=10,
        on_time_quantity=7,
        quantity_at_risk=3,
        unit_id="H87",
        need_by=now.date(),
        days_late=14,
    )


def _quarantined(system):
    message = _submitted(system)
    finding = {
        "rule": "XREF_UNRESOLVED",
        "severity": "error",
        "team": "integration",
        "path": "$.ship_to",
        "value": "x",
        "message": "unknown",
        "suggestion": None,
    }
    outcome = pipeline.Outcome(status="quarantined", diagnostics=[finding])
    with mock.patch.object(pipeline, "evaluate", return_value=outcome):
        tasks.validate_message.delay(message.pk)
    message.refresh_from_db()
    return message
