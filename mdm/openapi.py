"""The OpenAPI schema's description of the hub's error answers.

Kept out of mdm.api, which DRF imports while drf-spectacular itself imports DRF's views.
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

# The error answers every operation can give, described once so that the schema tells
# clients (and the API fuzzing test) the whole truth: {"detail": "..."} for most, the field
# errors of a bad request as {field: [messages]}.
DETAIL_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
BAD_REQUEST_SCHEMA = {
    "type": "object",
    "description": 'Field errors as {field: ["message", ...]} (non-field errors under '
    '"non_field_errors"), or {"detail": "..."}.',
    "additionalProperties": True,
}
ERROR_RESPONSES = {
    "400": ("The request is invalid: the body, a query parameter or a header.", BAD_REQUEST_SCHEMA),
    "401": ("No credentials, or a key that is unknown or revoked.", DETAIL_SCHEMA),
    "403": ("The caller's role may not do this.", DETAIL_SCHEMA),
    "404": ("No such record, or a page past the last.", DETAIL_SCHEMA),
    "409": ("The change conflicts with stored data (e.g. a record still in use).", DETAIL_SCHEMA),
    "413": ("The request body is over HUB_MAX_REQUEST_BYTES.", DETAIL_SCHEMA),
    "415": ("The body's media type is not one the operation reads (JSON).", DETAIL_SCHEMA),
    "429": (
        "Too many wrong API keys came from the caller's address: every key from it is refused "
        "for Retry-After seconds.",
        DETAIL_SCHEMA,
    ),
    "503": ("The database is unreachable; retry after Retry-After seconds.", DETAIL_SCHEMA),
}
BODY_METHODS = ("POST", "PUT", "PATCH")


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema with the error answers the hub gives, where an operation does
    not describe its own: 401, 403, 429 and 503 anywhere; 400 where a body or a query parameter
    can be wrong; 404 where a path names a record or a list has pages; 409 on writes; 413 and
    415 where a body is sent."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            if code not in responses:
                description, schema = ERROR_RESPONSES[code]
                responses[code] = {
                    "description": description,
                    "content": {"application/json": {"schema": schema}},
                }
        return responses

    def _error_codes(self):
        method = self.method.upper()
        places = {parameter["in"] for parameter in self._get_parameters()}
        codes = ["401", "403", "429", "503"]
        if method in BODY_METHODS or places & {"query", "header"}:
            codes.append("400")
        if "path" in places or (method == "GET" and self._is_list_view()):
            codes.append("404")
        if method in (*BODY_METHODS, "DELETE"):
            codes.append("409")
        if method in BODY_METHODS:
            codes += ["413", "415"]
        return codes
