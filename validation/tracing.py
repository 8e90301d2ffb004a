"""The trace context a message comes with (W3C Trace Context), kept and continued.

A sender may give a message its `traceparent` (the HTTP header of POST /api/v1/messages/ or
the submission's `traceparent` field); the message keeps it. When tracing is on (hub.telemetry
set a tracer provider), validating the message is a span of the sender's trace, and the events
about the message carry that trace on (the CloudEvents `traceparent` extension). When tracing
is off nothing here starts a span or reads a context: the events carry the stored traceparent
as it came.

    traceparent_problem(value)     why `value` is not a W3C traceparent (None when it is)
    validate_traceparent(value)    the same as a ValidationError (the model and the serializer)
    message_span(name, message)    a span continuing the message's trace, or no span at all
    outcome_on_span(span, status)  the outcome, on that span
    traceparent_to_pass(stored)    what an event about the message carries
"""

import contextlib
import re

from django.core.exceptions import ValidationError
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

# version-traceid-parentid-flags, lowercase hex (W3C Trace Context, level 1).
TRACEPARENT_LENGTH = 55
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
EXAMPLE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

_PROPAGATOR = TraceContextTextMapPropagator()


def traceparent_problem(value):
    """A sentence saying why `value` is not a W3C traceparent, or None when it is one."""
    shown = repr(value[:80]) if isinstance(value, str) else repr(value)
    match = _TRACEPARENT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return (
            "A traceparent is four fields of lowercase hexadecimal joined by dashes: version "
            f"(2 digits), trace id (32), parent id (16) and flags (2), e.g. {EXAMPLE}; "
            f"got {shown}."
        )
    version, trace_id, parent_id, _ = match.groups()
    if version == "ff":
        return f"The traceparent's version ff is not allowed (use 00); got {shown}."
    if set(trace_id) == {"0"}:
        return f"The traceparent's trace id (the second field) is all zeros; got {shown}."
    if set(parent_id) == {"0"}:
        return f"The traceparent's parent id (the third field) is all zeros; got {shown}."
    return None


def validate_traceparent(value):
    problem = traceparent_problem(value)
    if problem:
        raise ValidationError(problem, code="invalid_traceparent")


def tracing_is_on():
    """Whether a tracer provider was set (hub.telemetry.configure with an endpoint, or a
    test): until then the global one is the API's proxy, which records nothing."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def message_span(name, message):
    """A context manager: the span `name` of work on `message`, in the message's trace.

    Its parent is the span already current when that one is in the message's trace (a task
    sent by the request that brought the message, both instrumented), else the message's
    traceparent itself, linked to the current span if there is one; a message without a
    traceparent is worked on under the current span. Yields the span, or None (and starts
    nothing) when tracing is off."""
    if not tracing_is_on():
        return contextlib.nullcontext()
    parent = None  # the current context
    links = ()
    if message.traceparent:
        sent = _PROPAGATOR.extract({"traceparent": message.traceparent})
        sent_trace = trace.get_current_span(sent).get_span_context().trace_id
        current = trace.get_current_span().get_span_context()
        if not (current.is_valid and current.trace_id == sent_trace):
            parent = sent
            links = [trace.Link(current)] if current.is_valid else ()
    attributes = {
        "hub.message.id": message.public_id,
        "hub.message.type": message.message_type,
        "hub.message.schema_version": message.schema_version,
        "hub.message.system": message.system.code,
    }
    tracer = trace.get_tracer_provider().get_tracer(__name__)
    return tracer.start_as_current_span(name, context=parent, links=links, attributes=attributes)


def outcome_on_span(span, status):
    """Note the status work on a message ended in (None: nothing was decided) on its span."""
    if span is not None and status is not None:
        span.set_attribute("hub.message.status", str(status))


def traceparent_to_pass(stored):
    """The traceparent an event about a message carries: the current span's, when tracing is
    on and that span is in the message's trace (or the message came without one), so the
    receiver's work follows the hub's; otherwise the message's own (`stored`), or None."""
    if not tracing_is_on():
        return stored or None
    current = trace.get_current_span().get_span_context()
    if not current.is_valid:
        return stored or None
    if stored:
        sent = _PROPAGATOR.extract({"traceparent": stored})
        if trace.get_current_span(sent).get_span_context().trace_id != current.trace_id:
            return stored
    carrier = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent") or stored or None
