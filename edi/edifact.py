"""EDIFACT interchanges read with pydifact: the envelope (UNA, UNB ... UNZ) and its messages
(UNH ... UNT), with every fault found on the way as a Problem in the terms of a CONTRL
syntax and service report (the ISO 9735 syntax error codes of data element 0085, segment and
element positions), so that the gateway can answer the sender and show the offending segment.

parse() checks:
- the service string advice UNA when there is one (else the default characters ":+.? '");
  the release character ("?" by default) is honoured in every value;
- the UNB header: syntax identifier and version, sender, recipient, control reference, test
  indicator (UNB11 "1");
- each message's UNH/UNT pair: UNT02 repeats UNH01, UNT01 counts the message's segments (UNH
  and UNT included), no two messages share a reference, and the message is one this gateway
  reads (ORDRSP, DESADV or ORDERS of directory D.96A);
- the UNZ trailer: UNZ02 repeats UNB05, UNZ01 counts the messages.
An interchange that cannot be read as one (no UNB, no UNZ because it is truncated, a UNZ that
does not close its UNB) raises EdifactError; every other fault becomes a Problem on the
interchange or on its message and reading goes on, so that one CONTRL can report them all.
Functional groups (UNG ... UNE) are not supported: they are reported, not read.

Positions follow CONTRL: a segment's position counts from its message's UNH (1); an element's
position counts the data elements after the tag (BGM's 1004 is element 2), its component the
components of a composite (DTM's 2380 is element 1, component 2). Offsets are where a segment
starts in the raw interchange: in bytes when parse() was given bytes, in characters when it
was given text.

pydifact 0.2.3 reads the segments (tokenizer, release character, composites); it ships no
D.96A or service directory, so its own per-segment check is switched off here (it would only
warn), and the checks above are this module's.
"""

import dataclasses
import re
from dataclasses import dataclass, field

from pydifact.constants import EDI_DEFAULT_VERSION
from pydifact.control import Characters
from pydifact.exceptions import EDISyntaxError
from pydifact.parser import Parser
from pydifact.segments import SegmentFactory

# The messages this gateway reads, all of directory D.96A.
SUPPORTED_TYPES = ("ORDRSP", "DESADV", "ORDERS")
VERSION = "D:96A:UN"

# The syntax identifiers (0001) and the character sets they stand for.
CODECS = {
    "UNOA": "ascii",
    "UNOB": "ascii",
    "UNOC": "latin-1",
    "UNOD": "iso8859_2",
    "UNOE": "iso8859_5",
    "UNOF": "iso8859_7",
    "UNOW": "utf-8",
    "UNOY": "utf-8",
}
SYNTAX_VERSIONS = ("1", "2", "3", "4")

# Syntax error codes (0085) used by this gateway.
SYNTAX_NOT_SUPPORTED = "2"
INVALID_VALUE = "12"
MISSING = "13"
VALUE_NOT_SUPPORTED = "14"
NOT_SUPPORTED_IN_POSITION = "15"
INVALID_CHARACTERS = "21"
INVALID_SERVICE_CHARACTERS = "22"
DUPLICATE = "26"
REFERENCES_DO_NOT_MATCH = "28"
COUNT_DOES_NOT_MATCH = "29"

WHITESPACE = "\r\n\t "
# A byte order mark some tools write first: as UTF-8 reads it, and as one-byte sets read it.
BYTE_ORDER_MARKS = ("\ufeff", "\xef\xbb\xbf")


@dataclass(frozen=True)
class Problem:
    """One fault of an interchange, in CONTRL's terms: its level ("interchange", "message",
    "segment", "element"), its syntax error code (0085), a sentence saying what and where, and
    the position of the segment (1-based within the message, UNH = 1), its tag, the element
    (1-based after the tag) and component, and the segment's offset in the raw interchange."""

    level: str
    code: str
    message: str
    segment_position: int | None = None
    segment_tag: str = ""
    element_position: int | None = None
    offset: int | None = None
    component_position: int | None = None


@dataclass(frozen=True)
class Segment:
    """A segment as pydifact read it (its elements: a string, or a list of component strings
    for a composite), with its position in its message (0 outside one) and its offset."""

    tag: str
    elements: list
    position: int
    offset: int | None

    def value(self, element, component=1):
        """The text of an element (1-based after the tag) or of one of its components; ""
        when absent."""
        if element > len(self.elements):
            return ""
        item = self.elements[element - 1]
        if isinstance(item, list):
            return item[component - 1] if component <= len(item) else ""
        return item if component == 1 else ""

    def components(self, element):
        """Every component of an element, as a list of strings (empty when absent)."""
        if element > len(self.elements):
            return []
        item = self.elements[element - 1]
        return list(item) if isinstance(item, list) else [item]


@dataclass
class Message:
    """One message (UNH ... UNT) of an interchange: its type ("ORDRSP"), version
    ("D:96A:UN"), reference (UNH01), segments from UNH to UNT, and its problems."""

    type: str
    version: str
    reference: str
    segments: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    offset: int | None = None

    @property
    def identifier(self):
        """UNH's S009 as sent: [type, version, release, agency]."""
        return [self.type, *self.version.split(":")] if self.version else [self.type]


@dataclass
class Interchange:
    """An interchange (UNB ... UNZ): who sent it to whom, its control reference (UNB05), when
    (UNB's date and time as sent), its syntax, its messages and the problems of its envelope."""

    sender: str
    sender_qualifier: str
    recipient: str
    recipient_qualifier: str
    control: str
    date: str
    time: str
    syntax: str
    messages: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    test: bool = False
    syntax_version: str = ""


class EdifactError(Exception):
    """The data cannot be read as an interchange. `problem` says why; `interchange` is what
    was read of it when its UNB was readable (enough to answer with a CONTRL), else None."""

    def __init__(self, problem, interchange=None):
        super().__init__(problem.message)
        self.problem = problem
        self.interchange = interchange


class _Segments(SegmentFactory):
    """pydifact's segment factory without its per-segment check (see the module docstring)."""

    @staticmethod
    def create_segment(name, *elements, validate=False, version=EDI_DEFAULT_VERSION, directory=""):
        return SegmentFactory.create_segment(
            name, *elements, validate=False, version=version, directory=directory
        )


def parse(raw):
    """Read an interchange (bytes as received, or text) into an Interchange; raises
    EdifactError when it cannot be read as one."""
    problems = []
    if isinstance(raw, bytes):
        text, codec = _decode(raw, problems)
    else:
        text, codec = raw, None
    body = text.lstrip(WHITESPACE)
    for mark in BYTE_ORDER_MARKS:
        body = body.removeprefix(mark)
    body = body.lstrip(WHITESPACE)
    lead = len(text) - len(body)
    if not body.startswith(("UNA", "UNB")):
        raise EdifactError(_no_header(repr(body[:3]) if body else "nothing", lead))
    characters, start = _service_characters(body, lead)
    offsets, terminated = _segment_offsets(body, start, characters)
    raw_offsets = _raw_offsets(text, [lead + offset for offset in offsets], codec)
    segments = _read_segments(body, characters, raw_offsets, terminated)
    return _read_envelope(segments, problems)


def _decode(raw, problems):
    """The text of the interchange in the character set its UNB names. Bytes outside that set
    are a problem; the text is then read byte for byte (Latin-1) so offsets stay true."""
    match = re.match(rb"\s*(?:\xef\xbb\xbf)?\s*(?:UNA.{6}\s*)?UNB.(UNO[A-Z])", raw[:80], re.DOTALL)
    syntax = match.group(1).decode() if match else ""
    codec = CODECS.get(syntax, "utf-8")
    try:
        return raw.decode(codec), codec
    except UnicodeDecodeError as error:
        problems.append(
            Problem(
                "interchange",
                INVALID_CHARACTERS,
                f"Byte {error.start} (0x{raw[error.start]:02X}) is not a character of "
                + (f"the {syntax} character set the UNB declares." if syntax else "UTF-8."),
                offset=error.start,
            )
        )
        return raw.decode("latin-1"), "latin-1"


def _service_characters(body, lead):
    """The control characters from the UNA (or the defaults) and where the segments start."""
    if not body.startswith("UNA"):
        return Characters(decimal_point="."), 0
    if len(body) < 9:
        raise EdifactError(
            Problem(
                "interchange",
                INVALID_SERVICE_CHARACTERS,
                "The UNA service string advice is cut short: it needs six characters after UNA.",
                segment_tag="UNA",
                offset=lead,
            )
        )
    characters = Characters.from_str(body[:9])
    separators = (
        characters.component_separator,
        characters.data_separator,
        characters.escape_character,
        characters.segment_terminator,
    )
    if len(set(separators)) < 4:
        raise EdifactError(
            Problem(
                "interchange",
                INVALID_SERVICE_CHARACTERS,
                f"The UNA service string advice {body[:9]!r} uses one character for two "
                "purposes: the component and data separators, the release character and the "
                "segment terminator must all differ.",
                segment_tag="UNA",
                offset=lead,
            )
        )
    return characters, 9


def _segment_offsets(body, start, characters):
    """Where each segment after the UNA starts, skipping what pydifact skips (line breaks
    after the UNA, spaces and line breaks after each segment terminator), and whether the last
    segment has its terminator."""
    release, terminator = characters.escape_character, characters.segment_terminator
    offsets = []
    position = start
    while position < len(body) and body[position] in "\r\n":
        position += 1
    segment_start = position
    while position < len(body):
        character = body[position]
        if character == release:
            position += 2
            continue
        position += 1
        if character == terminator:
            offsets.append(segment_start)
            while position < len(body) and body[position] in " \r\n":
                position += 1
            segment_start = position
    if segment_start < len(body):
        offsets.append(segment_start)  # the start of an unterminated last segment
        return offsets, False
    return offsets, True


def _raw_offsets(text, offsets, codec):
    """Character offsets as offsets in the raw bytes (the same for one-byte character sets)."""
    if codec != "utf-8" or text.isascii():
        return offsets
    raw_offsets, done, total = [], 0, 0
    for offset in offsets:
        total += len(text[done:offset].encode(codec))
        raw_offsets.append(total)
        done = offset
    return raw_offsets


def _read_segments(body, characters, offsets, terminated):
    """The segments pydifact reads, each with its offset."""
    parser = Parser(factory=_Segments(), characters=characters)
    segments = []
    try:
        for segment in parser.parse(body, characters=characters):
            if segment.tag == "UNA":
                continue
            offset = offsets[len(segments)] if len(segments) < len(offsets) else None
            segments.append(Segment(segment.tag, list(segment.elements), 0, offset))
    except (EDISyntaxError, ValueError) as error:
        index = len(segments)
        offset = offsets[index] if index < len(offsets) else None
        if not terminated and index >= len(offsets) - 1:
            text = (
                "The interchange is truncated: it ends inside the segment that starts at "
                f"offset {offset}, with no segment terminator and no UNZ trailer after it."
            )
            problem = Problem("interchange", MISSING, text, segment_tag="UNZ", offset=offset)
        else:
            text = f"The segment at offset {offset} cannot be read: {error}"
            problem = Problem("interchange", INVALID_VALUE, text, offset=offset)
        raise EdifactError(problem) from error
    return segments


def _read_envelope(segments, problems):
    if not segments or segments[0].tag != "UNB":
        found = f"{segments[0].tag} after its UNA" if segments else "nothing after its UNA"
        raise EdifactError(_no_header(found, segments[0].offset if segments else 0))
    unb = segments[0]
    _check_header(unb)
    interchange = Interchange(
        sender=unb.value(2, 1),
        sender_qualifier=unb.value(2, 2),
        recipient=unb.value(3, 1),
        recipient_qualifier=unb.value(3, 2),
        control=unb.value(5),
        date=unb.value(4, 1),
        time=unb.value(4, 2),
        syntax=unb.value(1, 1),
        syntax_version=unb.value(1, 2),
        test=unb.value(11) == "1",
        problems=problems,
    )
    _check_syntax(interchange, unb)
    unz = _read_messages(interchange, segments[1:])
    _check_trailer(interchange, unz, segments[-1])
    return interchange


def _no_header(found, offset):
    return Problem(
        "interchange",
        MISSING,
        f"No UNB interchange header: an interchange starts with UNA or UNB, this one has {found}.",
        segment_tag="UNB",
        offset=offset,
    )


def _check_header(unb):
    for element, name in ((2, "sender"), (3, "recipient"), (5, "control reference")):
        if not unb.value(element):
            raise EdifactError(
                Problem(
                    "interchange",
                    MISSING,
                    f"The UNB header has no interchange {name} (UNB element {element}).",
                    segment_tag="UNB",
                    element_position=element,
                    offset=unb.offset,
                )
            )


def _check_syntax(interchange, unb):
    if interchange.syntax not in CODECS:
        interchange.problems.append(
            Problem(
                "interchange",
                SYNTAX_NOT_SUPPORTED,
                f"Syntax identifier {interchange.syntax!r} (UNB element 1) is not supported; "
                f"send one of {', '.join(CODECS)}.",
                segment_tag="UNB",
                element_position=1,
                component_position=1,
                offset=unb.offset,
            )
        )
    if interchange.syntax_version not in SYNTAX_VERSIONS:
        interchange.problems.append(
            Problem(
                "interchange",
                SYNTAX_NOT_SUPPORTED,
                f"Syntax version {interchange.syntax_version!r} (UNB element 1, component 2) "
                "is not supported; send 1 to 4.",
                segment_tag="UNB",
                element_position=1,
                component_position=2,
                offset=unb.offset,
            )
        )


def _read_messages(interchange, segments):
    """Sort the segments after the UNB into messages; returns the UNZ (None when missing)."""
    message = None
    for segment in segments:
        tag = segment.tag
        if tag == "UNZ":
            if message is not None:
                _missing_trailer(message)
            return segment
        if tag == "UNH":
            if message is not None:
                _missing_trailer(message)
            message = _open_message(interchange, segment)
        elif tag == "UNT" and message is not None:
            _close_message(message, segment)
            message = None
        elif tag in ("UNG", "UNE"):
            if not any(p.segment_tag == "UNG" for p in interchange.problems):
                interchange.problems.append(
                    Problem(
                        "interchange",
                        NOT_SUPPORTED_IN_POSITION,
                        "Functional groups (UNG ... UNE) are not supported: send the messages "
                        "directly in the interchange.",
                        segment_tag="UNG",
                        offset=segment.offset,
                    )
                )
        elif message is None:
            interchange.problems.append(
                Problem(
                    "interchange",
                    NOT_SUPPORTED_IN_POSITION,
                    f"Segment {tag} at offset {segment.offset} is outside any message: only "
                    "UNH ... UNT messages may stand between UNB and UNZ.",
                    segment_tag=tag,
                    offset=segment.offset,
                )
            )
        else:
            _append(message, segment)
    return None


def _append(message, segment):
    positioned = dataclasses.replace(segment, position=len(message.segments) + 1)
    message.segments.append(positioned)
    return positioned


def _open_message(interchange, unh):
    identifier = unh.components(2)
    message = Message(
        type=unh.value(2, 1),
        version=":".join(identifier[1:4]),
        reference=unh.value(1),
        offset=unh.offset,
    )
    references = {m.reference for m in interchange.messages}
    interchange.messages.append(message)
    unh = _append(message, unh)
    if not message.reference:
        _unh_problem(message, unh, MISSING, "The UNH has no message reference (UNH element 1).", 1)
    elif message.reference in references:
        _unh_problem(
            message,
            unh,
            DUPLICATE,
            f"Message reference {message.reference!r} (UNH element 1) is used by an earlier "
            "message of this interchange.",
            1,
        )
    if not message.type:
        text = "The UNH names no message type (UNH element 2, component 1)."
        _unh_problem(message, unh, MISSING, text, 2, 1)
    elif message.type not in SUPPORTED_TYPES:
        text = (
            f"Message type {message.type} is not read here; send one of "
            f"{', '.join(SUPPORTED_TYPES)}."
        )
        _unh_problem(message, unh, VALUE_NOT_SUPPORTED, text, 2, 1)
    elif message.version != VERSION:
        sent = (identifier[1:4] + ["", "", ""])[:3]
        component = 2 + next(i for i, part in enumerate(VERSION.split(":")) if sent[i] != part)
        text = (
            f"{message.type} version {message.version or '(none)'} is not read here; send "
            f"{message.type}:{VERSION}."
        )
        _unh_problem(message, unh, VALUE_NOT_SUPPORTED, text, 2, component)
    return message


def _unh_problem(message, unh, code, text, element, component=None):
    problem = Problem("message", code, text, 1, "UNH", element, unh.offset, component)
    message.problems.append(problem)


def _close_message(message, unt):
    unt = _append(message, unt)
    count, reference = unt.value(1), unt.value(2)
    if not (count.isdigit() and int(count) == unt.position):
        message.problems.append(
            Problem(
                "message",
                COUNT_DOES_NOT_MATCH,
                f"UNT element 1 says message {message.reference} has {count or 'no'} segments; "
                f"it has {unt.position}, UNH and UNT included.",
                unt.position,
                "UNT",
                1,
                unt.offset,
            )
        )
    if reference != message.reference:
        message.problems.append(
            Problem(
                "message",
                REFERENCES_DO_NOT_MATCH,
                f"UNT element 2 ({reference or 'empty'}) does not repeat the message reference "
                f"{message.reference} of its UNH.",
                unt.position,
                "UNT",
                2,
                unt.offset,
            )
        )


def _missing_trailer(message):
    last = message.segments[-1]
    message.problems.append(
        Problem(
            "message",
            MISSING,
            f"Message {message.reference} has no UNT trailer: it ends after its segment "
            f"{last.position} ({last.tag}).",
            last.position,
            "UNT",
            offset=last.offset,
        )
    )


def _check_trailer(interchange, unz, last):
    if unz is None:
        text = (
            f"The interchange is truncated: it has no UNZ trailer (its last segment is "
            f"{last.tag}, at offset {last.offset})."
        )
        _fail(interchange, MISSING, text, None, last.offset)
    if unz is not last:
        interchange.problems.append(
            Problem(
                "interchange",
                NOT_SUPPORTED_IN_POSITION,
                "There are segments after the UNZ trailer; they were not read.",
                segment_tag="UNZ",
                offset=unz.offset,
            )
        )
    if unz.value(2) != interchange.control:
        text = (
            f"UNZ element 2 ({unz.value(2) or 'empty'}) does not repeat the interchange control "
            f"reference {interchange.control} of the UNB."
        )
        _fail(interchange, REFERENCES_DO_NOT_MATCH, text, 2, unz.offset)
    count = unz.value(1)
    if not (count.isdigit() and int(count) == len(interchange.messages)):
        text = (
            f"UNZ element 1 says the interchange holds {count or 'no'} messages; it holds "
            f"{len(interchange.messages)}."
        )
        _fail(interchange, COUNT_DOES_NOT_MATCH, text, 1, unz.offset)


def _fail(interchange, code, text, element, offset):
    """Record a fault of the UNZ trailer on the interchange and stop reading."""
    problem = Problem("interchange", code, text, None, "UNZ", element, offset)
    interchange.problems.append(problem)
    raise EdifactError(problem, interchange)
