"""What the apps above say about their governed records: which kinds of record a policy may
cover (with their words, the fields offered, and how to find a record's system), how a kind
is applied when it is not a plain save, and how a batch (an import run) is applied and
described. The apps register in their AppConfig.ready(); this app imports none of them.

Also the impact providers: functions that say what a request would change beyond its records
(the quarantined messages it would release, say), registered by the apps that know.
"""

from dataclasses import dataclass, field

from django.apps import apps


@dataclass(frozen=True)
class Governed:
    """A kind of record changes of which may need approval.

    - `model`: the model label ("xref.crossreference"); `title`: what a person calls them;
    - `fields`: the fields a policy may name, (name, words) pairs;
    - `system`: the path from a record to its system's code ("system__code"), "" when the
      records belong to no system;
    - `apply`: `(item, values, by, reason) -> instance` when the kind is applied through a
      service rather than a plain save (cross-references are: their service locks and checks
      overlaps); None for the plain save;
    - `describe`: `(instance) -> str`, the record in words; None: str(instance)."""

    model: str
    title: str
    fields: tuple = ()
    system: str = ""
    apply: object = field(default=None, repr=False)
    describe: object = field(default=None, repr=False)

    @property
    def model_class(self):
        return apps.get_model(self.model)

    def words(self, instance):
        return self.describe(instance) if self.describe else str(instance)

    def system_of(self, instance):
        """The code of the record's system, "" when it has none (or the kind has no system)."""
        value = instance
        for step in self.system.split("__") if self.system else ():
            value = getattr(value, step, None)
            if value is None:
                return ""
        return str(value) if self.system else ""


@dataclass(frozen=True)
class Batch:
    """A batch of changes applied as a whole (an import run): `apply(reference, by, reason)`
    applies it in one transaction or raises changes.requests.Stale; `describe(reference)`
    gives (title, url, [(words, count)]) for the request page."""

    name: str
    title: str
    apply: object = field(repr=False)
    describe: object = field(repr=False)


GOVERNED = {}  # model label -> Governed
BATCHES = {}  # batch name -> Batch
IMPACTS = []  # functions (ChangeRequest) -> [Impact]
# (codes) -> {code: name} of the source systems, registered by the app that keeps them.
SYSTEM_NAMES = []


@dataclass(frozen=True)
class Impact:
    """One consequence of a request beyond its records, in words, with where to see it."""

    text: str
    url: str = ""
    count: int = 0


def govern(governed):
    """Register a kind of record as one a policy may cover (again: replaced)."""
    GOVERNED[governed.model] = governed
    return governed


def batch(found):
    BATCHES[found.name] = found
    return found


def impact(function):
    """Register an impact provider (a decorator)."""
    if function not in IMPACTS:
        IMPACTS.append(function)
    return function


def governed(model):
    """The Governed of a model class or label, None when no app governs it."""
    label = model if isinstance(model, str) else model._meta.label_lower
    return GOVERNED.get(label)


def kind_choices():
    return sorted(((g.model, f"{g.title} ({g.model})") for g in GOVERNED.values()), key=str)


def kind_words(kind):
    """What a person calls a request's kind: the governed kind's or the batch's title, the
    label itself when no app registers it."""
    if kind in GOVERNED:
        return GOVERNED[kind].title
    if kind in BATCHES:
        return BATCHES[kind].title
    return "Several kinds of record" if kind == "several" else kind


def system_names(function):
    """Register the function that names source systems by their codes."""
    SYSTEM_NAMES[:] = [function]
    return function


def systems_in_words(codes):
    """[(code, "Legacy ERP (ERP_LEGACY)")] of system codes, the code alone when unnamed."""
    names = SYSTEM_NAMES[0](codes) if SYSTEM_NAMES and codes else {}
    return [(code, f"{names[code]} ({code})" if code in names else code) for code in codes]
