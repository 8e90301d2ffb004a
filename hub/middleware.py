"""Request body size limit, answered with a 413 and a problem document (core.problems).

Django's own limit (DATA_UPLOAD_MAX_MEMORY_SIZE) answers with a bare 400 and only once the
body is read; this refuses a too-large request on its Content-Length, before anything reads
it. A body cannot be longer than its Content-Length: Django reads no further. Views that
parse a body themselves also stop at the limit (core.parsers.JSONParser).
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponseBadRequest

from core.jsonbody import unstorable
from core.parsers import too_large_detail
from core.problems import problem_response
from hub.views import MACHINE_PATHS

IMPORT_PATHS = ("/api/v1/imports/", "/imports/")
# Where partners post interchanges: the EDI gateway refuses a declared length over its own
# limit (HUB_EDI_MAX_BYTES) before reading, in its own words (edi.api).
EDI_PATH = "/api/v1/edi/"
# Room for the multipart envelope and the other form fields around an import file.
IMPORT_FORM_OVERHEAD = 64 * 1024


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == EDI_PATH:
            return self.get_response(request)
        limit = settings.HUB_MAX_REQUEST_BYTES
        if request.path_info.startswith(IMPORT_PATHS):
            # CSV imports check their own, larger limit (HUB_IMPORT_MAX_BYTES) on the file.
            limit = max(limit, settings.HUB_IMPORT_MAX_BYTES + IMPORT_FORM_OVERHEAD)
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0  # Django reads an unreadable length as an empty body too
        if size > limit:
            return problem_response(413, too_large_detail(size, limit))
        return self.get_response(request)


UNSTORABLE_DETAIL = (
    "The request contains a NUL character (\\u0000, %00) or half of a UTF-16 surrogate pair "
    "(such as a lone \\ud800): no field of the hub can hold one. Remove it and send the "
    "request again."
)


class UnstorableTextMiddleware:
    """Refuses, with a 400, a request whose query string or body holds text no database
    column can store: a NUL character, or a lone surrogate escaped in JSON.

    PostgreSQL refuses both in text and jsonb columns, and no code, name or payload of the
    hub has a use for them; refused here, they cannot reach a query as a database error (a
    500), whichever view, filter or serializer would read them. CSV uploads are left to the
    import engine, which names the line of a binary file.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._unstorable(request):
            if request.path_info.startswith(MACHINE_PATHS):
                return problem_response(400, UNSTORABLE_DETAIL)
            return HttpResponseBadRequest(
                UNSTORABLE_DETAIL, content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)

    def _unstorable(self, request):
        if any("\x00" in key or "\x00" in "".join(values) for key, values in request.GET.lists()):
            return True
        if request.path_info.startswith(IMPORT_PATHS) or not request.META.get("CONTENT_LENGTH"):
            return False
        try:
            body = request.body
        except RequestDataTooBig:
            return False  # the view refuses it as too large
        if b"\x00" in body:
            return True
        content_type = request.content_type or ""
        if content_type.endswith("json"):
            return unstorable(body)
        if content_type == "application/x-www-form-urlencoded":
            return b"%00" in body
        return False
