"""Receiving an interchange: stored raw before anything else, then read, checked, mapped to
the canonical contracts and submitted to the validation pipeline, and answered with a
functional acknowledgement.

    receive(raw, source=..., system=..., user=..., filename=...)   -> the Interchange

The raw bytes and their SHA-256 are committed first, in a transaction of their own, so an
interchange the gateway cannot read, or one that fails half-way, is still there to look at.
The rest happens in one transaction: the transaction sets' messages, their records and the
acknowledgements are all written or none (a failure leaves the interchange received and
unread, with nothing half-written). An interchange refused as a whole (unreadable, unknown
partner, addressed to someone else, a duplicate, characters the partner may not send) raises
Refused, which the API answers with a 4xx; it is kept as rejected (or duplicate), with the
reason, the code the standard gives it and where, and the TA1 (X12) or CONTRL (EDIFACT) that
tells the partner, when its header could be read.

A transaction set (an EDIFACT message) that cannot be mapped (a missing segment, an unknown
unit, a version the partner's profile does not list, a set no mapper reads) is rejected in the
acknowledgement with its segment and element positions; the others go on to validation as
messages of the partner's source system, each idempotent by its interchange, group and set
control numbers.
"""

import hashlib
from dataclasses import asdict

from django.db import transaction
from django.utils import timezone

from edi import acks, edifact, edifact_inbound, edifact_outbound, outbound, x12, x12_inbound
from edi.models import Interchange, Partner, Standard, TransactionSet
from validation.submission import submit_message
from xref.models import CrossReference, Kind, valid_on
from xref.services import preferred_codes

Status = Interchange.Status


class Refused(Exception):
    """The interchange is refused as a whole: `status_code` (the API's), `title`, `detail`."""

    def __init__(self, status_code, title, detail, *, code="", offset=None, status=None):
        super().__init__(detail)
        self.status_code, self.title, self.detail = status_code, title, detail
        self.code, self.offset = code, offset
        self.status = status or Status.REJECTED
        self.answer = None  # (partner, render(control)) of the TA1 or CONTRL, when there is one
        self.interchange = None  # the refused Interchange, as recorded


def receive(raw, *, source, system=None, user=None, filename=""):
    """Store `raw` (bytes) and read it. `system`: the source system the sender speaks for (an
    API key's), which must be the partner's; None for a watched directory. Returns the
    Interchange; raises Refused (after recording the refusal)."""
    interchange = _store(raw, source=source, user=user, filename=filename)
    try:
        with transaction.atomic():
            _read(interchange, system)
    except Refused as refusal:
        _refuse(interchange, refusal)
        refusal.interchange = interchange
        raise
    return interchange


def _store(raw, *, source, user, filename):
    with transaction.atomic():
        return Interchange.objects.create(
            direction=Interchange.Direction.INBOUND,
            source=source,
            filename=filename[:500],
            raw=raw,
            size=len(raw),
            sha256=hashlib.sha256(raw).hexdigest(),
            received_at=timezone.now(),
            received_by=user if user is not None and user.is_authenticated else None,
        )


def _standard_of(raw):
    text = x12.decode(raw[:600]).lstrip(" \t\r\n")
    if text.startswith("ISA"):
        return Standard.X12
    if text.startswith(("UNA", "UNB")):
        return Standard.EDIFACT
    return None


def _read(interchange, system):
    raw = bytes(interchange.raw)
    standard = _standard_of(raw)
    if standard is None:
        raise Refused(
            400,
            "Not an interchange",
            "The body is neither an X12 interchange (it would start with ISA) nor an EDIFACT "
            "one (UNA or UNB). Send the interchange itself as the request body.",
        )
    interchange.standard = standard
    if standard == Standard.X12:
        _read_x12(interchange, raw, system)
    else:
        _read_edifact(interchange, raw, system)
    interchange.read_at = timezone.now()
    interchange.save()


# --- X12 -------------------------------------------------------------------------------------


def _read_x12(interchange, raw, system):
    try:
        parsed = x12.parse(raw)
    except x12.X12Error as error:
        header = error.interchange
        partner = header and _partner(Standard.X12, header.sender_qualifier, header.sender_id)
        problem = error.problem
        refusal = _unreadable(problem)
        if header is not None:
            _describe_x12(interchange, header, partner)
            if partner is not None:
                refusal.answer = (partner, lambda control: acks.ta1(header, problem, control))
        raise refusal from None
    partner = _partner(Standard.X12, parsed.sender_qualifier, parsed.sender_id)
    _describe_x12(interchange, parsed, partner)
    _check_sender(
        interchange,
        partner,
        system,
        (parsed.receiver_qualifier, parsed.receiver_id),
        f"{parsed.sender_qualifier}:{parsed.sender_id}",
    )

    def ta1(problem):
        return partner, lambda control: acks.ta1(parsed, problem, control)

    if not partner.allow_non_ascii and (found := x12.non_ascii(raw)):
        refusal = Refused(
            422,
            "Characters outside ASCII",
            " ".join(problem.message for problem in found),
            code="024",
            offset=found[0].offset,
        )
        refusal.answer = ta1(x12.Problem("interchange", "024", found[0].message))
        raise refusal
    _check_duplicate(interchange, partner, ta1)

    accepted = rejected = 0
    for group in parsed.groups:
        if partner.versions and group.version not in partner.versions:
            group.problems.append(
                x12.Problem(
                    "group",
                    "2",
                    f"Version {group.version} of group {group.control} is not one this partner "
                    f"is set up for ({', '.join(partner.versions)}).",
                )
            )
        mapping_problems = {}
        for found in group.transactions:
            problems = list(found.problems)
            mapped = None
            if found.code not in x12_inbound.MAPPERS:
                problems.append(
                    x12.Problem(
                        "transaction",
                        "1",
                        f"Transaction set {found.code} is not one the hub reads (it reads "
                        f"{', '.join(sorted(x12_inbound.MAPPERS))}).",
                    )
                )
                mapping_problems[found.control] = problems[len(found.problems) :]
            elif not group.problems:
                mapped = x12_inbound.map_transaction(
                    found, group, supplier=partner.supplier_code, units=partner.units
                )
                problems += mapped.problems
                mapping_problems[found.control] = list(mapped.problems)
            ok = not problems and not group.problems
            key = f"edi:{partner.pk}:{parsed.control}:{group.control}:{found.control}"
            message = _submit(partner, mapped, key, interchange) if ok else None
            # A broken group rejects its sets: the set's record says why.
            said = problems + group.problems
            _record_set(interchange, group.control, found, mapped, said, message)
            accepted, rejected = accepted + ok, rejected + (not ok)
        _answer_group(interchange, partner, parsed, group, mapping_problems)
    _settle(interchange, accepted, rejected)


def _describe_x12(interchange, header, partner):
    interchange.partner = partner
    interchange.sender = f"{header.sender_qualifier}:{header.sender_id}"
    interchange.receiver = f"{header.receiver_qualifier}:{header.receiver_id}"
    interchange.control = header.control
    codes = [found.code for group in header.groups for found in group.transactions]
    interchange.contents = ", ".join(dict.fromkeys(codes))[:100]


def _answer_group(interchange, partner, parsed, group, mapping_problems):
    """The group's 997 or 999, stored and sent to the partner."""
    interchange_control, group_control = outbound.next_controls(partner)
    text = acks.functional_ack(
        parsed,
        group,
        kind=partner.ack_kind,
        control=str(group_control),
        interchange_control=str(interchange_control),
        extra_problems=mapping_problems,
    )
    outbound.send(
        partner,
        text,
        control=str(interchange_control).zfill(9),
        contents=partner.ack_kind,
        answers=interchange,
    )


# --- EDIFACT ---------------------------------------------------------------------------------


def _read_edifact(interchange, raw, system):
    try:
        parsed = edifact.parse(raw)
    except edifact.EdifactError as error:
        header = error.interchange
        partner = header and _partner(Standard.EDIFACT, header.sender_qualifier, header.sender)
        refusal = _unreadable(error.problem)
        if header is not None:
            _describe_edifact(interchange, header, partner)
            if partner is not None:
                header.problems = [*header.problems, error.problem]
                refusal.answer = (
                    partner,
                    lambda control: edifact_outbound.contrl(header, control=str(control)),
                )
        raise refusal from None
    partner = _partner(Standard.EDIFACT, parsed.sender_qualifier, parsed.sender)
    _describe_edifact(interchange, parsed, partner)
    _check_sender(
        interchange,
        partner,
        system,
        (parsed.recipient_qualifier, parsed.recipient),
        f"{parsed.sender_qualifier}:{parsed.sender}",
    )

    def contrl(problem):
        parsed.problems = [*parsed.problems, problem]
        return partner, lambda control: edifact_outbound.contrl(parsed, control=str(control))

    _check_duplicate(interchange, partner, contrl)
    accepted = rejected = 0
    mapping_problems = {}
    for message in parsed.messages:
        problems = list(message.problems) + list(parsed.problems)
        version = ":".join(message.version.split(":")[:2])
        mapped = None
        if partner.versions and version not in partner.versions:
            problems.append(
                edifact.Problem(
                    "message",
                    "2",
                    f"Version {version} of message {message.reference} is not one this partner "
                    f"is set up for ({', '.join(partner.versions)}).",
                    1,
                    "UNH",
                    2,
                    message.offset,
                )
            )
            mapping_problems[message.reference] = problems[-1:]
        elif not problems:
            mapped = edifact_inbound.map_message(
                message, supplier=partner.supplier_code, units=partner.units
            )
            problems += mapped.problems
            mapping_problems[message.reference] = list(mapped.problems)
        ok = not problems
        key = f"edi:{partner.pk}:{parsed.control}:{message.reference}"
        found = _submit(partner, mapped, key, interchange) if ok else None
        _record_set(interchange, "", message, mapped, problems, found)
        accepted, rejected = accepted + ok, rejected + (not ok)
    interchange_control, _ = outbound.next_controls(partner)
    text = edifact_outbound.contrl(
        parsed, control=str(interchange_control), problems_by_message=mapping_problems
    )
    outbound.send(
        partner, text, control=str(interchange_control), contents="CONTRL", answers=interchange
    )
    _settle(interchange, accepted, rejected)


def _describe_edifact(interchange, header, partner):
    interchange.partner = partner
    interchange.sender = f"{header.sender_qualifier}:{header.sender}"
    interchange.receiver = f"{header.recipient_qualifier}:{header.recipient}"
    interchange.control = header.control
    kinds = [message.type for message in header.messages]
    interchange.contents = ", ".join(dict.fromkeys(kinds))[:100]


# --- common ----------------------------------------------------------------------------------


def _partner(standard, qualifier, sender_id):
    return (
        Partner.objects.select_related("system")
        .filter(standard=standard, qualifier=qualifier.strip(), interchange_id=sender_id.strip())
        .first()
    )


def _unreadable(problem):
    return Refused(
        422,
        "The interchange cannot be read",
        problem.message,
        code=problem.code,
        offset=problem.offset,
    )


def _check_sender(interchange, partner, system, addressed_to, sender):
    """The sender is a known, active partner, the key speaks for its system, and the
    interchange is addressed to the hub as the partner knows it."""
    if partner is None:
        raise Refused(
            422,
            "Unknown trading partner",
            f"No trading partner is set up for the sender {sender}: a steward adds one under "
            "EDI > Partners in the admin (its envelope qualifier and id, and its source "
            "system).",
        )
    if not partner.is_active:
        raise Refused(403, "Partner paused", f"Trading partner {partner} is paused.")
    if system is not None and system.pk != partner.system_id:
        raise Refused(
            403,
            "Not this partner's key",
            f"The interchange is from {partner} ({sender}), whose messages come in as system "
            f"{partner.system.code}; the API key used speaks for {system.code}.",
        )
    qualifier, receiver = (part.strip() for part in addressed_to)
    if (qualifier, receiver) != (partner.hub_qualifier.strip(), partner.hub_id.strip()):
        raise Refused(
            422,
            "Addressed to someone else",
            f"The interchange is addressed to {qualifier}:{receiver}; {partner} addresses the "
            f"hub as {partner.hub_qualifier}:{partner.hub_id}.",
        )


def _check_duplicate(interchange, partner, answer):
    """An interchange control number the partner used before for one the hub took in."""
    earlier = (
        Interchange.objects.filter(
            partner=partner,
            direction=Interchange.Direction.INBOUND,
            control=interchange.control,
            status__in=(Status.ACCEPTED, Status.PARTLY_ACCEPTED),
        )
        .exclude(pk=interchange.pk)
        .first()
    )
    if earlier is None:
        return
    same = "the same interchange" if earlier.sha256 == interchange.sha256 else "a different one"
    message = (
        f"Interchange control number {interchange.control} from {partner} was taken in "
        f"already, as {earlier.public_id} on {earlier.received_at:%Y-%m-%d %H:%M} UTC "
        f"({same}). Nothing of this one was used; a new interchange needs a new control "
        "number."
    )
    refusal = Refused(409, "Duplicate interchange", message, code="025", status=Status.DUPLICATE)
    if interchange.standard == Standard.X12:
        problem = x12.Problem("interchange", "025", message)  # I18: duplicate control number
    else:
        problem = edifact.Problem("interchange", "26", message)  # 0085: duplication detected
    refusal.answer = answer(problem)
    raise refusal


def _submit(partner, mapped, key, interchange):
    submission = submit_message(
        system=partner.system,
        message_type=mapped.message_type,
        schema_version=mapped.schema_version,
        payload=_in_system_units(mapped.payload, partner.system),
        idempotency_key=key,
        user=interchange.received_by,
    )
    return submission.message


def _in_system_units(payload, system):
    """The payload with its units (the hub's Rec 20 codes, as the mappers give them) in the
    partner's source system's own codes, as every message of that system states them: its
    preferred reference in force today, else its only one. A unit the system has no code for
    is left as it is, and validation says so (an unknown unit, with the reference to add)."""
    lines = payload.get("lines") or []
    wanted = {line["unit"] for line in lines if line.get("unit")}
    codes = preferred_codes(
        CrossReference.objects.filter(
            valid_on(timezone.localdate()), kind=Kind.UNIT, system=system, unit_id__in=wanted
        ).values_list("unit_id", "code", "is_preferred", "scope")
    )
    if not codes:
        return payload
    translated = [{**line, "unit": codes.get(line.get("unit"), line.get("unit"))} for line in lines]
    return {**payload, "lines": translated}


def _record_set(interchange, group_control, found, mapped, problems, message):
    """The record of X12 transaction set or EDIFACT message `found`."""
    TransactionSet.objects.create(
        interchange=interchange,
        group_control=group_control,
        control=found.control if hasattr(found, "control") else found.reference,
        code=found.code if hasattr(found, "code") else found.type,
        document=(mapped.document if mapped else "")[:200],
        status=TransactionSet.Status.ACCEPTED if message else TransactionSet.Status.REJECTED,
        problems=[_plain(problem) for problem in problems],
        message=message,
    )


def _plain(problem):
    return {name: value for name, value in asdict(problem).items() if value not in (None, "")}


def _settle(interchange, accepted, rejected):
    if accepted and not rejected:
        interchange.status = Status.ACCEPTED
    elif accepted:
        interchange.status = Status.PARTLY_ACCEPTED
        interchange.error = (
            f"{rejected} of {accepted + rejected} rejected: see the acknowledgement."
        )
    else:
        interchange.status = Status.REJECTED
        interchange.error = "Nothing in it was accepted: see the acknowledgement."


def _refuse(interchange, refusal):
    """Record the refusal (the work of the read is rolled back already) and send the partner
    its TA1 or CONTRL when there is one."""
    with transaction.atomic():
        interchange.status = refusal.status
        interchange.error = refusal.detail
        interchange.error_code = refusal.code
        interchange.error_offset = refusal.offset
        interchange.read_at = timezone.now()
        interchange.save()
        if refusal.answer is not None:
            partner, render = refusal.answer
            interchange_control, _ = outbound.next_controls(partner)
            x12_answer = interchange.standard == Standard.X12
            outbound.send(
                partner,
                render(interchange_control),
                control=str(interchange_control).zfill(9 if x12_answer else 0),
                contents="TA1" if x12_answer else "CONTRL",
                answers=interchange,
            )
