"""Match free text and identifiers to master records: ranked candidates, each with the
probability that it is the record meant (0-100) and per-field evidence, for items, suppliers
and locations.

How a query is answered (`match()`):

1. Candidates (`retrieval`). Identifiers the query gives as parameters (mpn=, gtin=, duns=,
   lei=, vat=, gln=, number=) or that have their shape inside the free text (a GTIN with a
   valid check digit, a DUNS, an LEI, a VAT number; the hub's own number only when the token
   has the shape of the kind's numbers and is not a year, a version or a measurement) are
   looked up exactly. The match index (`MatchKey`, one row per search key of a record) gives
   the records sharing the query's rarer keys (words, trigrams of name words, model numbers
   and their prefixes), weighted by rarity; for suppliers and locations, the best names by
   rapidfuzz's WRatio among every record under the query's words (and their likely
   spellings, and one-word names inside its words). A query never reads all records of a
   kind; inside `batch()` (a reconciliation batch), the names under a word are read once.
2. Comparison (`scoring`): each candidate is compared with the query field by field, each
   comparison giving a level (identifier the same or different; names the same, 92+, ...;
   descriptions; model numbers the same and rare, a variant, different; manufacturer;
   address; postal code). Years, versions, platforms and measurements are never model or
   record numbers; a name reduced to one word by its legal form is its own, weak level.
3. Probability (`calibration`): Fellegi-Sunter weights per kind and level, estimated by EM
   from data (`training` re-estimates them from the pairs people decided on), give each
   candidate's likelihood ratio; the candidates of a query share one match (found among
   them at the kind's found rate), so the score is the probability, in percent, that the
   candidate is the one meant. SURE (90) and WORTH_A_LOOK (20) are the two documented
   thresholds. Equal scores are ordered by the
   closer text, then by public id: every process answers alike.

The modules, in the order a query meets them: `text` (folding, normalised names, model
numbers), `keys` (what each kind is indexed under), `query` (a query's text, identifiers and
keys; identifiers are parsed by `mdm.identifiers`), `counts` (how many records have a key,
common words, the shapes of the kind's numbers, cached per process), `retrieval`,
`shortlist` (the best names of many without scoring each), `scoring` (comparison levels),
`calibration` (weights and probabilities), `ranking` (`match()`); `index` keeps the index
current, `sql` holds the SQL the statements share, `training` re-estimates the weights.

The index is kept current by signal receivers on save and delete of items, suppliers and
locations (connected in `XrefConfig.ready`), in the same transaction as the change.
Writes that skip signals (bulk inserts, `QuerySet.update`) need `manage.py
rebuild_match_index` (or `index_unindexed()`, as the demo seed does).
"""

from xref.matching.calibration import SURE, WORTH_A_LOOK
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
    "SURE",
    "WORTH_A_LOOK",
    "Candidate",
    "batch",
    "connect_signals",
    "index_rows",
    "index_unindexed",
    "match",
    "rebuild",
]
