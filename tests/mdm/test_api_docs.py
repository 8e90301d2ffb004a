"""The OpenAPI schema and the Swagger UI: complete and valid, served without any outside
host, and behind the same credentials as the API."""

import re

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_schema_generates_without_warnings_or_errors(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    assert text.startswith("openapi: 3")
    for path in (
        "/api/v1/items/{item_public_id}/revisions/{revision}/:",
        "/api/v1/suppliers/{supplier_public_id}/sites/{code}/:",
        "/api/v1/units/convert/:",
        "/api/v1/calendars/{public_id}/add-working-days/:",
        "/api/v1/code-lists/{code_list_code}/values/:",
    ):
        assert path in text


def test_the_schema_is_served_to_api_clients(erp_api):
    response = erp_api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    convert = schema["paths"]["/api/v1/units/convert/"]["get"]
    assert {p["name"] for p in convert["parameters"]} == {
        "quantity",
        "from",
        "to",
        "item",
        "supplier",
        "date",
    }


def test_the_docs_page_uses_only_local_assets(viewer_api):
    response = viewer_api.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r"""<(?:script|link)[^>]*\s(?:src|href)=["']([^"']+)["']""", html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    assert all(asset.startswith("/static/") for asset in assets), assets
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/"])
def test_anonymous_callers_get_neither_schema_nor_docs(anonymous_api, url):
    response = anonymous_api.get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_it_sends_a_browser_without_a_session_to_the_login_page(client):
    response = client.get("/api/docs/", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/api/docs/"
