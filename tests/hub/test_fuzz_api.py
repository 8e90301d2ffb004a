"""API fuzzing: schemathesis generates requests from the hub's own OpenAPI schema
(`/api/schema/`) and sends them, authenticated as a steward's API client, to the Django app
in this process. Every answer must be no 5xx and must conform to the schema: a documented
status code, content type, headers and body.

Each operation is its own test, fed HUB_FUZZ_EXAMPLES cases per generation mode (valid
data, and data that breaks the schema on purpose); half of them name records of a small
world (the access matrix's), the rest whatever the generator makes up. Generation is
derandomized: a run is reproducible, and a failure prints a curl command to replay it.
Each case runs in a savepoint rolled back afterwards, so every case meets the same world.
`make fuzz` runs many more cases than CI does; the last test checks that CI's run really
sent at least MIN_CASES, so the bound cannot shrink unnoticed.
"""

import os
from collections import Counter

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mdm.services import create_api_client
from tests.hub.access_world import build_world

EXAMPLES = int(os.getenv("HUB_FUZZ_EXAMPLES", "12"))
MIN_CASES = 2000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Schemathesis's WSGI client sends "Host: localhost".
HOSTS = ["localhost", "testserver"]
SENT = Counter()


def _operations():
    """(method, path) of every operation in the schema, read at collection time to name the
    tests; the tests themselves fuzz the schema the app serves."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


OPERATIONS = _operations()


def _records(w):
    """Path parameters that name records of the world, by path template."""
    item, supplier, calendar = w.item.public_id, w.supplier.public_id, w.calendar.public_id
    return {
        "/api/v1/calendars/{calendar_public_id}/exceptions/": {"calendar_public_id": calendar},
        "/api/v1/calendars/{calendar_public_id}/exceptions/{id}/": {
            "calendar_public_id": calendar,
            "id": w.exception.pk,
        },
        "/api/v1/calendars/{public_id}/": {"public_id": calendar},
        "/api/v1/calendars/{public_id}/add-working-days/": {"public_id": calendar},
        "/api/v1/calendars/{public_id}/working-days/": {"public_id": calendar},
        **{
            f"/api/v1/change-requests/{{id}}/{step}": {"id": w.change_request.pk}
            for step in ("", "approve/", "reject/", "withdraw/", "rebase/", "apply-now/")
        },
        "/api/v1/code-lists/{code_list_code}/values/": {"code_list_code": w.code_list.code},
        "/api/v1/code-lists/{code_list_code}/values/{code}/": {
            "code_list_code": w.code_list.code,
            "code": w.code_value.code,
        },
        "/api/v1/code-lists/{code}/": {"code": w.code_list.code},
        "/api/v1/contracts/{message_type}/{version}/": {
            "message_type": "purchase_order",
            "version": 1,
        },
        "/api/v1/exports/{kind}.csv": {"kind": "items"},
        "/api/v1/imports/templates/{kind}.csv": {"kind": "items"},
        "/api/v1/imports/{id}/": {"id": w.run.pk},
        "/api/v1/imports/{id}/apply/": {"id": w.run.pk},
        "/api/v1/imports/{id}/failed-rows/": {"id": w.run.pk},
        "/api/v1/imports/{id}/revert/": {"id": w.run.pk},
        "/api/v1/items/{item_public_id}/conversions/": {"item_public_id": item},
        "/api/v1/items/{item_public_id}/conversions/{id}/": {
            "item_public_id": item,
            "id": w.conversion.pk,
        },
        "/api/v1/items/{item_public_id}/revisions/": {"item_public_id": item},
        "/api/v1/items/{item_public_id}/revisions/{revision}/": {
            "item_public_id": item,
            "revision": w.revision.revision,
        },
        "/api/v1/items/{public_id}/": {"public_id": item},
        "/api/v1/locations/{public_id}/": {"public_id": w.location.public_id},
        "/api/v1/match/{kind}/": {"kind": "supplier"},
        "/api/v1/messages/{public_id}/": {"public_id": w.erp_message.public_id},
        "/api/v1/quarantine/cases/{id}/": {"id": w.case.pk},
        "/api/v1/quarantine/cases/{id}/reject/": {"id": w.case.pk},
        "/api/v1/quarantine/cases/{id}/release/": {"id": w.case.pk},
        "/api/v1/quarantine/cases/{id}/replay/": {"id": w.case.pk},
        "/api/v1/resolve/{kind}/": {"kind": "item"},
        "/api/v1/suppliers/{public_id}/": {"public_id": supplier},
        "/api/v1/suppliers/{supplier_public_id}/sites/": {"supplier_public_id": supplier},
        "/api/v1/suppliers/{supplier_public_id}/sites/{code}/": {
            "supplier_public_id": supplier,
            "code": w.site.code,
        },
        "/api/v1/systems/{code}/": {"code": w.erp.code},
        "/api/v1/translate/{kind}/": {"kind": "item"},
        "/api/v1/units/{code}/": {"code": w.unit.code},
        "/api/v1/xrefs/{id}/": {"id": w.xref.pk},
    }


@pytest.fixture(scope="module")
def fuzzing(django_db_setup, django_db_blocker):
    """The world, a steward's key (of the world's ERP system) and the schema the app serves;
    built once in a transaction rolled back at the end."""
    # The WSGI handler closes the database connection after each request, as in production;
    # here that would end the test's transaction. Django's test client holds it open likewise.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    with django_db_blocker.unblock(), transaction.atomic(), override_settings(ALLOWED_HOSTS=HOSTS):
        world = build_world()
        _, key = create_api_client(world.erp.code, "fuzz-steward", role="steward")
        headers = {"Authorization": f"Bearer {key}"}
        schema = schemathesis.openapi.from_wsgi(
            "/api/schema/?format=json", get_wsgi_application(), headers=headers
        )
        yield schema, headers, _records(world)
        transaction.set_rollback(True)
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz(db, fuzzing, settings, tmp_path, eager_celery):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ALLOWED_HOSTS = HOSTS
    return fuzzing


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_it_answers_every_generated_request_as_its_schema_says(fuzz, method, path):
    schema, headers, records = fuzz
    operation = schema[path][method]
    # A path not in _records (a new endpoint, say) is fuzzed with made-up records only.
    known = records.get(path)

    def strategy(mode):
        made_up = operation.as_strategy(generation_mode=mode)
        if not known:
            return made_up
        return st.one_of(
            made_up, operation.as_strategy(generation_mode=mode, path_parameters=known)
        )

    label = f"{method} {path}"
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy(mode))
        def send(case):
            SENT[label] += 1
            with transaction.atomic():
                try:
                    case.call_and_validate(headers=headers, checks=CHECKS)
                finally:
                    transaction.set_rollback(True)

        send()


def test_it_sent_at_least_the_minimum_number_of_cases():
    missing = sorted({f"{m} {p}" for m, p in OPERATIONS} - set(SENT))
    assert not missing, f"run the whole module: operations not fuzzed: {missing[:5]}"
    total = sum(SENT.values())
    print(f"API fuzzing: {total} generated cases over {len(SENT)} operations")
    assert total >= MIN_CASES, SENT
