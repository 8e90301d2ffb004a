"""Request body size limit, answered with a 413 and a JSON explanation.

Django's own limit (DATA_UPLOAD_MAX_MEMORY_SIZE) answers with a bare 400 and only once the
body is read; this refuses a too-large request on its Content-Length, before anything reads
it. A body cannot be longer than its Content-Length: Django reads no further. Views that
parse a body themselves also stop at the limit (validation.views.LimitedJSONParser).
"""

from django.conf import settings
from django.http import JsonResponse

IMPORT_PATHS = ("/api/v1/imports/", "/imports/")
# Room for the multipart envelope and the other form fields around an import file.
IMPORT_FORM_OVERHEAD = 64 * 1024


def too_large_detail(size, limit):
    return (
        f"Request body is {size} bytes; the limit is {limit} bytes. "
        "Submit large forecasts in parts (part n of m)."
    )


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.HUB_MAX_REQUEST_BYTES
        if request.path_info.startswith(IMPORT_PATHS):
            # CSV imports check their own, larger limit (HUB_IMPORT_MAX_BYTES) on the file.
            limit = max(limit, settings.HUB_IMPORT_MAX_BYTES + IMPORT_FORM_OVERHEAD)
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0  # Django reads an unreadable length as an empty body too
        if size > limit:
            return JsonResponse({"detail": too_large_detail(size, limit)}, status=413)
        return self.get_response(request)
