"""Match free text and identifiers to master records: ranked candidates with a score (0-100)
and per-field evidence, for items, suppliers and locations.

How a query is answered (`match()`):

1. Identifiers first. Explicit parameters (mpn=, gtin=, duns=, lei=, vat=, gln=) and
   identifier-shaped tokens inside the free text (a 13-digit GTIN with a valid check digit,
   a 9-digit DUNS, an LEI, a VAT number, the hub's own item or supplier number, a location
   code) are normalised (GTIN-12 and GTIN-13 compare as the same GTIN-14) and looked up
   exactly. An exact hit scores 100 with evidence naming the identifier, so it ranks above
   any name that merely looks closer.
2. Candidates from the match index (`MatchKey`, one row per search key of a record): the
   rarer keys of the query (words, trigrams of name words, model numbers and their prefixes)
   are summed per record, weighted by rarity, in one grouped query, and the best few hundred
   records are kept. For suppliers and locations, every record containing one of the
   query's words is also taken while the word is not too common (a misspelled word is
   corrected first against the index, its most common one-edit spelling first; a word that
   is unknown or rare is also read as a common word of the kind one edit away, two for
   longer words: "wier" as "wire", "farki" as "fabrik"), and so is
   every one-word name found inside a query word ("Li & Li" inside "Kitrilium", which WRatio's
   partial match scores high); their normalised names come straight from the index rows, so
   tens of thousands of names are compared without reading a master table. A query never
   reads all records of a kind. Inside `batch()` (a reconciliation batch), the names under
   a word are read once for the batch with their letter counts, and only the names whose
   bound (`shortlist`) can reach the top are scored: the same best names, about a
   fifteenth of the scoring.
3. Scoring with rapidfuzz: `WRatio` over normalised names and legal names for suppliers and
   locations; for items, the description (token set, token sort and the rarity-weighted
   share of the query's words found), combined with the best model-number agreement (exact,
   a variant suffix or vendor prefix, or a conflicting number of the same numbering scheme,
   which lowers the score; a retailer's catalogue number beside a maker's model number
   neither helps nor hurts). Model numbers the text names as what the product is for ("case
   for Iconia Tab A500") are never identifier hits.

The modules, in the order a query meets them: `text` (folding, normalised names, model
numbers), `keys` (what each kind is indexed under), `query` (a query's text, identifiers
and keys; identifiers are parsed by `mdm.identifiers`), `counts` (how many records have a
key, common words and their misspellings, cached per process), `retrieval` (the candidates),
`shortlist` (the best names of many without scoring each), `scoring`, `ranking` (`match()`);
`index` keeps the index current, `sql` holds the SQL the statements share.

The index is kept current by signal receivers on save and delete of items, suppliers and
locations (connected in `XrefConfig.ready`), in the same transaction as the change.
Writes that skip signals (bulk inserts, `QuerySet.update`) need `manage.py
rebuild_match_index` (or `index_unindexed()`, as the demo seed does).
"""

from xref.matching.index import connect_signals, index_rows, index_unindexed, rebuild
from xref.matching.keys import INDEX_VERSION, KINDS, SPEC_BY_MODEL, SPECS
from xref.matching.ranking import MAX_LIMIT, MAX_QUERY_LENGTH, Candidate, match
from xref.matching.retrieval import batch

__all__ = [
    "INDEX_VERSION",
    "KINDS",
    "MAX_LIMIT",
    "MAX_QUERY_LENGTH",
    "SPECS",
    "SPEC_BY_MODEL",
    "Candidate",
    "batch",
    "connect_signals",
    "index_rows",
    "index_unindexed",
    "match",
    "rebuild",
]
