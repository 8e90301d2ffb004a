"""The filters of the supply flow lists (quarantine.flow_views) and of the supply exceptions
screen, read from request parameters: what a chart's bar linked to, checked and put in words.

A parameter that names nothing known (an age that is no bucket, a supplier id nobody has) is
dropped with a sentence saying what would be accepted, so a list opened from a stale or
mistyped link shows its rows unfiltered and says why; it never fails.
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.http import QueryDict

from mdm.models import Item, Location, Supplier
from quarantine import queries
from validation import flows


class BadFilter(Exception):
    """A parameter names nothing known; the message says what would be accepted."""


@dataclass
class Filters:
    """The filters a list was asked for, as understood: each accepted parameter's value,
    the words for it ("plant Hamburg (LOC-000001)"), and a sentence per parameter dropped."""

    values: dict = field(default_factory=dict)
    words: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    def get(self, name):
        return self.values.get(name)

    @property
    def querydict(self):
        """The accepted filters as a QueryDict, for the page links (templates/_pages.html)."""
        found = QueryDict(mutable=True)
        found.update(self.values)
        return found

    def query(self, **more):
        """The accepted filters (and `more`) as a query string, for paging and state links."""
        return urlencode({**self.values, **{k: v for k, v in more.items() if v}})


def read(params, names, defaults=None):
    """Filters from `params` (a QueryDict) for the parameters `names`: each read by its
    reader below. `defaults` gives a parameter's value when it is missing or dropped (the
    window of the ship notices, the state of the forecast releases); a default is used,
    not shown as a filter."""
    defaults = defaults or {}
    found = Filters()
    for name in names:
        raw = (params.get(name) or "").strip()
        if raw:
            try:
                value, words = READERS[name](raw)
            except BadFilter as exc:
                found.problems.append(str(exc))
            else:
                found.values[name] = value
                if words:
                    found.words.append(words)
                continue
        if name in defaults:
            found.values[name] = defaults[name]
    return found


def _age(raw):
    if raw not in flows.AGE_KEYS:
        choices = ", ".join(f"{label} ({key})" for key, label, _ in flows.AGES)
        raise BadFilter(f"There is no age “{raw}”: give one of {choices}. Showing every age.")
    return raw, flows.AGE_LABELS[raw]


def _supplier(raw):
    name = Supplier.objects.filter(public_id=raw).values_list("name", flat=True).first()
    if name is None:
        raise BadFilter(
            f"No supplier has the id “{raw}”: give a supplier's public id, such as "
            "SUP-000001. Showing every supplier."
        )
    return raw, f"supplier {name} ({raw})"


def _plant(raw):
    if raw == flows.NONE:
        return raw, "no plant"
    name = Location.objects.filter(public_id=raw).values_list("name", flat=True).first()
    if name is None:
        raise BadFilter(
            f"No plant has the id “{raw}”: give a plant's public id, such as LOC-000001, or "
            f"{flows.NONE} for the exceptions without a plant. Showing every plant."
        )
    return raw, f"plant {name} ({raw})"


def _commodity(raw):
    if raw == flows.NONE:
        return raw, "no commodity"
    if not Item.objects.filter(commodity=raw).exists():
        raise BadFilter(
            f"No item has the commodity “{raw}”: give a commodity as the items name it, or "
            f"{flows.NONE} for items without one. Showing every commodity."
        )
    return raw, f"commodity {raw}"


def _window(raw):
    if raw not in queries.WINDOWS:
        choices = ", ".join(f"{text} ({key})" for key, (text, _) in queries.WINDOWS.items())
        default = queries.WINDOWS[queries.DEFAULT_WINDOW][0]
        raise BadFilter(
            f"There is no window “{raw}”: give one of {choices}. Showing the {default}."
        )
    return raw, ""


def _release_state(raw):
    # The forecast releases' ?state= (the supply exceptions screen reads its own).
    states = dict(flows.RELEASE_STATES)
    if raw not in states:
        choices = ", ".join(f"{label.lower()} ({key})" for key, label in flows.RELEASE_STATES)
        raise BadFilter(
            f"There is no state “{raw}”: give one of {choices}. Showing the releases pending "
            "acceptance."
        )
    return raw, ""


READERS = {
    "age": _age,
    "supplier": _supplier,
    "plant": _plant,
    "commodity": _commodity,
    "window": _window,
    "state": _release_state,
}
