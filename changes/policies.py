"""Which changes need approval: the active policies of a record's kind that cover its system
and, for a change of some fields, those fields."""

from changes.models import ApprovalPolicy
from changes.registry import governed

CREATE, UPDATE, DELETE = "create", "update", "delete"


def covering(instance, action, changed=(), systems=None):
    """The active policies that make this change of `instance` need approval (`covering_kind`;
    `systems`: the record's system codes before and after the change, by default the
    instance's)."""
    kind = governed(instance)
    if kind is None:
        return []
    if systems is None:
        systems = {kind.system_of(instance)}
    return covering_kind(kind.model, action, changed, systems)


def covering_kind(model_label, action, changed=(), systems=()):
    """The active policies of a kind that make a change need approval: for a creation or
    deletion, the policies naming no field; for an update, those naming no field or one of
    the `changed` fields. A policy naming systems covers a record only when its system is one
    of them."""
    found = []
    for policy in ApprovalPolicy.objects.filter(active=True, kind=model_label):
        if policy.systems and not set(policy.systems) & set(systems):
            continue
        if policy.fields and (action != UPDATE or not set(policy.fields) & set(changed)):
            continue
        found.append(policy)
    return found


def any_policy(model_label):
    """Whether any active policy covers the kind at all (a cheap test before a batch)."""
    return ApprovalPolicy.objects.filter(active=True, kind=model_label).exists()
