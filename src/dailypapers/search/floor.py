"""The similarity floor: below it, a paper found only by meaning is not a result.

Cosine similarity between a query and its nearest papers is never zero: every query, even
keyboard mash, has a nearest paper. Without a floor a query that matches nothing still gets a
full list, and the tail of every semantic or hybrid list runs down into unrelated papers. So
the service drops the semantic candidates below the floor before it fuses or pages them (the
list is sorted, so the ranks of those kept do not change; keyword matches are never dropped),
and a query left with nothing gets the empty state, with spelling suggestions, in every mode.

Two numbers per kind of stored vector (`Floors`), both measured by `bench/calibrate_floor.py`:
int8 MiniLM queries against the 9,877 demo papers' stored vectors, and what each floor costs
on bench/devsets (their 3,918-paper corpus embedded the same way, semantic nDCG@10):

- `hit`, for every semantic-only hit: as low as costs (almost) nothing on the dev sets, and
  near what any string reaches (a nonsense query's median best and 10th-best similarity).
- `unknown_words`, for a query none of whose words is in the keyword index (its own term
  dictionary, `suggest.knows_any_word`): it stands on meaning alone, so each hit must be closer
  than the best match of every nonsense and off-topic query. One absolute floor cannot do both
  jobs: applied to every query it empties real ones (below).

all-MiniLM-L6-v2, vectors of "title. abstract" (the current recipe):

    best similarity of a query (top-1)        min    5%   median   95%    max
    80 nonsense queries (zxqvbnm flurbogastic) 0.177 0.195 0.243   0.317  0.383
    12 off-topic queries (banana bread recipe) 0.177 0.196 0.247   0.313  0.319
    40 short topical queries (energy, agents)  0.366 0.407 0.555   0.702  0.787
    95 dev-set topic/paraphrase/category       0.323 0.358 0.500   0.634  0.692

  hit = 0.22: nDCG@10 unchanged on sentence (0.158), paraphrase (0.654) and topics (0.390),
  categories 0.374 -> 0.371 (0.24 costs it 0.018, 0.28 costs 0.043 and empties a query);
  a nonsense query's 10th-best similarity has median 0.191. unknown_words = 0.40: above every
  nonsense (max 0.383, `vyru quremi basokyhiby`) and off-topic (max 0.319) query's best match;
  as a floor for every query it would empty 2% of the paraphrase, 37% of the sentence and a
  third of the category queries.

all-MiniLM-L6-v2+title, normalise(e(title. abstract) + e(title)) (the earlier recipe; its
similarities run higher, so its floors do too):

    80 nonsense                                0.212 0.241 0.290   0.378  0.425
    12 off-topic                               0.244 0.248 0.303   0.384  0.417
    40 short topical                           0.477 0.477 0.667   0.799  0.871
    95 dev-set topic/paraphrase/category       0.341 0.392 0.537   0.695  0.753

  hit = 0.28 (at most 0.004 nDCG@10 on any dev set; 0.30 costs categories 0.015), and
  unknown_words = 0.44 (nonsense max 0.425, `qqq www eee` -> *Qwen3 Technical Report* by shared
  letters; for every query it would empty 10% of the paraphrase queries).

Vectors of any other model or recipe get the current recipe's floors until the calibration is
rerun for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dailypapers.search.keyword import KeywordIndex
from dailypapers.search.query import ParsedQuery
from dailypapers.search.suggest import knows_any_word


@dataclass(frozen=True)
class Floors:
    hit: float             # every hit found only by meaning
    unknown_words: float   # every hit of a query none of whose words the keyword index holds


CURRENT_MODEL = "all-MiniLM-L6-v2"
FLOORS = {
    CURRENT_MODEL: Floors(hit=0.22, unknown_words=0.40),
    "all-MiniLM-L6-v2+title": Floors(hit=0.28, unknown_words=0.44),
}


def floors(model_id: str | None) -> Floors:
    """The calibrated floors for vectors tagged `model_id` (the current recipe's when unknown)."""
    return FLOORS.get(model_id or CURRENT_MODEL, FLOORS[CURRENT_MODEL])


def floor_for(index: KeywordIndex, pq: ParsedQuery, model_id: str | None) -> float:
    """The floor for this query: higher when none of its words is in the index."""
    chosen = floors(model_id)
    return chosen.hit if knows_any_word(index, pq) else chosen.unknown_words


def above_floor(semantic: Sequence[tuple[str, float]], floor: float) -> list[tuple[str, float]]:
    """The (id, similarity) candidates of a semantic list that count as results."""
    return [(pid, sim) for pid, sim in semantic if sim >= floor]
