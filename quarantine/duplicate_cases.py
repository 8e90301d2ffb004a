"""The open quarantine cases naming master records, counted per record: the part of a
duplicate cluster's impact that the quarantine app knows (xref.duplicate_queue asks for it
with `open_cases`).

A case names its plant, supplier and item by the sender's codes (quarantine.masters); a
code names a record when a cross-reference of the case's system has (or had) it for the
record, or when the sender wrote the public id itself, as `masters.record_condition` has it.
"""

from collections import defaultdict

from django.db.models import Q

from quarantine.models import QuarantineCase
from xref.models import TARGETS, CrossReference

# The case's field that names a record of each duplicate kind (cases name plants only).
CASE_FIELD = {"supplier": "supplier", "location": "plant", "item": "item"}


def open_cases(kind, public_ids):
    """{public id: the number of open cases naming it} for records of `kind`: one query for
    the records' codes, one for the cases."""
    public_ids = set(public_ids)
    if not public_ids or kind not in CASE_FIELD:
        return {}
    field, target = CASE_FIELD[kind], TARGETS[kind][0]
    owners = defaultdict(set)
    for system_id, code, public_id in CrossReference.objects.filter(
        kind=kind, **{f"{target}__public_id__in": public_ids}
    ).values_list("system_id", "code", f"{target}__public_id"):
        owners[(system_id, code)].add(public_id)
    codes = {code for _, code in owners} | public_ids
    cases = QuarantineCase.objects.filter(
        Q(**{f"{field}__in": codes}), status__in=QuarantineCase.OPEN_STATUSES
    ).values_list("pk", "system_id", field)
    named = defaultdict(set)
    for pk, system_id, code in cases:
        for public_id in owners.get((system_id, code), set()) | ({code} & public_ids):
            named[public_id].add(pk)
    return {public_id: len(named[public_id]) for public_id in public_ids}
