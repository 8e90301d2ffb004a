"""The shape every error answer of the API must have: problem details (RFC 9457), as one JSON
Schema written from the RFC, not from the hub's code, so that the hub is checked against it."""

import jsonschema

CONTENT_TYPE = "application/problem+json"
PROBLEM_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "type": {"type": "string", "minLength": 1},
        "title": {"type": "string", "minLength": 1},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "minLength": 1},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    # A JSON pointer as a URI fragment (RFC 6901 section 6): "#", "#/a/0".
                    "pointer": {"type": "string", "pattern": "^#(/[^/]*)*$"},
                    "parameter": {"type": "string", "minLength": 1},
                    "detail": {"type": "string", "minLength": 1},
                },
                "required": ["detail"],
                "oneOf": [{"required": ["pointer"]}, {"required": ["parameter"]}],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}
VALIDATOR = jsonschema.Draft202012Validator(PROBLEM_SCHEMA)
# Words that would give away the code behind the answer.
INTERNALS = ("Traceback", "matches the given query", "Exception", "Error:", "__")


def problem_of(response, status=None):
    """The problem document of an error `response`, checked: the media type, the schema, the
    status member agreeing with the answer's, and no internals. Returns the parsed body."""
    where = f"{response.request.get('REQUEST_METHOD')} {response.request.get('PATH_INFO')}"
    assert response.status_code >= 400, f"{where}: {response.status_code} is no error"
    if status is not None:
        assert response.status_code == status, f"{where}: {response.content[:300]!r}"
    assert response["Content-Type"] == CONTENT_TYPE, f"{where}: {response['Content-Type']}"
    body = response.json()
    errors = sorted(VALIDATOR.iter_errors(body), key=str)
    assert not errors, f"{where}: {errors[0].message} in {body}"
    assert body["status"] == response.status_code, where
    text = response.content.decode()
    assert not [word for word in INTERNALS if word in text], f"{where}: {text}"
    return body


def errors_by_field(response, status=400):
    """A problem's field errors as {field: [messages]}: the field is the pointer without its
    "#/" ("lines/0/quantity"), or the query parameter; "" for the whole body."""
    by_field = {}
    for error in problem_of(response, status).get("errors", []):
        field = error.get("parameter") or error["pointer"][2:]
        by_field.setdefault(field, []).append(error["detail"])
    return by_field
