"""Reading and writing the hub's CSV files, streamed: a file is never held in memory whole.

Reading accepts UTF-8 with or without a byte order mark, comma or semicolon delimiters (the
header line decides), and cells neutralised against formula injection by our own export.
Anything else is refused up front with a sentence saying what is wrong and where: another
encoding (naming the line), binary data, malformed quoting, an empty file, a file over the
size limit, missing required or unknown columns.
"""

import collections
import csv
import hashlib
import re

from django.conf import settings

BOM = b"\xef\xbb\xbf"
SAMPLE_BYTES = 8192
# A cell a spreadsheet would run as a formula; our export prefixes such cells with an
# apostrophe (OWASP's advice), and the import takes exactly one apostrophe off again.
FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")
NEUTRALISED = re.compile(r"^'+[=+\-@\t\r]")
EXCEL_HINT = "save it from the spreadsheet as 'CSV UTF-8 (comma delimited)'"
# The most columns a header may have: well above any kind's (the widest has about 20), and
# low enough that checking and naming them stays quick however wide a hostile file is.
MAX_COLUMNS = 200
# A header problem names this many columns, then says how many more there are; a name is
# cut to NAME_CHARS characters.
NAMED_COLUMNS = 5
NAME_CHARS = 40


class FileError(Exception):
    """The file as a whole cannot be read; nothing is imported from it."""


def file_size(fileobj):
    position = fileobj.tell()
    fileobj.seek(0, 2)
    size = fileobj.tell()
    fileobj.seek(position)
    return size


def _check_start(head):
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileError(f"The file is UTF-16 text; {EXCEL_HINT}.")
    if head.startswith(b"PK\x03\x04"):
        raise FileError(f"The file is a spreadsheet workbook (e.g. .xlsx), not CSV; {EXCEL_HINT}.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileError(f"The file is an Excel 97-2003 workbook, not CSV; {EXCEL_HINT}.")
    if b"\x00" in head:
        raise FileError("The file contains binary data (NUL bytes); it is not a CSV text file.")
    if not head.removeprefix(BOM).strip():
        raise FileError("The file is empty.")


class CsvReader:
    """Rows of a CSV file as (row number, {header: cell}, problem). The row number is the
    file's line number where the row starts (the header is row 1), as a spreadsheet shows
    it. `problem` is a sentence for a row whose cells do not fit the header."""

    def __init__(self, fileobj, known_headers, required_headers, limit=None):
        self.fileobj = fileobj
        self.size = file_size(fileobj)
        limit = limit if limit is not None else settings.HUB_IMPORT_MAX_BYTES
        if self.size > limit:
            raise FileError(
                f"The file is {self.size:,} bytes; the limit is {limit:,} bytes. "
                "Split it into smaller files."
            )
        fileobj.seek(0)
        _check_start(fileobj.read(SAMPLE_BYTES))
        fileobj.seek(0)
        self.bytes_read = 0
        self.line = 0
        # The file's SHA-256 as read so far: a plan and its apply read the same file.
        self.digest = hashlib.sha256()
        # Where the row __iter__ yielded last starts in the file (rows_from() starts there).
        self.row_offset = 0
        self._line_base = 0
        lines = self._lines()
        try:
            first = next(lines)
        except StopIteration:
            raise FileError("The file is empty.") from None
        self.delimiter = ";" if _outside_quotes(first, ";") > _outside_quotes(first, ",") else ","
        self._reader = csv.reader(_chain(first, lines), delimiter=self.delimiter, strict=True)
        header = self._next()
        if header is None:
            raise FileError("The file is empty.")
        self.headers = [cell.strip().lower() for cell in header]
        self._check_headers(known_headers, required_headers)

    def _lines(self):
        # readline(), not iteration: a Django File iterates from its start, wherever it was
        # seeked to (rows_from).
        for raw in iter(self.fileobj.readline, b""):
            self.line += 1
            self.bytes_read += len(raw)
            self.digest.update(raw)
            if self.line == 1:
                raw = raw.removeprefix(BOM)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                byte = raw[exc.start]
                raise FileError(
                    f"Line {self.line} is not UTF-8 (byte 0x{byte:02X} at position "
                    f"{exc.start + 1}; the file looks like another encoding such as "
                    f"Windows-1252); {EXCEL_HINT}."
                ) from None

    def _next(self):
        try:
            return next(self._reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            raise FileError(
                f"Line {self._reader.line_num}: malformed quoting ({exc}). Put a cell that "
                "contains the delimiter, a quote or a line break in double quotes and double "
                'any quote inside it ("" ).'
            ) from None

    def _check_headers(self, known, required):
        """FileError naming what is wrong with the header: too many columns, blank, repeated,
        unknown or missing ones. Linear in the header's width, and the message names a few of
        each kind of problem, however wide the header."""
        if len(self.headers) > MAX_COLUMNS:
            raise FileError(
                f"Header (line 1): {len(self.headers):,} columns; the limit is {MAX_COLUMNS} "
                f"(this kind has {len(known)}: {', '.join(known)})."
            )
        problems = []
        blank = [str(position) for position, name in enumerate(self.headers, 1) if not name]
        if blank:
            problems.append(f"column(s) {_some(blank)} have no header")
        given = collections.Counter(name for name in self.headers if name)
        duplicates = sorted(name for name, count in given.items() if count > 1)
        if duplicates:
            problems.append(f"column(s) given twice: {_some(duplicates)}")
        unknown = [name for name in given if name not in known]
        if unknown:
            problems.append(f"unknown column(s): {_some(unknown)} (known: {', '.join(known)})")
        missing = [name for name in required if name not in given]
        if missing:
            problems.append(f"missing required column(s): {', '.join(missing)}")
        if problems:
            text = "; ".join(problems)
            raise FileError(f"Header (line 1): {text[0].upper()}{text[1:]}.")

    def __iter__(self):
        """(line number, cells as read, problem or None) of each row; cells() makes the row's
        cells of those."""
        any_row = False
        for row in self._rows():
            any_row = True
            yield row
        if not any_row:
            raise FileError("The file has a header but no rows.")

    def rows_from(self, offset, number, count):
        """`count` rows of the file from byte `offset`, where row `number` starts (a chunk of
        the file, as __iter__ found it)."""
        self.fileobj.seek(offset)
        self.bytes_read = offset
        self.line = self._line_base = number - 1
        self._reader = csv.reader(self._lines(), delimiter=self.delimiter, strict=True)
        for done, row in enumerate(self._rows(), start=1):
            yield row
            if done == count:
                return

    def _rows(self):
        width = len(self.headers)
        while True:
            self.row_offset = self.bytes_read
            start = self._line_base + self._reader.line_num + 1
            cells = self._next()
            if cells is None:
                break
            if not "".join(cells).strip():
                continue  # blank lines and rows of empty cells, as spreadsheets leave them
            problem = None
            if len(cells) > width and not any(cell.strip() for cell in cells[width:]):
                cells = cells[:width]
            if len(cells) != width:
                problem = (
                    f"{len(cells)} cells, but the header has {width} columns "
                    "(a missing or extra delimiter, or an unclosed quote?)"
                )
                cells = (cells + [""] * width)[:width]
            yield start, cells, problem

    def cells(self, values):
        """{header: cell} of a row's cells as read: trimmed, formula neutralisation undone."""
        if "'" not in "".join(values):  # nothing neutralised: trimming is all
            return dict(zip(self.headers, [value.strip() for value in values], strict=True))
        return dict(zip(self.headers, map(read_cell, values), strict=True))


def _some(names):
    """The first NAMED_COLUMNS names (each cut to NAME_CHARS), then "and N more"."""
    shown = [name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…" for name in names]
    text = ", ".join(shown[:NAMED_COLUMNS])
    if len(names) > NAMED_COLUMNS:
        text += f" and {len(names) - NAMED_COLUMNS:,} more"
    return text


def _outside_quotes(line, char):
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


def _chain(first, rest):
    yield first
    yield from rest


def read_cell(cell):
    cell = cell.strip()
    if cell.startswith("'") and NEUTRALISED.match(cell):
        return cell[1:]
    return cell


def neutralise(cell):
    """A cell safe to open in a spreadsheet: one that would start a formula gets a leading
    apostrophe, which read_cell() takes off again."""
    if cell and FORMULA_START.match(cell):
        return "'" + cell
    return cell


class CsvWriter:
    """Writes rows to a text file as CSV (comma, CRLF), neutralising formula cells."""

    def __init__(self, textfile, headers):
        self.headers = list(headers)
        self._writer = csv.writer(textfile)
        self._writer.writerow(self.headers)

    def write(self, row):
        self._writer.writerow([neutralise(row.get(name, "")) for name in self.headers])
