"""Exporting a kind as CSV in the import's own format (an exported file imported again plans
no change), and the header line of a kind for a steward to fill in."""

import io

from imports import reading
from imports.kinds import KINDS


def export_kind(kind_name, textfile):
    """Write every record of a kind as CSV; returns how many."""
    kind = KINDS[kind_name]
    writer = reading.CsvWriter(textfile, kind.headers)
    count = 0
    for record in _export_queryset(kind).iterator(chunk_size=2000):
        writer.write(kind.row_of(record))
        count += 1
    return count


def export_chunks(kind_name, rows_per_chunk=2000):
    """export_kind() as a stream of text chunks (for a streaming HTTP response)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")  # a byte order mark, so spreadsheets read the file as UTF-8
    kind = KINDS[kind_name]
    writer = reading.CsvWriter(buffer, kind.headers)
    for count, record in enumerate(_export_queryset(kind).iterator(chunk_size=2000), start=1):
        writer.write(kind.row_of(record))
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _export_queryset(kind):
    queryset = kind.model.objects.all()
    if kind.select_related:
        queryset = queryset.select_related(*kind.select_related)
    if kind.order_by:
        queryset = queryset.order_by(*kind.order_by)
    return queryset


def template_csv(kind_name):
    """The header line of a kind, for a steward to fill in: the columns an import writes.
    A read-only column (merged_into) is left out: it is the hub's to set, and a new row
    with it filled in is refused."""
    out = io.StringIO()
    reading.CsvWriter(out, KINDS[kind_name].writable_headers)
    return out.getvalue()
