"""Duplicate supplier sites: one address of a supplier entered twice under two site codes (the
procurement platform's "ORD" and the collaboration portal's "0001"), or the sites of two
merged suppliers that were one address twice. `xref.duplicates` checks, keeps, clusters and
decides pairs of every kind; this module finds a site's candidates and scores them.

A site is compared with the other live sites of its supplier in its country. Blocking by
supplier needs no match index (a supplier has a few sites), and two suppliers' sites are
never one site: their suppliers are merged first, which brings the sites together. Each
pair is scored as a pair of locations is, with the location comparisons
(`scoring.compare`) and the location weights (`calibration.current("location")`,
`pair_probability`), so that a score means the same probability for both kinds.

Only the address and the postal code are compared. A site's code is its own: two entries of
one address have two codes by definition. Its name is mostly the supplier's name and town,
which any two sites of one supplier in one town share: the location weights, made for names
of places, would take it for strong evidence.
"""

from mdm.models import SupplierSite
from xref.matching import calibration
from xref.matching.query import parse
from xref.matching.ranking import Compared
from xref.matching.scoring import COMPARISONS, compare

# The fields of a site a check reads: what is compared, its identifiers (code) and what
# blocks it (supplier, country).
FIELDS = (
    "id",
    "public_id",
    "supplier_id",
    "code",
    "name",
    "address",
    "city",
    "postal_code",
    "country",
    "merged_into",
)
# The location comparisons a pair of sites is scored on.
COMPARED = ("address", "postal_code")
COMPARISONS = tuple(c for c in COMPARISONS["location"] if c.name in COMPARED)


def candidates(row):
    """{public id: (pair probability, Compared)} of the other live sites of the site's
    supplier in its country, the site `row` (FIELDS) itself left out. A site with neither
    an address nor a postal code has nothing to be compared on: no candidates."""
    if not (row["address"] or row["postal_code"]):
        return {}
    query = parse("location", "", {name: row[name] for name in COMPARED})
    weights = calibration.current("location")
    block = {"supplier_id": row["supplier_id"], "country": row["country"], "merged_into": ""}
    others = SupplierSite.objects.filter(**block).exclude(public_id=row["public_id"])
    others = others.values(*FIELDS)
    found = {}
    for other in others:
        levels, evidence = compare("location", query, other, {}, 0)
        levels = {name: levels.get(name) for name in COMPARED}
        compared = Compared(other, levels, evidence)
        found[other["public_id"]] = (calibration.pair_probability(weights, levels), compared)
    return found
