"""The similarity floor: below it, a paper found only by meaning is not a result.

Cosine similarity between a query and its nearest papers is never zero: every query, even
keyboard mash, has a nearest paper. Without a floor a query that matches nothing still gets a
full list, and the tail of every semantic or hybrid list runs down into unrelated papers. So
the service drops the semantic candidates below the floor before it fuses or pages them (the
list is sorted, so the ranks of those kept do not change; keyword matches are never dropped),
and a query left with nothing gets the empty state, with spelling suggestions, in every mode.

Two numbers, both measured by `bench/calibrate_floor.py` (all-MiniLM-L6-v2 int8 queries against
the 9,877 demo papers' stored vectors, the recipe of `encoder.embeddings.document_vectors`; the
cost on bench/devsets, their 3,918-paper corpus embedded the same way):

    best similarity of a query (top-1)        min    5%   median   95%    max
    80 nonsense queries (zxqvbnm flurbogastic) 0.212 0.241 0.290   0.378  0.425
    12 off-topic queries (banana bread recipe) 0.244 0.248 0.303   0.384  0.417
    40 short topical queries (energy, agents)  0.477 0.477 0.667   0.799  0.871
    95 dev-set topic/paraphrase/category       0.341 0.392 0.537   0.695  0.753

- SIMILARITY_FLOOR = 0.28, for every semantic-only hit: the 95th percentile of a nonsense
  query's 10th-best similarity is 0.294, its median best 0.290, so hits below 0.28 are what
  any string gets. On the dev sets it costs at most 0.004 nDCG@10 against no floor (sentence
  0.118 -> 0.115, paraphrase 0.576 and topics 0.379 unchanged, categories 0.330 -> 0.326;
  0.30 would cost categories 0.015 and empty one of its queries, 0.35 cost 0.055), and every
  short topical demo query keeps ten or more hits. Recall@100 of a semantic list falls
  (categories 0.34 -> 0.25): by design, the tail is what it cuts.
- UNKNOWN_WORDS_FLOOR = 0.44, for a query none of whose words is in the keyword index (its own
  term dictionary: `suggest.knows_any_word`): it stands on meaning alone, so each of its hits
  must be closer than any nonsense query's best (max 0.425, `qqq www eee` -> *Qwen3 Technical
  Report* by shared letters) or off-topic query's best (max 0.417). A single absolute floor
  cannot do both jobs: at 0.44 for every query, 10% of the paraphrase queries and a third of
  the category queries of the dev sets would find nothing (nDCG@10 0.576 -> 0.525, 0.330 ->
  0.148); queries of real words are never gated this way.

Vectors made another way (another model or document recipe) need the calibration rerun.
"""

from __future__ import annotations

from collections.abc import Sequence

from dailypapers.search.keyword import KeywordIndex
from dailypapers.search.query import ParsedQuery
from dailypapers.search.suggest import knows_any_word

SIMILARITY_FLOOR = 0.28
UNKNOWN_WORDS_FLOOR = 0.44


def floor_for(index: KeywordIndex, pq: ParsedQuery) -> float:
    """The floor for this query: higher when none of its words is in the index."""
    return SIMILARITY_FLOOR if knows_any_word(index, pq) else UNKNOWN_WORDS_FLOOR


def above_floor(semantic: Sequence[tuple[str, float]], floor: float = SIMILARITY_FLOOR) -> list[tuple[str, float]]:
    """The (id, similarity) candidates of a semantic list that count as results."""
    return [(pid, sim) for pid, sim in semantic if sim >= floor]
