"""The three doors: the commands, the API and the steward screen; and who may use them."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from imports.models import ImportRun
from mdm.models import Item
from tests.imports.conftest import csv_file
from tests.problems import errors_by_field

ITEMS = "number,description,base_unit,item_type\n100,Bolt,H87,component\n101,Nut,H87,component\n"
BROKEN = "number,description,base_unit,item_type\n100,Bolt,H87,component\n101,,H87,gizmo\n"


@pytest.fixture
def items_file(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(ITEMS, encoding="utf-8")
    return path


# --- commands -----------------------------------------------------------------------------


def test_the_command_plans_and_prints_the_counts(units, items_file):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_csv", "items", str(items_file), stdout=out, stderr=err)
    assert "2 rows: 2 to create, 0 to update, 0 unchanged, 0 with errors." in out.getvalue()
    assert "nothing was written" in out.getvalue()
    assert "100%" in err.getvalue()
    assert not Item.objects.exists()


def test_the_command_applies(units, items_file):
    out = io.StringIO()
    call_command(
        "import_csv", "items", str(items_file), "--apply", stdout=out, stderr=io.StringIO()
    )
    assert "Applied import" in out.getvalue()
    assert Item.objects.count() == 2


def test_the_command_refuses_to_apply_a_file_with_errors(units, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text(BROKEN)
    out = io.StringIO()
    with pytest.raises(CommandError, match="plan has row errors"):
        call_command("import_csv", "items", str(path), "--apply", stdout=out, stderr=io.StringIO())
    assert "Row 3, description: This field cannot be blank." in out.getvalue()
    assert not Item.objects.exists()
    call_command(
        "import_csv",
        "items",
        str(path),
        "--apply",
        "--skip-errors",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert list(Item.objects.values_list("number", flat=True)) == ["100"]


def test_the_command_names_a_file_error(units, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(CommandError, match="The file is empty."):
        call_command("import_csv", "items", str(path), stdout=io.StringIO(), stderr=io.StringIO())


def test_export_then_import_plans_no_change(units, items_file, tmp_path):
    call_command(
        "import_csv",
        "items",
        str(items_file),
        "--apply",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    exported = tmp_path / "export.csv"
    call_command("export_csv", "items", str(exported), stderr=io.StringIO())
    assert exported.read_bytes().startswith(b"\xef\xbb\xbf")
    out = io.StringIO()
    call_command("import_csv", "items", str(exported), stdout=out, stderr=io.StringIO())
    assert "2 rows: 0 to create, 0 to update, 2 unchanged, 0 with errors." in out.getvalue()


# --- API ----------------------------------------------------------------------------------


def upload(api, text, **data):
    return api.post(
        "/api/v1/imports/",
        {"kind": "items", "file": csv_file(text, "items.csv"), **data},
        format="multipart",
    )


def test_the_api_plans_then_applies(units, steward_api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(steward_api, ITEMS)
    assert response.status_code in (201, 202)  # 202 while the task is still running
    run_id = response.json()["id"]
    body = steward_api.get(f"/api/v1/imports/{run_id}/").json()
    assert body["status"] == "planned"
    assert body["plan_counts"] == {"rows": 2, "create": 2, "update": 0, "unchanged": 0, "error": 0}
    assert not Item.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = steward_api.post(f"/api/v1/imports/{run_id}/apply/")
    assert response.status_code in (201, 202)
    body = steward_api.get(f"/api/v1/imports/{run_id}/").json()
    assert body["status"] == "applied"
    assert Item.objects.count() == 2
    response = steward_api.post(f"/api/v1/imports/{run_id}/revert/")
    assert response.status_code == 200 and response.json()["status"] == "reverted"
    assert not Item.objects.exists()


def test_the_api_reports_every_error_and_the_failed_rows(
    units, steward_api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run_id = upload(steward_api, BROKEN, mode="apply").json()["id"]
    body = steward_api.get(f"/api/v1/imports/{run_id}/").json()
    assert body["status"] == "planned"
    assert body["errors"] == [
        "Row 3, description: This field cannot be blank.",
        "Row 3, item_type: 'gizmo' is not a valid choice. Accepted codes: raw_material (Raw "
        "material); component (Purchased component); semi_finished (Semi-finished); "
        "finished_good (Finished good); packaging (Packaging); mro (Maintenance, repair, "
        "operations); service (Service).",
    ]
    assert not Item.objects.exists()
    response = steward_api.get(body["failed_rows_url"])
    assert response.status_code == 200
    assert b"101,,H87,gizmo" in b"".join(response.streaming_content)
    response = steward_api.post(f"/api/v1/imports/{run_id}/apply/")
    assert response.status_code == 409
    assert "row error" in response.json()["detail"]


def test_the_api_refuses_an_oversized_file(units, steward_api, settings):
    settings.HUB_IMPORT_MAX_BYTES = 1024
    response = upload(steward_api, ITEMS * 40)
    assert "the limit is 1,024 bytes" in errors_by_field(response)["file"][0]
    assert not ImportRun.objects.exists()


def test_the_api_serves_templates_and_exports(units, steward_api, erp_api):
    response = erp_api.get("/api/v1/imports/templates/items.csv")
    assert response.status_code == 200
    assert response.content.decode().startswith("number,description,base_unit,item_type,status")
    assert steward_api.get("/api/v1/imports/templates/widgets.csv").status_code == 404
    response = erp_api.get("/api/v1/exports/suppliers.csv")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode("utf-8-sig").startswith("number,name")


def test_a_viewer_cannot_import(units, viewer_api):
    response = upload(viewer_api, ITEMS)
    assert response.status_code == 403
    assert not ImportRun.objects.exists()


def test_an_integration_client_cannot_import(units, erp_api):
    assert upload(erp_api, ITEMS).status_code == 403


def test_nobody_imports_without_credentials(units, anonymous_api):
    response = upload(anonymous_api, ITEMS)
    assert response.status_code == 401
    assert anonymous_api.get("/api/v1/imports/").status_code == 401


# --- screen -------------------------------------------------------------------------------


def test_a_steward_plans_fixes_applies_and_reverts_on_the_screen(
    units, steward_browser, django_capture_on_commit_callbacks
):
    page = steward_browser.get("/imports/")
    assert page.status_code == 200
    assert b"Upload and plan" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = steward_browser.post(
            "/imports/", {"kind": "items", "file": csv_file(BROKEN, "items.csv")}
        )
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{run.pk}/"
    page = steward_browser.get(f"/imports/{run.pk}/").content.decode()
    assert "This field cannot be blank." in page
    assert "&#x27;gizmo&#x27; is not a valid choice. Accepted codes: raw_material" in page
    assert "Download failed rows" in page
    failed = steward_browser.get(f"/imports/{run.pk}/failed-rows.csv")
    assert b"error" in b"".join(failed.streaming_content)

    with django_capture_on_commit_callbacks(execute=True):
        steward_browser.post("/imports/", {"kind": "items", "file": csv_file(ITEMS, "fixed.csv")})
    fixed = ImportRun.objects.first()
    assert steward_browser.get(f"/imports/{fixed.pk}/progress/").json() == {
        "status": "planned",
        "status_display": "Planned",
        "progress": 100,
        "busy": False,
    }
    with django_capture_on_commit_callbacks(execute=True):
        steward_browser.post(f"/imports/{fixed.pk}/apply/")
    assert Item.objects.count() == 2
    page = steward_browser.get(f"/imports/{fixed.pk}/").content.decode()
    assert "Revert this import" in page
    assert (
        "Yes, revert import" in steward_browser.get(f"/imports/{fixed.pk}/revert/").content.decode()
    )
    steward_browser.post(f"/imports/{fixed.pk}/revert/")
    assert not Item.objects.exists()
    fixed.refresh_from_db()
    assert fixed.status == ImportRun.Status.REVERTED


def test_the_screen_shows_a_progress_bar_while_busy(units, steward_browser, steward):
    run = ImportRun.objects.create(
        kind="items", file_name="big.csv", status=ImportRun.Status.RUNNING, progress=42
    )
    page = steward_browser.get(f"/imports/{run.pk}/").content.decode()
    assert '<progress id="progress" max="100" value="42">' in page
    assert reverse("imports:progress", args=[run.pk]) in page


def test_the_screen_is_for_stewards_only(client, viewer):
    response = client.get("/imports/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(viewer)
    assert client.get("/imports/").status_code == 403
    assert client.post("/imports/", {"kind": "items"}).status_code == 403


def test_the_admin_index_links_to_the_screen(steward_browser, units):
    page = steward_browser.get("/admin/").content.decode()
    assert 'href="/imports/"' in page
    assert "/admin/imports/importrun/" in page
    run = ImportRun.objects.create(kind="items", file_name="a.csv")
    page = steward_browser.get("/admin/imports/importrun/").content.decode()
    assert f'href="/imports/{run.pk}/"' in page


def test_an_unknown_kind_is_a_404_naming_the_known_ones(steward_api, steward_browser):
    answer = steward_api.get("/api/v1/imports/templates/nope.csv")
    assert answer.status_code == 404
    assert "No kind 'nope' (known: items," in answer.json()["detail"]

    assert steward_browser.get("/imports/templates/nope.csv").status_code == 404
    assert steward_browser.get("/imports/exports/nope.csv").status_code == 404
