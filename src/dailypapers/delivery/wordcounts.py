"""Word counts of titles and abstracts, the raw material of the tf-idf features (delivery/tfidf.py),
cached per paper: a digest run or /for-you ranks the same window of new papers for every member,
so each paper is tokenised once, not once per member.

A word is what the regex [a-z][a-z0-9-]{2,} finds in the lower-cased text, the title counted
twice, stop words left out. That is computed without the regex engine, which costs most of the
time in Python: every maximal run of [a-z0-9-] holds at most one word (the run from its first
letter, if three or more characters long), so the text is translated to bytes with every other
character a space and split, and each distinct run is looked at once per batch.

Word codes are those of a `Lexicon` shared by the calls (word -> code, only growing; a new one
replaces it when full, and the cache with it). A paper's words are kept in alphabetical order,
so everything computed from them comes out the same whatever codes the words happen to have.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dailypapers.search.phrases import FIELD_WORDS, STOPWORDS

STOP = STOPWORDS | FIELD_WORDS
MAX_PAPERS = 12_000   # papers whose counts are cached (about 2 KiB each: two windows of 5,000 candidates)
MAX_WORDS = 200_000   # words of a lexicon before a new one starts (about 100 bytes each)
_WORD = re.compile(rb"[a-z][a-z0-9\-]{2,}")
_SPACES = bytes(b if b in b"abcdefghijklmnopqrstuvwxyz0123456789-" else 32 for b in range(256))
_BREAK = b"."  # after each text in a batch: translation leaves no "." in a text
_GAP = b" " + _BREAK + b" "
BATCH = 500           # texts split at once
COUNT_BITS = 20       # a paper's words are packed as code << COUNT_BITS | count
MAX_COUNT = (1 << COUNT_BITS) - 1  # (a word's count in one paper is capped there)


@dataclass
class Counts:
    """Term counts of a batch of papers, CSR-like: rows ascending, each row's words in
    alphabetical order."""

    rows: np.ndarray    # int64 per non-zero
    codes: np.ndarray   # int64 per non-zero: the word's code in `words`
    counts: np.ndarray  # int64 per non-zero
    n_docs: int
    words: list[str]    # code -> word (a lexicon's list: it may have grown since)
    n_codes: int        # codes are below this


class Lexicon:
    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.words: list[str] = []

    def code(self, word: str) -> int:
        found = self.codes.get(word)
        if found is None:
            found = self.codes[word] = len(self.words)
            self.words.append(word)
        return found


def _spaced(title: str, abstract: str) -> bytes:
    return f"{title} {title} {abstract}".lower().encode("ascii", "replace").translate(_SPACES)


def _words_of(runs: list[bytes]) -> list[str]:
    """The word of each run, "" for none (or a stop word)."""
    found = [m.group().decode() if (m := _WORD.search(run)) else "" for run in runs]
    return ["" if w in STOP else w for w in found]


def _run_codes(texts: Sequence[tuple[str, str]], runs: defaultdict[bytes, int]) -> np.ndarray:
    """The code in `runs` of every run of the texts, each text followed by a break (code 0); split
    BATCH texts at a time, as their list of runs is the largest thing held."""
    parts = [np.zeros(0, dtype=np.int32)]
    for start in range(0, len(texts), BATCH):
        pieces = b"".join(_spaced(t, a) + _GAP for t, a in texts[start:start + BATCH]).split()
        parts.append(np.fromiter(map(runs.__getitem__, pieces), dtype=np.int32, count=len(pieces)))
    return np.concatenate(parts)


def tokenise(texts: Sequence[tuple[str, str]], lexicon: Lexicon) -> list[np.ndarray]:
    """The words of each (title, abstract) as one array: code of `lexicon` << COUNT_BITS | count,
    in the words' alphabetical order."""
    runs: defaultdict[bytes, int] = defaultdict(itertools.count().__next__)
    runs[_BREAK]  # code 0
    run_codes = _run_codes(texts, runs)
    word_of = _words_of(list(runs))  # "" for none
    words = sorted(set(word_of) - {""})
    rank = {w: i for i, w in enumerate(words)}
    local = np.take(np.array([rank.get(w, -1) for w in word_of], dtype=np.int32), run_codes)
    keep = np.flatnonzero(local >= 0)
    doc = np.cumsum(run_codes == 0, dtype=np.int32)[keep]  # of a word: the number of texts before its own
    n = max(len(words), 1)
    pairs, counts = np.unique(doc.astype(np.int64) * n + local[keep], return_counts=True)
    codes = np.array([lexicon.code(w) for w in words], dtype=np.int64)
    packed = (codes[pairs % n] << COUNT_BITS) | np.minimum(counts, MAX_COUNT)
    bounds = np.searchsorted(pairs, np.arange(len(texts) + 1) * n).tolist()
    return [packed[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def assemble(per_paper: Sequence[np.ndarray], lexicon: Lexicon) -> Counts:
    lengths = np.fromiter(map(len, per_paper), dtype=np.int64, count=len(per_paper))
    packed = np.concatenate([np.zeros(0, dtype=np.int64), *per_paper])
    rows = np.repeat(np.arange(len(per_paper), dtype=np.int64), lengths)
    return Counts(rows, packed >> COUNT_BITS, packed & MAX_COUNT, len(per_paper), lexicon.words, len(lexicon.words))


def count(texts: Sequence[tuple[str, str]]) -> Counts:
    """Term counts of (title, abstract) pairs, nothing cached."""
    lexicon = Lexicon()
    return assemble(tokenise(texts, lexicon), lexicon)


class Cache:
    """Per-paper counts, least recently used first out, checked against the paper's text (a
    changed title or abstract is tokenised again). Safe to share between threads."""

    def __init__(self, max_papers: int = MAX_PAPERS, max_words: int = MAX_WORDS) -> None:
        self.max_papers, self.max_words = max_papers, max_words
        self._lock = threading.RLock()
        self._lexicon = Lexicon()
        self._papers: OrderedDict[str, tuple[int, np.ndarray]] = OrderedDict()  # id -> (hash of its text, words)
        self.hits = self.misses = 0

    def counts(self, papers: Sequence[tuple[str, str, str]]) -> Counts:
        """Term counts of (paper id, title, abstract), in that order."""
        with self._lock:
            if len(self._lexicon.words) > self.max_words:
                self.clear()
            keys = [hash((t, a)) for _, t, a in papers]
            found = [self._get(pid, key) for (pid, _, _), key in zip(papers, keys, strict=True)]
            missing = [i for i, f in enumerate(found) if f is None]
            fresh = tokenise([(papers[i][1], papers[i][2]) for i in missing], self._lexicon)
            for i, words in zip(missing, fresh, strict=True):
                found[i] = words = words.copy()  # not a view that would keep the whole batch alive
                self._papers[papers[i][0]] = (keys[i], words)
                self._papers.move_to_end(papers[i][0])
            while len(self._papers) > self.max_papers:
                self._papers.popitem(last=False)
            self.hits, self.misses = self.hits + len(papers) - len(missing), self.misses + len(missing)
            return assemble([f for f in found if f is not None], self._lexicon)

    def _get(self, pid: str, key: int) -> np.ndarray | None:
        entry = self._papers.get(pid)
        if entry is None or entry[0] != key:
            return None
        self._papers.move_to_end(pid)
        return entry[1]

    def clear(self) -> None:
        with self._lock:
            self._lexicon = Lexicon()
            self._papers.clear()
