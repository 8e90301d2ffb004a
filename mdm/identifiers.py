"""Identifier checks: GS1 keys (GTIN, GLN, SSCC), LEI, VAT, DUNS and ISO 3166 countries.

Each `*_error` function returns a sentence saying what is wrong, or None when the value is
valid, so models, the API and the import can show the same message. Each `parse_*` function
reads an identifier as people write it in free text or a spreadsheet (with spaces, dashes,
dots, in lower case) and returns its canonical form when it is valid, else None: matching and
reconciliation compare identifiers in that form.
"""

import functools
import re
import unicodedata

import holidays
import pycountry
from stdnum import ean, lei
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)
from stdnum.util import get_cc_module

GTIN_KINDS = {8: "GTIN-8", 12: "GTIN-12", 13: "GTIN-13", 14: "GTIN-14"}
NON_ALNUM = re.compile(r"[^0-9A-Za-z]+")


def _digits(value):
    # str.isdigit() alone also accepts digits such as "²" or "٣", which int() rejects or
    # which no scanner would print.
    return value.isascii() and value.isdigit()


def _gs1_error(value, lengths, label):
    if not _digits(value):
        return f"{label} must contain digits only."
    if len(value) not in lengths:
        allowed = ", ".join(str(n) for n in sorted(lengths))
        return f"{label} must have {allowed} digits, not {len(value)}."
    expected = ean.calc_check_digit(value[:-1])
    if expected != value[-1]:
        return f"{label} check digit is wrong (expected {expected})."
    return None


def gtin_error(value):
    return _gs1_error(value, GTIN_KINDS.keys(), "GTIN")


def gtin_kind(value):
    """GTIN-8/12/13/14 for a valid GTIN, None for anything else."""
    if gtin_error(value):
        return None
    return GTIN_KINDS[len(value)]


def gln_error(value):
    return _gs1_error(value, {13}, "GLN")


def sscc_error(value):
    return _gs1_error(value, {18}, "SSCC")


def lei_error(value):
    # stdnum checks neither the length nor the case and ignores spaces; an LEI is stored as
    # written, so only the canonical form is accepted (the unique constraint compares it).
    if len(value) != 20:
        return "LEI must have 20 characters."
    if not (value.isascii() and value.isalnum()):
        return "LEI must contain letters and digits only."
    if value != value.upper():  # not isupper(): an LEI may be all digits
        return "LEI must be written in upper case."
    try:
        lei.validate(value)
    except InvalidLength:
        return "LEI must have 20 characters."
    except InvalidFormat:
        return "LEI must contain letters and digits only."
    except InvalidChecksum:
        return "LEI check digits are wrong."
    except ValidationError as exc:
        return f"LEI is not valid: {exc}"
    return None


def duns_error(value):
    if not (_digits(value) and len(value) == 9):
        return "DUNS number must have 9 digits."
    return None


def vat_error(value, country):
    """Checks a VAT number with the rules of the supplier's country."""
    if not country:
        return "A VAT number needs the supplier's country."
    module = get_cc_module(country.lower(), "vat")
    if module is None:
        return None  # no check is known for this country: accept as given
    try:
        module.validate(value)
    except InvalidChecksum:
        return f"VAT number check digits are wrong for {country.upper()}."
    except (InvalidFormat, InvalidLength, InvalidComponent):
        return f"Not a valid VAT number format for {country.upper()}."
    except ValidationError as exc:
        return f"VAT number is not valid for {country.upper()}: {exc}"
    return None


def is_country(value):
    """True for an assigned ISO 3166-1 alpha-2 code, written in upper case as the standard
    does ("DE"; "de" is refused so that one country is never stored two ways)."""
    return (
        bool(value)
        and len(value) == 2
        and value.isascii()
        and value.isupper()
        and pycountry.countries.get(alpha_2=value) is not None
    )


@functools.cache
def _holiday_countries():
    return holidays.list_supported_countries()


def holiday_support_problem(country, subdivision=""):
    """Why public holidays cannot be computed for this country/subdivision, or None."""
    supported = _holiday_countries()
    if country not in supported:
        return f"No public holiday rules are known for {country}."
    if subdivision and subdivision not in supported[country]:
        known = ", ".join(supported[country][:30])
        return f"{subdivision!r} is not a subdivision of {country} with holiday rules ({known})."
    return None


def classify(id_type, value):
    """True when `value` is a valid identifier of `id_type` (GTIN-8/12/13/14, GLN, SSCC, LEI)."""
    if id_type in GTIN_KINDS.values():
        return gtin_kind(value) == id_type
    checks = {"GLN": gln_error, "SSCC": sscc_error, "LEI": lei_error}
    if id_type not in checks:
        raise ValueError(f"Unknown identifier type {id_type!r}")
    return checks[id_type](value) is None


# --- identifiers as written -------------------------------------------------------------------


def compact(value):
    """An identifier or model number without spaces, dashes, dots, accents or case:
    "KTC-D320/1G" -> "KTCD3201G", "150-483-782" -> "150483782"."""
    value = value or ""
    if not value.isascii():
        value = unicodedata.normalize("NFKD", value)  # "É" -> "E" and an accent, dropped below
    return NON_ALNUM.sub("", value).upper()


def parse_gtin(value):
    """A GTIN-8/12/13/14 with a valid check digit as the 14-digit GTIN it is, else None:
    GTIN-12 036000291452 and GTIN-13 0036000291452 are the same 00036000291452."""
    digits = compact(value)
    return None if gtin_error(digits) else digits.zfill(14)


def parse_gln(value):
    """A GLN with a valid check digit, else None."""
    digits = compact(value)
    return None if gln_error(digits) else digits


def parse_duns(value):
    """A DUNS number (9 digits, "15-048-3782" written apart), else None."""
    digits = compact(value)
    return None if duns_error(digits) else digits


def parse_lei(value):
    """An LEI with valid check digits, in upper case, else None."""
    code = compact(value)
    return None if lei_error(code) else code


def vat_forms(value):
    """A VAT number compacted, and without its country prefix when it has one ("DE 123 456
    789" -> {"DE123456789", "123456789"}), so either way of writing it is found. Not checked:
    a VAT number is checked by its country's rules (`vat_error`), and a query may not say
    the country."""
    code = compact(value)
    if len(code) < 5:
        return set()
    forms = {code}
    if code[:2].isalpha() and len(code) >= 7:
        forms.add(code[2:])
    return forms


def looks_like_vat(token):
    """Whether a word of free text may be a VAT number: a country prefix and digits, 8
    characters or more once compacted ("DE136695976", "CHE-116.281.710")."""
    form = compact(token)
    return len(form) >= 8 and form[:2].isalpha() and any(c.isdigit() for c in form)
