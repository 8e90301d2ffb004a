"""The v0.2 JSON Schemas of the Reconciliation Service API, in one registry, as the spec's own
repository tests them (draft-07). Copied into tests/data so a fresh clone needs nothing else."""

import functools
import json
from pathlib import Path

from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7

DATA = Path(__file__).resolve().parent.parent / "data" / "reconciliation_api"
SCHEMAS = DATA / "schemas-0.2"
EXAMPLES = DATA / "examples-0.2"
# openapi.json's $id ends in "#"; the manifest refers to it without.
SWAGGER_URI = "http://swagger.io/v2/schema.json"


@functools.cache
def _loaded():
    schemas = {}
    resources = []
    for path in sorted(SCHEMAS.glob("*.json")):
        contents = json.loads(path.read_text())
        schemas[path.stem] = contents
        uri = SWAGGER_URI if path.name == "openapi.json" else contents["$id"]
        resources.append((uri, DRAFT7.create_resource(contents)))
    return schemas, Registry().with_resources(resources)


def validator(name):
    """A Draft7Validator for schemas-0.2/<name>.json, resolving against every file."""
    schemas, registry = _loaded()
    return Draft7Validator(schemas[name], registry=registry)


def errors(name, document):
    return [error.message for error in validator(name).iter_errors(document)]


def assert_valid(name, document):
    found = errors(name, document)
    assert not found, f"{name}: {found}"
    return document
