"""The access matrix: every URL pattern of the hub, and what each caller gets from it.

Callers: nobody (no session, no key), a viewer and a steward (logged-in sessions), and an
integration client of another source system (PLANNING; the world's message and case belong
to ERP_LEGACY). A pattern without an entry in MATRIX fails the test, so no endpoint is added
without deciding who may call it.

Expected values: a status code, or LOGIN (a redirect to the admin's login page).
"""

from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.hub.access_world import build_world
from tests.validation.world import example
from validation import enqueue
from validation.models import (
    InboundMessage,
)

LOGIN = "login"
CALLERS = ("anonymous", "viewer", "steward", "other_system")
CSRF_TOKEN = "k" * 32
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def row(anonymous, viewer, steward, other_system):
    return dict(zip(CALLERS, (anonymous, viewer, steward, other_system), strict=True))


# --- shapes shared by many patterns ---------------------------------------------------------

API_READ = row(401, 200, 200, 200)
API_WRITE = row(401, 403, 400, 403)  # steward passes the role check; the empty body is a 400
SCREEN_READ = row(LOGIN, 200, 200, LOGIN)
SCREEN_ACT = row(LOGIN, 403, 302, LOGIN)
STEWARD_SCREEN = row(LOGIN, 403, 200, LOGIN)  # the import screens are for stewards only

MASTER_LIST = {"GET": API_READ, "POST": API_WRITE}
MASTER_DETAIL = {
    "GET": API_READ,
    "PUT": API_WRITE,
    "PATCH": row(401, 403, 200, 403),
    "DELETE": row(401, 403, 204, 403),
}
IN_USE = row(401, 403, 409, 403)

# (url, {method: row}) per pattern, keyed by its name, or its route when it has none. URLs
# are formatted with the world: "{w.item.public_id}".
MATRIX = {
    "": ("/", {"GET": row(302, 302, 302, 302)}),
    "healthz": ("/healthz", {"GET": row(200, 200, 200, 200)}),
    # Any other path under /api/: the JSON 404, for everyone and whatever the method.
    "api-not-found": (
        "/api/v1/no-such-endpoint/",
        {"GET": row(404, 404, 404, 404), "POST": row(404, 404, 404, 404)},
    ),
    # Metrics: the metrics token (not set here) or a login with a hub role; another system's
    # API key is not the metrics token.
    "metrics": ("/metrics", {"GET": row(401, 200, 200, 401)}),
    # Resolution: integration and steward clients, whatever the system; viewers have no use.
    "resolve": (
        "/api/v1/resolve/item/?system=ERP_LEGACY&code=MAT-1",
        {"GET": row(401, 403, 200, 200)},
    ),
    "resolve-batch": ("/api/v1/resolve/batch/", {"POST": row(401, 403, 400, 400)}),
    "translate": (
        "/api/v1/translate/item/?from_system=ERP_LEGACY&to_system=PLANNING&code=MAT-1",
        {"GET": row(401, 403, 200, 200)},
    ),
    "translate-batch": ("/api/v1/translate/batch/", {"POST": row(401, 403, 400, 400)}),
    "match": ("/api/v1/match/item/?q=bolt", {"GET": row(401, 403, 200, 200)}),
    "match-labels": (
        "/api/v1/match/labels/",
        {"GET": row(401, 403, 200, 403), "POST": row(401, 403, 400, 400)},
    ),
    "match-labels-import": ("/api/v1/match/labels/import/", {"POST": row(401, 403, 400, 403)}),
    # The duplicates queue: people read it (viewers too), stewards decide and start full
    # runs; integration clients have no use for it. An empty decision is a 400.
    "duplicate-clusters": ("/api/v1/duplicates/supplier/", {"GET": row(401, 200, 200, 403)}),
    "duplicate-pair": (
        "/api/v1/duplicates/supplier/pairs/{w.duplicate_pair.pk}/",
        {"GET": row(401, 200, 200, 403)},
    ),
    "duplicate-decision": (
        "/api/v1/duplicates/supplier/pairs/{w.duplicate_pair.pk}/decision/",
        {"POST": row(401, 403, 400, 403)},
    ),
    "duplicate-runs": ("/api/v1/duplicates/supplier/runs/", {"POST": row(401, 403, 202, 403)}),
    "duplicate-run": (
        "/api/v1/duplicates/supplier/runs/{w.duplicate_run.pk}/",
        {"GET": row(401, 200, 200, 403)},
    ),
    # Merges: people read the proposal and the list (viewers too), stewards merge and unmerge;
    # integration clients have no use for them. An empty merge is a 400 (no loser), a record
    # merged into itself too; an unmerge of a record not merged is a 409.
    "merge-list": ("/api/v1/merges/", {"GET": row(401, 200, 200, 403)}),
    "supplier-merge": (
        "/api/v1/suppliers/{w.duplicate_pair.record_a}/merge/?loser={w.duplicate_pair.record_b}",
        {"GET": row(401, 200, 200, 403), "POST": row(401, 403, 400, 403)},
    ),
    "item-merge": (
        "/api/v1/items/{w.item.public_id}/merge/?loser={w.item.public_id}",
        {"GET": row(401, 400, 400, 403), "POST": row(401, 403, 400, 403)},
    ),
    "location-merge": (
        "/api/v1/locations/{w.location.public_id}/merge/?loser={w.supply_exception.plant.public_id}",
        {"GET": row(401, 200, 200, 403), "POST": row(401, 403, 400, 403)},
    ),
    "supplier-unmerge": (
        "/api/v1/suppliers/{w.supplier.public_id}/unmerge/",
        {"POST": row(401, 403, 409, 403)},
    ),
    "item-unmerge": (
        "/api/v1/items/{w.item.public_id}/unmerge/",
        {"POST": row(401, 403, 409, 403)},
    ),
    "location-unmerge": (
        "/api/v1/locations/{w.location.public_id}/unmerge/",
        {"POST": row(401, 403, 409, 403)},
    ),
    "supplier-site-merge": (
        "/api/v1/suppliers/{w.supplier.public_id}/sites/HQ/merge/?loser=HQ",
        {"GET": row(401, 400, 400, 403), "POST": row(401, 403, 400, 403)},
    ),
    "supplier-site-unmerge": (
        "/api/v1/suppliers/{w.supplier.public_id}/sites/HQ/unmerge/",
        {"POST": row(401, 403, 409, 403)},
    ),
    "xref-list": ("/api/v1/xrefs/", MASTER_LIST),
    "xref-detail": ("/api/v1/xrefs/{w.xref.pk}/", MASTER_DETAIL),
    # Master data.
    "system-list": ("/api/v1/systems/", MASTER_LIST),
    # Systems and items in use are not deleted (409): the steward got past the role check.
    "system-detail": ("/api/v1/systems/{w.erp.code}/", {**MASTER_DETAIL, "DELETE": IN_USE}),
    "unit-list": ("/api/v1/units/", {"GET": API_READ, "POST": row(401, 403, 405, 403)}),
    "unit-convert": ("/api/v1/units/convert/?from=KGM&to=GRM&quantity=1", {"GET": API_READ}),
    "unit-detail": ("/api/v1/units/H87/", {"GET": API_READ, "DELETE": row(401, 403, 405, 403)}),
    "item-list": ("/api/v1/items/", MASTER_LIST),
    "item-detail": ("/api/v1/items/{w.item.public_id}/", {**MASTER_DETAIL, "DELETE": IN_USE}),
    "item-revision-list": ("/api/v1/items/{w.item.public_id}/revisions/", MASTER_LIST),
    "item-revision-detail": ("/api/v1/items/{w.item.public_id}/revisions/A/", MASTER_DETAIL),
    "item-conversion-list": ("/api/v1/items/{w.item.public_id}/conversions/", MASTER_LIST),
    "item-conversion-detail": (
        "/api/v1/items/{w.item.public_id}/conversions/{w.conversion.pk}/",
        MASTER_DETAIL,
    ),
    "supplier-list": ("/api/v1/suppliers/", MASTER_LIST),
    "supplier-detail": ("/api/v1/suppliers/{w.supplier.public_id}/", MASTER_DETAIL),
    "supplier-site-list": ("/api/v1/suppliers/{w.supplier.public_id}/sites/", MASTER_LIST),
    "supplier-site-detail": (
        "/api/v1/suppliers/{w.supplier.public_id}/sites/HQ/",
        MASTER_DETAIL,
    ),
    "location-list": ("/api/v1/locations/", MASTER_LIST),
    "location-detail": ("/api/v1/locations/{w.location.public_id}/", MASTER_DETAIL),
    "calendar-list": ("/api/v1/calendars/", MASTER_LIST),
    "calendar-detail": ("/api/v1/calendars/{w.calendar.public_id}/", MASTER_DETAIL),
    "calendar-add-working-days": (
        "/api/v1/calendars/{w.calendar.public_id}/add-working-days/?date=2026-03-02&days=2",
        {"GET": API_READ},
    ),
    "calendar-working-days": (
        "/api/v1/calendars/{w.calendar.public_id}/working-days/?from=2026-03-02&to=2026-03-09",
        {"GET": API_READ},
    ),
    "calendar-exception-list": (
        "/api/v1/calendars/{w.calendar.public_id}/exceptions/",
        MASTER_LIST,
    ),
    "calendar-exception-detail": (
        "/api/v1/calendars/{w.calendar.public_id}/exceptions/{w.exception.pk}/",
        MASTER_DETAIL,
    ),
    "code-list-list": ("/api/v1/code-lists/", MASTER_LIST),
    "code-list-detail": ("/api/v1/code-lists/ACK_STATUS/", MASTER_DETAIL),
    "code-value-list": ("/api/v1/code-lists/ACK_STATUS/values/", MASTER_LIST),
    "code-value-detail": ("/api/v1/code-lists/ACK_STATUS/values/accepted/", MASTER_DETAIL),
    "api-root": ("/api/v1/", {"GET": API_READ}),
    # Validation: anyone with a role reads contracts; messages are the caller system's own.
    "contract-list": ("/api/v1/contracts/", {"GET": API_READ}),
    "contract-detail": ("/api/v1/contracts/purchase_order/1/", {"GET": API_READ}),
    # A session speaks for no system (403); the planning client's dry run is refused as bad.
    "validate": ("/api/v1/validate/", {"POST": row(401, 403, 403, 400)}),
    # Supply exceptions: every role reads them (planning systems pull them too).
    "supply-exception-list": ("/api/v1/supply-exceptions/", {"GET": API_READ}),
    "supply-exception-detail": (
        "/api/v1/supply-exceptions/{w.supply_exception.pk}/",
        {"GET": API_READ},
    ),
    # Only stewards acknowledge (the note is optional) and close (a note is needed: 400).
    "supply-exception-step-acknowledge": (
        "/api/v1/supply-exceptions/{w.supply_exception.pk}/acknowledge/",
        {"POST": row(401, 403, 200, 403)},
    ),
    "supply-exception-step-close": (
        "/api/v1/supply-exceptions/{w.supply_exception.pk}/close/",
        {"POST": row(401, 403, 400, 403)},
    ),
    "message-list": ("/api/v1/messages/", {"GET": API_READ, "POST": row(401, 403, 403, 400)}),
    "message-detail": (
        "/api/v1/messages/{w.erp_message.public_id}/",
        {"GET": row(401, 200, 200, 404)},
    ),
    # Imports: any role reads runs, templates and exports; only stewards import.
    "import-template": ("/api/v1/imports/templates/items.csv", {"GET": API_READ}),
    "import-example": ("/api/v1/imports/examples/items.csv", {"GET": API_READ}),
    "import-rows": ("/api/v1/imports/{w.run.pk}/rows/", {"GET": API_READ}),
    "export": ("/api/v1/exports/items.csv", {"GET": API_READ}),
    "import-list": ("/api/v1/imports/", MASTER_LIST),
    "import-detail": ("/api/v1/imports/{w.run.pk}/", {"GET": API_READ}),
    "import-apply": ("/api/v1/imports/{w.run.pk}/apply/", {"POST": row(401, 403, 409, 403)}),
    # The run has no failed rows (404), which only a caller past the role check learns.
    "import-failed-rows": (
        "/api/v1/imports/{w.run.pk}/failed-rows/",
        {"GET": row(401, 404, 404, 404)},
    ),
    "import-revert": ("/api/v1/imports/{w.run.pk}/revert/", {"POST": row(401, 403, 409, 403)}),
    # The thread of an order (quarantine.trace): every role reads it.
    "trace": (
        "/api/v1/trace/?po={w.supply_exception.order_line.order.po_number}",
        {"GET": API_READ},
    ),
    # Quarantine cases: stewards act (the role check comes first: 403 for other clients);
    # another system's cases are not there for a client (404).
    "quarantine-case-list": ("/api/v1/quarantine/cases/", {"GET": API_READ}),
    "quarantine-case-detail": (
        "/api/v1/quarantine/cases/{w.case.pk}/",
        {"GET": row(401, 200, 200, 404)},
    ),
    "quarantine-case-reject": (
        "/api/v1/quarantine/cases/{w.case.pk}/reject/",
        {"POST": row(401, 403, 400, 403)},
    ),
    "quarantine-case-release": (
        "/api/v1/quarantine/cases/{w.case.pk}/release/",
        {"POST": row(401, 403, 400, 403)},
    ),
    "quarantine-case-replay": (
        "/api/v1/quarantine/cases/{w.case.pk}/replay/",
        {"POST": row(401, 403, 200, 403)},
    ),
    # The reconciliation service: its key is in the path; a wrong key is a 403.
    # The identifier and schema spaces describe the records; the schema names every source
    # system, so it is for people with a login.
    "reconcile:records": ("/reconcile/records/", {"GET": SCREEN_READ}),
    # The view link needs no key: it sends to the admin, which asks for a login.
    "reconcile:record": (
        "/reconcile/records/{w.supplier.public_id}/",
        {"GET": row(302, 302, 302, 302)},
    ),
    "reconcile:types": ("/reconcile/types/", {"GET": SCREEN_READ}),
    "reconcile:service": ("/reconcile/{w.reconcile_key}/", {"GET": row(200, 200, 200, 200)}),
    "reconcile:suggest": (
        "/reconcile/{w.reconcile_key}/suggest/entity?prefix=acme",
        {"GET": row(200, 200, 200, 200)},
    ),
    "reconcile:properties": (
        "/reconcile/{w.reconcile_key}/properties?type=Supplier",
        {"GET": row(200, 200, 200, 200)},
    ),
    "reconcile:preview": (
        "/reconcile/{w.reconcile_key}/preview?id={w.supplier.public_id}",
        {"GET": row(200, 200, 200, 200)},
    ),
    # Events: any role reads the feed and the subscriptions; an integration client only its
    # own system's (the world's subscription is ERP_LEGACY's: 404 for the planning client).
    # Stewards manage subscriptions; stewards and the consuming system commit the cursor.
    "event-feed": (
        "/api/v1/events/?subscription={w.subscription.name}",
        {"GET": row(401, 200, 200, 404)},
    ),
    "subscription-list": ("/api/v1/events/subscriptions/", MASTER_LIST),
    "subscription-detail": (
        "/api/v1/events/subscriptions/{w.subscription.pk}/",
        {**MASTER_DETAIL, "GET": row(401, 200, 200, 404)},
    ),
    "subscription-cursor": (
        "/api/v1/events/subscriptions/{w.subscription.pk}/cursor/",
        {"POST": row(401, 403, 400, 404)},
    ),
    # Webhook deliveries and signing secrets: stewards only, reads too (the consumers'
    # answers, the secret shown once). An empty replay or discard names neither ids nor a
    # subscription (400).
    "subscription-deliveries": (
        "/api/v1/events/subscriptions/{w.push_subscription.pk}/deliveries/",
        {"GET": row(401, 403, 200, 403)},
    ),
    "subscription-secret-rotate": (
        "/api/v1/events/subscriptions/{w.push_subscription.pk}/secret/rotate/",
        {"POST": row(401, 403, 200, 403)},
    ),
    "delivery-replay": ("/api/v1/events/deliveries/replay/", {"POST": row(401, 403, 400, 403)}),
    "delivery-discard": ("/api/v1/events/deliveries/discard/", {"POST": row(401, 403, 400, 403)}),
    # Change requests: every role reads them, stewards ask (an empty request is a 400). The
    # world's request is another steward's: the world's steward may neither approve it (no
    # approver permission) nor withdraw or rebase it (403); a rejection without a comment and
    # an emergency without a reason are 400s, which only a caller past the role check learns.
    "change-request-list": ("/api/v1/change-requests/", MASTER_LIST),
    "change-request-detail": (
        "/api/v1/change-requests/{w.change_request.pk}/",
        {"GET": API_READ},
    ),
    "change-request-approve": (
        "/api/v1/change-requests/{w.change_request.pk}/approve/",
        {"POST": row(401, 403, 403, 403)},
    ),
    "change-request-reject": (
        "/api/v1/change-requests/{w.change_request.pk}/reject/",
        {"POST": row(401, 403, 400, 403)},
    ),
    "change-request-withdraw": (
        "/api/v1/change-requests/{w.change_request.pk}/withdraw/",
        {"POST": row(401, 403, 403, 403)},
    ),
    "change-request-rebase": (
        "/api/v1/change-requests/{w.change_request.pk}/rebase/",
        {"POST": row(401, 403, 403, 403)},
    ),
    "change-request-apply-now": (
        "/api/v1/change-requests/{w.change_request.pk}/apply-now/",
        {"POST": row(401, 403, 400, 403)},
    ),
    "api-schema": ("/api/schema/", {"GET": API_READ}),
    "api-docs": ("/api/docs/", {"GET": API_READ}),
    # The review screens: viewers see, stewards act.
    "quarantine:queue": ("/quarantine/", {"GET": SCREEN_READ}),
    "quarantine:dashboard": ("/quarantine/dashboard/", {"GET": SCREEN_READ}),
    "quarantine:supply-exceptions": ("/quarantine/supply-exceptions/", {"GET": SCREEN_READ}),
    "quarantine:trace": (
        "/quarantine/trace/?exception={w.supply_exception.pk}",
        {"GET": SCREEN_READ},
    ),
    # The supply flows dashboard and the lists behind its bars: as the supply exceptions.
    "quarantine:flows": ("/quarantine/flows/", {"GET": SCREEN_READ}),
    "quarantine:flow-forecasts": (
        "/quarantine/flows/forecasts/?state=pending&age=lt1d",
        {"GET": SCREEN_READ},
    ),
    "quarantine:flow-orders": (
        "/quarantine/flows/orders/?supplier={w.supply_exception.supplier.public_id}",
        {"GET": SCREEN_READ},
    ),
    "quarantine:flow-ship-notices": (
        "/quarantine/flows/ship-notices/?window=30d",
        {"GET": SCREEN_READ},
    ),
    "quarantine:supply-exception-action": (
        "/quarantine/supply-exceptions/{w.supply_exception.pk}/acknowledge/",
        {"POST": SCREEN_ACT},
    ),
    "quarantine:bulk-start": ("/quarantine/bulk/", {"POST": SCREEN_ACT}),
    "quarantine:bulk": ("/quarantine/bulk/{w.bulk.pk}/", {"GET": SCREEN_READ}),
    "quarantine:bulk-progress": (
        "/quarantine/bulk/{w.bulk.pk}/progress.json",
        {"GET": SCREEN_READ},
    ),
    # The duplicates review screens: as the quarantine screens (an empty decision sends the
    # steward back to the pair with the error).
    "quarantine:duplicates": ("/quarantine/duplicates/supplier/", {"GET": SCREEN_READ}),
    "quarantine:duplicate-pair": (
        "/quarantine/duplicates/supplier/pairs/{w.duplicate_pair.pk}/",
        {"GET": SCREEN_READ},
    ),
    "quarantine:duplicate-decide": (
        "/quarantine/duplicates/supplier/pairs/{w.duplicate_pair.pk}/decide/",
        {"POST": SCREEN_ACT},
    ),
    "quarantine:duplicate-run-start": (
        "/quarantine/duplicates/supplier/runs/",
        {"POST": SCREEN_ACT},
    ),
    "quarantine:duplicate-run-progress": (
        "/quarantine/duplicates/supplier/runs/{w.duplicate_run.pk}/progress.json",
        {"GET": SCREEN_READ},
    ),
    # The merge screens: as the duplicates screens. A merge form sent without the records as
    # the steward saw them is shown again (400); the world's merge was undone already, so the
    # steward is sent back with the error.
    "quarantine:duplicate-merge": (
        "/quarantine/duplicates/supplier/pairs/{w.duplicate_pair.pk}/merge/",
        {"GET": SCREEN_READ, "POST": row(LOGIN, 403, 400, LOGIN)},
    ),
    "quarantine:merges": ("/quarantine/merges/", {"GET": SCREEN_READ}),
    "quarantine:merge": ("/quarantine/merges/{w.merge.pk}/", {"GET": SCREEN_READ}),
    "quarantine:merge-unmerge": ("/quarantine/merges/{w.merge.pk}/unmerge/", {"POST": SCREEN_ACT}),
    # The events screens: as the review screens (a replay or discard with nothing selected
    # sends the steward back with the error).
    "quarantine:events": ("/quarantine/events/", {"GET": SCREEN_READ}),
    "quarantine:event-subscription": (
        "/quarantine/events/subscriptions/{w.push_subscription.pk}/",
        {"GET": SCREEN_READ},
    ),
    "quarantine:event-replay": (
        "/quarantine/events/subscriptions/{w.push_subscription.pk}/replay/",
        {"POST": SCREEN_ACT},
    ),
    "quarantine:event-discard": (
        "/quarantine/events/subscriptions/{w.push_subscription.pk}/discard/",
        {"POST": SCREEN_ACT},
    ),
    "quarantine:event-replay-progress": (
        "/quarantine/events/subscriptions/{w.push_subscription.pk}/replays/1/progress.json",
        {"GET": SCREEN_READ},
    ),
    "quarantine:event": ("/quarantine/events/{w.event.event_id}/", {"GET": SCREEN_READ}),
    "quarantine:case": ("/quarantine/{w.case.pk}/", {"GET": SCREEN_READ}),
    # The EDI gateway: partners post with their system's key (a login speaks for no system;
    # an empty body is a 400); an integration client reads its own system's interchanges.
    "edi-inbox": ("/api/v1/edi/", {"POST": row(401, 403, 403, 400)}),
    "edi-interchange-list": ("/api/v1/edi/interchanges/", {"GET": API_READ}),
    "edi-interchange-detail": (
        "/api/v1/edi/interchanges/{w.interchange.public_id}/",
        {"GET": row(401, 200, 200, 404)},
    ),
    "edi-interchange-raw": (
        "/api/v1/edi/interchanges/{w.interchange.public_id}/raw/",
        {"GET": row(401, 200, 200, 404)},
    ),
    "edi:interchanges": ("/edi/", {"GET": SCREEN_READ}),
    "edi:interchange": ("/edi/{w.interchange.public_id}/", {"GET": SCREEN_READ}),
    "edi:interchange-raw": ("/edi/{w.interchange.public_id}/raw/", {"GET": SCREEN_READ}),
    "quarantine:case-action": ("/quarantine/{w.case.pk}/assign/", {"POST": SCREEN_ACT}),
    # The change request screens: as the review screens; a rejection without a comment shows
    # the request again with the reason it was refused (400).
    "changes:queue": ("/changes/", {"GET": SCREEN_READ}),
    "changes:request": ("/changes/{w.change_request.pk}/", {"GET": SCREEN_READ}),
    "changes:request-action": (
        "/changes/{w.change_request.pk}/reject/",
        {"POST": row(LOGIN, 403, 400, LOGIN)},
    ),
    # The import screens.
    "imports:index": ("/imports/", {"GET": STEWARD_SCREEN, "POST": STEWARD_SCREEN}),
    "imports:run": ("/imports/{w.run.pk}/", {"GET": STEWARD_SCREEN}),
    "imports:progress": ("/imports/{w.run.pk}/progress/", {"GET": STEWARD_SCREEN}),
    "imports:apply": ("/imports/{w.run.pk}/apply/", {"POST": SCREEN_ACT}),
    # GET asks first; the run is not applied, so the steward is sent back to it.
    "imports:revert": ("/imports/{w.run.pk}/revert/", {"GET": SCREEN_ACT, "POST": SCREEN_ACT}),
    # The run has no failed rows: a 404 for the steward.
    "imports:failed-rows": (
        "/imports/{w.run.pk}/failed-rows.csv",
        {"GET": row(LOGIN, 403, 404, LOGIN)},
    ),
    "imports:template": ("/imports/templates/items.csv", {"GET": STEWARD_SCREEN}),
    "imports:example": ("/imports/examples/items.csv", {"GET": STEWARD_SCREEN}),
    "imports:export": ("/imports/exports/items.csv", {"GET": STEWARD_SCREEN}),
    # The admin site's own pages.
    "admin:index": ("/admin/", {"GET": SCREEN_READ}),
    "admin:login": ("/admin/login/", {"GET": row(200, 302, 302, 200)}),
    "admin:logout": ("/admin/logout/", {"POST": row(302, 200, 200, 302)}),
    "admin:password_change": ("/admin/password_change/", {"GET": SCREEN_READ}),
    "admin:password_change_done": ("/admin/password_change/done/", {"GET": SCREEN_READ}),
    "admin:autocomplete": ("/admin/autocomplete/", {"GET": row(LOGIN, 403, 403, LOGIN)}),
    "admin:jsi18n": ("/admin/jsi18n/", {"GET": SCREEN_READ}),
    "admin:view_on_site": (
        "/admin/r/{w.item_type}/{w.item.pk}/",
        {"GET": row(LOGIN, 404, 404, LOGIN)},
    ),
    "admin:app_list": ("/admin/mdm/", {"GET": SCREEN_READ}),
    "admin/(?P<url>.*)$": ("/admin/no-such-page/", {"GET": row(LOGIN, 404, 404, LOGIN)}),
    "admin:auth_user_password_change": (
        "/admin/auth/user/{w.viewer.pk}/password/",
        {"GET": row(LOGIN, 403, 403, LOGIN), "POST": row(LOGIN, 403, 403, LOGIN)},
    ),
}

# Admin pages per registered model: (world attribute, what stewards may do there). Stewards
# maintain the managed apps' records; users and groups are for administrators only (README,
# Logging in). API clients are an administrator's record that stewards see and revoke (the
# README's "Revoke a key by unticking *active*"); viewers do not see them. Some records are
# written by the hub alone: messages, import runs, bulk runs; rules come with the code, units
# are retired rather than deleted, keys revoked, cases closed.
ALL, ADMIN_ONLY, REVOKE_ONLY = {"add", "change", "delete"}, set(), frozenset({"change"})
# An administrator's record stewards may read but not change (viewers do not see it).
STEWARDS_READ = frozenset({"view"})
ADMIN_MODELS = {
    "auth.group": ("group", ADMIN_ONLY),
    "auth.user": ("viewer", ADMIN_ONLY),
    "mdm.sourcesystem": ("erp", ALL),
    "mdm.unit": ("unit", {"add", "change"}),
    "mdm.item": ("item", ALL),
    "mdm.itemrevision": ("revision", ALL),
    "mdm.itemunitconversion": ("conversion", ALL),
    "mdm.supplier": ("supplier", ALL),
    "mdm.suppliersite": ("site", ALL),
    "mdm.location": ("location", ALL),
    "mdm.calendar": ("calendar", ALL),
    "mdm.calendarexception": ("exception", ALL),
    "mdm.codelist": ("code_list", ALL),
    "mdm.codevalue": ("code_value", ALL),
    "mdm.apiclient": ("api_client", REVOKE_ONLY),
    "xref.crossreference": ("xref", ALL),
    "xref.matchlabel": ("match_label", {"delete"}),
    "xref.matchweights": ("match_weights", set()),
    "validation.rule": ("rule", {"change"}),
    "validation.planpolicy": ("plan_policy", ALL),
    "validation.inboundmessage": ("erp_message", set()),
    "quarantine.quarantinecase": ("case", {"change"}),
    "quarantine.teamsettings": ("team_settings", ALL),
    "quarantine.bulkrun": ("bulk", {"delete"}),
    "imports.importrun": ("run", set()),
    "reconcile.reconciliationkey": ("reconciliation_key", {"add", "change"}),
    # Stewards manage subscriptions; events are the hub's own record of what happened.
    "events.subscription": ("subscription", ALL),
    "events.event": ("event", set()),
    # Stewards set up trading partners; interchanges are the gateway's record of what came.
    "edi.partner": ("edi_partner", ALL),
    "edi.interchange": ("interchange", set()),
    # Failed logins (django-axes): administrators unlock a login by deleting its attempts.
    # Administrators say which changes need approval, stewards read it; change requests are
    # decided on their own screen and through the API, the admin only shows them.
    "changes.approvalpolicy": ("approval_policy", STEWARDS_READ),
    "changes.changerequest": ("change_request", set()),
    "axes.accessattempt": ("access_attempt", ADMIN_ONLY),
    "axes.accesslog": ("access_log", ADMIN_ONLY),
    "axes.accessfailurelog": ("access_failure_log", ADMIN_ONLY),
}
# Models whose admin shows django-simple-history's record of each change.
HISTORY = {
    "mdm.sourcesystem",
    "mdm.unit",
    "mdm.item",
    "mdm.itemrevision",
    "mdm.itemunitconversion",
    "mdm.supplier",
    "mdm.suppliersite",
    "mdm.location",
    "mdm.calendar",
    "mdm.calendarexception",
    "mdm.codelist",
    "mdm.codevalue",
    "xref.crossreference",
    "validation.rule",
    "validation.planpolicy",
}


def _admin_entries(label, attribute, steward_may, history):
    app, model = label.split(".")
    base = f"/admin/{app}/{model}/"
    obj = f"{base}{{w.{attribute}.pk}}/"
    # Viewers see the managed apps' records and change nothing; nobody but a superuser sees
    # the administrators' records, except the API clients stewards revoke.
    see = SCREEN_READ
    if steward_may is ADMIN_ONLY:
        see = row(LOGIN, 403, 403, LOGIN)
    elif steward_may is REVOKE_ONLY or steward_may is STEWARDS_READ:
        see = row(LOGIN, 403, 200, LOGIN)
    add, act, delete = (
        row(LOGIN, 403, 200 if what in steward_may else 403, LOGIN)
        for what in ("add", "change", "delete")
    )
    if steward_may is REVOKE_ONLY:
        # "active" is the form's one field: the empty form revokes the key and redirects.
        act = row(LOGIN, 403, 302, LOGIN)
    entries = {
        f"admin:{app}_{model}_changelist": (base, {"GET": see}),
        f"admin:{app}_{model}_add": (f"{base}add/", {"GET": add, "POST": add}),
        f"admin:{app}_{model}_change": (f"{obj}change/", {"GET": see, "POST": act}),
        f"admin:{app}_{model}_delete": (f"{obj}delete/", {"GET": delete, "POST": delete}),
        f"admin:{app}_{model}_history": (f"{obj}history/", {"GET": see}),
        # The old-style object URL redirects to its change page.
        f"admin/{app}/{model}/<path:object_id>/": (obj, {"GET": row(LOGIN, 302, 302, LOGIN)}),
    }
    if history:
        entries[f"admin:{app}_{model}_simple_history"] = (
            f"{obj}history/{{w.history[{label}]}}/",
            {"GET": see, "POST": act},
        )
    return entries


for _label, (_attribute, _steward_may) in ADMIN_MODELS.items():
    MATRIX.update(_admin_entries(_label, _attribute, _steward_may, _label in HISTORY))


# --- the patterns -----------------------------------------------------------------------------


def _walk(patterns, prefix="", namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace
            if inner:
                inner = f"{namespace}:{inner}" if namespace else inner
            yield from _walk(
                pattern.url_patterns, prefix + str(pattern.pattern), inner or namespace
            )
        else:
            assert isinstance(pattern, URLPattern)
            if pattern.name:
                yield f"{namespace}:{pattern.name}" if namespace else pattern.name
            else:
                yield prefix + str(pattern.pattern)


def url_patterns():
    return list(dict.fromkeys(_walk(get_resolver().url_patterns)))


PATTERNS = url_patterns()


# --- the world --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker):
    """Built once for the module (some 1,200 requests use it) in a transaction rolled back at
    the end; each test's own changes are rolled back by its `db` savepoint."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world(_history_ids)
        transaction.set_rollback(True)


@pytest.fixture
def world(db, shared_world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return shared_world


def _history_ids(world):
    """The id of a historical record of each world object whose admin shows one."""
    ids = {}
    for label in HISTORY:
        obj = getattr(world, ADMIN_MODELS[label][0])
        if not obj.history.exists():  # e.g. rules, which a migration creates
            obj.save()
        ids[label] = obj.history.first().history_id
    return ids


def _client(caller, world):
    """A client of `caller` holding a CSRF cookie (_call sends the token), so that what is
    checked is access; test_it_refuses_a_screen_action_without_a_csrf_token checks CSRF."""
    if caller == "other_system":
        client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {world.planning_key}")
    else:
        client = Client(enforce_csrf_checks=True)
    if caller in ("viewer", "steward"):
        client.force_login(getattr(world, caller))
    client.cookies["csrftoken"] = CSRF_TOKEN
    return client


def _call(client, method, url, csrf=True):
    extra = {"HTTP_X_CSRFTOKEN": CSRF_TOKEN} if csrf and method in WRITES else {}
    return client.generic(
        method, url, b"{}" if method in WRITES else b"", "application/json", **extra
    )


def _outcome(response):
    if response.status_code == 302 and response["Location"].startswith("/admin/login/"):
        return LOGIN
    return response.status_code


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", PATTERNS)
def test_it_has_an_access_entry_for_every_pattern(pattern):
    if pattern not in MATRIX:
        pytest.fail(f"new endpoint without an access entry: {pattern}")


def test_it_has_no_entry_for_a_pattern_that_is_gone():
    assert sorted(set(MATRIX) - set(PATTERNS)) == []


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("pattern", PATTERNS)
def test_it_answers_each_caller_as_the_matrix_says(pattern, caller, world):
    if pattern not in MATRIX:
        pytest.fail(f"new endpoint without an access entry: {pattern}")
    url, methods = MATRIX[pattern]
    url = url.format(w=world)
    client = _client(caller, world)
    got = {method: _outcome(_call(client, method, url)) for method in methods}
    expected = {method: rows[caller] for method, rows in methods.items()}
    assert got == expected, f"{caller} at {url}"


@pytest.mark.parametrize("pattern", ["reconcile:records", "reconcile:types"])
def test_a_login_without_a_hub_role_may_not_read_the_reconciliation_spaces(pattern, world):
    """The schema space names every source system: a login needs a hub role to read it, as
    every screen does (the review got 200 here and 403 elsewhere)."""
    client = Client()
    client.force_login(User.objects.create_user("nora.norole", is_staff=True))
    response = client.get(MATRIX[pattern][0])
    assert response.status_code == 403
    assert "no hub role" in response.json()["detail"]


SCREENS = ("/admin/", "/quarantine/", "/imports/", "/changes/")
SCREEN_ACTIONS = sorted(
    pattern
    for pattern, (url, methods) in MATRIX.items()
    if url.startswith(SCREENS) and methods.get("POST", {}).get("steward", 403) != 403
)


@pytest.mark.parametrize("pattern", SCREEN_ACTIONS)
def test_it_refuses_a_screen_action_without_a_csrf_token(pattern, world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.steward)
    url = MATRIX[pattern][0].format(w=world)
    assert _call(client, "POST", url, csrf=False).status_code == 403


def test_it_shows_a_system_its_own_messages_only(world):
    client = _client("other_system", world)
    listed = client.get("/api/v1/messages/").json()["results"]
    assert [message["id"] for message in listed] == [world.planning_message.public_id]
    mine = client.get(f"/api/v1/messages/{world.planning_message.public_id}/")
    assert mine.status_code == 200
    assert client.get("/api/v1/quarantine/cases/").json()["results"] == []


def test_it_stores_a_submission_as_the_system_of_the_key(world):
    client = _client("other_system", world)
    body = {"message_type": "forecast", "schema_version": 1, "payload": example("forecast")}
    with mock.patch.object(enqueue, "enqueue_validation"):
        response = client.post(
            "/api/v1/messages/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-9"
        )
    assert response.status_code == 202, response.content
    message = InboundMessage.objects.get(public_id=response.json()["id"])
    assert message.system == world.planning
