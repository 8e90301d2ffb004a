"""Shared API plumbing: pagination, the exception handler, and the schema description of
the Bearer key authentication.

The exception handler lets DRF convert its exceptions and adds the database errors DRF
leaves alone, so a client never sees a 500 with a stack trace for a conflict it caused; it
answers every one as problem details (core.problems).
"""

import logging
import math
import re
from collections import defaultdict
from http import HTTPStatus

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import status
from rest_framework.exceptions import NotFound, Throttled, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from core.problems import ProblemResponse, errors_detail, field_errors

logger = logging.getLogger(__name__)

# How many referencing records a 409 names before it says "and N more".
SHOWN_REFERENCES = 5
# Django's get_object_or_404 names the model's class ("No InboundMessage matches the given
# query."): an internal name, and not a word on which record was asked for.
GET_OBJECT_OR_404 = re.compile(r"No \w+ matches the given query\.")
# URL parameters as a client knows them: records are addressed by public id.
LOOKUP_LABELS = {"public_id": "id", "pk": "id"}
# Methods whose field errors are in the body; the others' are in query parameters.
BODY_METHODS = ("POST", "PUT", "PATCH")


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


class BearerKeyScheme(OpenApiAuthenticationExtension):
    """Describes core.auth.BearerKeyAuthentication in the OpenAPI schema."""

    target_class = "core.auth.BearerKeyAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API client key: `Authorization: Bearer mdh_...`.",
        }


def validation_error_detail(exc):
    """A Django ValidationError as DRF error detail with the same keys: field names stay,
    the model's non-field errors go under DRF's non-field key."""
    if hasattr(exc, "error_dict"):
        return {
            api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field: messages
            for field, messages in exc.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}


def not_found_detail(noun, field, value):
    """ "No message with id MSG-000001.": the API's noun for the record and the value sent."""
    return f"No {noun} with {LOOKUP_LABELS.get(field, field.replace('_', ' '))} {value}."


def _not_found(view):
    # The noun is the route's (the router's basename: "message", "item-revision"), the one
    # the client used, never the model's class name.
    kwargs = getattr(view, "kwargs", None) or {}
    field = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
    basename = getattr(view, "basename", None)
    if basename and field in kwargs:
        return not_found_detail(basename.replace("-", " "), field, kwargs[field])
    return "Nothing is found at this address."


def exception_handler(exc, context):
    # DRF's get_object_or_404 raises a bare Http404 for a value the lookup cannot take.
    if isinstance(exc, Http404) and (not exc.args or GET_OBJECT_OR_404.fullmatch(str(exc))):
        exc = NotFound(_not_found(context.get("view")))
    if isinstance(exc, ProtectedError | RestrictedError):
        set_rollback()
        return ProblemResponse(status.HTTP_409_CONFLICT, _still_referenced(exc))
    if isinstance(exc, IntegrityError):
        logger.warning("API write refused by the database: %s", exc)
        set_rollback()
        return ProblemResponse(
            status.HTTP_409_CONFLICT,
            "The change conflicts with data already stored. Reload the record and try again.",
        )
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(validation_error_detail(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: Django's handler500 answers (hub.views.server_error)
    request = context.get("request")
    return as_problem(exc, response, getattr(request, "method", "GET"))


def as_problem(exc, response, method="GET"):
    """DRF's error response as problem details, with its headers (WWW-Authenticate,
    Retry-After, Allow). Field errors of a request without a body name query parameters."""
    data = response.data
    headers = {name: value for name, value in response.items() if name.lower() != "content-type"}
    if isinstance(exc, ValidationError):
        where = "pointer" if method in BODY_METHODS else "parameter"
        errors = field_errors(data, where=where, root_key=api_settings.NON_FIELD_ERRORS_KEY)
        detail = errors_detail(errors) if errors else "The request is invalid."
        return ProblemResponse(response.status_code, detail, errors=errors, headers=headers)
    extensions = dict(data) if isinstance(data, dict) else {}
    detail = extensions.pop("detail", None) or HTTPStatus(response.status_code).description
    for name in ("type", "title", "status", "errors"):
        extensions.pop(name, None)
    if isinstance(exc, Throttled) and exc.wait is not None:
        extensions["retry_after"] = math.ceil(exc.wait)
    return ProblemResponse(response.status_code, detail, headers=headers, **extensions)


def _still_referenced(exc):
    """ "... still referenced by 2 locations (LOC-000001 PLANT-1 Plant 1, ...)"."""
    objects = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
    by_model = defaultdict(list)
    for obj in objects:
        public_id = getattr(obj, "public_id", None)
        label = str(obj)
        if public_id and not label.startswith(str(public_id)):
            label = f"{public_id} {label}"
        by_model[obj._meta].append(label)
    parts = []
    for meta, labels in by_model.items():
        name = meta.verbose_name if len(labels) == 1 else meta.verbose_name_plural
        shown = ", ".join(labels[:SHOWN_REFERENCES])
        if len(labels) > SHOWN_REFERENCES:
            shown += f" and {len(labels) - SHOWN_REFERENCES} more"
        parts.append(f"{len(labels)} {name} ({shown})")
    return (
        "This record cannot be deleted: it is still referenced by "
        + "; ".join(parts)
        + ". Remove or change those references first."
    )
