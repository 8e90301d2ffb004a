"""What each kind of CSV file holds: its columns, its natural key, the records it references.

One declarative spec per kind. A column is a model field with a cell format; a reference is
a foreign key given by the natural key of the record it points at, in headers such as
`supplier.number` (several headers when that record's key has several parts). The natural
key of a row is the formatted values of its key columns, so a record read from the database
and a row read from a file are compared in the same terms.

Cells are canonical text: dates as YYYY-MM-DD, booleans as true/false, decimals without
trailing zeros, unit codes in upper case. Export writes exactly that, so an exported file
imported again plans zero changes.

A read-only column (`merged_into` of items, suppliers and locations) is written by the export
and accepted in a file, but never written by an import: its cell left as exported or blank
changes nothing, any other value fails the row (imports.judging). It closes the header line,
and the template a steward fills in leaves it out.
"""

import datetime
import functools
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from core.numbers import NumberError, bounded_decimal
from mdm.models import (
    Calendar,
    CalendarException,
    CodeList,
    CodeValue,
    Item,
    ItemRevision,
    ItemUnitConversion,
    Location,
    SourceSystem,
    Supplier,
    SupplierSite,
    Unit,
)
from xref.models import TARGET_PATHS, TARGETS, CrossReference


class CellError(ValueError):
    """A cell that cannot be read in its column's format; the message says the format."""


# --- cell formats -----------------------------------------------------------------------------

TRUE = frozenset({"true", "1", "yes", "y"})
FALSE = frozenset({"false", "0", "no", "n"})


def parse_text(cell):
    return cell


def parse_upper(cell):
    return cell.upper()


def parse_bool(cell):
    lowered = cell.lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise CellError(f"{cell!r} is not true or false.")


def parse_date(cell):
    try:
        return datetime.date.fromisoformat(cell)
    except ValueError:
        raise CellError(f"{cell!r} is not a date (YYYY-MM-DD).") from None


def parse_decimal(cell):
    try:
        value = Decimal(cell)
    except InvalidOperation:
        raise CellError(f"{cell!r} is not a number (use a dot for decimals).") from None
    if not value.is_finite():
        raise CellError(f"{cell!r} is not a number (use a dot for decimals).")
    try:
        return bounded_decimal(cell)  # before any arithmetic: 1e999999999 is a cell too
    except NumberError as exc:
        raise CellError(str(exc)) from None


def parse_int(cell):
    try:
        return int(cell)
    except ValueError:
        raise CellError(f"{cell!r} is not a whole number.") from None


def format_value(value):
    """A field value as canonical cell text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


FORMATS = {
    "text": (parse_text, "text"),
    "upper": (parse_upper, "code, upper case"),
    "bool": (parse_bool, "true or false"),
    "date": (parse_date, "date YYYY-MM-DD"),
    "decimal": (parse_decimal, "number with a dot for decimals"),
    "int": (parse_int, "whole number"),
}


# --- specs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A CSV column holding one model field."""

    name: str
    field: str
    format: str = "text"
    required: bool = False
    # Written by the export, accepted in a file, never written by an import: the hub sets the
    # field itself (merging sets `merged_into`), and a file may only repeat what it holds.
    read_only: bool = False

    @property
    def parser(self):
        """The function reading this column's cells."""
        return FORMATS[self.format][0]

    def parse(self, cell):
        return self.parser(cell)


@dataclass(frozen=True)
class Ref:
    """A foreign key given by the natural key of the record it points at: `columns` are the
    headers, `lookups` the matching lookups on the referenced model (same order)."""

    field: str
    model: type
    columns: tuple
    lookups: tuple
    required: bool = False
    upper: bool = False  # unit codes: "kgm" can only mean KGM
    after: str = ""  # the column these headers follow in the file (default: at the end)

    def key_of(self, record):
        """The referenced record's key as cell texts."""
        return record_key(record, self.lookups)


def record_key(record, lookups):
    """A record's natural key as cell texts: the value of each lookup (`supplier__number`
    follows the foreign key), formatted as an export writes it."""
    return tuple(format_value(_follow(record, lookup)) for lookup in lookups)


def _follow(record, path):
    for part in path.split("__"):
        record = getattr(record, part)
        if record is None:
            return None
    return record


@dataclass(frozen=True)
class Kind:
    """One kind of CSV file."""

    name: str
    label: str
    model: type
    key: tuple  # header names making the natural key
    # The key header whose lookup finds a chunk's stored records (the most selective one).
    lookup_by: str = ""
    columns: tuple = ()
    refs: tuple = ()
    # "bulk": validated per row, written in bulk per chunk (clean() needs no queries);
    # "row": saved row by row, so each row's clean() sees the rows before it (overlap checks).
    write: str = "bulk"
    description: str = ""
    order_by: tuple = ()
    select_related: tuple = ()
    notes: dict = field(default_factory=dict)
    # The key header naming the source system whose records these are (cross-references);
    # "" for kinds of no system. An approval policy may cover some systems' records only.
    system_header: str = ""

    @functools.cached_property
    def headers(self):
        names = []
        for spec in self.specs:
            names.extend(spec_headers(spec))
        return names

    @functools.cached_property
    def writable_headers(self):
        """The headers an import writes: all but the read-only ones (the template's line)."""
        read_only = {c.name for c in self.columns if c.read_only}
        return [name for name in self.headers if name not in read_only]

    @functools.cached_property
    def specs(self):
        """Columns and references in header order (key first, read-only columns last)."""
        placed = []
        for column in self.columns:
            if column.read_only:
                continue
            placed.append(column)
            placed.extend(ref for ref in self.refs if ref.after == column.name)
        placed.extend(ref for ref in self.refs if ref not in placed)
        placed.extend(column for column in self.columns if column.read_only)
        by_header = {}
        for spec in placed:
            for header in spec_headers(spec):
                by_header[header] = spec
        ordered = []
        for header in (*self.key, *by_header):
            spec = by_header[header]
            if spec not in ordered:
                ordered.append(spec)
        return ordered

    @functools.cached_property
    def required_headers(self):
        names = list(self.key)
        for spec in self.specs:
            if spec.required:
                names.extend(h for h in spec_headers(spec) if h not in names)
        # Optional parts of a key (a conversion's supplier) may be left out of the file.
        optional = {h for ref in self.refs if not ref.required for h in ref.columns}
        optional |= {c.name for c in self.columns if not c.required}
        return [name for name in names if name not in optional]

    def row_of(self, record):
        """A record as {header: cell text}."""
        row = {}
        for spec in self.specs:
            if isinstance(spec, Ref):
                target = getattr(record, spec.field)
                cells = spec.key_of(target) if target is not None else ("",) * len(spec.columns)
                row.update(zip(spec.columns, cells, strict=True))
            else:
                row[spec.name] = self.cell(record, spec)
        return row

    def cell(self, record, column):
        return format_value(getattr(record, column.field))

    def key_of_record(self, record):
        row = self.row_of(record)
        return tuple(row[name] for name in self.key)

    @functools.cached_property
    def field_of_header(self):
        """{column of a plan's change: the model field it sets} (a reference by its field)."""
        found = {column.name: column.field for column in self.columns}
        for ref in self.refs:
            found.update(dict.fromkeys((*ref.columns, ref.field), ref.field))
        return found

    def changed_fields(self, state):
        """The model fields a planned update changes, read from its plan's changes."""
        return {self.field_of_header.get(change[0], change[0]) for change in state.diff}

    def touches(self, state, action):
        """What a planned row creates or changes, for the approval policies: {(system code,
        field name)}, field "" for a new record, system "" for a kind of no system."""
        system = ""
        if self.system_header and state.key:
            system = state.key[self.key.index(self.system_header)]
        if action == "create":
            return {(system, "")}
        return {(system, name) for name in self.changed_fields(state)}


def spec_headers(spec):
    return spec.columns if isinstance(spec, Ref) else (spec.name,)


def unit_ref(field_name, required=False, after=""):
    return Ref(
        field_name, Unit, (field_name,), ("code",), required=required, upper=True, after=after
    )


def calendar_ref(after=""):
    return Ref("calendar", Calendar, ("calendar.code",), ("code",), after=after)


def supplier_ref(required=True):
    return Ref("supplier", Supplier, ("supplier.number",), ("number",), required=required)


def item_ref():
    return Ref("item", Item, ("item.number",), ("number",), required=True)


def merged_into_column():
    """The survivor's public id for a record merged into another (xref.merging), blank for a
    live record: the export tells which records were merged, and an import changes none."""
    return Column("merged_into", "merged_into", "upper", read_only=True)


KINDS = {}


def _register(kind):
    KINDS[kind.name] = kind
    return kind


_register(
    Kind(
        name="items",
        label="Items",
        model=Item,
        key=("number",),
        columns=(
            Column("number", "number", required=True),
            Column("description", "description", required=True),
            Column("item_type", "item_type", required=True),
            Column("status", "status"),
            Column("gtin", "gtin"),
            Column("manufacturer", "manufacturer"),
            Column("mpn", "mpn"),
            Column("commodity", "commodity"),
            Column("net_weight", "net_weight", "decimal"),
            merged_into_column(),
        ),
        refs=(unit_ref("base_unit", required=True, after="description"), unit_ref("weight_unit")),
        order_by=("number",),
        select_related=("base_unit", "weight_unit"),
        description="Items by number; units by UN/ECE Rec 20 code (H87, KGM).",
    )
)

_register(
    Kind(
        name="item_revisions",
        label="Item revisions",
        model=ItemRevision,
        key=("item.number", "revision"),
        columns=(
            Column("revision", "revision", required=True),
            Column("status", "status"),
            Column("effective_from", "effective_from", "date", required=True),
            Column("effective_to", "effective_to", "date"),
            Column("description", "description"),
        ),
        refs=(item_ref(),),
        write="row",
        order_by=("item__number", "effective_from", "revision"),
        select_related=("item",),
        description="Revisions of items, keyed by item number and revision code.",
    )
)

_register(
    Kind(
        name="item_unit_conversions",
        label="Item unit conversions",
        model=ItemUnitConversion,
        key=("item.number", "supplier.number", "from_unit", "to_unit", "valid_from"),
        columns=(
            Column("factor", "factor", "decimal", required=True),
            Column("valid_from", "valid_from", "date"),
            Column("valid_to", "valid_to", "date"),
        ),
        refs=(
            item_ref(),
            supplier_ref(required=False),
            unit_ref("from_unit", required=True),
            unit_ref("to_unit", required=True),
        ),
        write="row",
        order_by=("item__number", "from_unit", "to_unit", "supplier__number", "valid_from"),
        select_related=("item", "supplier", "from_unit", "to_unit"),
        description="1 from_unit = factor to_unit for an item (and supplier, when given).",
    )
)

_register(
    Kind(
        name="suppliers",
        label="Suppliers",
        model=Supplier,
        key=("number",),
        columns=(
            Column("number", "number", required=True),
            Column("name", "name", required=True),
            Column("legal_name", "legal_name"),
            Column("status", "status"),
            Column("country", "country", "upper", required=True),
            Column("duns", "duns"),
            Column("lei", "lei", "upper"),
            Column("vat", "vat", "upper"),
            merged_into_column(),
        ),
        order_by=("number",),
        description="Suppliers by number; country as ISO 3166 alpha-2.",
    )
)

_register(
    Kind(
        name="supplier_sites",
        label="Supplier sites",
        model=SupplierSite,
        key=("supplier.number", "code"),
        columns=(
            Column("code", "code", required=True),
            Column("name", "name"),
            Column("address", "address"),
            Column("city", "city"),
            Column("postal_code", "postal_code"),
            Column("country", "country", "upper", required=True),
            Column("status", "status"),
        ),
        refs=(supplier_ref(), calendar_ref(after="country")),
        order_by=("supplier__number", "code"),
        select_related=("supplier", "calendar"),
        description="Sites of suppliers, keyed by supplier number and site code.",
    )
)

_register(
    Kind(
        name="locations",
        label="Locations",
        model=Location,
        key=("code",),
        columns=(
            Column("code", "code", required=True),
            Column("name", "name", required=True),
            Column("kind", "kind", required=True),
            Column("status", "status"),
            Column("gln", "gln"),
            Column("address", "address"),
            Column("city", "city"),
            Column("postal_code", "postal_code"),
            Column("country", "country", "upper", required=True),
            Column("timezone", "timezone"),
            Column("can_receive", "can_receive", "bool"),
            merged_into_column(),
        ),
        refs=(
            calendar_ref(after="timezone"),
            Ref("parent", Location, ("parent.code",), ("code",), after="timezone"),
            Ref(
                "supplier_site",
                SupplierSite,
                ("supplier_site.supplier.number", "supplier_site.code"),
                ("supplier__number", "code"),
                after="timezone",
            ),
        ),
        # The parent check walks up the stored tree; row by row, a parent earlier in the
        # file is stored before its children are checked.
        write="row",
        order_by=("code",),
        select_related=("calendar", "parent", "supplier_site__supplier"),
        description="Locations by code; a parent given earlier in the same file is found.",
    )
)

_register(
    Kind(
        name="calendars",
        label="Calendars",
        model=Calendar,
        key=("code",),
        columns=(
            Column("code", "code", required=True),
            Column("name", "name", required=True),
            Column("timezone", "timezone"),
            Column("working_weekdays", "working_weekdays"),
            Column("holiday_country", "holiday_country", "upper"),
            Column("holiday_subdivision", "holiday_subdivision", "upper"),
            Column("is_active", "is_active", "bool"),
        ),
        order_by=("code",),
        description="Working calendars; working_weekdays as 7 characters, Monday first.",
    )
)

_register(
    Kind(
        name="calendar_exceptions",
        label="Calendar exceptions",
        model=CalendarException,
        key=("calendar.code", "start"),
        columns=(
            Column("start", "start", "date", required=True),
            Column("end", "end", "date", required=True),
            Column("is_working", "is_working", "bool"),
            Column("reason", "reason", required=True),
        ),
        refs=(Ref("calendar", Calendar, ("calendar.code",), ("code",), required=True),),
        write="row",
        order_by=("calendar__code", "start"),
        select_related=("calendar",),
        description="Shutdowns and working days off the calendar's weekly pattern.",
    )
)

_register(
    Kind(
        name="code_lists",
        label="Code lists",
        model=CodeList,
        key=("code",),
        columns=(
            Column("code", "code", required=True),
            Column("name", "name", required=True),
            Column("description", "description"),
        ),
        order_by=("code",),
        description="Lists of canonical codes.",
    )
)

_register(
    Kind(
        name="code_values",
        label="Code values",
        model=CodeValue,
        key=("code_list.code", "code"),
        columns=(
            Column("code", "code", required=True),
            Column("meaning", "meaning", required=True),
            Column("description", "description"),
            Column("status", "status"),
            Column("sort_order", "sort_order", "int"),
        ),
        refs=(Ref("code_list", CodeList, ("code_list.code",), ("code",), required=True),),
        order_by=("code_list__code", "sort_order", "code"),
        select_related=("code_list",),
        description="Canonical codes of code lists, keyed by list code and value code.",
    )
)

# Cross-references: the target is named by the natural key of its kind in one column.
XREF_TARGET_FORMATS = {
    "item": "item number, e.g. 100-200",
    "item_revision": "item number/revision, e.g. 100-200/B",
    "supplier": "supplier number",
    "supplier_site": "supplier number/site code, e.g. S-100/HAMBURG",
    "location": "location code",
    "unit": "UN/ECE Rec 20 code, e.g. H87",
    "code_value": "list code:value code, e.g. ACK_LINE_STATUS:accepted",
}


class XrefKind(Kind):
    """Cross-references: the target is one `target` cell in the format of its kind."""

    def cell(self, record, column):
        if column.name == "target":
            return xref_target_key(record.kind, record.target)
        return super().cell(record, column)

    def changed_fields(self, state):
        """A new target is a change of "target" and of its kind's field (item, supplier...)."""
        fields = super().changed_fields(state)
        target = TARGETS.get(state.values.get("kind"))
        if "target" in fields and target is not None:
            fields.add(target[0])
        return fields


def xref_target_key(kind, target):
    """The natural key of a reference's target as a `target` cell."""
    if kind == "item":
        return target.number
    if kind == "item_revision":
        return f"{target.item.number}/{target.revision}"
    if kind == "supplier":
        return target.number
    if kind == "supplier_site":
        return f"{target.supplier.number}/{target.code}"
    if kind == "code_value":
        return f"{target.code_list.code}:{target.code}"
    return target.code  # location, unit


_register(
    XrefKind(
        name="xrefs",
        label="Cross-references",
        model=CrossReference,
        key=("system", "kind", "scope", "code", "valid_from"),
        columns=(
            Column("kind", "kind", required=True),
            Column("scope", "scope"),
            Column("code", "code", required=True),
            Column("target", "target", required=True),
            Column("valid_from", "valid_from", "date"),
            Column("valid_to", "valid_to", "date"),
            Column("status", "status"),
            Column("is_preferred", "is_preferred", "bool"),
        ),
        refs=(Ref("system", SourceSystem, ("system",), ("code",), required=True),),
        write="xref",
        lookup_by="code",
        system_header="system",
        order_by=("system__code", "kind", "scope", "code", "valid_from"),
        select_related=("system", *TARGET_PATHS),
        description="Which code a source system uses for a record; written through the "
        "cross-reference registry.",
        notes=XREF_TARGET_FORMATS,
    )
)


def get(name):
    return KINDS[name]
