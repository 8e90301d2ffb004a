"""Render the acknowledgements that answer an inbound X12 interchange: a 997 functional
acknowledgement or a 999 implementation acknowledgement for one functional group, and a TA1
for an interchange whose envelope could not be read.

Pure functions from `edi.x12` objects to text, going from the receiver back to the sender
(qualifiers and ids swapped) with the delimiters the sender used. The rule is kept simple: a
transaction set with any problem (its own envelope, its segments, or one the mapping found
later and passes in as `extra_problems`) is rejected (R), any other is accepted (A); the group
is accepted when all its sets are, partially accepted (P) when some are, rejected when none
are, and rejected outright when its own GS/GE envelope is broken.
"""

from datetime import UTC, datetime

from edi.x12 import Delimiters, Group, Interchange, Problem, X12Error, isa_segment, parse, render

# The 999 is a 005010 transaction set; its implementation guide is X12's 005010X231A1.
IMPLEMENTATION_GUIDE_999 = "005010X231A1"
# Repetition separators to choose from when a 999 answers an interchange that had none.
SPARE_REPETITION_SEPARATORS = "^{}!|\\"


def functional_ack(
    interchange: Interchange,
    group: Group,
    *,
    kind: str = "997",
    control: str,
    interchange_control: str,
    rejected_sets=None,
    extra_problems: dict[str, list[Problem]] | None = None,
    now: datetime | None = None,
) -> str:
    """A complete interchange holding one 997 (or 999) that acknowledges `group`.

    `control` becomes GS06 of the acknowledgement, `interchange_control` its ISA13 (zero-padded
    to 9 digits); ST02 is "0001". `rejected_sets` are control numbers of sets to reject even
    without a problem; `extra_problems` maps a set's control number to the problems found
    after parsing (an unknown unit code: a Problem at "element" level, code "7").
    """
    if kind not in ("997", "999"):
        raise ValueError(f"An acknowledgement is a 997 or a 999, not {kind!r}.")
    rejected = set(rejected_sets or ())
    extra = extra_problems or {}
    prefix = "AK" if kind == "997" else "IK"
    body = [["AK1", group.functional_id, group.control]]
    if kind == "999":
        body[0].append(group.version)
    accepted = 0
    for transaction in group.transactions:
        problems = list(transaction.problems) + list(extra.get(transaction.control, ()))
        body.append(["AK2", transaction.code, transaction.control])
        if kind == "999":
            body[-1].append(transaction.implementation)
        body.extend(_segment_errors(problems, prefix))
        codes = _unique(p.code for p in problems if p.level == "transaction")
        if any(p.level in ("segment", "element") for p in problems):
            codes.append("5")  # one or more segments in error
        if problems or transaction.control in rejected or group.problems:
            status = "R"
        else:
            status = "A"
            accepted += 1
        body.append([f"{prefix}5", status, *codes[:5]])
    body.append(
        [
            "AK9",
            _group_status(group, accepted),
            str(_included(group)),
            str(len(group.transactions)),
            str(accepted),
            *_unique(p.code for p in group.problems)[:5],
        ]
    )
    header = ["ST", kind, "0001"]
    if kind == "999":
        header.append(IMPLEMENTATION_GUIDE_999)
    transaction_set = [header, *body, ["SE", str(len(body) + 2), "0001"]]
    return _envelope(
        interchange,
        transaction_set,
        group=group,
        version=IMPLEMENTATION_GUIDE_999 if kind == "999" else group.version,
        control=control,
        interchange_control=interchange_control,
        now=now,
    )


def ta1(
    interchange: Interchange | bytes | str,
    problem: Problem,
    control: str,
    *,
    now: datetime | None = None,
) -> str:
    """An interchange holding only a TA1 that rejects `interchange` with `problem`'s I18 code.

    `interchange` is the ISA header (X12Error.interchange) or the raw text; when not even the
    ISA can be read there is nobody to answer and ValueError is raised.
    """
    if not isinstance(interchange, Interchange):
        try:
            interchange = parse(interchange)
        except X12Error as error:
            interchange = error.interchange
    if interchange is None:
        raise ValueError("The ISA cannot be read: there is no sender to send a TA1 to.")
    segments = [["TA1", interchange.control, interchange.date, interchange.time, "R", problem.code]]
    return _envelope(
        interchange,
        segments,
        group=None,
        version="",
        control="",
        interchange_control=control,
        now=now,
    )


def _segment_errors(problems: list[Problem], prefix: str) -> list[list[str]]:
    """AK3/AK4 (IK3/IK4) pairs: one AK3 per segment in error, then an AK4 per element."""
    segments: dict[tuple[int | None, str], list[Problem]] = {}
    for problem in problems:
        if problem.level in ("segment", "element"):
            key = (problem.segment_position, problem.segment_tag)
            segments.setdefault(key, []).append(problem)
    lines = []
    for (position, tag), found in segments.items():
        segment_codes = [p.code for p in found if p.level == "segment"]
        code = segment_codes[0] if segment_codes else "8"  # 8: segment has data element errors
        lines.append([f"{prefix}3", tag[:3], str(position or ""), "", code])
        for problem in found:
            if problem.level == "element":
                lines.append([f"{prefix}4", str(problem.element_position or ""), "", problem.code])
    return lines


def _group_status(group: Group, accepted: int) -> str:
    if group.problems:
        return "R"
    if accepted == len(group.transactions):
        return "A"
    return "P" if accepted else "R"


def _included(group: Group) -> int:
    """AK902: the number of sets the GE01 trailer declared, or those received without one."""
    declared = group.trailer.element(1) if group.trailer else ""
    return int(declared) if declared.isdigit() else len(group.transactions)


def _unique(codes) -> list[str]:
    return list(dict.fromkeys(codes))


def _envelope(
    interchange: Interchange,
    segments: list[list[str]],
    *,
    group: Group | None,
    version: str,
    control: str,
    interchange_control: str,
    now: datetime | None,
) -> str:
    """Wrap `segments` in ISA (and GS/GE when `group` is given) ... IEA back to the sender."""
    now = now or datetime.now(UTC)
    delimiters = interchange.delimiters
    isa_version = interchange.version
    if version == IMPLEMENTATION_GUIDE_999:
        isa_version = "00501"
        delimiters = _with_repetition(delimiters)
    header = isa_segment(
        sender_qualifier=interchange.receiver_qualifier,
        sender_id=interchange.receiver_id,
        receiver_qualifier=interchange.sender_qualifier,
        receiver_id=interchange.sender_id,
        control=interchange_control,
        when=now,
        delimiters=delimiters,
        version=isa_version,
        usage=interchange.usage,
    )
    lines = [header]
    if group is not None:
        lines.append(
            [
                "GS",
                "FA",
                group.receiver,
                group.sender,
                now.strftime("%Y%m%d"),
                now.strftime("%H%M"),
                control,
                "X",
                version,
            ]
        )
        lines.extend(segments)
        lines.append(["GE", "1", control])
    else:
        lines.extend(segments)
    lines.append(["IEA", "1" if group is not None else "0", header[13]])
    return render(lines, delimiters)


def _with_repetition(delimiters: Delimiters) -> Delimiters:
    """The 00501 ISA needs a repetition separator in ISA11; keep the sender's if it had one."""
    if delimiters.repetition:
        return delimiters
    used = {delimiters.element, delimiters.component, delimiters.segment}
    spare = next(c for c in SPARE_REPETITION_SEPARATORS if c not in used)
    return Delimiters(delimiters.element, delimiters.component, spare, delimiters.segment)
