"""Keyword search: a tantivy (BM25) index derived from the database.

On-disk layout under `path`:

    state.json      {"schema": 1, "generation": "gen-…", "last_seq": 123}, replaced atomically
    .write.lock     flock held by every writing call (add, delete, rebuild, set_last_seq)
    gen-…/          one complete tantivy index per generation; state.json names the live one

The generation protocol (state file, lock, generation directories) is search/generations.py,
shared with the vector index. `rebuild` writes a new generation beside the live one and switches
`state.json` to it in one `os.replace`, so readers see either the old index or the new one, never
a half-built one. The previous generation is kept until the next rebuild, so a reader that still has it open keeps
working; older ones are deleted. Every search re-reads `state.json` and reloads the reader, so
commits made by other processes (an import while the web server reads) show up at once.

User text never reaches tantivy's query parser: queries are built from term, phrase, range and
boolean queries, with the words analysed by the same analysers the index uses.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import functools
import html
import itertools
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import tantivy
from tantivy import Document, Filter, Occur, Query, TextAnalyzerBuilder, Tokenizer

from dailypapers.errors import IndexUnavailable, InvalidQuery
from dailypapers.ids import order_rank
from dailypapers.models import Paper
from dailypapers.search import bm25, generations
from dailypapers.search.query import ParsedQuery

SCHEMA_VERSION = 4  # 2: the `newest` sort key; 3: each paper's analysed tokens and field lengths; 4: full text
FIELD_BOOSTS = {"title": 3.0, "authors": 2.0, "abstract": 1.0}
# The fourth field: the paper's full text (ingest/fulltext/), where the worker has extracted it,
# weighted below the abstract. Only its first FULLTEXT_WORDS words are indexed, so that the tokens
# a paper stores for the re-scorer (`terms`, _Scorer) stay bounded.
FULLTEXT_BOOST = 0.5
FULLTEXT_WORDS = 8000
BOOSTS = {**FIELD_BOOSTS, "fulltext": FULLTEXT_BOOST}
WRITER_HEAP = 64_000_000
MAX_LIMIT = 1000
TEXT_BATCH = 200  # papers whose full texts are read at once while writing
RANK_DEPTH = 1000  # a query's ranked list (KeywordIndex.candidates) is at most this long
POOL_MARGIN = 0.2  # tantivy's top depth * (1 + POOL_MARGIN) matches are re-scored for the top depth
SORTS = ("relevance", "date")
SNIPPET_CHARS = {"title": 1000, "authors": 300, "abstract": 280, "fulltext": 280}
_TIE_BREAKER = 0.1
FullTexts = Callable[[Sequence[str]], Mapping[str, str]]  # ids -> the full text of those that have one
MISSING = ("the keyword index is not on this server at the moment; it is rebuilt from the database "
           "by itself: try again shortly")


def _analyzer(stem: bool) -> tantivy.TextAnalyzer:
    b = TextAnalyzerBuilder(Tokenizer.simple()).filter(Filter.remove_long(40))
    b = b.filter(Filter.lowercase()).filter(Filter.ascii_fold())
    return (b.filter(Filter.stemmer("english")) if stem else b).build()


# Registered on every tantivy.Index we open; queries and highlights analyse with the same ones.
_ANALYZERS = {"dp_text": _analyzer(stem=True), "dp_name": _analyzer(stem=False)}
_FIELD_ANALYZER = {"title": "dp_text", "abstract": "dp_text", "authors": "dp_name", "fulltext": "dp_text"}
_FIELD_SLOT = {name: n for n, name in enumerate(_FIELD_ANALYZER)}  # its line in the `terms` field


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("arxiv_id", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("title", stored=True, tokenizer_name="dp_text")
    sb.add_text_field("authors", stored=True, tokenizer_name="dp_name")
    sb.add_text_field("abstract", stored=True, tokenizer_name="dp_text")
    sb.add_text_field("fulltext", stored=False, tokenizer_name="dp_text")  # its tokens are in `terms`
    sb.add_text_field("categories", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_date_field("published", stored=True, indexed=True, fast=True)
    sb.add_unsigned_field("newest", fast=True)
    sb.add_bytes_field("terms", stored=True, indexed=False, fast=False)  # analysed tokens, a field a line
    for name in _FIELD_ANALYZER:
        sb.add_unsigned_field(f"{name}_len", fast=True)  # tokens in the field, summed for the average
    return sb.build()


SCHEMA = _schema()


@dataclass
class Hit:
    arxiv_id: str
    score: float
    matched_terms: list[str] = field(default_factory=list)
    highlights: dict[str, str] = field(default_factory=dict)
    published: dt.datetime | None = None
    fields: dict[str, str] = field(default_factory=dict, repr=False, compare=False)  # stored text, kept
    # by KeywordIndex.candidates so that KeywordIndex.highlight can mark up a page of them later
    terms: bytes = field(default=b"", repr=False, compare=False)  # the stored `terms` field, with `fields`


@dataclass
class SearchPage:
    total: int
    hits: list[Hit]
    relaxed: bool = False  # True when no paper had every word, so any word was enough
    sort: str = "relevance"
    offset: int = 0
    limit: int = 30


# ---------------------------------------------------------------------------------------------
# documents


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _category_terms(paper: Paper) -> list[str]:
    cats = list(paper.categories) + ([paper.primary_category] if paper.primary_category else [])
    terms: dict[str, None] = {}
    for cat in cats:
        parts = cat.strip().lower().split(".")
        for i in range(len(parts), 0, -1):  # cs.cl, then cs
            terms[".".join(parts[:i])] = None
    return [t for t in terms if t]


def _document(paper: Paper, fulltext: str = "") -> Document:
    doc = Document()
    doc.add_text("arxiv_id", paper.arxiv_id)
    texts = {"title": _clean(paper.title), "abstract": _clean(paper.abstract),
             "authors": ", ".join(_clean(a.name) for a in paper.authors), "fulltext": _indexed_text(fulltext)}
    for name, text in texts.items():
        doc.add_text(name, text)
    terms = {name: _ANALYZERS[_FIELD_ANALYZER[name]].analyze(text) for name, text in texts.items()}
    doc.add_bytes("terms", "\n".join(" ".join(terms[name]) for name in _FIELD_ANALYZER).encode())
    for name, tokens in terms.items():
        doc.add_unsigned(f"{name}_len", len(tokens))
    for term in _category_terms(paper):
        doc.add_text("categories", term)
    if paper.published is not None:
        with contextlib.suppress(ValueError, OverflowError):  # outside tantivy's date range
            doc.add_date("published", paper.published)
    doc.add_unsigned("newest", newest_key(paper))
    return doc


def _indexed_text(fulltext: str) -> str:
    """The part of a full text the index holds: its first FULLTEXT_WORDS words."""
    words = (fulltext or "").split()
    return " ".join(words[:FULLTEXT_WORDS])


def newest_key(paper: Paper) -> int:
    """The date-order sort key: the first-version time in seconds, then the id's rank.

    Sorting on `published` alone left papers of the same second in index order, which differs
    between nodes (their segments merge differently), so a date-sorted page could repeat or skip a
    paper when the next page came from another node. Undated papers (and any before 1970) sort last."""
    seconds = 0
    if paper.published is not None:
        published = paper.published if paper.published.tzinfo else paper.published.replace(tzinfo=dt.timezone.utc)
        with contextlib.suppress(ValueError, OverflowError, OSError):
            seconds = min(max(int(published.timestamp()), 0), 2**32 - 1)
    return seconds << 32 | order_rank(paper.arxiv_id)


# ---------------------------------------------------------------------------------------------
# queries


def _tokens(analyzer: str, text: str) -> list[tuple[int, str]]:
    """(position, token) pairs of `text` as the index would see it."""
    if len(text) <= _SHORT_TEXT:  # a query's word or phrase: analysed once per field, scorer and highlighter
        return list(_short_tokens(analyzer, text))
    return [(t.position, t.text) for t in _ANALYZERS[analyzer].pre_tokenize(text).tokens]


_SHORT_TEXT = 100


@functools.lru_cache(maxsize=4096)
def _short_tokens(analyzer: str, text: str) -> tuple[tuple[int, str], ...]:
    return tuple((t.position, t.text) for t in _ANALYZERS[analyzer].pre_tokenize(text).tokens)


def analyse(field_name: str, text: str) -> list[str]:
    """The tokens of `text` as the index holds them in `field_name` ("title", "abstract" or
    "authors"): lower-cased, ASCII-folded, and stemmed except for authors."""
    return [t for _, t in _tokens(_FIELD_ANALYZER[field_name], text)]


def token_spans(field_name: str, text: str) -> list[tuple[str, int, int]]:
    """(token, start, end) of each token of `text` as `field_name` holds it, with the character
    span of the written word it came from (to find how a stemmed term is written)."""
    toks = _ANALYZERS[_FIELD_ANALYZER[field_name]].pre_tokenize(text).tokens
    return [(t.text, t.char_offset_from, t.char_offset_to) for t in toks]


def paper_matches(paper: Paper, pq: ParsedQuery) -> bool:
    """Whether `paper` matches `pq` by the index's rules, checked in Python (for papers the index
    has not seen yet): every word and phrase in the title, authors or abstract, every filter."""
    fields = {"title": paper.title or "", "abstract": paper.abstract or "",
              "authors": ", ".join(a.name for a in paper.authors)}
    words = {name: analyse(name, text) for name, text in fields.items()}
    for text in [*pq.terms, *pq.phrases]:
        runs = {name: analyse(name, text) for name in fields}
        if not any(_contains_run(words[name], runs[name]) for name in fields if runs[name]):
            return False
    author_tokens = set(words["authors"])
    if not all(t in author_tokens for name in pq.authors for t in analyse("authors", name)):
        return False
    if pq.categories and not set(pq.categories) & set(_category_terms(paper)):
        return False
    published = paper.published.date() if paper.published else None
    if pq.date_from and (published is None or published < pq.date_from):
        return False
    return not (pq.date_to and (published is None or published > pq.date_to))


def _field_query(field_name: str, text: str) -> Query | None:
    toks = _tokens(_FIELD_ANALYZER[field_name], text)
    if not toks:
        return None
    if len(toks) == 1:
        return Query.term_query(SCHEMA, field_name, toks[0][1])
    first = toks[0][0]
    return Query.phrase_query(SCHEMA, field_name, [(p - first, t) for p, t in toks])


def _text_clause(text: str) -> Query | None:
    """`text` (a word or a phrase) in any text field, title weighted above authors above abstract
    above full text."""
    per_field = []
    for name, boost in BOOSTS.items():
        q = _field_query(name, text)
        if q is not None:
            per_field.append(Query.boost_query(q, boost))
    if not per_field:
        return None
    return Query.disjunction_max_query(per_field, _TIE_BREAKER)


def _date_bound(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def _filter_clause(q: ParsedQuery) -> Query | None:
    musts: list[Query] = []
    for name in q.authors:
        toks = [t for _, t in _tokens("dp_name", name)]
        musts += [Query.term_query(SCHEMA, "authors", t) for t in toks]
    if q.categories:
        cats = [(Occur.Should, Query.term_query(SCHEMA, "categories", c)) for c in q.categories]
        musts.append(Query.boolean_query(cats))
    if q.date_from or q.date_to:
        lo = _date_bound(q.date_from) if q.date_from else None
        hi = _date_bound(q.date_to + dt.timedelta(days=1)) if q.date_to else None
        musts.append(
            Query.range_query(SCHEMA, "published", tantivy.FieldType.Date, lo, hi, include_upper=hi is None)
        )
    if not musts:
        return None
    return Query.const_score_query(Query.boolean_query([(Occur.Must, m) for m in musts]), 0.0)


def _build_query(q: ParsedQuery, relaxed: bool) -> tuple[Query | None, int]:
    """The tantivy query for `q`, and how many free-term clauses it has."""
    terms = [c for c in map(_text_clause, q.terms) if c is not None]
    phrases = [c for c in map(_text_clause, q.phrases) if c is not None]
    clauses = [(Occur.Must, p) for p in phrases]
    if terms and relaxed:
        clauses.append((Occur.Must, Query.boolean_query([(Occur.Should, t) for t in terms])))
    else:
        clauses += [(Occur.Must, t) for t in terms]
    filt = _filter_clause(q)
    if filt is not None:
        clauses.append((Occur.Must, filt))
    if not clauses:
        return None, 0
    return Query.boolean_query(clauses), len(terms)


# ---------------------------------------------------------------------------------------------
# highlights


class _Highlighter:
    """Finds, in one hit's stored fields, the user's words and phrases, and marks them up."""

    def __init__(self, q: ParsedQuery) -> None:
        self.runs = [
            (text, {n: [t for _, t in _tokens(a, text)] for n, a in _FIELD_ANALYZER.items()})
            for text in q.terms + q.phrases
        ]
        self.wanted = {n: {t for _, runs in self.runs for t in runs[n]} for n in _FIELD_ANALYZER}
        self.wanted["authors"] |= {t for name in q.authors for _, t in _tokens("dp_name", name)}

    def __call__(self, fields: dict[str, str], terms: bytes | None = None) -> tuple[list[str], dict[str, str]]:
        """`terms`: the document's stored `terms` field (each field's analysed tokens, which
        are what analysing `fields` gives), so that a field without a wanted word is skipped
        without analysing it."""
        lines = terms.decode().split("\n") if terms else None
        matched: set[str] = set()
        highlights = {}
        for name, analyzer in _FIELD_ANALYZER.items():
            text, wanted = fields[name], self.wanted[name]
            if lines is None or not text:
                toks = _ANALYZERS[analyzer].pre_tokenize(text).tokens
                words = [t.text for t in toks]
                spans = [(t.char_offset_from, t.char_offset_to) for t in toks if t.text in wanted]
            else:
                line = lines[_FIELD_SLOT[name]] if _FIELD_SLOT[name] < len(lines) else ""
                words = line.split(" ") if line else []
                if wanted.isdisjoint(words):
                    continue  # no run of a query word in this field either (each run's words are wanted)
                spans = _spans(analyzer, text, words, wanted)
            present = set(words)
            matched |= {text for text, runs in self.runs
                        if runs[name] and runs[name][0] in present and _contains_run(words, runs[name])}
            if spans:
                highlights[name] = _mark(fields[name], spans, SNIPPET_CHARS[name])
        return [text for text, _ in self.runs if text in matched], highlights


_ALNUM = np.zeros(256, dtype=np.int8)  # the simple tokenizer's token characters, in ASCII
_ALNUM[[*range(48, 58), *range(65, 91), *range(97, 123)]] = 1
_LONG_TOKEN = 40  # Filter.remove_long(40) drops tokens of 40 bytes or more


def _spans(analyzer: str, text: str, words: list[str], wanted: set[str]) -> list[tuple[int, int]]:
    """Character spans in `text` of its tokens whose analysed form (`words`, one per token) is
    wanted. In ASCII text the tokens are the runs of letters and digits (the long ones dropped),
    found with numpy (a tenth of the analyser's cost); other text, or any disagreement in the
    count, goes through the analyser."""
    if text.isascii():
        token_char = _ALNUM[np.frombuffer(b" " + text.encode() + b" ", dtype=np.uint8)]
        edges = token_char[1:] - token_char[:-1]  # at i: +1 where a token starts at i, -1 where one ended before i
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        keep = ends - starts < _LONG_TOKEN
        if int(keep.sum()) == len(words):
            at = [i for i, w in enumerate(words) if w in wanted]
            return list(zip(starts[keep][at].tolist(), ends[keep][at].tolist(), strict=True))
    toks = _ANALYZERS[analyzer].pre_tokenize(text).tokens
    return [(t.char_offset_from, t.char_offset_to) for t in toks if t.text in wanted]


def _window(text: str, spans: list[tuple[int, int]], max_chars: int) -> tuple[int, int]:
    """The stretch of at most `max_chars` holding the most matches, cut at spaces."""
    if len(text) <= max_chars:
        return 0, len(text)
    ends = [b for _, b in spans]  # rising: the spans are tokens in order
    counts = [bisect.bisect_right(ends, s + max_chars, lo=i) - i for i, (s, _) in enumerate(spans)]
    a, b = spans[counts.index(max(counts))]
    start = max(0, a - max_chars // 5)
    if start > 0:
        space = text.find(" ", start, a)
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + max_chars)
    if end < len(text):
        space = text.rfind(" ", b, end)
        end = space if space >= 0 else end
    return start, end


def _mark(text: str, spans: list[tuple[int, int]], max_chars: int) -> str:
    """HTML-escaped `text` (or its best window) with each span in <mark>…</mark>."""
    start, end = _window(text, spans, max_chars)
    out, pos = ["…" if start > 0 else ""], start
    for a, b in spans:
        if a >= pos and b <= end:
            out += [html.escape(text[pos:a]), "<mark>", html.escape(text[a:b]), "</mark>"]
            pos = b
    out += [html.escape(text[pos:end]), "…" if end < len(text) else ""]
    return "".join(out)


def _contains_run(haystack: list[str], run: list[str]) -> bool:
    if len(run) <= 1:
        return bool(run) and run[0] in haystack
    n = len(run)
    return any(haystack[i : i + n] == run for i in range(len(haystack) - n + 1) if haystack[i] == run[0])


# ---------------------------------------------------------------------------------------------
# the index


class KeywordIndex:
    """A tantivy index of papers in `path`, safe to read while another process writes."""

    def __init__(self, path: Path, *, writer_heap: int = WRITER_HEAP) -> None:
        self.path = Path(path)
        self.writer_heap = writer_heap
        self._gen: str | None = None
        self._index: tantivy.Index | None = None
        self._reloaded: tuple[int, int, int] | None = None  # _stamp of the commit the reader last loaded
        self._open_lock = threading.Lock()
        self._corpus_cache: _Corpus | None = None
        self.path.mkdir(parents=True, exist_ok=True)
        with self._write_lock():
            state = self._read_state()
            if not self._usable(state):
                gen = self._new_generation()
                self._write_state(gen, 0)  # a fresh index has consumed nothing
                self._collect(keep={gen})

    # -- state --------------------------------------------------------------------------------

    def _read_state(self) -> dict | None:
        return generations.read_state(self.path)

    def _state(self) -> dict:
        state = self._read_state()
        if state is None:
            raise IndexUnavailable(MISSING)
        return state

    def _usable(self, state: dict | None) -> bool:
        if not state or state.get("schema") != SCHEMA_VERSION:
            return False
        gen_dir = self.path / str(state.get("generation"))
        return tantivy.Index.exists(str(gen_dir)) if gen_dir.is_dir() else False

    def _write_state(self, generation: str, last_seq: int) -> None:
        generations.write_state(self.path, {"schema": SCHEMA_VERSION, "generation": generation, "last_seq": last_seq})

    @property
    def last_seq(self) -> int:
        """The database change sequence this index has consumed (0 for a fresh index)."""
        return int(self._state().get("last_seq", 0))

    def set_last_seq(self, n: int) -> None:
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"last_seq must be a non-negative integer, got {n!r}")
        with self._write_lock():
            self._write_state(self._state()["generation"], n)

    def _write_lock(self) -> contextlib.AbstractContextManager[None]:
        return generations.write_lock(self.path)

    # -- generations --------------------------------------------------------------------------

    def _new_generation(self) -> str:
        gen = generations.new_generation(self.path)
        _open_index(self.path / gen, create=True)
        return gen

    def _collect(self, keep: set[str]) -> None:
        generations.collect(self.path, keep)  # a reader may still map one: retried later

    def _current(self) -> tantivy.Index:
        """The live generation's index, reloaded when a commit has replaced its meta.json since
        the last reload (a reload on every call was 4% of a hybrid search: one search calls this
        five times or more)."""
        gen = self._state()["generation"]
        try:
            stamp = _stamp(self.path / gen)
            with self._open_lock:
                if gen != self._gen or self._index is None:
                    self._index, self._gen, self._reloaded = _open_index(self.path / gen), gen, None
                index = self._index
                if stamp != self._reloaded:
                    index.reload()
                    self._reloaded = stamp
        except (ValueError, OSError) as exc:  # its files went away under us (deleted by hand)
            raise IndexUnavailable(MISSING) from exc
        return index

    # -- writing ------------------------------------------------------------------------------

    def add(self, papers: Iterable[Paper], *, texts: FullTexts | None = None) -> int:
        """Insert or replace papers (by arxiv_id), committing once. Returns how many were given.
        `texts` gives the full text of those that have one (store.fulltext.texts)."""
        with self._write_lock():
            return _write(self._current(), papers, self.writer_heap, threads=1, texts=texts)

    def delete(self, ids: Iterable[str]) -> int:
        """Remove papers by arxiv_id. Returns how many of them were in the index."""
        ids = list(dict.fromkeys(ids))
        with self._write_lock():
            index = self._current()
            searcher = index.searcher()
            found = sum(_count(searcher, Query.term_query(SCHEMA, "arxiv_id", i)) for i in ids)
            writer = index.writer(self.writer_heap, 1)
            try:
                for arxiv_id in ids:
                    writer.delete_documents_by_term("arxiv_id", arxiv_id)
                writer.commit()
            finally:
                writer.wait_merging_threads()
            return found

    def rebuild(self, papers: Iterable[Paper], *, last_seq: int | None = None,
                texts: FullTexts | None = None) -> int:
        """Index `papers` (distinct ids, as Store.iter_papers gives them) into a fresh generation
        and switch to it atomically.

        `last_seq` (the change sequence the papers were read at) is recorded with the switch;
        without it the previous value is kept, so the change feed replays from there.
        """
        with self._write_lock():
            old = self._state()
            gen = self._new_generation()
            try:
                index = _open_index(self.path / gen)
                n = _write(index, papers, max(self.writer_heap, 2 * WRITER_HEAP), threads=0, replace=False,
                           texts=texts)
                index.reload()
            except BaseException:
                shutil.rmtree(self.path / gen, ignore_errors=True)
                raise
            self._write_state(gen, old.get("last_seq", 0) if last_seq is None else last_seq)
            with self._open_lock:
                self._index, self._gen, self._reloaded = index, gen, None
            self._collect(keep={gen, old["generation"]})
            return n

    # -- reading ------------------------------------------------------------------------------

    def doc_count(self) -> int:
        return self._current().searcher().num_docs

    def searcher(self) -> tantivy.Searcher:
        """A searcher over the live generation at its latest commit, for reading the index's own
        statistics and terms (`doc_freq`, `terms_with_prefix`, `doc`); searches go through the
        methods here, which build the queries."""
        return self._current().searcher()

    def search(self, q: ParsedQuery, offset: int = 0, limit: int = 30, sort: str = "relevance") -> SearchPage:
        """One page of papers matching `q`, best first (or newest first with sort="date")."""
        _check_page(offset, limit, sort)
        searcher = self._current().searcher()
        query, n_terms = _build_query(q, relaxed=False)
        if query is None:
            return SearchPage(0, [], sort=sort, offset=offset, limit=limit)
        by_date = sort == "date" or not q.has_text
        result = _run(searcher, query, offset, limit, by_date)
        relaxed = result.count == 0 and n_terms > 1
        if relaxed:
            query, _ = _build_query(q, relaxed=True)
            assert query is not None  # the same clauses, the words any-of
            result = _run(searcher, query, offset, limit, by_date)
        hits = _hits(searcher, result, q, by_date)[:limit]
        return SearchPage(result.count, hits, relaxed, "date" if by_date else sort, offset, limit)

    def candidates(self, q: ParsedQuery, depth: int = RANK_DEPTH, *, any_word: bool | None = None) -> SearchPage:
        """The best `depth` matches of `q` (every word, else any word; `any_word` True or False
        forces one), ranked the same on every node: `total` counts every match.

        tantivy's BM25 uses its segments' statistics, deleted documents included, and breaks ties
        by position in the segments, so a node that followed updates and a freshly rebuilt one
        order the same papers differently. Its top depth * (1 + POOL_MARGIN) matches (more while
        the last ones tie) are therefore re-scored with the formula of search/bm25.py over the
        live papers' statistics, ties going to the newer id (`ids.order_rank`, kept in the low
        bits of the `newest` fast field). Hits carry only id and score: `highlight` loads the
        stored text of the page shown (reading every candidate's text was a fifth of the cost)."""
        _check_page(0, depth, "relevance")
        version, searcher = self.version(), self._current().searcher()
        query, n_terms = _build_query(q, relaxed=bool(any_word))
        count = 0 if query is None else _count(searcher, query)
        relaxed = bool(any_word)
        if count == 0 and n_terms > 1 and any_word is None:
            query, _ = _build_query(q, relaxed=True)
            assert query is not None  # the same clauses, the words any-of
            count, relaxed = _count(searcher, query), True
        if query is None or count == 0:
            return SearchPage(0, [], relaxed, limit=depth)
        scorer = _Scorer(q, self._corpus(version, searcher))
        pool = sorted(_pool(searcher, query, count, depth), key=_place)
        ranks = [int(r or 0) & 0xFFFFFFFF for r in searcher.fast_field_values("newest", pool)]  # order_rank(id)
        lengths = {name: np.array([v or 0 for v in searcher.fast_field_values(f"{name}_len", pool)], dtype=np.int64)
                   for name in scorer.fields}
        ids, lines = [], []
        for address in pool:  # in the doc store's order: neighbours share a decompressed block
            doc = searcher.doc(address)
            ids.append(_stored_id(doc))
            lines.append(doc.get_first("terms") or b"")
        scores = scorer.scores(lines, lengths).tolist()
        order = sorted(range(len(pool)), key=lambda i: (-scores[i], -ranks[i], ids[i]))[:depth]
        hits = [Hit(ids[i], scores[i]) for i in order]  # stored text and date: `highlight` loads them
        return SearchPage(count, hits, relaxed, "relevance", 0, depth)

    def count(self, q: ParsedQuery, *, any_word: bool = False) -> int:
        """How many papers match `q`: every word, or any word with `any_word`."""
        query, _ = _build_query(q, relaxed=any_word)
        return 0 if query is None else _count(self._current().searcher(), query)

    def match_ids(self, q: ParsedQuery, limit: int) -> list[str]:
        """The ids of the papers matching every word of `q`, at most `limit` of them, in no
        particular order: for a set of matches (hybrid's literal tier when every match is in it),
        where `candidates` would rank them for nothing."""
        query, _ = _build_query(q, relaxed=False)
        if query is None or limit <= 0:
            return []
        searcher = self._current().searcher()
        addresses = sorted((address for _, address in searcher.search(query, limit=limit, count=False).hits),
                           key=_place)  # in the doc store's order: neighbours share a decompressed block
        return [_stored_id(searcher.doc(address)) for address in addresses]

    def version(self) -> tuple:
        """A token that changes whenever the index changes (a commit, or a rebuild's switch)."""
        generation = self._state()["generation"]
        return (generation, *_stamp(self.path / generation))

    def _corpus(self, version: tuple, searcher: tantivy.Searcher) -> _Corpus:
        with self._open_lock:
            cached = self._corpus_cache
            if cached is None or cached.version != version:
                cached = self._corpus_cache = _Corpus.of(version, searcher)
        return cached

    def highlight(self, q: ParsedQuery, hits: Iterable[Hit]) -> None:
        """Fill in `matched_terms`, `highlights` and `published` of hits from `candidates`, in
        place, loading their stored text first (one query for those not loaded yet)."""
        hits = list(hits)
        self._load([hit for hit in hits if not hit.fields])
        highlighter = _Highlighter(q)
        for hit in hits:
            if hit.fields:
                hit.matched_terms, hit.highlights = highlighter(hit.fields, hit.terms)

    def _load(self, hits: Sequence[Hit]) -> None:
        """Stored text and date of `hits`, by id (a ranking outlives the segments it was read from);
        a paper deleted since keeps none."""
        if not hits:
            return
        searcher = self._current().searcher()
        docs: dict[str, Document] = {}
        for _, address in searcher.search(_id_set([h.arxiv_id for h in hits]), limit=len(hits)).hits:
            doc = searcher.doc(address)
            docs[_stored_id(doc)] = doc
        for hit in hits:
            if hit.arxiv_id in docs:
                stored = docs[hit.arxiv_id]
                hit.published = stored.get_first("published")
                hit.fields = {name: stored.get_first(name) or "" for name in _FIELD_ANALYZER}
                hit.terms = stored.get_first("terms") or b""

    def search_any(self, words: Sequence[str], limit: int) -> list[str]:
        """Ids of the best BM25 matches of any of `words` (more-like-this): `search` relaxes to
        "any word" only when no paper has them all."""
        query, _ = _build_query(ParsedQuery(terms=list(words)), relaxed=True)
        if query is None:
            return []
        searcher = self._current().searcher()
        result = searcher.search(query, limit=max(limit, 1))
        return [_stored_id(searcher.doc(address)) for _, address in result.hits][:limit]

    def filter_ids(self, fq: ParsedQuery, total: int) -> list[str]:
        """Every id passing the filters of `fq` (`total` of them, as `search(fq, 0, 0).total`
        counts them), sorted, straight from the doc store."""
        clause = _filter_clause(fq)
        if clause is None or total == 0:
            return []
        searcher = self._current().searcher()
        result = searcher.search(clause, limit=max(total, 1))
        return sorted(_stored_id(searcher.doc(address)) for _, address in result.hits)

    def filter_members(self, fq: ParsedQuery, ids: Sequence[str]) -> set[str]:
        """Which of `ids` pass the filters of `fq` (one query)."""
        clause = _filter_clause(fq)
        if clause is None or not ids:
            return set(ids) if clause is None else set()
        query = Query.boolean_query([(Occur.Must, _id_set(ids)), (Occur.Must, clause)])
        return self._ids_of(query, len(ids))

    def matching_among(self, q: ParsedQuery, ids: Sequence[str]) -> tuple[set[str], set[str]]:
        """(those of `ids` matching `q`, those of `ids` the index holds): one query each."""
        if not ids:
            return set(), set()
        known = self._ids_of(_id_set(ids), len(ids))
        query, _ = _build_query(q, relaxed=False)
        if query is None:
            return set(), known
        both = Query.boolean_query([(Occur.Must, _id_set(ids)), (Occur.Must, query)])
        return self._ids_of(both, len(ids)), known

    def _ids_of(self, query: Query, limit: int) -> set[str]:
        searcher = self._current().searcher()
        return {_stored_id(searcher.doc(address)) for _, address in searcher.search(query, limit=limit).hits}


def _open_index(path: Path, create: bool = False) -> tantivy.Index:
    index = tantivy.Index(SCHEMA, path=str(path), reuse=not create)
    for name, analyzer in _ANALYZERS.items():
        index.register_tokenizer(name, analyzer)
    index.config_reader(reload_policy="Manual")
    return index


def _write(index: tantivy.Index, papers: Iterable[Paper], heap: int, threads: int, replace: bool = True,
           texts: FullTexts | None = None) -> int:
    """Upsert papers with one writer and one commit; the writer's lock is released on return.

    replace=False (a fresh generation, distinct papers) queues no deletes: tantivy keeps each
    queued delete in memory until the commit, ~1.1 KB apiece, which was 3.2 GiB of a rebuild's
    3.8 GiB peak at 2.7M papers."""
    writer = index.writer(heap, threads)
    n = 0
    try:
        for chunk in _batches(papers, TEXT_BATCH):
            found = texts([p.arxiv_id for p in chunk]) if texts else {}
            for paper in chunk:
                if replace:
                    writer.delete_documents_by_term("arxiv_id", paper.arxiv_id)
                writer.add_document(_document(paper, found.get(paper.arxiv_id, "")))
                n += 1
        writer.commit()
    except BaseException:
        writer.rollback()
        raise
    finally:
        writer.wait_merging_threads()
    return n


def _batches(papers: Iterable[Paper], size: int) -> Iterator[list[Paper]]:
    it = iter(papers)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _id_set(ids: Sequence[str]) -> Query:
    return Query.term_set_query(SCHEMA, "arxiv_id", list(ids))


def _pool(searcher: tantivy.Searcher, query: Query, count: int, depth: int) -> list[tantivy.DocAddress]:
    """tantivy's best depth * (1 + POOL_MARGIN) matches. Which of the documents tied at the cut
    tantivy returns depends on the segments, so the whole tied run is fetched (addresses and
    scores only) and the newer ids (the `newest` fast field's low bits) fill the pool."""
    n = min(count, depth + int(depth * POOL_MARGIN))
    limit = n + 1
    hits = searcher.search(query, limit=limit, count=False).hits
    while len(hits) == limit and hits[-1][0] == hits[n - 1][0]:
        limit *= 2
        hits = searcher.search(query, limit=limit, count=False).hits
    if len(hits) <= n:
        return [address for _, address in hits]
    cut = hits[n - 1][0]
    above = [address for score, address in hits if score > cut]
    tied = [address for score, address in hits if score == cut]
    ranks = [int(r or 0) for r in searcher.fast_field_values("newest", tied)]  # an int fast field: never None
    tied = [address for _, address in sorted(zip(ranks, tied, strict=True), key=lambda r: -(r[0] & 0xFFFFFFFF))]
    return above + tied[:n - len(above)]


def _stamp(generation_dir: Path) -> tuple[int, int, int]:
    """Changes whenever a commit lands: tantivy replaces meta.json on every commit."""
    st = os.stat(generation_dir / "meta.json")
    return (st.st_mtime_ns, st.st_ino, st.st_size)


def _place(address: tantivy.DocAddress) -> tuple[int, int]:
    return address.segment_ord, address.doc


@dataclass
class _Corpus:
    """Statistics of the live papers (deleted documents left out), for one index version."""

    version: tuple
    searcher: tantivy.Searcher
    docs: int
    avg_length: dict[str, float]
    doc_freqs: dict[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def of(cls, version: tuple, searcher: tantivy.Searcher) -> _Corpus:
        docs = searcher.num_docs
        aggs = {name: {"sum": {"field": f"{name}_len"}} for name in _FIELD_ANALYZER}
        sums = searcher.aggregate(Query.all_query(), aggs) if docs else {}
        avg = {name: float(sums.get(name, {}).get("value") or 0.0) / max(docs, 1) for name in _FIELD_ANALYZER}
        return cls(version, searcher, docs, avg)

    def idf(self, field_name: str, token: str) -> float:
        return bm25.idf(self.doc_freq(field_name, token), self.docs)

    def doc_freq(self, field_name: str, token: str) -> int:
        key = (field_name, token)
        if key not in self.doc_freqs:
            if len(self.doc_freqs) > 10_000:
                self.doc_freqs.clear()
            self.doc_freqs[key] = _count(self.searcher, Query.term_query(SCHEMA, field_name, token))
        return self.doc_freqs[key]


class _Scorer:
    """BM25 of one query, as `_build_query` asks tantivy for it (each word or phrase the best of
    its boosted fields plus a tenth of the others, summed; filters score nothing), over a pool of
    documents at once: term frequencies from each document's stored tokens, the arithmetic in
    numpy (search/bm25.py)."""

    def __init__(self, q: ParsedQuery, corpus: _Corpus) -> None:
        self.avg = corpus.avg_length
        # the share of papers with a run's rarest token in the field (0: the run is in none)
        self.share = {(name, tuple(run)): min(corpus.doc_freq(name, t) for t in run) / max(corpus.docs, 1)
                      for text in q.terms + q.phrases for name in BOOSTS if (run := analyse(name, text))}
        self.items: list[list[tuple[str, float, list[str], float]]] = []
        for text in q.terms + q.phrases:
            runs = [(name, boost, analyse(name, text)) for name, boost in BOOSTS.items()]
            item = [(name, boost, run, sum(corpus.idf(name, t) for t in run)) for name, boost, run in runs if run]
            if item:
                self.items.append(item)
        self.fields = [name for name in _FIELD_ANALYZER if any(n == name for item in self.items for n, *_ in item)]

    def scores(self, terms: Sequence[bytes], lengths: dict[str, np.ndarray]) -> np.ndarray:
        """Each document's score: `terms` its stored token lines (the `terms` field), `lengths`
        its token count per field."""
        freqs = self._frequencies(terms)
        norms = {name: bm25.length_norms(lengths[name], self.avg[name]) for name in self.fields if self.avg[name] > 0}
        total = np.zeros(len(terms))
        for item in self.items:
            # a field where no document of the pool has the run scores 0 everywhere: it adds
            # exactly nothing to dismax_rows' sums and maxima, so it is left out
            rows = [boost * bm25.normed_scores(found, norms[name], idf) for name, boost, run, idf in item
                    if name in norms and (found := freqs[(name, tuple(run))]).any()]
            if rows:
                total = total + bm25.dismax_rows(rows, _TIE_BREAKER)
        return total

    def _frequencies(self, terms: Sequence[bytes]) -> dict[tuple[str, tuple[str, ...]], np.ndarray]:
        """How often each (field, run) of the query occurs in each document, counted in one
        buffer per field (a field no document has a token of counts nothing)."""
        lines = [raw.split(b"\n") for raw in terms]
        found: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
        for name in self.fields:
            runs = {tuple(run) for item in self.items for n, _, run, _ in item if n == name}
            absent = {run for run in runs if self.avg[name] <= 0 or self.share[(name, run)] == 0}
            found.update(((name, run), np.zeros(len(terms))) for run in absent)  # no paper has it
            if runs - absent:
                slot = _FIELD_SLOT[name]
                field_lines = _FieldLines([parts[slot] if slot < len(parts) else b"" for parts in lines])
                found.update(((name, run), field_lines.occurrences(run, self.share[(name, run)] < 0.2))
                             for run in runs - absent)
        return found


class _FieldLines:
    """One field's token lines of a pool of documents in one buffer, every separator doubled (two
    spaces between tokens, " \\0 " between documents): a whole-word occurrence of a run is its
    tokens two spaces apart with a space either side, found by substring search without splitting
    anything, and counted as `bm25.frequency` counts over the line's tokens."""

    def __init__(self, lines: Sequence[bytes]) -> None:
        self.blob = b" " + b"\0".join(lines).replace(b" ", b"  ").replace(b"\0", b" \0 ") + b" "
        ends = np.flatnonzero(np.frombuffer(self.blob, dtype=np.uint8) == 0).tolist()
        self.bounds = list(zip([0, *ends], [*ends, len(self.blob)], strict=True))

    def occurrences(self, run: Sequence[str], rare: bool) -> np.ndarray:
        """Occurrences of `run` (tokens in order) in each document's line. `rare`: few lines have
        it, so one pass over the buffer beats one count per document."""
        pattern = b" " + "  ".join(run).encode() + b" "
        if not rare and not _overlaps(run):  # non-overlapping counts are all the counts
            count = self.blob.count
            return np.array([count(pattern, a, b) for a, b in self.bounds], dtype=np.float64)
        found, at = [], self.blob.find(pattern)
        while at >= 0:  # "a a" is twice in "a a a": every start
            found.append(at)
            at = self.blob.find(pattern, at + 1)
        starts = np.array([a for a, _ in self.bounds], dtype=np.int64)
        docs = np.searchsorted(starts, np.array(found, dtype=np.int64), side="right") - 1
        return np.bincount(docs, minlength=len(self.bounds)).astype(np.float64)


def _overlaps(run: Sequence[str]) -> bool:
    """Whether two occurrences of `run` can share tokens (a proper suffix of it is its prefix)."""
    return any(list(run[k:]) == list(run[:len(run) - k]) for k in range(1, len(run)))


def _stored_id(doc: Document) -> str:
    return cast(str, doc.get_first("arxiv_id"))  # every document has one


def _check_page(offset: int, limit: int, sort: str) -> None:
    if sort not in SORTS:
        raise InvalidQuery(f"sort must be one of {', '.join(SORTS)}, got {str(sort)[:20]!r}")
    if not (isinstance(offset, int) and isinstance(limit, int)) or offset < 0 or limit < 0:
        raise InvalidQuery("offset and limit must be non-negative integers")
    if limit > MAX_LIMIT:
        raise InvalidQuery(f"limit must be at most {MAX_LIMIT}")


def _count(searcher: tantivy.Searcher, query: Query) -> int:
    return searcher.search(query, limit=1, count=True).count  # type: ignore[attr-defined]  # missing from tantivy's stub


def _run(searcher: tantivy.Searcher, query: Query, offset: int, limit: int, by_date: bool):
    # tantivy panics on limit=0 (PanicException); ask for one and let the caller slice it off.
    return searcher.search(query, limit=max(limit, 1), count=True, offset=offset,
                           order_by_field="newest" if by_date else None)


def _hits(searcher: tantivy.Searcher, result, q: ParsedQuery, by_date: bool) -> list[Hit]:
    highlighter = _Highlighter(q)
    hits = []
    for key, address in result.hits:
        doc = searcher.doc(address)
        matched, highlights = highlighter({name: doc.get_first(name) or "" for name in _FIELD_ANALYZER},
                                          doc.get_first("terms"))
        score = 0.0 if by_date else float(key)
        hits.append(Hit(_stored_id(doc), score, matched, highlights, doc.get_first("published")))
    return hits
