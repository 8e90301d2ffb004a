"""The API's JSON parser, the one every API view reads a JSON body with (DRF's default parser
in hub.settings; the resolve and translate batches use its fast variant).

- The body is read up to HUB_MAX_REQUEST_BYTES, counted as read: hub.middleware refuses a
  declared length over it first, and a body sent without one stops here. Beyond: a 413.
- It is read by core.jsonbody, with the hub's limits on JSON (depth, NUL and lone
  surrogates, numbers); each refusal is a bad request whose detail starts "JSON parse error
  - " as DRF's own do.
"""

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser

from core.jsonbody import JSONRefused, read_json


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


def too_large_detail(size, limit):
    """The 413's detail, for a body of `size` bytes (or words saying how many)."""
    return (
        f"Request body is {size} bytes; the limit is {limit} bytes. "
        "Submit large forecasts in parts (part n of m)."
    )


class JSONParser(BaseParser):
    """JSON bodies up to HUB_MAX_REQUEST_BYTES, read by core.jsonbody."""

    media_type = "application/json"
    # orjson (core.jsonbody's fast path): several times faster for bodies of thousands of
    # keys, but a whole number past 64 bits becomes a float instead of being refused.
    fast = False

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.HUB_MAX_REQUEST_BYTES
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise RequestTooLarge(too_large_detail(f"more than {limit}", limit))
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            if encoding.lower().replace("-", "") != "utf8":
                body = body.decode(encoding)
            return read_json(body, fast=self.fast)
        except (JSONRefused, UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


class BatchJSONParser(JSONParser):
    """The parser of batch bodies (up to 50,000 keys of text), whose numbers do not matter."""

    fast = True
