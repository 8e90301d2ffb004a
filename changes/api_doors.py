"""The API's door: a write of a governed kind that a policy says needs approval answers 202
Accepted with the change request it became, and writes nothing.

The view builds the record as the write would leave it (validated, not saved) and asks
`held(request, record, action)`: None means write as usual; otherwise the answer to give, the
request (202, its URL in the Location header) or, without a reason, a 400 saying the
`X-Change-Reason` header is needed. A header carries the reason so that the record's own body
stays as it is whether or not a policy applies. `held_writes` documents all this in the
OpenAPI schema of a governed kind's view set.
"""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.response import Response

from changes import policies, requests
from changes.registry import governed
from changes.serializers import ChangeRequestDetailSerializer
from core.problems import ProblemResponse

REASON_HEADER = "X-Change-Reason"
REASON_PARAMETER = OpenApiParameter(
    REASON_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Why the change is made (UTF-8). Needed when a policy says the change needs "
    "another person's approval: without it such a change is a 400 and nothing is written.",
)
HELD = OpenApiResponse(
    ChangeRequestDetailSerializer,
    description="The change needs another person's approval: it is held as this change "
    "request (its URL in the Location header) and nothing is written until it is approved.",
)


def held(request, record, action):
    """The answer to a write a policy says needs approval, None to write as usual. `record`
    is the record as the write would leave it: for a creation a new unsaved one, for a
    change the stored one with the new values set, for a deletion the stored one."""
    kind = governed(record)
    if kind is None or not policies.any_policy(kind.model):
        return None
    proposal = requests.hold(record, action)
    if proposal is None:
        return None
    reason = _text(request.headers.get(REASON_HEADER, "")).strip()
    if not reason:
        policy = ", ".join(sorted({p.note or f"approval of {p.kind}" for p in proposal.policies}))
        detail = (
            f"This change needs another person's approval ({policy}): say why it is made in "
            f"the {REASON_HEADER} header. Nothing was changed."
        )
        errors = [{"parameter": REASON_HEADER, "detail": "Say why the change is made."}]
        return ProblemResponse(status.HTTP_400_BAD_REQUEST, detail, errors=errors)
    asked = requests.ask([proposal], by=request.user, reason=reason, source="api")
    body = ChangeRequestDetailSerializer(asked, context={"request": request}).data
    location = reverse("change-request-detail", args=[asked.pk])
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


def _text(value):
    """A header's text: WSGI hands headers over as Latin-1, so UTF-8 bytes (a reason in
    German, say) are read back as UTF-8; anything else stays as it came."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def held_writes(view):
    """Class decorator of a governed kind's view set: its create, update, partial update and
    destroy are documented with the reason header and the 202 besides their own answers."""
    serializer = view.serializer_class
    writes = {
        "create": {201: serializer},
        "update": {200: serializer},
        "partial_update": {200: serializer},
        "destroy": {204: None},
    }
    return extend_schema_view(
        **{
            action: extend_schema(parameters=[REASON_PARAMETER], responses={**done, 202: HELD})
            for action, done in writes.items()
        }
    )(view)
