"""Hostile CSV files, sent to the import API as a steward would (plan and apply in one call):
each is refused with a clear message, or planned with row errors and not applied, and no
table changes. One test per file of data/csv/, named KIND__WHAT.csv.

tests/imports/test_bad_input.py checks the import engine's refusals one by one; this corpus
sends the same kinds of file, and more, through the API, on SQLite and on PostgreSQL.
"""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mdm.models import Item
from tests.problems import errors_by_field

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "csv"
FILES = sorted(path.name for path in CORPUS.glob("*.csv"))
SAVE_AS_UTF8 = "save it from the spreadsheet as 'CSV UTF-8 (comma delimited)'"
QUOTING = "Put a cell that contains the delimiter, a quote or a line break in double quotes"
NOT_A_CODE = "number: Use letters, digits and . _ - only, starting with a letter or digit."
BINARY = "The file contains binary data (NUL bytes); it is not a CSV text file."
NUMBER_BOUND = (
    "give at most 18 digits before the decimal point and 12 after it (an exponent from -12 to +17)."
)
# However large the file, what the steward is told of it stays readable.
MESSAGE_CHARS = 1000

# What the steward is told about each file: the message of a refused file, or (a list) every
# row error of a file planned with errors.
EXPECTED = {
    "calendar_exceptions__impossible_dates.csv": [
        "Row 2, start: '2026-02-30' is not a date (YYYY-MM-DD).",
        "Row 3, start: '0000-01-01' is not a date (YYYY-MM-DD).",
        "Row 3, end: '0000-01-02' is not a date (YYYY-MM-DD).",
        "Row 4, start: '99999-01-01' is not a date (YYYY-MM-DD).",
        "Row 4, end: '99999-01-02' is not a date (YYYY-MM-DD).",
    ],
    "item_unit_conversions__decimal_overflow.csv": [
        "Row 2, factor: '100000000000000000000000000000'... (41 characters) is too large a "
        f"number: {NUMBER_BOUND}",
        f"Row 3, factor: '1e400' is too large a number: {NUMBER_BOUND}",
        "Row 4, factor: 'NaN' is not a number (use a dot for decimals).",
        "Row 5, factor: '-Infinity' is not a number (use a dot for decimals).",
        "Row 6, factor: '0.00000000000000000000000001' has too many decimal places: "
        + NUMBER_BOUND,
    ],
    "items__blank_lines.csv": "The file is empty.",
    "items__broken_quoting.csv": "Line 2: malformed quoting (',' expected after '\"'). " + QUOTING,
    "items__code_injection.csv": [f"Row 2, {NOT_A_CODE}", f"Row 3, {NOT_A_CODE}"],
    # A right-to-left override, and a combining accent, inside item numbers.
    "items__control_characters.csv": [f"Row 2, {NOT_A_CODE}", f"Row 3, {NOT_A_CODE}"],
    "items__cp1252_late_line.csv": "Line 5 is not UTF-8 (byte 0x96 at position 11; the file "
    f"looks like another encoding such as Windows-1252); {SAVE_AS_UTF8}.",
    "items__duplicate_header.csv": "Header (line 1): Column(s) given twice: description.",
    "items__duplicate_keys.csv": ["Row 3, number: Duplicate key (number='100'): already in row 2."],
    "items__empty.csv": "The submitted file is empty.",  # refused by the API itself (400)
    "items__gzip.csv": BINARY,
    "items__latin1.csv": "Line 2 is not UTF-8 (byte 0xD6 at position 5; the file looks like "
    f"another encoding such as Windows-1252); {SAVE_AS_UTF8}.",
    "items__missing_columns.csv": "Header (line 1): Missing required column(s): base_unit, "
    "item_type.",
    "items__mixed_delimiters.csv": [
        "Row 2: 1 cells, but the header has 4 columns (a missing or extra delimiter, or an "
        "unclosed quote?)"
    ],
    "items__net_weight_huge_exponent.csv": [
        f"Row 2, net_weight: '1e999999999' is too large a number: {NUMBER_BOUND}",
        f"Row 3, net_weight: '1e-999999999' has too many decimal places: {NUMBER_BOUND}",
        f"Row 4, net_weight: '1E+1000000' is too large a number: {NUMBER_BOUND}",
    ],
    "items__nul_in_cell.csv": BINARY,
    "items__overlong_cells.csv": [
        "Row 2, description: Ensure this value has at most 250 characters (it has 5000)."
    ],
    "items__pipe_delimited.csv": "Header (line 1): Unknown column(s): "
    "number|description|base_unit|item_type",
    "items__png_image.csv": BINARY,
    "items__quote_in_header.csv": "Line 2: malformed quoting (unexpected end of data). " + QUOTING,
    "items__ragged_rows.csv": [
        "Row 2: 2 cells, but the header has 4 columns (a missing or extra delimiter, or an "
        "unclosed quote?)",
        "Row 3: 6 cells, but the header has 4 columns (a missing or extra delimiter, or an "
        "unclosed quote?)",
    ],
    "items__tab_delimited.csv": "Header (line 1): Unknown column(s): "
    "number\tdescription\tbase_unit\titem_type",
    "items__unclosed_quote.csv": "Line 3: malformed quoting (unexpected end of data). " + QUOTING,
    "items__unknown_column.csv": "Header (line 1): Unknown column(s): colour (known: number,",
    "items__utf16_bom.csv": f"The file is UTF-16 text; {SAVE_AS_UTF8}.",
    # 60,000 columns, "description" twice among them: checked in linear time (a count per
    # column took 68 s) and refused at once for its width, in a message of bounded size.
    "items__wide_header.csv": "Header (line 1): 60,000 columns; the limit is 200 (this kind",
    "items__utf16le_no_bom.csv": BINARY,
    "items__utf8_bom_header_only.csv": "The file has a header but no rows.",
    "items__xlsx_workbook.csv": "The file is a spreadsheet workbook (e.g. .xlsx), not CSV; "
    f"{SAVE_AS_UTF8}.",
}


def send(api, capture, kind, name, data, mode="apply"):
    """POST the file to the import API and follow the run to its end (its task runs once the
    request's transaction commits); the run as the API shows it, or the 4xx body."""
    upload = SimpleUploadedFile(name, data, content_type="text/csv")
    with capture(execute=True):
        response = api.post(
            "/api/v1/imports/", {"kind": kind, "mode": mode, "file": upload}, format="multipart"
        )
    if response.status_code >= 400:
        return response.status_code, errors_by_field(response, response.status_code)
    run = api.get(f"/api/v1/imports/{response.json()['id']}/")
    return response.status_code, run.json()


def test_it_has_an_expectation_for_every_file():
    assert sorted(EXPECTED) == FILES


@pytest.mark.parametrize("name", FILES)
def test_it_refuses_the_file_and_writes_nothing(
    steward_key, unchanged, django_capture_on_commit_callbacks, name
):
    kind = name.split("__")[0]
    capture = django_capture_on_commit_callbacks
    code, run = send(steward_key, capture, kind, name, (CORPUS / name).read_bytes())
    expected = EXPECTED[name]
    if code == 400:
        assert run == {"file": [expected]}
    elif isinstance(expected, list):
        assert (code, run["status"], run["errors"]) == (202, "planned", expected)
        assert run["plan_counts"]["error"] >= 1
    else:
        assert (code, run["status"]) == (202, "failed")
        assert run["message"].startswith(expected), run["message"][:500]
        assert len(run["message"]) < MESSAGE_CHARS


def test_it_refuses_a_file_over_the_limit(
    steward_key, unchanged, settings, django_capture_on_commit_callbacks
):
    """The over-size file is made here: 64 KiB over a limit lowered to 1 MiB."""
    settings.HUB_IMPORT_MAX_BYTES = 1024 * 1024
    row = b"100,Bolt,H87,component\n"
    data = b"number,description,base_unit,item_type\n" + row * (1 + (1024 * 1088) // len(row))
    code, body = send(steward_key, django_capture_on_commit_callbacks, "items", "huge.csv", data)
    assert code == 400
    assert body["file"][0].startswith(f"The file is {len(data):,} bytes; the limit is 1,048,576")


def test_it_keeps_formulas_as_text_and_exports_them_neutralised(
    steward_key, stored, django_capture_on_commit_callbacks
):
    """Cells that a spreadsheet would run (=, +, -, @) are data: stored as sent, exported with
    a leading apostrophe, and the export imported again changes nothing."""
    data = (DATA / "items_formula_injection.csv").read_bytes()
    capture = django_capture_on_commit_callbacks
    _, run = send(steward_key, capture, "items", "formulas.csv", data)
    assert run["status"] == "applied", run
    assert Item.objects.get(number="F-1").description == "=cmd|' /C calc'!A0"
    exported = b"".join(steward_key.get("/api/v1/exports/items.csv").streaming_content)
    text = exported.decode("utf-8-sig")
    for cell in ("'=cmd|' /C calc'!A0", "'+SUM(1;2)", "'-2+3", "'@HYPERLINK", "'=1+1"):
        assert cell in text, cell
    _, again = send(steward_key, capture, "items", "again.csv", exported, mode="plan")
    assert again["plan_counts"]["unchanged"] == Item.objects.count()
    assert again["plan_counts"]["create"] == again["plan_counts"]["update"] == 0
