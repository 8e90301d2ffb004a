"""The validator the service's responses are checked with classifies the spec's own examples
right: each valid example passes its schema, each invalid one fails it."""

import json

import pytest

from tests.reconcile.schemas import EXAMPLES, SCHEMAS, errors

# Example folders that have a schema of the same name (the others illustrate parts of the
# protocol that v0.2 publishes no schema for: flyout, preview and suggest metadata, ...).
CHECKED = sorted(p.stem for p in SCHEMAS.glob("*.json") if (EXAMPLES / p.stem).is_dir())


def _examples(verdict):
    return [
        pytest.param(folder, path, id=f"{folder}/{path.name}")
        for folder in CHECKED
        for path in sorted((EXAMPLES / folder / verdict).glob("*.json"))
    ]


def test_it_checks_every_schema_with_examples():
    assert CHECKED == [
        "data-extension-property-proposal",
        "data-extension-query",
        "data-extension-response",
        "manifest",
        "reconciliation-query-batch",
        "reconciliation-result-batch",
        "suggest-entities-response",
        "suggest-properties-response",
        "suggest-types-response",
    ]


@pytest.mark.parametrize(("schema", "path"), _examples("valid"))
def test_it_accepts_the_valid_examples(schema, path):
    assert errors(schema, json.loads(path.read_text())) == []


@pytest.mark.parametrize(("schema", "path"), _examples("invalid"))
def test_it_rejects_the_invalid_examples(schema, path):
    assert errors(schema, json.loads(path.read_text())) != []
