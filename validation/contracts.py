"""Message contracts: one JSON Schema (draft 2020-12) per message type and version, kept as
files in validation/contracts/<type>/v<version>.json and served read-only by the API so that
partners can validate a message before sending it.

A published contract is never edited. PUBLISHED pins the SHA-256 of each file's canonical
JSON (keys sorted, no whitespace: reformatting a file changes nothing, changing a word does);
a file that no longer matches its pin refuses to load, and the test suite fails on it. A
change to a contract is a new version: a new file and a new line in PUBLISHED.

Each schema names its business date (the date codes are resolved at, and calendars checked
against) in the custom keyword "x-business-date", a dotted path into the payload:

    forecast: horizon.start       purchase_order: order_date    po_acknowledgement: ack_date
    ship_notice: ship_date        receipt: received_at          inventory_balance: as_of
    forecast_acceptance: decided_at

The path names a date (YYYY-MM-DD) or, where the moment matters more than the day (when an ERP
took a forecast version: forecast_acceptance), an RFC 3339 date-time with its offset; the
business date of a date-time is its date as written, in the sender's own offset, the day the
sender's people would name.

Quantities are JSON numbers or decimal strings ("12.5"). A JSON number is read as a double,
which holds 15 significant digits exactly; a sender that needs more sends strings.

Payloads are checked with jsonschema-rs (a compiled validator): a 200,000-line forecast takes
0.3 s there against 80 s with the pure-Python jsonschema, and the check runs in the request.
"""

import datetime
import functools
import hashlib
import json
from pathlib import Path

import jsonschema_rs
from jsonschema_rs import ValidationErrorKind

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"

MESSAGE_TYPES = (
    "forecast",
    "purchase_order",
    "po_acknowledgement",
    "ship_notice",
    "receipt",
    "inventory_balance",
    "forecast_acceptance",
)

# (message type, version) -> SHA-256 of the file's canonical JSON. Append only.
PUBLISHED = {
    ("forecast", 1): "ae1715173265fa8f29e0d13576acf0cf3da4df4c59c5c38d30c904bc030c6395",
    ("purchase_order", 1): "9cd8847ec50cb7446b42df3b5615dcc194d348c91f21e632afb3afea0347d701",
    ("po_acknowledgement", 1): "1f3333f97e6844b76bbbb9faf47d05ef8ab107bfab2490d7983fa4c513e8d8ca",
    ("ship_notice", 1): "31ce7d78bda19743de4153df0ac2316ee56834fe8e995168399127621fe0634d",
    ("receipt", 1): "7ee6246d425104417227ce9e1c1b00f18dd010a3afe034b37cb875c826eb1dd2",
    ("inventory_balance", 1): "fe2453aee477f8b0cf0507b94e146c2e2d4d91dce6b6d56921c9a241987567ca",
    ("ship_notice", 2): "47231ae654c81751048d01fa65ce0defd1e4a14d418b415b70241e4b7b019245",
    ("purchase_order", 2): "ab34192b20e61e1525fcdfa74a4871c2b122d0c076be77fe43584a935a2786b0",
    ("po_acknowledgement", 2): "3972bb11fca95a172c918829681475801c530861548e8f85699c3c84d9f68e4d",
    ("ship_notice", 3): "313447be76728a687b69953e370dbe9ad7f5878ecf402588ff671fc8dc30e7a1",
    ("purchase_order", 3): "2fcc6f107952a2b4740e73b0ff735e2e08aacd25e8c3d407d89202851fbd8e1a",
    ("forecast_acceptance", 1): "af17cf8307e409f276363b44ba5e8d901bc113c7461ccfb238cc4fe1c7122d03",
}


class UnknownContract(LookupError):
    """No published contract for this message type and version."""


class EditedContract(RuntimeError):
    """A published contract file no longer matches its pinned hash."""


def canonical_json(value):
    """The bytes idempotency and contract pins hash: keys sorted, no whitespace, ASCII."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def sha256_of(value):
    return hashlib.sha256(canonical_json(value)).hexdigest()


def contract_path(message_type, version):
    return CONTRACTS_DIR / message_type / f"v{version}.json"


def list_contracts():
    """Every published contract, by type then version: type, version, title, description."""
    rows = []
    for message_type, version in sorted(PUBLISHED, key=_contract_order):
        schema = get_contract(message_type, version)
        rows.append(
            {
                "type": message_type,
                "version": version,
                "title": schema["title"],
                "description": schema["description"],
            }
        )
    return rows


def get_contract(message_type, version):
    """The schema of a published contract, as a dict (do not modify it)."""
    return _load(message_type, version)[0]


def is_published(message_type, version):
    return (message_type, version) in PUBLISHED


def contract_errors(message_type, version, payload):
    """Every way `payload` breaks the contract, as [{"path": "$.lines[3].quantity",
    "message": ...}], sorted by path (line 10 after line 9). Empty when it conforms."""
    validator = _load(message_type, version)[1]
    errors = set()
    for error in validator.iter_errors(payload):
        path = list(error.instance_path)
        if isinstance(error.kind, ValidationErrorKind.Required):
            # Point at the missing property itself: "$.lines[3].quantity", not "$.lines[3]".
            path.append(error.kind.property)
        errors.add((_sort_key(path), json_path(path), _message(error)))
    # A set: a malformed date breaks both its pattern and its format, one entry is enough.
    return [{"path": path, "message": message} for _, path, message in sorted(errors)]


def business_date(message_type, version, payload):
    """The payload's business date (see the module docstring), or None when it is missing or
    not a valid date or date-time."""
    value = payload
    for name in get_contract(message_type, version)["x-business-date"].split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    if isinstance(value, str) and len(value) > 10 and value[10] in "Tt":
        # A date-time: its date as written (the contract's pattern has made sure it is one).
        value = value[:10]
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def json_path(parts):
    """["lines", 3, "quantity"] -> "$.lines[3].quantity"."""
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.isidentifier():
            path += f".{part}"
        else:
            path += f"[{json.dumps(part)}]"
    return path


@functools.cache
def _load(message_type, version):
    if (message_type, version) not in PUBLISHED:
        raise UnknownContract(f"No published contract {message_type} v{version}.")
    schema = json.loads(contract_path(message_type, version).read_text(encoding="utf-8"))
    pinned = PUBLISHED[(message_type, version)]
    if sha256_of(schema) != pinned:
        raise EditedContract(
            f"{contract_path(message_type, version)} does not match its published SHA-256 "
            f"({pinned}). A published contract is never edited: publish a new version."
        )
    jsonschema_rs.meta.validate(schema)
    return schema, jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def _contract_order(key):
    return (MESSAGE_TYPES.index(key[0]) if key[0] in MESSAGE_TYPES else len(MESSAGE_TYPES), key)


def _sort_key(parts):
    # Line 10 sorts after line 9; the tag keeps Python from comparing an index with a name.
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, part) for part in parts)


def _message(error):
    kind = error.kind
    definition = error.schema_path[1] if error.schema_path[:1] == ["$defs"] else None
    if isinstance(kind, ValidationErrorKind.Required):
        return "Missing: this property is required."
    if definition == "decimal" and isinstance(
        kind, ValidationErrorKind.Pattern | ValidationErrorKind.MaxLength
    ):
        return f'{_short(error.instance)} is not a decimal number; write it like 12.5 or "12.5".'
    if definition == "date" and isinstance(
        kind, ValidationErrorKind.Pattern | ValidationErrorKind.Format
    ):
        return f"{_short(error.instance)} is not a valid date; write it as YYYY-MM-DD."
    if definition == "datetime" and isinstance(
        kind, ValidationErrorKind.Pattern | ValidationErrorKind.Format
    ):
        return (
            f"{_short(error.instance)} is not a valid date and time; write it as "
            "YYYY-MM-DDThh:mm:ss with its offset, e.g. 2026-03-02T14:30:00+01:00 or "
            "2026-03-02T13:30:00Z."
        )
    return error.message


def _short(value):
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
