"""Decimal numbers from outside the hub, bounded before any arithmetic.

A decimal's exponent costs nothing to write and everything to use: `1e999999999` is eleven
characters, but exact arithmetic on it (a fraction, a quantize, plain text) builds a number of
a billion digits and holds the worker until it is killed. Every decimal that comes in (the
conversion API, payload quantities, CSV cells) is therefore read by `bounded_decimal`, which
refuses one with more digits before or after the point than a manufacturing quantity or factor
can have, naming the limit.

The bound: at most MAX_INTEGER_DIGITS digits before the point, the largest quantity column
(24 digits with 6 decimal places), and at most MAX_FRACTION_DIGITS after it, finer than any
column keeps (8 places, a conversion factor's) so that a factor or a ppb quantity keeps its
digits until the result is rounded. Trailing zeros after the point do not count.
"""

from decimal import Decimal, InvalidOperation

MAX_INTEGER_DIGITS = 18
MAX_FRACTION_DIGITS = 12
# A number within the bound, written out, is at most 18 + 12 digits, a sign, a point and some
# zeros; a longer text is refused before it is read as a number.
MAX_TEXT = 64
LIMIT = (
    f"at most {MAX_INTEGER_DIGITS} digits before the decimal point and {MAX_FRACTION_DIGITS} "
    f"after it (an exponent from -{MAX_FRACTION_DIGITS} to +{MAX_INTEGER_DIGITS - 1})"
)


class NumberError(ValueError):
    """A number is refused; the message says why and what would be accepted."""


def bounded_decimal(value):
    """`value` (a Decimal, an int, a float or decimal text) as a finite Decimal within the
    bound, or NumberError. A float is read by its shortest text: 0.1 is 0.1."""
    if isinstance(value, bool):
        raise NumberError(f"{value!r} is not a number.")
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, int):
        if -(10**MAX_INTEGER_DIGITS) < value < 10**MAX_INTEGER_DIGITS:
            return Decimal(value)
        # str() of an int is quadratic, and refused past 4,300 digits: its size, roughly.
        digits = int(value.bit_length() * 0.30103) + 1
        shown = _shown(str(value)) if digits < 40 else f"A number of about {digits:,} digits"
        raise NumberError(f"{shown} is too large a number: give {LIMIT}.")
    text = None  # the number as written, for the messages
    if isinstance(value, str):
        text = value
        if len(value) > MAX_TEXT:
            raise NumberError(
                f"{_shown(value)} is {len(value):,} characters long, too long for a number: "
                f"give {LIMIT}."
            )
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise NumberError(f"{value!r} is not a number.") from None
    if not isinstance(value, Decimal):
        raise NumberError(f"{_shown(repr(value))} is not a number.")
    if not value.is_finite():
        raise NumberError(f"{text or value} is not a finite number.")
    if not value:
        return Decimal(0)  # 0E-999999999 is zero however it is written
    text = text or str(value)
    _, digits, exponent = value.as_tuple()
    zeros = len(digits) - len(bytes(digits).rstrip(b"\0"))
    if exponent + len(digits) > MAX_INTEGER_DIGITS:
        raise NumberError(f"{_shown(text)} is too large a number: give {LIMIT}.")
    if exponent + zeros < -MAX_FRACTION_DIGITS:
        raise NumberError(f"{_shown(text)} has too many decimal places: give {LIMIT}.")
    return value


def _shown(text):
    """A refused number as quoted in a message: its start and its length when long."""
    if len(text) <= 40:
        return repr(text)
    return f"{text[:30]!r}... ({len(text):,} characters)"
