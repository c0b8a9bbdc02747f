"""Queries that name papers: an arXiv id or a link to a paper, answered with that paper.

`2410.00907`, `arXiv:2410.00907v2`, `https://arxiv.org/abs/2410.00907`,
`https://arxiv.org/pdf/2410.00907v1`, `https://huggingface.co/papers/2410.00907`,
`hep-th/9901001`: a query whose every item is such an id (`ids.parse` reads them all) is a
lookup, in every mode. The papers the keyword index holds are the results, in the order given;
the ids it does not hold are `missing` (the web offers to fetch them from arXiv). Words mixed
with an id make an ordinary search.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dailypapers import ids
from dailypapers.errors import InvalidArxivId
from dailypapers.search.hybrid import Explanation
from dailypapers.search.keyword import KeywordIndex
from dailypapers.search.query import ParsedQuery

MAX_IDS = 20  # a query of more items than this is a search, whatever it holds


def paper_refs(query: str) -> list[ids.ArxivId]:
    """The ids `query` consists of, in order and without repeats; [] unless every
    whitespace-separated item is an arXiv id or a link to a paper."""
    items = (query or "").split()
    if not items or len(items) > MAX_IDS:
        return []
    refs: dict[str, ids.ArxivId] = {}
    for item in items:
        try:
            ref = ids.parse(item)
        except InvalidArxivId:
            return []
        refs.setdefault(ref.id, ref)
    return list(refs.values())


def single_ref(query: str) -> ids.ArxivId | None:
    """The id when `query` is exactly one arXiv id or paper link, else None."""
    refs = paper_refs(query)
    return refs[0] if len(refs) == 1 and len((query or "").split()) == 1 else None


@dataclass
class IdMatch(Explanation):
    """Why a paper is a result of a lookup: the query named it."""

    mode: str = "id"
    named_as: str = ""

    def summary(self) -> str:
        return f"the arXiv id {self.named_as}"


@dataclass
class Lookup:
    """The papers a query of ids names: `found` (held by the index, in query order) and
    `missing` (well-formed ids it does not hold)."""

    refs: list[ids.ArxivId]
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def look_up(index: KeywordIndex, refs: list[ids.ArxivId]) -> Lookup:
    """Which of `refs` the keyword index holds (one query)."""
    wanted = [ref.id for ref in refs]
    _, held = index.matching_among(ParsedQuery(), wanted)
    return Lookup(refs, [i for i in wanted if i in held], [i for i in wanted if i not in held])
