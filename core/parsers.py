"""The API's JSON parser: DRF's, reading through core.jsonbody, so that the hub's limits on
JSON (depth, NUL and lone surrogates, numbers) hold for every API body, each refusal a bad
request whose detail starts "JSON parse error - " as DRF's own do.
"""

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from core.jsonbody import JSONRefused, read_json


def parse_error(exc):
    """The 400 for JSON that core.jsonbody refused."""
    return ParseError(f"JSON parse error - {exc}")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        body = stream.read()
        try:
            if encoding.lower().replace("-", "") != "utf8":
                body = body.decode(encoding)
            return read_json(body)
        except (JSONRefused, UnicodeDecodeError, LookupError) as exc:
            raise parse_error(exc) from None
