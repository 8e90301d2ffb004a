"""The OpenAPI schema's description of the hub's error answers.

Kept out of core.rest, which DRF imports while drf-spectacular itself imports DRF's views.
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent

# Every error answer is a problem document (RFC 9457, core.problems), described once as the
# "Problem" component; an operation's own error members (`keys`, `conflict`, ...) are
# extension members, added to it with allOf.
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "Problem details (RFC 9457). `type` is about:blank and `title` the "
    "status's phrase; `detail` says what went wrong. Field errors are listed under `errors`, "
    "each with a JSON pointer into the request body (`pointer`, e.g. #/lines/3/quantity) or "
    "the query parameter (`parameter`) it concerns. Other members are extensions the "
    "operation describes.",
    "properties": {
        "type": {"type": "string", "description": "about:blank"},
        "title": {"type": "string", "description": "The HTTP status's phrase."},
        "status": {"type": "integer", "description": "The HTTP status code."},
        "detail": {"type": "string", "description": "What went wrong, in words."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "pointer": {
                        "type": "string",
                        "description": "JSON pointer (RFC 6901) into the request body, as a "
                        "URI fragment: #/number, #/keys/3/kind, # for the whole body.",
                    },
                    "parameter": {"type": "string", "description": "The query parameter."},
                    "detail": {"type": "string"},
                },
                "required": ["detail"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}
PROBLEM_CONTENT_TYPE = "application/problem+json"
ERROR_RESPONSES = {
    "400": "The request is invalid: the body, a query parameter or a header.",
    "401": "No credentials, or a key that is unknown or revoked.",
    "403": "The caller's role may not do this.",
    "404": "No such record, or a page past the last.",
    "409": "The change conflicts with stored data (e.g. a record still in use).",
    "413": "The request body is over HUB_MAX_REQUEST_BYTES.",
    "415": "The body's media type is not one the operation reads (JSON).",
    "429": "Too many wrong API keys came from the caller's address: every key from it is "
    "refused for Retry-After seconds.",
    "500": "The hub failed to answer; the error is logged.",
    "503": "The database is unreachable; retry after Retry-After seconds.",
}
BODY_METHODS = ("POST", "PUT", "PATCH")


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema with the error answers the hub gives, where an operation does
    not describe its own: 401, 403, 429, 500 and 503 anywhere; 400 where a body or a query
    parameter can be wrong; 404 where a path names a record or a list has pages; 409 on
    writes; 413 and 415 where a body is sent. Every error answer, an operation's own too, is
    a problem document (application/problem+json)."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            responses.setdefault(code, {"description": ERROR_RESPONSES[code]})
        problem = self._problem_component().ref
        for code, response in responses.items():
            if code.isdigit() and int(code) >= 400:
                response["content"] = {
                    PROBLEM_CONTENT_TYPE: {"schema": _problem(problem, response)}
                }
        return responses

    def _problem_component(self):
        component = ResolvedComponent(
            name="Problem", type=ResolvedComponent.SCHEMA, object="Problem", schema=PROBLEM_SCHEMA
        )
        self.registry.register_on_missing(component)
        return component

    def _error_codes(self):
        method = self.method.upper()
        places = {parameter["in"] for parameter in self._get_parameters()}
        codes = ["401", "403", "429", "500", "503"]
        if method in BODY_METHODS or places & {"query", "header"}:
            codes.append("400")
        if "path" in places or (method == "GET" and self._is_list_view()):
            codes.append("404")
        if method in (*BODY_METHODS, "DELETE"):
            codes.append("409")
        if method in BODY_METHODS:
            codes += ["413", "415"]
        return codes


def _problem(problem, response):
    """The problem schema, with the members an operation's own error schema adds."""
    own = next(iter(response.get("content", {}).values()), {}).get("schema")
    return {"allOf": [problem, own]} if own else problem
