"""Text as matching compares it: folded, normalised names and their trigrams, and the model
numbers in free text with how two of them agree."""

import re
import unicodedata

from rapidfuzz.distance import Levenshtein

from mdm.identifiers import compact

WORD_RE = re.compile(r"[a-z0-9]+")
# Characters removed inside a word before splitting, so "S.p.A." is "spa", "A/S" is "as".
JOINERS = re.compile(r"[.'’/]")
# Legal forms say nothing about which company is meant.
LEGAL_FORMS = frozenset(
    str.split(
        "gmbh mbh ag kg kgaa ohg ug co ltd limited inc incorporated llc llp lp corp "
        "corporation company sa spa srl sas sarl bv nv oy oyj ab as aps sp zoo sro kft pty plc "
        "sl slu sae ooo zao oao pte bhd sdn"
    )
)
TOKEN_SPLIT = re.compile(r"[\s,;:()\[\]{}\"'!?*+|<>]+")
DIGIT_RUNS = re.compile(r"\d+")
# "16GB", "2.4GHz", "27-inch", "4-pack": measurements, not model numbers.
UNITS = (
    "b|kb|mb|gb|tb|bit|bits|hz|khz|mhz|ghz|w|kw|v|mv|kv|a|ma|mah|ah|wh|kwh|ohm|mm|cm|m|km|in|"
    "inch|inches|ft|feet|yd|lb|lbs|oz|g|kg|mg|l|ml|mp|x|p|i|pin|pins|port|ports|pk|pack|ct|"
    "count|sheet|sheets|way|channel|ch|mbps|gbps|kbps|dpi|ppm|rpm|k|th|st|nd|rd|s|pc|pcs|"
    "piece|db|dbi|ms|fps|lm|lumens|deg|f|c|gal|qt|pt|bar|psi|nm|mw|kva|va|a|h|min|d"
)
MEASUREMENT = re.compile(rf"^\d+([.,]\d+)?-?({UNITS})$", re.IGNORECASE)
NUMBER_WORD = re.compile(r"^\d+([.,]\d+)?-[a-z]{3,}$", re.IGNORECASE)
# Versions, releases and platforms name software, not the product: "v10.0", "r11.5",
# "v6-cd", "win32", "x64".
VERSION = re.compile(
    r"^((v|r|ver|rev|version)\.?\d+([._]\d+)*(-[a-z]{1,3})?|win(32|64|\d\d|xp|nt)|x86|x64|"
    r"i[3-6]86|amd64|arm64|ia64)$",
    re.IGNORECASE,
)
# Sizes by a standard's notation: a metric thread (M8, M8x40, M10x1.5), a nominal pipe
# size (DN50).
SIZE = re.compile(r"^(M\d+([.,]\d+)?(x\d+([.,]\d+)?)?|DN\d+)$", re.IGNORECASE)
# A year says when, not which: 1900 to 2099 alone is never a record's number in free text.
YEAR = re.compile(r"^(19|20)\d\d$")
# What a product is for ("toner for Canon L170") names other products' model numbers.
COMPATIBLE = re.compile(r"\b(for|fits|compatible|replaces|works with)\b", re.IGNORECASE)
CLAUSE = re.compile(r"\s[-\u2013\u2014]+\s")


def fold(text):
    """Lower case without accents: "Müller" and "MULLER" fold alike."""
    text = text or ""
    if text.isascii():
        return text.lower()  # nothing to decompose; casefold is lower for ASCII
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def normalize(text, legal_forms=False):
    """The words of `text`, folded and joined by single spaces; with `legal_forms`, company
    legal forms (GmbH, Ltd, S.p.A.) are left out."""
    words = WORD_RE.findall(JOINERS.sub("", fold(text)))
    if legal_forms:
        words = [w for w in words if w not in LEGAL_FORMS]
    return " ".join(words)


def trigrams(word):
    """Trigrams of a word padded with a space on each side: "acme" -> " ac", "acm", "cme",
    "me "."""
    padded = f" {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _is_code(form):
    """A compacted token that looks like a model number: 4 to 30 characters with a digit;
    digits only when 5 or more."""
    if not 4 <= len(form) <= 30:
        return False
    digits = sum(c.isdigit() for c in form)
    if digits == 0:
        return False
    return digits < len(form) or len(form) >= 5


def _codeish(raw):
    return not not_a_code(raw) and _is_code(compact(raw))


def not_a_code(raw):
    """Whether a token of free text is a measurement, a size, a quantity, a version, a
    platform or a year: never a model number or a record's number."""
    return any(pattern.match(raw) for pattern in (MEASUREMENT, NUMBER_WORD, SIZE, VERSION, YEAR))


def number_shape(form):
    """The shape of a compacted number, letters as A and digits as 9: "ITM000123" ->
    "AAA999999"."""
    return re.sub(r"[A-Z]", "A", re.sub(r"[0-9]", "9", form))


def model_numbers(text):
    """Model-number-like tokens of free text, compacted, in order: "Sony Turntable -
    PSLX350H" -> ["PSLX350H"]. A token's parts between / # - count too (New-ML1610D2 gives
    ML1610D2), and so does a short upper-case prefix or suffix written apart (MDR EX32LP, SD1100
    IS)."""
    raw = [t.strip("-./#_") for t in TOKEN_SPLIT.split(text or "")]
    raw = [t for t in raw if t]
    found = []
    for i, token in enumerate(raw):
        if _codeish(token):
            found.append(compact(token))
        for part in re.split(r"[/#-]", token):
            if part != token and _codeish(part):
                found.append(compact(part))
        if i + 1 < len(raw):
            following = raw[i + 1]
            prefix = token.isalpha() and token.isupper() and len(token) <= 4
            suffix = following.isalnum() and following.isupper() and len(following) <= 3
            if (prefix and _codeish(following)) or (suffix and _codeish(token)):
                found.append(compact(token) + compact(following))
    return list(dict.fromkeys(f for f in found if len(f) <= 30))


def own_model_numbers(text):
    """Model numbers of the thing itself: all but those after "for ..." (a toner's own number,
    not the printers it fits). A "for" clause ends where the text goes on after a dash set
    apart ("Folio for iPod touch - F8Z373": F8Z373 is the folio's)."""
    own = []
    for clause in CLAUSE.split(text or ""):
        match = COMPATIBLE.search(clause)
        own += model_numbers(clause[: match.start()] if match else clause)
    return list(dict.fromkeys(own))


def cut_ok(code, at):
    """True when cutting `code` at `at` does not split a run of digits or of letters."""
    return at <= 0 or at >= len(code) or code[at - 1].isdigit() != code[at].isdigit()


def code_similarity(a, b):
    """0-100 agreement of two compacted model numbers. Equal: 100; equal but for leading
    zeros: 98; one extends the other by a few letters (a colour or region suffix, a
    distributor's vendor prefix: SS2477 / SS2477G, 97185 / VER97185): 90; contained at a
    letter/digit boundary: 60-90 by length; otherwise their edit similarity, at most 50 when
    their numbers differ (DAP-2590 is not DAP-2555)."""
    if a == b:
        return 100.0
    if a.lstrip("0") == b.lstrip("0"):
        return 98.0
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    at = long_.find(short) if len(short) >= 4 else -1
    if at >= 0 and cut_ok(long_, at) and cut_ok(long_, at + len(short)):
        rest = long_[:at] + long_[at + len(short) :]
        at_an_end = at == 0 or at + len(short) == len(long_)
        if at_an_end and rest.isalpha() and len(rest) <= 5:
            return 90.0
        ratio = len(short) / len(long_)
        return 70.0 + 20.0 * ratio if at == 0 else 60.0 + 25.0 * ratio
    similarity = 100.0 * Levenshtein.normalized_similarity(a, b)
    if DIGIT_RUNS.findall(a) != DIGIT_RUNS.findall(b):
        return min(similarity, 50.0)
    return similarity


def _shape(code):
    """Letter and digit runs of a model number: "SLRC202BLACK" -> "A9A"."""
    return re.sub(r"(A)A+|(9)9+", r"\1\2", re.sub(r"[A-Z]", "A", re.sub(r"[0-9]", "9", code)))


def comparable(a, b):
    """Whether two compacted model numbers look like one numbering scheme (T020201 and
    T029201: they start alike or have the same runs of letters and digits), so that their
    disagreeing means two different products."""
    return a[:2] == b[:2] or _shape(a) == _shape(b)
