"""The events as CloudEvents 1.0 documents, and with a subscriber's own codes.

document(event)                     its CloudEvents 1.0 JSON document
document_for(event, subscription)   ... with the consuming system's own codes
register_codes(function)            where those codes come from
"""

from cloudevents.v1.conversion import to_dict
from cloudevents.v1.http import CloudEvent

SPEC_VERSION = "1.0"


def document(event):
    """The event as a CloudEvents 1.0 JSON object (structured mode), its partition key as the
    `partitionkey` extension, its position as `sequence` and its trace context, when it has
    one, as `traceparent` (the distributed-tracing extension)."""
    attributes = {
        "specversion": SPEC_VERSION,
        "id": str(event.event_id),
        "type": event.type,
        "source": event.source,
        "subject": event.subject,
        "time": event.time.isoformat(),
        "datacontenttype": "application/json",
        "partitionkey": event.partition_key,
    }
    if event.position is not None:
        attributes["sequence"] = str(event.position)
    if event.traceparent:
        attributes["traceparent"] = event.traceparent
    return to_dict(CloudEvent(attributes, event.data))


# Functions giving a consuming system's own codes for an event's canonical ids: a higher app
# (xref, which translates) registers one in its AppConfig.ready; the events know no domain.
_CODE_SOURCES = []


def register_codes(function):
    """`function(event, consumer)` -> {canonical id: the consumer's code} (or {}) is asked for
    every document made for a subscriber."""
    if function not in _CODE_SOURCES:
        _CODE_SOURCES.append(function)


def document_for(event, subscription):
    """document(event) for a subscriber: its data's canonical ids with the consuming system's
    own codes, under data["codes"] ({canonical id: code}), where any are known."""
    found = document(event)
    codes = {}
    for function in _CODE_SOURCES:
        codes.update(function(event, subscription.consumer) or {})
    if codes and isinstance(found.get("data"), dict):
        found["data"] = {**found["data"], "codes": codes}
    return found
