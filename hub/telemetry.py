"""OpenTelemetry tracing of the hub, on only when HUB_OTEL_ENDPOINT names a collector.

`configure()` runs once as a process starts: hub/wsgi.py calls it for the web server (gunicorn,
and runserver, which loads the same application) and hub/celery.py in every worker process.
With an endpoint it sets a tracer provider whose spans go in batches over OTLP/HTTP to
`<endpoint>/v1/traces` as service HUB_OTEL_SERVICE_NAME, and instruments web requests
(Django), Celery tasks (sent and run, the context passed in the task's headers) and database
calls (psycopg, so PostgreSQL only). Without one it does nothing at all: no provider, no
instrumentation, none of the SDK loaded, so every span the code asks for is the API's no-op
(validation.tracing does not even ask).

A reconciliation key stands in its URL (OpenRefine sends no headers): a request span's
attributes are redacted as the logs are (hub.logging.redact). /healthz and /metrics, polled
every few seconds, are not traced.
"""

import logging

from django.conf import settings
from opentelemetry import trace

from hub.logging import redact

logger = logging.getLogger(__name__)

# Regular expressions searched in a request's URL (without its query): not traced.
UNTRACED_URLS = r"/healthz$,/metrics$"
TRACES_PATH = "/v1/traces"


def configure():
    """Start tracing in this process when HUB_OTEL_ENDPOINT is set; otherwise do nothing.
    Once per process: a second call, or a call after a provider was set, changes nothing.
    Returns the tracer provider it set, or None."""
    if not settings.HUB_OTEL_ENDPOINT:
        return None
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return None
    # Imported here rather than at the top so that a process with tracing off loads none of
    # the SDK, the exporter or the instrumentations (a third of a second and 6 MB a process).
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    endpoint = traces_url(settings.HUB_OTEL_ENDPOINT)
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: settings.HUB_OTEL_SERVICE_NAME})
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument(request_hook=redact_request_span, excluded_urls=UNTRACED_URLS)
    CeleryInstrumentor().instrument()
    PsycopgInstrumentor().instrument()
    logger.info("Tracing to %s as %s", endpoint, settings.HUB_OTEL_SERVICE_NAME)
    return provider


def traces_url(endpoint):
    """The collector's OTLP/HTTP traces URL: `endpoint` as given when it ends with
    /v1/traces, else with /v1/traces added."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


def redact_request_span(span, request):
    """The request hook: a reconciliation key in a span's URL attributes is cut to the prefix
    the admin shows, as in the logs."""
    if "/reconcile/" not in request.path or not span.is_recording():
        return
    for name, value in dict(span.attributes or {}).items():
        if isinstance(value, str) and redact(value) != value:
            span.set_attribute(name, redact(value))


def flush():
    """Send the spans still waiting (a worker process about to end); nothing when off."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, trace.ProxyTracerProvider):
        provider.force_flush()
