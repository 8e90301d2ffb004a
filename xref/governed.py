"""Cross-references as a kind of record whose changes a policy may say need approval
(changes.registry), registered from XrefConfig.ready().

An approved reference is written through the registry's service (xref.services), not by a
plain save, so that its claim is locked, overlaps are refused with the service's sentences,
and the reference_changed signal announces it (the quarantine's auto-replay follows). A
creation is registered in the requester's name (created_by); its history names the approver
and the request. A deletion is the plain delete the admin's and the API's doors make.
"""

from changes.registry import Governed, govern
from xref import services
from xref.models import TARGET_FIELDS, CrossReference, Kind

# The fields a policy may name: what the reference means (its target), which code it is and
# when it holds.
FIELDS = (
    *((name, f"canonical record ({name.replace('_', ' ')})") for name in TARGET_FIELDS),
    ("system", "source system"),
    ("kind", "kind of record"),
    ("code", "code"),
    ("scope", "scope"),
    ("valid_from", "valid from"),
    ("valid_to", "valid to"),
    ("status", "status"),
    ("is_preferred", "preferred"),
)


def describe(reference):
    """ "ERP_LEGACY supplier code 100234 -> Frontier Bearing Supply (SUP-000001)"."""
    system = reference.system.code if reference.system_id else "(no system)"
    kind = Kind(reference.kind).label.lower() if reference.kind in Kind.values else "record"
    scope = f" in scope {reference.scope}" if reference.scope else ""
    text = f"{system} {kind} code {reference.code}{scope}"
    target = reference.target if reference.kind in Kind.values and reference.target_id else None
    if target is None:
        return text
    name = services.target_name(reference.kind, target)
    return f"{text} -> {name} ({services.target_key(reference.kind, target)})"


def apply(item, reference, by, reason):
    """Write an approved creation or change through xref.services (see the module)."""
    if reference.pk is None and reference.status == CrossReference.Status.ACTIVE:
        created, _ = services.register_reference(
            kind=reference.kind,
            system=reference.system,
            code=reference.code,
            target=reference.target,
            scope=reference.scope,
            valid_from=reference.valid_from,
            valid_to=reference.valid_to,
            is_preferred=reference.is_preferred,
            origin=reference.origin or CrossReference.Origin.MANUAL,
            user=item.request.requested_by,
            history_user=by,
            change_reason=reason,
        )
        return created
    if reference.pk is None:
        # Created retired: it claims no code, so there is nothing to lock or to overlap.
        reference.created_by = item.request.requested_by
        reference.full_clean()
        reference.save()
        return reference
    return services.update_reference(reference, user=by)


def register():
    govern(
        Governed(
            model="xref.crossreference",
            title="Cross-references",
            fields=FIELDS,
            system="system__code",
            apply=apply,
            describe=describe,
        )
    )
