"""The EDI gateway's screens, under /edi/: the interchanges received and sent (newest first,
by partner, direction and status), and one interchange with its facts, its transaction sets
and the messages they became, the acknowledgements sent back, and its raw view: the
segments one per row, the offending ones highlighted.

Thin: the gateway (edi.receiving, edi.outbound) writes what these pages show. What is done
here is presentation: the words for codes, an error's first sentence, and the raw text cut
into segment rows (X12 at the segment offsets x12.parse gives, EDIFACT at its unreleased
segment terminators) with the rows that hold a problem's offset marked. Every page needs a
login with the permission to view interchanges (stewards and viewers have it); others get
403.
"""

import bisect
import re
from dataclasses import dataclass
from pathlib import PurePath

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode

from edi import edifact, x12
from edi.models import Interchange, Partner, Standard, TransactionSet
from validation.models import InboundMessage

VIEW_PERMISSION = "edi.view_interchange"
PER_PAGE = 50
# The raw view shows this many segments, then only those around an offending one (an 856 of
# a large shipment has tens of thousands); the download has them all.
ROWS_SHOWN = 1000
ROWS_AROUND = 5
# Only this much of an interchange is cut into rows on the page (the gateway takes up to
# HUB_EDI_MAX_BYTES); the download has the rest.
RAW_SHOWN_BYTES = 5 * 1024 * 1024
# Unknown sender: the partner filter's value for interchanges from no known partner.
UNKNOWN = "-"
Status = Interchange.Status

# What each transaction set or message is, in words (X12 codes and EDIFACT message types).
CONTENT_WORDS = {
    "850": "Purchase order",
    "855": "PO acknowledgement",
    "856": "Ship notice",
    "860": "PO change",
    "997": "Functional acknowledgement",
    "999": "Implementation acknowledgement",
    "TA1": "Interchange acknowledgement",
    "ORDERS": "Purchase order",
    "ORDRSP": "Order response",
    "DESADV": "Despatch advice",
    "CONTRL": "Syntax and service report",
}
# The meaning of an X12 problem's code, by its level.
X12_CODE_WORDS = {
    "interchange": x12.INTERCHANGE_NOTE_CODES,
    "group": x12.GROUP_ERROR_CODES,
    "transaction": x12.TRANSACTION_ERROR_CODES,
    "segment": x12.SEGMENT_ERROR_CODES,
    "element": x12.ELEMENT_ERROR_CODES,
}
# The meaning of an EDIFACT problem's syntax error code (0085, ISO 9735), as CONTRL says it.
EDIFACT_CODE_WORDS = {
    edifact.SYNTAX_NOT_SUPPORTED: "Syntax version or level not supported",
    edifact.INVALID_VALUE: "Invalid value",
    edifact.MISSING: "Missing",
    edifact.VALUE_NOT_SUPPORTED: "Value not supported in this position",
    edifact.NOT_SUPPORTED_IN_POSITION: "Not supported in this position",
    edifact.INVALID_CHARACTERS: "Invalid character(s)",
    edifact.INVALID_SERVICE_CHARACTERS: "Invalid service character(s)",
    edifact.DUPLICATE: "Duplication detected",
    edifact.REFERENCES_DO_NOT_MATCH: "References do not match",
    edifact.COUNT_DOES_NOT_MATCH: "Control count does not match number of instances received",
}
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
BYTE_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
BYTE_ORDER_MARK = b"\xef\xbb\xbf"
WHITESPACE = " \t\r\n"
# The first character of a line that holds anything (after CR, LF, CRLF or at the start).
LINE_START = re.compile(r"(?:\A|(?<=[\r\n]))[ \t]*(?=\S)")


def _require_view(user):
    if not user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied("You have no access to the EDI screens.")


# --- the list --------------------------------------------------------------------------------


@login_required
def interchanges(request):
    """The interchanges, newest first, filtered by partner, direction and status."""
    _require_view(request.user)
    partners = list(Partner.objects.order_by("name").values_list("name", flat=True))
    chosen = {
        "partner": _choice(request.GET, "partner", [UNKNOWN, *partners]),
        "direction": _choice(request.GET, "direction", Interchange.Direction.values),
        "status": _choice(request.GET, "status", Status.values),
    }
    found = Interchange.objects.select_related("partner").defer("raw")
    if chosen["partner"] == UNKNOWN:
        found = found.filter(partner__isnull=True)
    elif chosen["partner"]:
        found = found.filter(partner__name=chosen["partner"])
    if chosen["direction"]:
        found = found.filter(direction=chosen["direction"])
    if chosen["status"]:
        found = found.filter(status=chosen["status"])
    found = found.order_by("-received_at", "-pk").prefetch_related(
        Prefetch("transaction_sets", queryset=_sets()),
        Prefetch("acknowledgements", queryset=_briefly(Interchange.objects.order_by("pk"))),
        Prefetch("answers", queryset=_briefly(Interchange.objects.all())),
        Prefetch("message", queryset=_messages()),
    )
    page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    for shown in page:
        _describe(shown)
    filters = {name: value for name, value in chosen.items() if value}
    context = {
        "page": page,
        "chosen": chosen,
        "filtered": bool(filters),
        "partners": partners,
        "unknown": UNKNOWN,
        "directions": Interchange.Direction.choices,
        "statuses": Status.choices,
        "page_url": f"?{urlencode(filters)}&page=" if filters else "?page=",
    }
    return render(request, "edi/interchanges.html", context)


def _choice(query, name, allowed):
    value = query.get(name, "")
    return value if value in allowed else ""


def _sets():
    return TransactionSet.objects.select_related("message").only(
        "interchange", "code", "control", "status", "message__public_id", "message__status"
    )


def _briefly(interchanges):
    return interchanges.only(
        "public_id", "contents", "control", "status", "answers", "direction", "received_at"
    )


def _messages():
    return InboundMessage.objects.only("public_id", "status", "message_type")


def _describe(interchange):
    """The words the pages show for an interchange (set as attributes)."""
    interchange.summary = first_sentence(interchange.error)
    interchange.contents_shown = contents_in_words(interchange.contents)
    for found in interchange.transaction_sets.all():
        found.words = CONTENT_WORDS.get(found.code, "")
    interchange.partner_words = (
        interchange.partner.name
        if interchange.partner
        else f"unknown sender {interchange.sender}"
        if interchange.sender
        else "unknown sender (its header could not be read)"
    )


def first_sentence(text):
    """The first sentence of an error (the list shows it; the page has the rest)."""
    return SENTENCE_END.split(text.strip(), maxsplit=1)[0] if text else ""


def contents_in_words(contents):
    """[(words, code)] for "855, 856": [("PO acknowledgement", "855"), ("Ship notice", "856")]."""
    codes = [code.strip() for code in contents.split(",") if code.strip()]
    return [(CONTENT_WORDS.get(code, ""), code) for code in codes]


# --- one interchange -------------------------------------------------------------------------


@login_required
def interchange(request, public_id):
    """One interchange: its facts, transaction sets, acknowledgements and raw segments."""
    _require_view(request.user)
    found = _interchange(public_id)
    if found is None:
        words = (
            f"No interchange {public_id}: it may be older than the retention "
            "(HUB_EDI_RETENTION_DAYS) and purged. The list shows those there are."
        )
        return render(request, "edi/interchange.html", {"not_found": words}, status=404)
    _describe(found)
    raw = bytes(found.raw)
    rows, parsed = segment_rows(raw[:RAW_SHOWN_BYTES], found.standard)
    sets = list(found.transaction_sets.all())
    marks = _problem_rows(found, sets, parsed, rows)
    acknowledgements = list(found.acknowledgements.order_by("pk"))
    for answer in acknowledgements:
        answer.contents_shown = contents_in_words(answer.contents)
    offending = sorted(marks)
    context = {
        "interchange": found,
        "sets": sets,
        "acknowledgements": acknowledgements,
        "rows": shown_rows(rows, offending),
        "row_count": len(rows),
        "offending": offending,
        "cut": len(raw) > RAW_SHOWN_BYTES,
        "raw_shown_bytes": RAW_SHOWN_BYTES,
        "error_code_words": _code_words(found.standard, "interchange", found.error_code),
        "filename": download_name(found),
        "raw_url": reverse("edi:interchange-raw", args=[found.public_id]),
    }
    return render(request, "edi/interchange.html", context)


@login_required
def interchange_raw(request, public_id):
    """The interchange's bytes as received or sent, to download, under its file's name."""
    _require_view(request.user)
    found = Interchange.objects.filter(public_id=public_id).first()
    if found is None:
        return HttpResponse(
            f"No interchange {public_id}.", status=404, content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(bytes(found.raw), content_type="text/plain")
    response["Content-Disposition"] = content_disposition_header(True, download_name(found))
    return response


def _interchange(public_id):
    return (
        Interchange.objects.select_related("partner", "partner__system", "received_by")
        .prefetch_related(
            Prefetch(
                "transaction_sets",
                queryset=TransactionSet.objects.select_related("message").defer(
                    "message__payload", "message__released_payload", "message__diagnostics"
                ),
            ),
            Prefetch("answers", queryset=_briefly(Interchange.objects.all())),
            Prefetch("message", queryset=_messages()),
        )
        .filter(public_id=public_id)
        .first()
    )


def download_name(interchange):
    """The name of the file it came in (its last part), else its id with the standard's
    suffix, as the gateway writes outbound files."""
    if interchange.filename:
        return PurePath(interchange.filename.replace("\\", "/")).name or interchange.public_id
    suffix = {Standard.X12: "x12", Standard.EDIFACT: "edi"}.get(interchange.standard, "txt")
    return f"{interchange.public_id}.{suffix}"


def _code_words(standard, level, code):
    if not code:
        return ""
    if standard == Standard.EDIFACT:
        return EDIFACT_CODE_WORDS.get(code, "")
    return X12_CODE_WORDS.get(level, {}).get(code, "") if standard == Standard.X12 else ""


# --- the raw view ----------------------------------------------------------------------------


@dataclass
class SegmentRow:
    """One segment of the raw view: its number in the interchange, the line it starts on,
    its text, where it starts (a character offset in x12.decode's text for X12, a byte offset
    for EDIFACT: the units of the gateway's offsets), and whether a problem is there. A row
    with `skipped` stands for that many segments left out."""

    number: int
    line: int
    text: str
    start: int
    offending: bool = False
    skipped: int = 0


def segment_rows(raw, standard):
    """([SegmentRow], the parsed interchange or None) for the raw bytes of an interchange.

    X12: the text is cut at the offsets of the segments x12.parse read; when it cannot read
    it all, at those it read, then at the lines of the rest. EDIFACT: the bytes are cut after
    each segment terminator that is not released (the UNA's characters, or ' and ?).
    Anything else: at its lines."""
    if standard == Standard.EDIFACT:
        try:
            parsed = edifact.parse(raw)
        except edifact.EdifactError:
            parsed = None
        return _rows(raw, _edifact_starts(raw), BYTE_LINE_BREAK, x12.decode), parsed
    text = x12.decode(raw)
    parsed = None
    if standard == Standard.X12:
        try:
            parsed = x12.parse(raw)
            starts = [segment.offset for segment in parsed.segments]
        except x12.X12Error as error:
            read = error.interchange.segments if error.interchange else []
            starts = [segment.offset for segment in read]
            starts += _line_starts(text, starts[-1] + 1 if starts else 0)
    else:
        starts = _line_starts(text, 0)
    return _rows(text, starts, x12.LINE_BREAK, str), parsed


def _line_starts(text, begin):
    """Where each line that holds anything starts after `begin` (its first character that is
    not a space); the first line too when `begin` is 0."""
    return [match.end() for match in LINE_START.finditer(text, begin)]


def _edifact_starts(raw):
    """Where each segment starts in EDIFACT bytes: the UNA, then after each terminator."""
    position = _skip_space(raw, 0)
    if raw.startswith(BYTE_ORDER_MARK, position):
        position = _skip_space(raw, position + len(BYTE_ORDER_MARK))
    release, terminator, starts = ord("?"), ord("'"), []
    if raw.startswith(b"UNA", position) and len(raw) >= position + 9:
        release, terminator = raw[position + 6], raw[position + 8]
        release = None if release == ord(" ") else release  # a space: no release character
        starts.append(position)
        position = _skip_space(raw, position + 9)
    start = position
    while position < len(raw):
        byte = raw[position]
        position += 2 if byte == release else 1
        if byte == terminator:
            starts.append(start)
            position = start = _skip_space(raw, position)
    if start < len(raw):
        starts.append(start)  # an unterminated last segment
    return starts


def _skip_space(raw, position):
    while position < len(raw) and raw[position] in b" \t\r\n":
        position += 1
    return position


def _rows(content, starts, line_break, as_text):
    rows, line, previous = [], 1, 0
    bounds = [*starts, len(content)]
    for number, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False), start=1):
        line += len(line_break.findall(content, previous, start))
        previous = start
        rows.append(SegmentRow(number, line, as_text(content[start:end]).rstrip(WHITESPACE), start))
    return rows


def row_at(rows, offset):
    """The row holding `offset` (the last that starts at or before it), or None."""
    if not rows or offset is None:
        return None
    index = bisect.bisect_right([row.start for row in rows], offset) - 1
    return rows[max(index, 0)]


def shown_rows(rows, offending):
    """The rows the page shows: the first ROWS_SHOWN, and beyond them those within
    ROWS_AROUND of an offending row; each run left out becomes one row saying how many."""
    near = {
        number for mark in offending for number in range(mark - ROWS_AROUND, mark + ROWS_AROUND + 1)
    }
    shown, skipped = [], 0
    for row in rows:
        if row.number <= ROWS_SHOWN or row.number in near:
            if skipped:
                shown.append(SegmentRow(0, 0, "", 0, skipped=skipped))
                skipped = 0
            shown.append(row)
        else:
            skipped += 1
    if skipped:
        shown.append(SegmentRow(0, 0, "", 0, skipped=skipped))
    return shown


def _problem_rows(interchange, sets, parsed, rows):
    """Mark the rows that hold the interchange's error and the problems of its rejected
    sets; give each problem its row and words. Returns the offending rows' numbers."""
    marks = set()

    def mark(offset):
        row = row_at(rows, offset)
        if row is not None:
            row.offending = True
            marks.add(row.number)
        return row

    interchange.error_row = mark(interchange.error_offset)
    for found in sets:
        found.contents_shown = contents_in_words(found.code)
        found.shown_problems = []
        problems = list(found.problems)
        if found.status == TransactionSet.Status.REJECTED and not problems:
            problems = _group_problems(parsed, found)
            found.from_group = bool(problems)
        for problem in problems:
            offset = problem.get("offset")
            if offset is None and problem.get("segment_position"):
                offset = _offset_of_position(parsed, found, problem["segment_position"])
            row = mark(offset) if found.status == TransactionSet.Status.REJECTED else None
            found.shown_problems.append(
                {
                    **problem,
                    "row": row,
                    "code_words": _code_words(
                        interchange.standard, problem.get("level"), problem.get("code")
                    ),
                }
            )
    return marks


def _group_problems(parsed, found):
    """The problems of the X12 group a set was rejected with (the set's record keeps only its
    own), as the parse finds them."""
    if not isinstance(parsed, x12.Interchange):
        return []
    for group in parsed.groups:
        if group.control == found.group_control:
            return [_problem_dict(problem) for problem in group.problems]
    return []


def _problem_dict(problem):
    return {
        name: getattr(problem, name)
        for name in ("level", "code", "message", "segment_position", "segment_tag", "offset")
        if getattr(problem, name) not in (None, "")
    }


def _offset_of_position(parsed, found, position):
    """Where segment `position` (1 = ST or UNH) of a set starts, from the parse; a position
    past its end is its last segment (a missing one would have come there)."""
    segments = []
    if isinstance(parsed, x12.Interchange):
        for group in parsed.groups:
            for transaction in group.transactions:
                if (group.control, transaction.control) == (found.group_control, found.control):
                    segments = transaction.segments
    elif isinstance(parsed, edifact.Interchange):
        for message in parsed.messages:
            if message.reference == found.control:
                segments = message.segments
    if not segments:
        return None
    return segments[min(position, len(segments)) - 1].offset
