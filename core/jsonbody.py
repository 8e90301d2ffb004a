"""Reading JSON from outside the hub: one function, `read_json`, and one set of limits for
every JSON the hub reads (API bodies, reconciliation parameters, a payload typed into a
review screen).

Refused, with JSONRefused and a sentence saying what would be accepted:
- nesting deeper than MAX_DEPTH levels. No record or message of the hub nests more than a few;
  Python's json module fails with RecursionError past about a thousand levels, and
  jsonschema-rs, which checks message payloads, fails past 255 (both a 500 before this).
- a NUL character or half of a UTF-16 surrogate pair escaped in a string (\\u0000, a lone
  \\ud800): no text or jsonb column can store one, as hub.middleware refuses them in query
  strings.
- a number longer than MAX_NUMBER_CHARS characters, or too large for a double (1e400), and
  NaN or Infinity, which JSON does not have.
- text that is not JSON, or bytes that are not UTF-8, with where it broke.

The depth is measured on the text before it is parsed, with a few passes of C-speed byte
operations over its brackets (strings removed), so that a deep document costs nothing to
refuse and the fast path (orjson, for the 50,000-key batches) stays fast.
"""

import json
import re

import orjson

MAX_DEPTH = 64
# A number as the hub's decimals allow it (core.numbers), or a double written out in full.
MAX_NUMBER_CHARS = 64

# What no text column can hold, as JSON escapes it: a NUL (\u0000), or half of a surrogate
# pair (\ud800 without the \udc00 that must follow, or the reverse). Searched from the
# escape's own backslash, which lets the regex engine skip ahead; whether that backslash is
# itself escaped (then the text is plain) is checked for each of the rare matches.
HIGH, LOW = rb"[dD][89abAB][0-9a-fA-F]{2}", rb"[dD][c-fC-F][0-9a-fA-F]{2}"
_UNSTORABLE_ESCAPE = re.compile(
    rb"\\u(?:0000|" + HIGH + rb"(?!\\u" + LOW + rb")|(?<!\\u" + HIGH + rb"\\u)" + LOW + rb")"
)
UNSTORABLE = (
    "A string holds a NUL character (\\u0000) or half of a UTF-16 surrogate pair (such as a "
    "lone \\ud800): no field of the hub can store one. Remove it and send it again."
)
TOO_DEEP = (
    f"The document is nested too deeply: at most {MAX_DEPTH} levels of objects and arrays are "
    "accepted."
)

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
# The skeleton of a JSON text: its quotes and brackets, braces written as brackets (which
# kind nests in which is the parser's business, not the depth's).
_AS_BRACKET = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'"[]{}'))


class JSONRefused(ValueError):
    """JSON the hub does not read. The message is a sentence saying why; for text that is not
    JSON, `line` and `column` say where it broke (else None) and `reason` is the message
    without them."""

    def __init__(self, message, line=None, column=None, reason=None):
        super().__init__(message)
        self.line, self.column, self.reason = line, column, reason or message


def read_json(data, *, fast=False):
    """The value of a JSON text (bytes, UTF-8, or str), within the hub's limits, or
    JSONRefused. `fast`: parse with orjson, for large bodies whose numbers do not matter
    (resolve batches): several times faster, but a whole number past 64 bits becomes a float
    there instead of being refused as too long."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    if unstorable(raw):
        raise JSONRefused(UNSTORABLE)
    if _too_deep(raw):
        raise JSONRefused(TOO_DEEP)
    try:
        if fast:
            return orjson.loads(data)
        if isinstance(data, bytes):
            data = data.decode("utf-8-sig")
        return json.loads(data, parse_int=_int, parse_float=_float, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:  # orjson's error is one too
        raise JSONRefused(str(exc), exc.lineno, exc.colno, exc.msg) from None
    except UnicodeDecodeError as exc:
        raise JSONRefused(
            f"The text is not UTF-8: byte {exc.start} ({exc.object[exc.start]:#04x}) is not "
            "valid there; send JSON as UTF-8."
        ) from None
    except RecursionError:  # unbalanced brackets the depth check leaves to the parser
        raise JSONRefused(TOO_DEEP) from None


def unstorable(raw):
    """Whether a JSON text (bytes) escapes a NUL or a lone surrogate in a string."""
    for match in _UNSTORABLE_ESCAPE.finditer(raw):
        before = match.start() - 1
        while before >= 0 and raw[before] == 0x5C:  # a backslash
            before -= 1
        if (match.start() - 1 - before) % 2 == 0:
            return True
    return False


def _too_deep(raw):
    """Whether the brackets of a JSON text, outside its strings, nest deeper than MAX_DEPTH.
    Unbalanced brackets are left to the parser, which says where they break."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return False
    if b"\\" in raw:
        raw = _ESCAPE.sub(b"", raw)  # an escaped quote does not end a string
    skeleton = raw.translate(_AS_BRACKET, _NOT_STRUCTURE)
    # Strings out: two quotes side by side enclose nothing (or close one string and open
    # the next), so removing them leaves every other character inside or outside a string
    # as it was. Left: the strings with brackets inside, rare.
    skeleton = skeleton.replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = b"".join(skeleton.split(b'"')[::2])
    # Each pass removes the innermost level (replace does not look again at what it
    # joined): a document MAX_DEPTH deep is gone after MAX_DEPTH passes.
    for _ in range(MAX_DEPTH):
        shorter = skeleton.replace(b"[]", b"")
        if not shorter or len(shorter) == len(skeleton):
            return False
        skeleton = shorter
    return True


def _number_text(text):
    if len(text) > MAX_NUMBER_CHARS:
        raise JSONRefused(
            f"A number of {len(text):,} characters ({text[:20]}...) is too long: numbers of "
            f"at most {MAX_NUMBER_CHARS} characters are accepted."
        )


def _int(text):
    _number_text(text)
    return int(text)


def _float(text):
    _number_text(text)
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise JSONRefused(
            f"The number {text} is too large: numbers up to about 1.8e308 (a double) are accepted."
        )
    return number


def _refuse_constant(name):
    raise JSONRefused(f"{name} is not a JSON number; give a number or null.")
