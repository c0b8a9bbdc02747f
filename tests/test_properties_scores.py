"""Properties of the trending score (ranking.py, community/lists.py) and of reciprocal-rank
fusion (search/hybrid.py), checked with hypothesis.

Trending: more votes never lower a score, more age never raises it, the score is never negative
or NaN, and the list order agrees: a paper with at least the votes of another and listed no
earlier is never ranked below it; the order does not depend on the order rows arrive in.

Fusion: a paper at least as high as another in both lists (absent counts as last) is never
ranked below it; the two contributions add up to the score; every candidate comes out once; a
better rank in one list never lowers a paper's score.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math

from hypothesis import assume, example, given
from hypothesis import strategies as st
from support import hypothesis_profile  # noqa: F401  (loads the profile)

from dailypapers import ranking
from dailypapers.community import lists
from dailypapers.models import DailyEntry
from dailypapers.search import hybrid
from dailypapers.store.lists import RankRow

UTC = dt.timezone.utc
votes = st.integers(min_value=0, max_value=2**62)
moments = st.datetimes(min_value=dt.datetime(2007, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(UTC))


# -- the trending score ------------------------------------------------------------------


@given(imported=votes, local=votes, more=votes, since=moments, reference=moments)
@example(imported=0, local=0, more=1, since=dt.datetime(2026, 8, 20, tzinfo=UTC),
         reference=dt.datetime(2026, 8, 20, tzinfo=UTC))
def test_more_votes_never_lower_the_score(imported, local, more, since, reference):
    base = ranking.score(imported, local, since, reference)
    assert base >= 0 and math.isfinite(base)
    assert ranking.score(imported + more, local, since, reference) >= base
    assert ranking.score(imported, local + more, since, reference) >= base
    # a vote is a vote, imported or local
    assert ranking.score(imported + more, local, since, reference) == ranking.score(imported, local + more, since,
                                                                                     reference)
    if more and imported + local + more < 2**53:  # exact in a float: strictly more
        assert ranking.score(imported + more, local, since, reference) > base


@given(v=votes, since=moments, later=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=3650)),
       reference=moments)
def test_more_age_never_raises_the_score(v, since, later, reference):
    assume(since + later <= dt.datetime(2100, 1, 1, tzinfo=UTC))
    older = ranking.explain(v, 0, since, reference)
    younger = ranking.explain(v, 0, since + later, reference)
    assert older.age_hours >= younger.age_hours >= 0
    assert older.score <= younger.score


def test_equal_scores_go_to_the_newer_id():
    """Found by the order property: ties went to the older id, against ranking.py's "then the newer id"."""
    day = dt.date(2026, 8, 20)
    rows = [RankRow(DailyEntry(i, day, upvotes=3), None, 1) for i in ("2608.00001", "2608.00009", "2608.00005")]
    scores = lists._scored(rows, dt.datetime(2026, 8, 21, tzinfo=UTC))
    assert [r.entry.arxiv_id for r in lists._order(rows, "trending", scores)] == ["2608.00009", "2608.00005",
                                                                                   "2608.00001"]


def test_a_paper_from_the_future_has_age_zero():
    now = dt.datetime(2026, 8, 20, 12, tzinfo=UTC)
    assert ranking.explain(5, 0, now + dt.timedelta(days=1), now).age_hours == 0
    assert ranking.score(5, 0, now + dt.timedelta(days=1), now) == ranking.score(5, 0, now, now)


@st.composite
def rank_rows(draw) -> list[RankRow]:
    day = draw(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 12, 31)))
    n = draw(st.integers(min_value=0, max_value=12))
    rows = []
    for i in range(n):
        submitted = draw(st.none() | st.integers(0, 24 * 60 - 1).map(
            lambda m: dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(minutes=m)))
        entry = DailyEntry(f"2401.{i:05d}", day, upvotes=draw(st.integers(0, 10_000)), submitted_at=submitted)
        rows.append(RankRow(entry, None, draw(st.integers(0, 500))))
    return rows


@given(rows=rank_rows(), now=st.integers(24 * 60, 72 * 60).map(lambda m: dt.timedelta(minutes=m)), data=st.data())
def test_trending_order_agrees_with_votes_and_age(rows, now, data):
    """(The reference time is after every listing, as it is for a list that has been seen.)"""
    day = rows[0].entry.date if rows else dt.date(2026, 1, 1)
    reference = ranking.reference_time(day, dt.datetime.combine(day, dt.time(), UTC) + now)
    scores = lists._scored(rows, reference)
    ordered = lists._order(rows, "trending", scores)
    assert ordered == lists._order(data.draw(st.permutations(rows), label="arrival"), "trending", scores)
    position = {r.entry.arxiv_id: i for i, r in enumerate(ordered)}

    def listed(r):
        return ranking.listed_at(r.entry.date, r.entry.submitted_at)

    for a in rows:
        for b in rows:
            if a is b:
                continue
            more_votes = a.entry.upvotes + a.local_votes >= b.entry.upvotes + b.local_votes
            if more_votes and listed(a) >= listed(b):
                strictly = (a.entry.upvotes + a.local_votes > b.entry.upvotes + b.local_votes
                            or listed(a) > listed(b) and a.entry.upvotes + a.local_votes > 0)
                if strictly:
                    assert position[a.entry.arxiv_id] < position[b.entry.arxiv_id], (a, b)
    for a, b in itertools.pairwise(ordered):  # ties: more votes, then the newer id (ranking.py's docstring)
        if scores[a.entry.arxiv_id].score == scores[b.entry.arxiv_id].score:
            va, vb = a.entry.upvotes + a.local_votes, b.entry.upvotes + b.local_votes
            assert va > vb or va == vb and a.entry.arxiv_id > b.entry.arxiv_id, (a, b)
    upvotes = lists._order(rows, "upvotes", scores)
    totals = [r.entry.upvotes + r.local_votes for r in upvotes]
    assert totals == sorted(totals, reverse=True)


# -- reciprocal-rank fusion --------------------------------------------------------------

ids_pool = [f"2401.{i:05d}" for i in range(30)]
ranked_lists = st.lists(st.sampled_from(ids_pool), max_size=20)  # duplicates allowed: the first rank counts
fusion_weights = st.builds(hybrid.FusionWeights, keyword=st.sampled_from([0.0, 0.2, 1.0, 2.0]) | st.floats(0, 10),
                           semantic=st.sampled_from([0.0, 1.0]) | st.floats(0, 10),
                           rrf_k=st.integers(min_value=0, max_value=1000))


def _fuse(keyword_ids, semantic_ids, weights):
    keyword = [hybrid.KeywordCandidate(i, 10.0 - n, ["w"]) for n, i in enumerate(keyword_ids)]
    semantic = [(i, 1.0 - n / 100) for n, i in enumerate(semantic_ids)]
    return hybrid.fuse(keyword, semantic, weights)


def _first_ranks(ids):
    ranks = {}
    for i in ids:
        ranks.setdefault(i, len(ranks) + 1)
    return ranks


@given(keyword_ids=ranked_lists, semantic_ids=ranked_lists, weights=fusion_weights)
@example(keyword_ids=["a", "b"], semantic_ids=[], weights=hybrid.FusionWeights(0.0, 1.0, 60))
@example(keyword_ids=["a", "a", "b"], semantic_ids=["b", "a"], weights=hybrid.FusionWeights(1.0, 1.0, 0))
def test_fusion_is_monotone_in_rank(keyword_ids, semantic_ids, weights):
    fused = _fuse(keyword_ids, semantic_ids, weights)
    kr, sr = _first_ranks(keyword_ids), _first_ranks(semantic_ids)
    assert [f.arxiv_id for f in fused] == list(dict.fromkeys(f.arxiv_id for f in fused))  # each once
    assert {f.arxiv_id for f in fused} == set(kr) | set(sr)
    position = {f.arxiv_id: n for n, f in enumerate(fused)}
    for f in fused:
        e = f.explanation
        assert f.score == e.keyword_contribution + e.semantic_contribution and f.score >= 0
        assert (e.keyword_rank, e.semantic_rank) == (kr.get(f.arxiv_id), sr.get(f.arxiv_id))
    scores = [f.score for f in fused]
    assert scores == sorted(scores, reverse=True)
    inf = math.inf
    for a in position:
        for b in position:
            if a == b:
                continue
            ka, kb = kr.get(a, inf), kr.get(b, inf)
            sa, sb = sr.get(a, inf), sr.get(b, inf)
            if ka <= kb and sa <= sb:  # a dominates b (ranks are distinct within a list)
                assert position[a] < position[b], (a, b, fused)


@given(keyword_ids=ranked_lists.filter(bool), semantic_ids=ranked_lists, weights=fusion_weights, data=st.data())
def test_moving_a_paper_up_a_list_never_lowers_its_score(keyword_ids, semantic_ids, weights, data):
    target = data.draw(st.sampled_from(sorted(set(keyword_ids))), label="paper")
    before = {f.arxiv_id: f.score for f in _fuse(keyword_ids, semantic_ids, weights)}[target]
    promoted = [target] + [i for i in keyword_ids if i != target]
    after = {f.arxiv_id: f.score for f in _fuse(promoted, semantic_ids, weights)}[target]
    assert after >= before
    also_semantic = {f.arxiv_id: f.score for f in _fuse(keyword_ids, semantic_ids + [target], weights)}[target]
    assert also_semantic >= before  # appearing in one more list never costs


@given(words=st.lists(st.sampled_from(["energy", "the", "of", "graph", "a", "models", "with"]), min_size=1,
                     max_size=8), total=st.integers(0, 1000))
def test_fusion_weights_are_valid_fusion_weights(words, total):
    weights = hybrid.fusion_weights(words, total)
    assert 0 < weights.keyword < 1 and math.isclose(weights.keyword + weights.semantic, 1.0) and weights.reason
    if total == 0:
        assert not weights.literal_first and weights.keyword == hybrid.RELAXED_KEYWORD_WEIGHT
    elif len(words) <= hybrid.SHORT_WORDS:
        assert weights.literal_first == (total >= hybrid.PAGE)  # short queries: literal first past a page

