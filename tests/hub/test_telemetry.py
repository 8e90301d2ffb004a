"""Trace context across systems: a message sent with a W3C traceparent (header or field) keeps
it, its validation is a span of that trace, and its events carry the trace on; tracing itself
(hub.telemetry) is on only with HUB_OTEL_ENDPOINT, and then sends its spans over OTLP."""

import http.server
import threading

import pytest
from django.conf import settings as django_settings
from opentelemetry import trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from events.documents import document
from events.models import Event
from hub import telemetry
from tests.hub.test_settings import _manage
from tests.problems import errors_by_field, problem_of
from tests.validation.test_controls import ack, statuses  # noqa: F401 (a fixture)
from tests.validation.world import build_world, example, integration_client, submission
from validation.models import InboundMessage, SupplyException

pytestmark = pytest.mark.django_db

URL = "/api/v1/messages/"
# A sender's trace: trace id, and the id of the sender's span that sent the message.
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SENDER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{SENDER_SPAN}-01"
OTHER_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def no_tracer_provider():
    """The process's tracing globals as a process without tracing has them (the API's proxy
    provider, settable once), put back as they were after the test (as opentelemetry's own
    test utilities do)."""
    saved = (trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE)
    trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE = None, Once()
    yield
    trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE = saved


@pytest.fixture
def spans(no_tracer_provider):
    """Tracing on for the test, its spans kept in memory: the exporter."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()


@pytest.fixture
def world(eager_celery):
    """The validation tests' world (tests/validation/world.py), its tasks run eagerly."""
    return build_world()


@pytest.fixture
def erp(world):
    """The legacy ERP's integration client."""
    return integration_client("ERP_LEGACY", "erp-sync")


@pytest.fixture
def supplier_net(erp):
    return integration_client("SUPPLIER_NET", "supplier-sync")


def post(api, body, capture, key="key-1", **headers):
    """Submit `body`, its validation run after the request's commit as a worker would."""
    with capture(execute=True):
        return api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **headers)


def validation_span(exporter):
    [span] = [span for span in exporter.get_finished_spans() if span.name == "validate message"]
    return span


def test_a_message_sent_with_a_traceparent_header_is_validated_in_the_senders_trace(
    erp, spans, django_capture_on_commit_callbacks
):
    response = post(
        erp,
        submission("purchase_order"),
        django_capture_on_commit_callbacks,
        HTTP_TRACEPARENT=TRACEPARENT,
    )

    assert response.status_code == 202, response.content
    message = InboundMessage.objects.get()
    assert (message.status, message.traceparent) == ("released", TRACEPARENT)
    span = validation_span(spans)
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert format(span.parent.span_id, "016x") == SENDER_SPAN
    assert span.parent.is_remote
    assert span.attributes["hub.message.id"] == message.public_id
    assert span.attributes["hub.message.type"] == "purchase_order"
    assert span.attributes["hub.message.system"] == "ERP_LEGACY"
    assert span.attributes["hub.message.status"] == "released"


def test_a_message_carrying_a_traceparent_field_is_validated_in_that_trace(
    erp, spans, django_capture_on_commit_callbacks
):
    body = {**submission("purchase_order"), "traceparent": TRACEPARENT}

    response = post(erp, body, django_capture_on_commit_callbacks)

    assert response.status_code == 202, response.content
    assert InboundMessage.objects.get().traceparent == TRACEPARENT
    span = validation_span(spans)
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert format(span.parent.span_id, "016x") == SENDER_SPAN


def test_the_field_is_taken_before_the_header(erp, spans, django_capture_on_commit_callbacks):
    # The field is the message's own context; the header may be a gateway's on the way.
    body = {**submission("purchase_order"), "traceparent": TRACEPARENT}

    post(erp, body, django_capture_on_commit_callbacks, HTTP_TRACEPARENT=OTHER_TRACEPARENT)

    assert InboundMessage.objects.get().traceparent == TRACEPARENT
    assert format(validation_span(spans).context.trace_id, "032x") == TRACE_ID


def test_a_message_without_a_traceparent_is_validated_in_a_trace_of_the_hubs_own(
    erp, spans, django_capture_on_commit_callbacks
):
    post(erp, submission("purchase_order"), django_capture_on_commit_callbacks)

    message = InboundMessage.objects.get()
    span = validation_span(spans)
    assert message.traceparent == ""
    assert span.parent is None
    event = Event.objects.get(type="hub.message.released")
    trace_id = format(span.context.trace_id, "032x")
    span_id = format(span.context.span_id, "016x")
    flags = format(span.context.trace_flags, "02x")
    assert document(event)["traceparent"] == f"00-{trace_id}-{span_id}-{flags}"


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("not-a-trace", "four fields of lowercase hexadecimal"),
        (TRACEPARENT.upper(), "four fields of lowercase hexadecimal"),
        (TRACEPARENT + "-00", "four fields of lowercase hexadecimal"),
        (f"00-{'0' * 32}-{SENDER_SPAN}-01", "trace id (the second field) is all zeros"),
        (f"00-{TRACE_ID}-{'0' * 16}-01", "parent id (the third field) is all zeros"),
        (f"ff-{TRACE_ID}-{SENDER_SPAN}-01", "version ff is not allowed"),
    ],
)
def test_a_malformed_traceparent_is_refused_with_what_would_be_accepted(
    erp, value, complaint, django_capture_on_commit_callbacks
):
    in_header = post(
        erp,
        submission("purchase_order"),
        django_capture_on_commit_callbacks,
        key="header",
        HTTP_TRACEPARENT=value,
    )
    in_field = post(
        erp,
        {**submission("purchase_order"), "traceparent": value},
        django_capture_on_commit_callbacks,
        key="field",
    )

    detail = problem_of(in_header, 400)["detail"]
    assert detail.startswith("The traceparent header is not a W3C traceparent.")
    assert complaint in detail
    [field_error] = errors_by_field(in_field)["traceparent"]
    assert complaint in field_error
    assert not InboundMessage.objects.exists()


def test_an_empty_traceparent_field_counts_as_none(erp, django_capture_on_commit_callbacks):
    body = {**submission("purchase_order"), "traceparent": ""}

    response = post(erp, body, django_capture_on_commit_callbacks)

    assert response.status_code == 202, response.content
    assert InboundMessage.objects.get().traceparent == ""


def test_the_message_shows_the_traceparent_it_came_with(erp, django_capture_on_commit_callbacks):
    post(
        erp,
        submission("purchase_order"),
        django_capture_on_commit_callbacks,
        HTTP_TRACEPARENT=TRACEPARENT,
    )
    message = InboundMessage.objects.get()

    answer = erp.get(f"{URL}{message.public_id}/")

    assert answer.json()["traceparent"] == TRACEPARENT


def test_the_released_event_carries_the_trace_on_from_the_hubs_span(
    erp, spans, django_capture_on_commit_callbacks
):
    post(
        erp,
        submission("purchase_order"),
        django_capture_on_commit_callbacks,
        HTTP_TRACEPARENT=TRACEPARENT,
    )

    event = Event.objects.get(type="hub.message.released")
    hub_span = format(validation_span(spans).context.span_id, "016x")
    # The sender's trace, with the hub's validation as the parent of what the receiver does.
    assert event.traceparent == f"00-{TRACE_ID}-{hub_span}-01"
    assert document(event)["traceparent"] == event.traceparent


def test_without_tracing_the_released_event_carries_the_senders_traceparent(
    erp, no_tracer_provider, django_capture_on_commit_callbacks
):
    post(
        erp,
        submission("purchase_order"),
        django_capture_on_commit_callbacks,
        HTTP_TRACEPARENT=TRACEPARENT,
    )

    event = Event.objects.get(type="hub.message.released")
    assert document(event)["traceparent"] == TRACEPARENT
    assert event.data["message"] == InboundMessage.objects.get().public_id


def test_a_quarantined_message_and_its_event_keep_the_senders_trace(
    erp, no_tracer_provider, django_capture_on_commit_callbacks
):
    body = submission("purchase_order", example("purchase_order", supplier="999999"))

    post(erp, body, django_capture_on_commit_callbacks, HTTP_TRACEPARENT=TRACEPARENT)

    event = Event.objects.get(type="hub.message.quarantined")
    assert document(event)["traceparent"] == TRACEPARENT


def test_a_supply_exception_carries_the_trace_of_the_acknowledgement_that_raised_it(
    supplier_net,
    statuses,  # noqa: F811 (the fixture)
    no_tracer_provider,
    django_capture_on_commit_callbacks,
):
    # 500 ordered for 2026-03-20: 150 of them backordered to 2026-04-03.
    late = ack(
        {"committed_quantity": 350, "committed_date": "2026-03-20"},
        {"status": "IB", "committed_quantity": 150, "committed_date": "2026-04-03"},
    )

    post(
        supplier_net,
        submission("po_acknowledgement", late),
        django_capture_on_commit_callbacks,
        HTTP_TRACEPARENT=TRACEPARENT,
    )

    exception = SupplyException.objects.get()
    event = Event.objects.get(type="hub.supply_exception.raised")
    assert event.subject == str(exception.pk)
    assert document(event)["traceparent"] == TRACEPARENT


def test_an_event_without_a_trace_has_no_traceparent(
    erp, no_tracer_provider, django_capture_on_commit_callbacks
):
    post(erp, submission("purchase_order"), django_capture_on_commit_callbacks)

    event = Event.objects.get(type="hub.message.released")
    assert event.traceparent is None
    assert "traceparent" not in document(event)


# --- hub.telemetry -------------------------------------------------------------------------------

OTEL_MIDDLEWARE = "opentelemetry.instrumentation.django.middleware.otel_middleware"
INSTRUMENTORS = (DjangoInstrumentor, CeleryInstrumentor, PsycopgInstrumentor)


def test_without_an_endpoint_configure_does_nothing_at_all(no_tracer_provider, settings):
    settings.HUB_OTEL_ENDPOINT = ""
    middleware = list(django_settings.MIDDLEWARE)

    assert telemetry.configure() is None

    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert not [i for i in INSTRUMENTORS if i().is_instrumented_by_opentelemetry]
    assert list(django_settings.MIDDLEWARE) == middleware


# What a started process reports: its tracer provider's kind, the first middleware, whether
# the SDK's tracing, the exporter or an instrumentation is loaded (redis-py loads the SDK's
# metrics on its own), and (only then, so as not to load them) whether Celery and psycopg
# are instrumented.
REPORT = """
import sys
from django.conf import settings
from opentelemetry import trace
prefixes = ("opentelemetry.sdk.trace", "opentelemetry.exporter", "opentelemetry.instrumentation.")
loaded = any(name.startswith(prefixes) for name in sys.modules)
print(type(trace.get_tracer_provider()).__name__, settings.MIDDLEWARE[0], loaded)
if loaded:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    print(CeleryInstrumentor().is_instrumented_by_opentelemetry,
          PsycopgInstrumentor().is_instrumented_by_opentelemetry)
"""
WEB_START = "import hub.wsgi\n" + REPORT
WORKER_START = (
    "from celery.signals import worker_process_init\n"
    "worker_process_init.send(sender=None)\n" + REPORT
)
# Nothing listens there: a process that starts tracing sends nothing until a span ends.
NOWHERE = "http://127.0.0.1:9"


def start(script, **env):
    result = _manage("shell", "--no-imports", "-c", script, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize("script", [WEB_START, WORKER_START], ids=["web", "worker"])
def test_a_process_started_without_an_endpoint_loads_no_tracing(script):
    provider, _, loaded = start(script)

    assert (provider, loaded) == ("ProxyTracerProvider", "False")


def test_the_web_server_started_with_an_endpoint_traces_requests_tasks_and_queries():
    provider, first_middleware, loaded, celery, psycopg = start(
        WEB_START, HUB_OTEL_ENDPOINT=NOWHERE
    )

    assert provider == "TracerProvider"
    assert first_middleware.startswith(OTEL_MIDDLEWARE)
    assert (loaded, celery, psycopg) == ("True", "True", "True")


def test_a_worker_process_started_with_an_endpoint_traces_tasks_and_queries():
    provider, _, loaded, celery, psycopg = start(WORKER_START, HUB_OTEL_ENDPOINT=NOWHERE)

    assert provider == "TracerProvider"
    assert (loaded, celery, psycopg) == ("True", "True", "True")


def test_a_bad_endpoint_stops_the_start():
    result = _manage("check", HUB_OTEL_ENDPOINT="otel-collector:4318")

    assert result.returncode != 0
    assert "HUB_OTEL_ENDPOINT must be an http:// or https:// URL" in result.stderr


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://collector:4318", "http://collector:4318/v1/traces"),
        ("http://collector:4318/", "http://collector:4318/v1/traces"),
        ("https://otlp.example.com/v1/traces", "https://otlp.example.com/v1/traces"),
    ],
)
def test_spans_go_to_the_collectors_traces_url(endpoint, url):
    assert telemetry.traces_url(endpoint) == url


class Collector(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that keeps what it is sent: (path, ExportTraceServiceRequest)."""

    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, ExportTraceServiceRequest.FromString(body)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def collector():
    Collector.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Collector.received
    server.shutdown()
    server.server_close()


@pytest.fixture
def traced(no_tracer_provider, settings, collector):
    """Tracing configured as a process with HUB_OTEL_ENDPOINT starts it, to the collector;
    undone after the test. The collector's received exports."""
    settings.HUB_OTEL_ENDPOINT, received = collector
    settings.HUB_OTEL_SERVICE_NAME = "hub-under-test"
    provider = telemetry.configure()
    yield provider, received
    for instrumentor in INSTRUMENTORS:
        instrumentor().uninstrument()
    provider.shutdown()


def test_request_spans_reach_the_collector_without_the_reconciliation_key(traced, viewer_api):
    provider, received = traced
    key = "rk-abcdefghijklmnopqrstuvwxyz0123456789"

    viewer_api.get(f"/reconcile/{key}/")
    viewer_api.get("/healthz")
    provider.force_flush()

    assert received, "nothing was exported"
    assert {path for path, _ in received} == {"/v1/traces"}
    exported = [
        (resource_spans.resource, span)
        for _, request in received
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]
    [(resource, span)] = exported  # /healthz is not traced
    service = {a.key: a.value.string_value for a in resource.attributes}["service.name"]
    assert service == "hub-under-test"
    assert span.kind == span.SPAN_KIND_SERVER
    attributes = {a.key: a.value.string_value for a in span.attributes}
    assert attributes["http.route"] == "reconcile/<str:key>/"
    assert not [value for value in attributes.values() if key in value]
    # The URL as the logs show it: the key cut to the prefix the admin shows.
    assert [value for value in attributes.values() if value.endswith("/reconcile/rk-abcdef…/")]
