"""The API's JSON parser: DRF's, with a document nested too deeply refused as a bad request.

Python's json module raises RecursionError, not ValueError, past about a thousand levels
of nesting; DRF's parser lets it through as a 500. No record or message of the hub nests
more than a few levels.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

TOO_DEEP = "JSON parse error - the document is nested too deeply."


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
