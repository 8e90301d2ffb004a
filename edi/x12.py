"""Read and write ANSI X12 interchanges (ISA/GS/ST ... SE/GE/IEA) without a transaction schema.

`parse()` turns raw bytes into an `Interchange` of functional groups and transaction sets, each
a list of `Segment`s, and checks the envelopes the way a functional acknowledgement reports
them. It takes the delimiters from the ISA, whatever they are (`~` as element separator, `*`
or U+2026 as segment terminator, a bare line break as terminator), and tolerates what real
partners send: a UTF-8 byte order mark, line breaks after terminators, indented segments.

What is wrong is said two ways:
- an interchange that cannot be read at all (no ISA, a malformed ISA, no IEA, ISA13 and IEA02
  differ, mixed delimiters, data after the IEA ...) raises `X12Error`, whose `.problem` carries
  the TA1 interchange note code (I18); `.interchange` holds the ISA header when the ISA could be
  read, so that a TA1 can go back to the sender;
- a broken group or transaction set envelope (GS06/GE02, GE01, ST02/SE02, SE01, a missing
  trailer, a segment id of the wrong shape) is recorded as a `Problem` on its `Group` or
  `TransactionSet`, with the code the 997/999 uses, and the rest of the interchange is read.

`render()` writes segments back out with given delimiters (the 997/999 and the 850 writer use
it). The code lists below are those of the X12 standard (element numbers I18, 716, 718, 720,
723), trimmed to the codes this hub reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

# I18 Interchange Note Code (TA105): the interchange cannot be read.
INTERCHANGE_NOTE_CODES = {
    "001": "The interchange control number in the header and trailer do not match",
    "004": "The segment terminator is invalid",
    "018": "Invalid interchange control number value",
    "021": "Invalid number of included groups value",
    "022": "Invalid control structure",
    "023": "Improper (premature) end-of-file (transmission)",
    "024": "Invalid interchange content (e.g. invalid GS segment)",
    "025": "Duplicate interchange control number",
    "026": "Invalid data element separator",
    "027": "Invalid component element separator",
}

# 716 Functional Group Syntax Error Code (AK905..AK909).
GROUP_ERROR_CODES = {
    "1": "Functional group not supported",
    "2": "Functional group version not supported",
    "3": "Functional group trailer missing",
    "4": "Group control number in the functional group header and trailer do not agree",
    "5": "Number of included transaction sets does not match actual count",
    "6": "Group control number violates syntax",
}

# 718 Transaction Set Syntax Error Code (AK502..AK506); the 999's IK502 (618) uses the same
# numbers for these.
TRANSACTION_ERROR_CODES = {
    "1": "Transaction set not supported",
    "2": "Transaction set trailer missing",
    "3": "Transaction set control number in header and trailer do not match",
    "4": "Number of included segments does not match actual count",
    "5": "One or more segments in error",
    "6": "Missing or invalid transaction set identifier",
    "7": "Missing or invalid transaction set control number",
    "23": "Transaction set control number not unique within the functional group",
}

# 720 Segment Syntax Error Code (AK304; the 999's IK304, 620, uses the same numbers).
SEGMENT_ERROR_CODES = {
    "1": "Unrecognized segment ID",
    "2": "Unexpected segment",
    "3": "Mandatory segment missing",
    "8": "Segment has data element errors",
}

# 723 Data Element Syntax Error Code (AK403; the 999's IK403, 621, uses the same numbers).
ELEMENT_ERROR_CODES = {
    "1": "Mandatory data element missing",
    "2": "Conditional required data element missing",
    "3": "Too many data elements",
    "4": "Data element too short",
    "5": "Data element too long",
    "6": "Invalid character in data element",
    "7": "Invalid code value",
    "8": "Invalid date",
    "9": "Invalid time",
}

# The ISA is fixed-width: ISA01..ISA16, each of exactly this many characters.
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
ISA_FIELD_NAMES = [
    "authorization information qualifier",
    "authorization information",
    "security information qualifier",
    "security information",
    "sender id qualifier",
    "sender id",
    "receiver id qualifier",
    "receiver id",
    "date",
    "time",
    "repetition separator / standards identifier",
    "version",
    "control number",
    "acknowledgment requested",
    "usage indicator",
    "component element separator",
]
ISA_LENGTH = 106  # "ISA", 16 separators, the fields, and the segment terminator

SEGMENT_TAG = re.compile(r"[A-Z][A-Z0-9]{1,2}")
# A segment id followed by a separator that is not the declared one: mixed delimiters.
FOREIGN_SEPARATOR = re.compile(r"([A-Z][A-Z0-9]{1,2})([^A-Za-z0-9\s])")
LINE_BREAK = re.compile(r"\r\n|\r|\n")
WHITESPACE = " \t\r\n"


@dataclass(frozen=True)
class Delimiters:
    """The separators an interchange declares in its ISA."""

    element: str
    component: str
    repetition: str | None
    segment: str


@dataclass(slots=True)  # an interchange holds many: slots keep them small
class Segment:
    """One segment: its id and its elements (elements[0] is the first element after the id)."""

    tag: str
    elements: list[str]
    position: int  # within its transaction set (ST = 1); envelope segments: in the interchange
    offset: int  # character offset in decode(raw) where the segment starts
    delimiters: Delimiters | None = field(default=None, repr=False, compare=False)

    def element(self, n: int) -> str:
        """Element n (1-based, BAK03 is element(3)), or "" when the segment is shorter."""
        return self.elements[n - 1] if 1 <= n <= len(self.elements) else ""

    def components(self, n: int) -> list[str]:
        """Element n split on the component separator; [] when the element is empty."""
        value = self.element(n)
        if not value:
            return []
        if self.delimiters is None:
            return [value]
        return value.split(self.delimiters.component)


@dataclass(frozen=True)
class Problem:
    """Something wrong with an interchange, with the X12 code its acknowledgement reports."""

    level: str  # "interchange", "group", "transaction", "segment", "element"
    code: str  # I18 (interchange), 716 (group), 718 (transaction), 720 (segment), 723 (element)
    message: str
    segment_position: int | None = None  # within its transaction set; envelope: in interchange
    segment_tag: str = ""
    element_position: int | None = None
    offset: int | None = None


@dataclass
class TransactionSet:
    """One ST ... SE transaction set."""

    code: str  # ST01
    control: str  # ST02
    segments: list[Segment]  # ST through SE inclusive
    implementation: str = ""  # ST03
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Group:
    """One GS ... GE functional group."""

    functional_id: str  # GS01
    sender: str  # GS02
    receiver: str  # GS03
    date: str  # GS04
    time: str  # GS05
    control: str  # GS06
    version: str  # GS08
    transactions: list[TransactionSet] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    trailer: Segment | None = None  # the GE, or None when it is missing


@dataclass
class Interchange:
    """One ISA ... IEA interchange."""

    sender_qualifier: str  # ISA05
    sender_id: str  # ISA06, stripped
    receiver_qualifier: str  # ISA07
    receiver_id: str  # ISA08, stripped
    date: str  # ISA09 YYMMDD
    time: str  # ISA10 HHMM
    version: str  # ISA12
    control: str  # ISA13
    ack_requested: bool  # ISA14 == "1"
    usage: str  # ISA15: P production, T test
    delimiters: Delimiters
    groups: list[Group] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)  # every segment, in order


class X12Error(Exception):
    """The interchange cannot be read at all.

    `.problem` is a Problem at "interchange" level with its TA1 note code (I18); `.interchange`
    is the ISA header (no groups) when the ISA itself could be read, else None.
    """

    def __init__(self, problem: Problem, interchange: Interchange | None = None):
        super().__init__(problem.message)
        self.problem = problem
        self.interchange = interchange


def decode(raw: bytes | str) -> str:
    """The text offsets refer to: UTF-8 (latin-1 when that fails), without a byte order mark."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    else:
        text = raw
    return text.removeprefix("\ufeff")


def line_of(text: str, offset: int) -> int:
    """The 1-based line number of a character offset (CR, LF and CRLF all end a line)."""
    return len(LINE_BREAK.findall(text, 0, offset)) + 1


def parse(raw: bytes | str) -> Interchange:
    """Read one interchange; raise X12Error when it cannot be read at all."""
    text = decode(raw)
    start, interchange = _read_isa(text)
    reader = _Reader(text, interchange)
    reader.add_envelope(_isa_segment(text, start, interchange.delimiters))
    for offset, body, terminated in _pieces(text, start + ISA_LENGTH, interchange.delimiters):
        if reader.finished:
            message = (
                f"There is data after the IEA trailer, at line {line_of(text, offset)}: "
                f"{body[:40]!r}."
            )
            reader.fail("022", message, offset=offset)
        segment = reader.tokenize(offset, body)
        if not terminated and segment.tag != "IEA":
            reader.fail(
                "023",
                f"The interchange is cut off: it ends inside segment {body[:40]!r} at line "
                f"{line_of(text, offset)}, with no segment terminator and no IEA trailer.",
                offset=offset,
            )
        reader.read(segment)
    if not reader.finished:
        last = interchange.segments[-1]
        reader.fail(
            "023",
            f"The interchange is cut off: it ends after {last.tag} at line "
            f"{line_of(text, last.offset)} without its IEA trailer.",
            offset=last.offset,
        )
    return interchange


def _fatal(code: str, message: str, offset: int | None = None, interchange=None) -> X12Error:
    return X12Error(Problem("interchange", code, message, offset=offset), interchange)


def _read_isa(text: str) -> tuple[int, Interchange]:
    """Find the ISA, check its fixed width and take the delimiters from it."""
    start = len(text) - len(text.lstrip(WHITESPACE))
    if start == len(text):
        raise _fatal("023", "The interchange is empty.")
    if not text.startswith("ISA", start):
        raise _fatal(
            "022",
            f"An interchange must start with an ISA segment; this one starts with "
            f"{text[start : start + 20]!r}.",
            start,
        )
    element = text[start + 3 : start + 4]
    parts = text[start:].split(element, 16) if element else []
    if len(parts) < 17 or len(parts[16]) < 2:
        raise _fatal(
            "023",
            f"The ISA segment is incomplete: it needs 16 elements separated by {element!r} "
            f"and a segment terminator after ISA16.",
            start,
        )
    fields = parts[1:16] + [parts[16][0]]
    wrong = [
        f"ISA{n:02d} ({name}) is {len(value)} characters, it must be {width}"
        for n, (value, width, name) in enumerate(
            zip(fields, ISA_WIDTHS, ISA_FIELD_NAMES, strict=True), start=1
        )
        if len(value) != width
    ]
    if wrong:
        length = 3 + 16 + sum(len(value) for value in fields) + 1
        raise _fatal(
            "022",
            f"The ISA segment must be exactly {ISA_LENGTH} characters up to and including its "
            f"segment terminator (its fields are fixed-width, padded with spaces); this one "
            f"is {length}: " + "; ".join(wrong) + ".",
            start,
        )
    interchange = Interchange(
        sender_qualifier=fields[4],
        sender_id=fields[5].strip(),
        receiver_qualifier=fields[6],
        receiver_id=fields[7].strip(),
        date=fields[8],
        time=fields[9],
        version=fields[11],
        control=fields[12],
        ack_requested=fields[13] == "1",
        usage=fields[14],
        delimiters=_delimiters(fields, element, parts[16][1], start),
    )
    if not fields[12].isdigit():
        raise _fatal(
            "018",
            f"ISA13 (interchange control number) must be 9 digits; it is {fields[12]!r}.",
            start,
            interchange,
        )
    return start, interchange


def _delimiters(fields: list[str], element: str, segment: str, start: int) -> Delimiters:
    component = fields[15]
    if element.isalnum() or element in WHITESPACE:
        raise _fatal("026", f"The element separator {element!r} is a letter, digit or space.")
    if component.isalnum() or component in (element, " "):
        raise _fatal(
            "027",
            f"The component separator ISA16 {component!r} must be a special character "
            f"different from the element separator {element!r}.",
            start,
        )
    if segment.isalnum() or segment in (element, component, " ", "\t"):
        raise _fatal(
            "004",
            f"The segment terminator {segment!r} (the character after ISA16) must be a special "
            f"character or a line break, different from the element and component separators.",
            start,
        )
    version, isa11 = fields[11], fields[10]
    repetition = None
    if version.isdigit() and int(version) >= 402 and not isa11.isalnum():
        repetition = isa11
    return Delimiters(element, component, repetition, segment)


def _isa_segment(text: str, start: int, delimiters: Delimiters) -> Segment:
    values = text[start : start + ISA_LENGTH - 1].split(delimiters.element)
    return Segment("ISA", values[1:], 1, start, delimiters)


def _pieces(text: str, begin: int, delimiters: Delimiters):
    """Yield (offset, body, terminated) for each segment after the ISA.

    Whitespace around a segment (indentation, the line break after a terminator) is skipped;
    a terminator that is itself a line break accepts CR, LF or CRLF.
    """
    if delimiters.segment in "\r\n":
        terminators = LINE_BREAK
    else:
        terminators = re.compile(re.escape(delimiters.segment))
    ignorable = "".join(c for c in WHITESPACE if c != delimiters.segment)
    position = begin
    for match in terminators.finditer(text, begin):
        piece = text[position : match.start()]
        if body := piece.strip(ignorable):
            yield position + len(piece) - len(piece.lstrip(ignorable)), body, True
        position = match.end()
    piece = text[position:]
    if body := piece.strip(ignorable):
        yield position + len(piece) - len(piece.lstrip(ignorable)), body, False


class _Reader:
    """Builds groups and transaction sets from the segments after the ISA, in order."""

    def __init__(self, text: str, interchange: Interchange):
        self.text = text
        self.interchange = interchange
        self.delimiters = interchange.delimiters
        self.group: Group | None = None
        self.transaction: TransactionSet | None = None
        self.controls: set[str] = set()  # ST02s seen in the open group
        self.finished = False
        self.envelope_readers = {
            "ISA": self.read_isa,
            "GS": self.read_gs,
            "GE": self.read_ge,
            "ST": self.read_st,
            "SE": self.read_se,
            "IEA": self.read_iea,
        }

    def fail(self, code: str, message: str, segment: Segment | None = None, offset=None):
        """Raise X12Error; `segment` is the envelope segment at fault, when there is one."""
        problem = Problem("interchange", code, message, offset=offset)
        if segment is not None:
            problem = Problem(
                "interchange",
                code,
                message,
                segment_position=segment.position or None,
                segment_tag=segment.tag[:10],
                offset=segment.offset,
            )
        raise X12Error(problem, self.interchange)

    def line(self, segment: Segment) -> int:
        return line_of(self.text, segment.offset)

    def note(self, holder, level: str, code: str, message: str, segment: Segment) -> None:
        """Record a problem found at `segment` on its group or transaction set."""
        holder.problems.append(
            Problem(
                level,
                code,
                message,
                segment_position=segment.position or None,
                segment_tag=segment.tag[:3],
                offset=segment.offset,
            )
        )

    def tokenize(self, offset: int, body: str) -> Segment:
        element, terminator = self.delimiters.element, self.delimiters.segment
        if terminator not in "\r\n":
            for match in LINE_BREAK.finditer(body):
                rest = body[match.end() :].lstrip(WHITESPACE)
                tag = SEGMENT_TAG.match(rest)
                if tag and rest[tag.end() : tag.end() + 1] == element:
                    self.fail(
                        "004",
                        f"The segment terminator {terminator!r} is missing at line "
                        f"{line_of(self.text, offset + match.start())}: a line break ends the "
                        f"segment before {rest[:20]!r} where the rest of the interchange uses "
                        f"{terminator!r} (mixed delimiters).",
                        offset=offset + match.start(),
                    )
        values = body.split(element)
        foreign = FOREIGN_SEPARATOR.match(values[0])
        if foreign and foreign.group(2) != self.delimiters.component:
            self.fail(
                "026",
                f"Segment {foreign.group(1)} at line {line_of(self.text, offset)} separates its "
                f"elements with {foreign.group(2)!r} where the ISA declared {element!r} (mixed "
                f"delimiters): {body[:40]!r}.",
                Segment(foreign.group(1), [], 0, offset),
            )
        return Segment(values[0], values[1:], 0, offset, self.delimiters)

    def add_envelope(self, segment: Segment) -> None:
        self.interchange.segments.append(segment)
        segment.position = len(self.interchange.segments)

    def read(self, segment: Segment) -> None:
        if segment.tag in self.envelope_readers:
            self.envelope_readers[segment.tag](segment)
        elif self.transaction is not None:
            self.read_body(segment)
        elif segment.tag == "TA1" and self.group is None:
            self.add_envelope(segment)
        else:
            self.add_envelope(segment)
            where = "a functional group" if self.group is None else "a transaction set"
            self.fail(
                "024",
                f"Segment {segment.tag[:10]!r} at line {self.line(segment)} stands outside "
                f"{where}; only GS ... GE groups of ST ... SE sets may follow the ISA.",
                segment,
            )

    def read_body(self, segment: Segment) -> None:
        transaction = self.transaction
        transaction.segments.append(segment)
        segment.position = len(transaction.segments)
        self.interchange.segments.append(segment)
        if not SEGMENT_TAG.fullmatch(segment.tag):
            self.note(
                transaction,
                "segment",
                "1",
                f"Transaction set {transaction.code} {transaction.control}: segment "
                f"{segment.position} at line {self.line(segment)} has the id "
                f"{segment.tag[:20]!r}, which is not a segment id (2 or 3 capital letters or "
                f"digits, starting with a letter).",
                segment,
            )

    def read_isa(self, segment: Segment) -> None:
        self.add_envelope(segment)
        self.fail(
            "023",
            f"A second ISA starts at line {self.line(segment)} before the IEA trailer of "
            f"interchange {self.interchange.control}: that interchange is cut off.",
            segment,
        )

    def read_gs(self, segment: Segment) -> None:
        self.close_transaction(segment)
        self.close_group(segment)
        self.add_envelope(segment)
        group = Group(
            functional_id=segment.element(1),
            sender=segment.element(2),
            receiver=segment.element(3),
            date=segment.element(4),
            time=segment.element(5),
            control=segment.element(6),
            version=segment.element(8),
        )
        self.interchange.groups.append(group)
        self.group = group
        self.controls = set()
        if not group.control.isdigit():
            message = (
                f"Group {group.functional_id} at line {self.line(segment)}: the group control "
                f"number GS06 must be digits; it is {group.control!r}."
            )
            self.note(group, "group", "6", message, segment)

    def read_ge(self, segment: Segment) -> None:
        self.close_transaction(segment)
        self.add_envelope(segment)
        group = self.group
        if group is None:
            self.fail(
                "024",
                f"The GE trailer at line {self.line(segment)} closes no group (no GS before).",
                segment,
            )
        group.trailer = segment
        name = f"Group {group.functional_id} {group.control}"
        if segment.element(2) != group.control:
            message = (
                f"{name}: the trailer's control number GE02 is {segment.element(2)!r} at "
                f"line {self.line(segment)}; it must repeat GS06 {group.control!r}."
            )
            self.note(group, "group", "4", message, segment)
        if segment.element(1) != str(len(group.transactions)):
            message = (
                f"{name}: GE01 at line {self.line(segment)} says {segment.element(1)!r} "
                f"transaction sets, but the group holds {len(group.transactions)}."
            )
            self.note(group, "group", "5", message, segment)
        self.group = None

    def read_st(self, segment: Segment) -> None:
        self.close_transaction(segment)
        group = self.group
        if group is None:
            self.add_envelope(segment)
            self.fail(
                "024",
                f"Transaction set {segment.element(1)} {segment.element(2)} at line "
                f"{self.line(segment)} stands outside a functional group (no GS before it).",
                segment,
            )
        segment.position = 1
        self.interchange.segments.append(segment)
        transaction = TransactionSet(
            code=segment.element(1),
            control=segment.element(2),
            segments=[segment],
            implementation=segment.element(3),
        )
        code, control = transaction.code, transaction.control
        if not re.fullmatch(r"\d{3}", code):
            message = (
                f"The set at line {self.line(segment)}: ST01 must be 3 digits such as 855; it "
                f"is {code!r}."
            )
            self.note(transaction, "transaction", "6", message, segment)
        if not re.fullmatch(r"\d{4,9}", control):
            message = (
                f"Transaction set {code} at line {self.line(segment)}: ST02 must be a control "
                f"number of 4 to 9 digits; it is {control!r}."
            )
            self.note(transaction, "transaction", "7", message, segment)
        elif control in self.controls:
            message = (
                f"Transaction set {code} at line {self.line(segment)}: control number "
                f"{control!r} is used twice in group {group.control}."
            )
            self.note(transaction, "transaction", "23", message, segment)
        group.transactions.append(transaction)
        self.controls.add(control)
        self.transaction = transaction

    def read_se(self, segment: Segment) -> None:
        transaction = self.transaction
        if transaction is None:
            self.add_envelope(segment)
            self.fail(
                "024",
                f"The SE trailer at line {self.line(segment)} closes no set (no ST before).",
                segment,
            )
        transaction.segments.append(segment)
        segment.position = count = len(transaction.segments)
        self.interchange.segments.append(segment)
        name = f"Transaction set {transaction.code} {transaction.control}"
        if segment.element(2) != transaction.control:
            message = (
                f"{name}: the trailer's control number SE02 is {segment.element(2)!r} at "
                f"line {self.line(segment)}; it must repeat ST02 {transaction.control!r}."
            )
            self.note(transaction, "transaction", "3", message, segment)
        if segment.element(1) != str(count):
            message = (
                f"{name}: SE01 at line {self.line(segment)} says {segment.element(1)!r} "
                f"segments, but the set has {count} from ST to SE inclusive."
            )
            self.note(transaction, "transaction", "4", message, segment)
        self.transaction = None

    def read_iea(self, segment: Segment) -> None:
        self.close_transaction(segment)
        self.close_group(segment)
        self.add_envelope(segment)
        interchange = self.interchange
        if segment.element(2) != interchange.control:
            self.fail(
                "001",
                f"The IEA trailer at line {self.line(segment)} carries control number "
                f"{segment.element(2)!r}; it must repeat ISA13 {interchange.control!r}.",
                segment,
            )
        if segment.element(1) != str(len(interchange.groups)):
            self.fail(
                "021",
                f"IEA01 at line {self.line(segment)} says {segment.element(1)!r} functional "
                f"groups, but the interchange holds {len(interchange.groups)}.",
                segment,
            )
        self.finished = True

    def close_transaction(self, following: Segment) -> None:
        """A set still open when GS, GE, ST or IEA arrives has lost its SE."""
        transaction = self.transaction
        if transaction is not None:
            first = transaction.segments[0]
            message = (
                f"Transaction set {transaction.code} {transaction.control} (ST at line "
                f"{self.line(first)}) has no SE trailer: {following.tag} at line "
                f"{self.line(following)} follows its last segment."
            )
            self.note(transaction, "transaction", "2", message, first)
            self.transaction = None

    def close_group(self, following: Segment) -> None:
        """A group still open when GS or IEA arrives has lost its GE."""
        group = self.group
        if group is not None:
            message = (
                f"Group {group.functional_id} {group.control} has no GE trailer: "
                f"{following.tag} at line {self.line(following)} follows its last set."
            )
            self.note(group, "group", "3", message, following)
            self.group = None


def non_ascii(raw: bytes | str, limit: int = 5) -> list[Problem]:
    """Where the interchange holds characters outside ASCII (for partners whose profile
    forbids them): a non-ASCII delimiter once, then the first `limit` characters in data, each
    with its segment and element when the interchange can be read."""
    text = decode(raw)
    hits = [match.start() for match in re.finditer(r"[^\x00-\x7f]", text)]
    if not hits:
        return []
    try:
        interchange = parse(text)
    except X12Error as error:
        interchange = error.interchange
    problems = []
    delimiters = interchange.delimiters if interchange else None
    if delimiters:
        for name, char in (
            ("element separator", delimiters.element),
            ("component separator", delimiters.component),
            ("segment terminator", delimiters.segment),
        ):
            if ord(char) > 127:
                message = (
                    f"The {name} is the non-ASCII character {char!r} (U+{ord(char):04X}); "
                    f"this partner's profile allows ASCII only."
                )
                problems.append(Problem("interchange", "024", message))
        used = {delimiters.element, delimiters.component, delimiters.segment}
        hits = [offset for offset in hits if text[offset] not in used]
    segments = interchange.segments if interchange else []
    for offset in hits[:limit]:
        char, segment = text[offset], None
        for candidate in segments:  # the last segment that starts before the character
            if candidate.offset <= offset:
                segment = candidate
        number = text.count(delimiters.element, segment.offset, offset) if segment else 0
        inside = f" in {segment.tag}{number:02d}" if segment else ""
        message = (
            f"Non-ASCII character {char!r} (U+{ord(char):04X}){inside} at line "
            f"{line_of(text, offset)} (character {offset}); this partner's profile allows "
            f"ASCII only."
        )
        problems.append(
            Problem(
                "element",
                "6",
                message,
                segment_position=segment.position if segment else None,
                segment_tag=segment.tag if segment else "",
                element_position=number or None,
                offset=offset,
            )
        )
    return problems


def render(segments: list[list[str]], delimiters: Delimiters, *, line_break: str = "\n") -> str:
    """Write segments (each a list: the id, then its elements) as X12 text.

    Trailing empty elements are dropped; each segment ends with the terminator and, unless the
    terminator is itself a line break, `line_break`. A value holding the element separator or
    the segment terminator raises ValueError rather than corrupt the interchange.
    """
    lines = []
    after = "" if delimiters.segment in "\r\n" else line_break
    for values in segments:
        values = list(values)
        while len(values) > 1 and values[-1] == "":
            values.pop()
        for value in values:
            if delimiters.element in value or delimiters.segment in value:
                raise ValueError(
                    f"Segment {values[0]}: the value {value!r} contains the element separator "
                    f"{delimiters.element!r} or the segment terminator {delimiters.segment!r}."
                )
        lines.append(delimiters.element.join(values) + delimiters.segment + after)
    return "".join(lines)


def isa_segment(
    *,
    sender_qualifier: str,
    sender_id: str,
    receiver_qualifier: str,
    receiver_id: str,
    control: str | int,
    when: datetime,
    delimiters: Delimiters,
    version: str = "00401",
    usage: str = "P",
    ack_requested: bool = False,
) -> list[str]:
    """The ISA as a list for render(): fixed-width fields padded, control zero-padded to 9."""
    control = str(control).zfill(9)
    if len(control) != 9 or not control.isdigit():
        raise ValueError(f"An interchange control number has at most 9 digits: {control!r}.")
    if len(sender_id) > 15 or len(receiver_id) > 15:
        raise ValueError("Interchange sender and receiver ids have at most 15 characters.")
    repetition = delimiters.repetition if int(version) >= 402 else None
    return [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        sender_qualifier.ljust(2),
        sender_id.ljust(15),
        receiver_qualifier.ljust(2),
        receiver_id.ljust(15),
        when.strftime("%y%m%d"),
        when.strftime("%H%M"),
        repetition or "U",
        version,
        control,
        "1" if ack_requested else "0",
        usage,
        delimiters.component,
    ]
