"""Problem details (RFC 9457): the one shape of every error answer of the API, of the
reconciliation service and of the JSON 404 and 500 under /api/.

    {"type": "about:blank", "title": "Bad Request", "status": 400,
     "detail": "number: This field is required.",
     "errors": [{"pointer": "#/number", "detail": "This field is required."}]}

`type` is "about:blank" (the status says it all) and `title` is the status's phrase; `detail`
says what happened in words a client's developer can act on. A bad field is listed under
`errors`: a JSON pointer into the request body (`pointer`), or the query parameter
(`parameter`) it concerns, with its message. Other members are extensions an operation
documents (`keys`, `retry_after`, `conflict`, ...). The media type is
application/problem+json.

`problem` builds the document; `problem_response` answers it from a plain Django view,
`ProblemResponse` from a DRF view (core.rest's exception handler formats DRF's errors with it).
"""

import json
import re
from http import HTTPStatus
from urllib.parse import quote

from django.http import JsonResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

CONTENT_TYPE = "application/problem+json"
# What a URI fragment may hold besides letters and digits (RFC 3986); the rest is %-encoded.
FRAGMENT_SAFE = "!$&'()*+,;=:@._~-"
# Errors shown in `detail` before "and N more".
SHOWN_ERRORS = 3


def problem(status, detail, *, errors=None, **extensions):
    """The problem document for `status` (an int) with `detail`, the field `errors` as
    [{"pointer" or "parameter": ..., "detail": ...}] and extension members."""
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": str(detail),
    }
    if errors:
        body["errors"] = errors
    body.update(extensions)
    return body


def problem_response(status, detail, *, errors=None, headers=None, **extensions):
    """A problem document as a plain Django response."""
    return JsonResponse(
        problem(status, detail, errors=errors, **extensions),
        status=status,
        headers=headers,
        content_type=CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )


class ProblemResponse(Response):
    """A DRF response of a problem document: JSON as application/problem+json, whatever
    the view renders otherwise (the schema's YAML, say); only the browsable API still shows
    it as a page to a person in a browser."""

    def __init__(self, status, detail, *, errors=None, headers=None, **extensions):
        body = problem(status, detail, errors=errors, **extensions)
        super().__init__(body, status=status, headers=headers)

    @property
    def rendered_content(self):
        renderer = getattr(self, "accepted_renderer", None)
        if renderer is not None and renderer.format == "api":
            return super().rendered_content
        if renderer is None or renderer.format != "json":  # the schema's YAML, say
            self.accepted_renderer = JSONRenderer()
            self.accepted_media_type = JSONRenderer.media_type
        self.content_type = CONTENT_TYPE
        return super().rendered_content


def pointer(*parts):
    """The JSON pointer, as a URI fragment (RFC 6901, section 6), of a place in the request
    body: pointer("lines", 3, "quantity") is "#/lines/3/quantity"; pointer() is the whole
    body."""
    escaped = (
        quote(str(part).replace("~", "~0").replace("/", "~1"), safe=FRAGMENT_SAFE) for part in parts
    )
    return "#" + "".join(f"/{part}" for part in escaped)


# A step of a JSON path as mdm's and validation's write them: .name, [3] or ["odd name"].
JSON_PATH_STEP = re.compile(r'\.([A-Za-z_]\w*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def json_path_pointer(path, *prefix):
    """The pointer of a JSON path ("$.lines[3].quantity") into a value found at `prefix`
    in the request body: json_path_pointer("$.lines[3]", "payload") is "#/payload/lines/3"."""
    parts = list(prefix)
    for name, index, quoted in JSON_PATH_STEP.findall(path.removeprefix("$")):
        parts.append(name or index or json.loads(quoted))
    return pointer(*parts)


def field_errors(messages, *, where="pointer", root_key=None):
    """Field errors as DRF or Django give them ({field: [messages]}, nested for nested
    serializers and lists; a bare list for the whole request) as problem `errors`. `where` is
    "pointer" for a request body, "parameter" for query parameters; the errors under
    `root_key` (DRF's non-field key) concern the whole request."""
    errors = []

    def walk(value, path):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, path if key == root_key and not path else (*path, key))
        elif isinstance(value, list | tuple) and any(isinstance(v, dict | list) for v in value):
            for index, inner in enumerate(value):
                if inner:  # DRF gives {} for the valid items of a list
                    walk(inner, (*path, index))
        elif isinstance(value, list | tuple):
            for message in value:
                errors.append(_place(path, where) | {"detail": str(message)})
        else:
            errors.append(_place(path, where) | {"detail": str(value)})

    walk(messages, ())
    return errors


def _place(path, where):
    if where == "parameter" and path:
        return {"parameter": ".".join(str(part) for part in path)}
    return {"pointer": pointer(*path)}


def errors_detail(errors):
    """One sentence naming the errors: the message of a single one, else the first few."""
    described = [_describe(error) for error in errors]
    if len(described) == 1:
        return described[0]
    shown = "; ".join(described[:SHOWN_ERRORS])
    more = len(described) - SHOWN_ERRORS
    return f"{len(described)} errors in the request: {shown}" + (
        f"; and {more} more." if more > 0 else "."
    )


def _describe(error):
    place = error.get("parameter") or error.get("pointer", "#")[2:]
    message = error["detail"]
    return f"{place}: {message}" if place else message
