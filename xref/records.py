"""Master records as the screens show them: public id and name, linked to the record's admin
page. Used wherever a code from a message is shown with the record it resolves to (the
quarantine screens, the messages in the admin)."""

from dataclasses import dataclass

from django.urls import reverse

from mdm.models import Item, Location, Supplier
from xref.models import Kind
from xref.resolve import NOT_YET_VALID, RESOLVED, RETIRED, InvalidKeys, resolve_many

MODELS = {Kind.LOCATION: Location, Kind.SUPPLIER: Supplier, Kind.ITEM: Item}
NAME_FIELD = {Kind.LOCATION: "name", Kind.SUPPLIER: "name", Kind.ITEM: "description"}


@dataclass(frozen=True)
class Record:
    """A master record as the screens show it."""

    id: str
    name: str
    url: str

    @property
    def label(self):
        return f"{self.id} {self.name}".strip()


def records_by_id(wanted):
    """{(kind, public id): Record} for (kind, public id) pairs of items, suppliers and
    locations: one query per kind."""
    found = {}
    by_kind = {}
    for kind, public_id in wanted:
        if kind in MODELS:
            by_kind.setdefault(kind, set()).add(public_id)
    for kind, public_ids in by_kind.items():
        model = MODELS[kind]
        opts = model._meta
        rows = model.objects.filter(public_id__in=public_ids).values_list(
            "public_id", "pk", NAME_FIELD[kind]
        )
        for public_id, pk, name in rows:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
            found[(kind, public_id)] = Record(public_id, name or "", url)
    return found


def resolve_records(keys, as_of=None):
    """{(kind, system code, code): Record or None} for (kind, system code, code) keys of
    items, suppliers and locations, resolved without a scope in one batch
    (`xref.resolve.resolve_many`): the record a code means (or meant, before a cut-over), None
    for a code no reference knows, or that means several records."""
    keys = sorted({key for key in keys if key[0] in MODELS and key[2]})
    try:
        answers = resolve_many(keys, as_of=as_of, near_misses=False)
    except InvalidKeys:  # a code too long for the registry, or an unknown system
        return dict.fromkeys(keys)
    ids = {key: answer["id"] for key, answer in zip(keys, answers, strict=True) if names(answer)}
    records = records_by_id({(key[0], public_id) for key, public_id in ids.items()})
    return {key: records.get((key[0], ids.get(key))) for key in keys}


def names(answer):
    """Whether a resolve answer names one record: resolved, or a code retired or not yet
    valid (it still says which record it meant)."""
    return answer["status"] in (RESOLVED, RETIRED, NOT_YET_VALID)
